//! `--trace`: the TCP story of the connection, drawn as a ladder while it happens.
//!
//! Two sources feed one [`Recorder`]:
//!
//! - [`TraceDevice`] wraps the packet device and parses every packet in and out with
//!   [`wire::Packet::parse`]: it sees the exact bytes on the wire;
//! - [`StateLayer`], a `tracing` layer, picks up the driver's `state` events (target
//!   `net::driver`, fields `from` and `to`): every state change of our connection.
//!
//! Both run on the driver task, in the order things happen there: packets received, then the
//! state changes they caused, then the packets sent in answer. The recorder prints a ladder
//! line for each (when asked to), keeps them for the demo's explanation, and publishes a
//! [`Progress`] that the client watches to know when its close is done.

use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use fsm::State;
use net::device::{Batch, Device};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use wire::{Packet, TcpFlags};

/// Characters between the two vertical lines of the ladder.
const MIDDLE: usize = 58;
/// Characters of a segment's label (flags, relative numbers, window, length).
const LABEL: usize = 44;
/// Characters of payload shown under a data segment.
const SNIPPET: usize = 40;

/// Where the ladder is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    /// Standard output (the demo: the whole tour on one stream).
    Stdout,
    /// Standard error (`--trace`: stdout stays the body's).
    Stderr,
}

impl Sink {
    /// Prints `text` and a newline; output errors are ignored (the trace is commentary).
    pub fn line(self, text: &str) {
        let _ = match self {
            Sink::Stdout => writeln!(io::stdout().lock(), "{text}"),
            Sink::Stderr => writeln!(io::stderr().lock(), "{text}"),
        };
    }
}

/// Which way a segment went. We are always the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client (us) → server.
    ToServer,
    /// Server → client (us).
    ToClient,
}

/// One segment as the device saw it.
#[derive(Clone, Debug)]
pub struct Segment {
    /// Time since the first event of the connection.
    pub at: Duration,
    /// Direction.
    pub dir: Dir,
    /// Control bits.
    pub flags: TcpFlags,
    /// Absolute sequence number.
    pub seq: u32,
    /// Absolute acknowledgment number, when the ACK bit is set.
    pub ack: Option<u32>,
    /// Sequence number relative to the sender's ISN, once known.
    pub rel_seq: Option<u32>,
    /// Acknowledgment number relative to the receiver's ISN, once known.
    pub rel_ack: Option<u32>,
    /// The window the sender offers, scaled once both sides agreed to scale (RFC 7323 §2).
    pub window: u32,
    /// Payload bytes.
    pub len: usize,
    /// The options of a SYN, as `mss 1460,ws 7,sackOK,ts`.
    pub options: String,
    /// The start of the payload, printable.
    pub snippet: String,
}

/// What the recorder saw, in order.
#[derive(Clone, Debug)]
pub enum Seen {
    /// A segment of our connection.
    Segment(Segment),
    /// Our connection changed state.
    State {
        /// Time since the first event.
        at: Duration,
        /// State before.
        from: State,
        /// State after.
        to: State,
    },
}

/// How far the connection's close has come, for the client to wait on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Our connection's state, once it changed.
    pub state: Option<State>,
    /// Our FIN went out.
    pub fin_sent: bool,
    /// The server's FIN came and our ACK of it went out.
    pub peer_fin_acked: bool,
}

impl Progress {
    /// Both FINs are sent and acknowledged on our side: nothing we owe the peer is still
    /// queued, so leaving now (without waiting out TIME-WAIT) is safe.
    pub fn closed_enough(&self) -> bool {
        self.state == Some(State::Closed) || (self.fin_sent && self.peer_fin_acked)
    }
}

/// The part of the ladder that changes as segments pass.
#[derive(Debug)]
struct Ladder {
    sink: Option<Sink>,
    ours: IpAddr,
    msl: Duration,
    start: Option<Instant>,
    /// (client, server), once our SYN went out.
    tuple: Option<(SocketAddr, SocketAddr)>,
    /// ISNs of the client and of the server.
    isn: [Option<u32>; 2],
    /// Window scale shifts the client's and the server's SYN offered.
    wscale: [Option<u8>; 2],
    /// The sequence number just after the server's FIN.
    peer_fin_end: Option<u32>,
    /// Phases whose heading was printed: handshake, data, close, reset.
    headed: [bool; 4],
    /// State changes seen before our SYN named the connection.
    pending: Vec<Seen>,
    seen: Vec<Seen>,
}

/// Records and draws the connection; shared by the device wrapper and the tracing layer.
#[derive(Debug)]
pub struct Recorder {
    ladder: Mutex<Ladder>,
    progress: watch::Sender<Progress>,
}

impl Recorder {
    /// A recorder for the connections of the stack whose address is `ours`; it prints the
    /// ladder to `sink` when given one. `msl` is only told, in the TIME-WAIT line.
    pub fn new(ours: IpAddr, sink: Option<Sink>, msl: Duration) -> Arc<Recorder> {
        let (progress, _) = watch::channel(Progress {
            state: None,
            fin_sent: false,
            peer_fin_acked: false,
        });
        Arc::new(Recorder {
            ladder: Mutex::new(Ladder {
                sink,
                ours,
                msl,
                start: None,
                tuple: None,
                isn: [None; 2],
                wscale: [None; 2],
                peer_fin_end: None,
                headed: [false; 4],
                pending: Vec::new(),
                seen: Vec::new(),
            }),
            progress,
        })
    }

    /// A receiver of the close's [`Progress`].
    pub fn progress(&self) -> watch::Receiver<Progress> {
        self.progress.subscribe()
    }

    /// Everything seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// The MSL the recorder was told.
    pub fn msl(&self) -> Duration {
        self.lock().msl
    }

    fn lock(&self) -> MutexGuard<'_, Ladder> {
        // A panic elsewhere while printing leaves the ladder usable.
        self.ladder.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A packet the device moved: `sent` by the stack, or received for it.
    fn on_packet(&self, bytes: &[u8], sent: bool) {
        let Ok(packet) = Packet::parse(bytes) else {
            return; // Not TCP (ICMP, IPv6 neighbour discovery...) or damaged: not our story.
        };
        let mut ladder = self.lock();
        if let Some(segment) = ladder.on_segment(&packet, sent) {
            self.progress.send_modify(|p| {
                p.fin_sent |= segment.dir == Dir::ToServer && segment.flags.fin();
                p.peer_fin_acked |= segment.dir == Dir::ToServer
                    && ladder
                        .peer_fin_end
                        .zip(segment.ack)
                        .is_some_and(|(end, ack)| ack == end);
            });
        }
    }

    /// Our connection went from `from` to `to`.
    fn on_state(&self, from: State, to: State) {
        self.lock().on_state(from, to);
        self.progress.send_modify(|p| p.state = Some(to));
    }
}

impl Ladder {
    fn elapsed(&mut self) -> Duration {
        let start = *self.start.get_or_insert_with(Instant::now);
        start.elapsed()
    }

    /// Records and draws one segment of our connection; returns it.
    fn on_segment(&mut self, packet: &Packet<'_>, sent: bool) -> Option<Segment> {
        let tcp = &packet.tcp;
        let (src, dst) = (
            SocketAddr::new(packet.ip.src, tcp.src_port),
            SocketAddr::new(packet.ip.dst, tcp.dst_port),
        );
        if self.tuple.is_none() && sent && tcp.flags.syn() && !tcp.flags.ack() {
            self.tuple = Some((src, dst));
            self.print_header(src, dst);
            for seen in std::mem::take(&mut self.pending) {
                self.draw(&seen);
                self.seen.push(seen);
            }
        }
        let (client, server) = self.tuple?;
        let dir = match (src, dst) {
            _ if sent && src == client && dst == server && src.ip() == self.ours => Dir::ToServer,
            _ if !sent && src == server && dst == client => Dir::ToClient,
            _ => return None,
        };
        let segment = self.segment(packet, dir);
        self.head_phase_of(&segment);
        let seen = Seen::Segment(segment.clone());
        self.draw(&seen);
        self.seen.push(seen);
        Some(segment)
    }

    /// Builds the record of a segment, learning ISNs and window scales from the SYNs.
    fn segment(&mut self, packet: &Packet<'_>, dir: Dir) -> Segment {
        let tcp = &packet.tcp;
        let (me, peer) = match dir {
            Dir::ToServer => (0, 1),
            Dir::ToClient => (1, 0),
        };
        if tcp.flags.syn() {
            self.isn[me] = Some(tcp.seq.get());
            self.wscale[me] = tcp.options.window_scale;
        }
        let ack = tcp.flags.ack().then_some(tcp.ack.get());
        if dir == Dir::ToClient && tcp.flags.fin() {
            let fin_seq = tcp.seq.get().wrapping_add(tcp.payload.len() as u32);
            self.peer_fin_end = Some(fin_seq.wrapping_add(1));
        }
        // RFC 7323 §2.2: the window of a SYN is never scaled; after the handshake, only when
        // both SYNs carried the option.
        let shift = match (tcp.flags.syn(), self.wscale) {
            (false, [Some(a), Some(b)]) => [a, b][me].min(14),
            _ => 0,
        };
        Segment {
            at: self.elapsed(),
            dir,
            flags: tcp.flags,
            seq: tcp.seq.get(),
            ack,
            rel_seq: self.isn[me].map(|isn| tcp.seq.get().wrapping_sub(isn)),
            rel_ack: ack.zip(self.isn[peer]).map(|(a, isn)| a.wrapping_sub(isn)),
            window: u32::from(tcp.window) << shift,
            len: tcp.payload.len(),
            options: syn_options(packet),
            snippet: snippet(tcp.payload),
        }
    }

    fn on_state(&mut self, from: State, to: State) {
        let seen = Seen::State {
            at: self.elapsed(),
            from,
            to,
        };
        if self.tuple.is_none() {
            self.pending.push(seen);
            return;
        }
        match to {
            State::FinWait1 | State::CloseWait | State::Closing | State::LastAck => {
                self.heading(2, "four-way close (connection release)");
            }
            _ => {}
        }
        self.draw(&seen);
        self.seen.push(seen);
        if to == State::TimeWait {
            let wait = format!(
                "(TIME-WAIT: waiting 2×MSL = 2 × {} = {})",
                secs(self.msl),
                secs(2 * self.msl)
            );
            self.print(&bar_line(&format!("{wait:^MIDDLE$}")));
        }
    }

    /// Prints the heading of the phase a segment opens, once per phase.
    fn head_phase_of(&mut self, segment: &Segment) {
        if segment.flags.syn() {
            self.heading(0, "three-way handshake");
        } else if segment.flags.rst() {
            self.heading(3, "reset");
        } else if segment.flags.fin() {
            self.heading(2, "four-way close (connection release)");
        } else if segment.len > 0 {
            self.heading(1, "data");
        }
    }

    fn heading(&mut self, phase: usize, title: &str) {
        if !std::mem::replace(&mut self.headed[phase], true) {
            let title = format!(" {title} ");
            self.print(&bar_line(&format!("{title:─^MIDDLE$}")));
        }
    }

    fn print_header(&mut self, client: SocketAddr, server: SocketAddr) {
        let left = format!("client {client} (us)");
        let right = format!("server {server}");
        let width = (MIDDLE + 4).saturating_sub(right.chars().count());
        self.print(&format!("{:>9}  {left:<width$}{right}", "t (ms)"));
        self.print(&bar_line(""));
        // Anything seen before the SYN (our CLOSED → SYN-SENT) opens the handshake.
        if !self.pending.is_empty() {
            self.heading(0, "three-way handshake");
        }
    }

    fn draw(&self, seen: &Seen) {
        match seen {
            Seen::State { at, from, to } => {
                let text = format!("├─ {from} → {to}");
                self.print(&format!("{}  {text:<w$}│", millis(*at), w = MIDDLE + 3));
            }
            Seen::Segment(s) => {
                self.print(&segment_line(s));
                if !s.snippet.is_empty() {
                    let snippet = match s.dir {
                        Dir::ToServer => format!("{:<MIDDLE$}", s.snippet),
                        Dir::ToClient => format!("{:>MIDDLE$}", s.snippet),
                    };
                    self.print(&bar_line(&snippet));
                }
            }
        }
    }

    fn print(&self, line: &str) {
        if let Some(sink) = self.sink {
            sink.line(line);
        }
    }
}

/// `│ text │` under the time column.
fn bar_line(text: &str) -> String {
    format!("{:9}  │ {text:<MIDDLE$} │", "")
}

/// The ladder line of a segment: relative numbers on the arrow, absolute ones after it.
fn segment_line(s: &Segment) -> String {
    let label = format!(
        "{:<3} seq={:<5} ack={:<5} win={:<6} len={}",
        s.flags.to_string(),
        opt(s.rel_seq),
        opt(s.rel_ack),
        s.window,
        s.len
    );
    let shaft = "─".repeat(MIDDLE.saturating_sub(LABEL + 2));
    let arrow = match s.dir {
        Dir::ToServer => format!("{label:<LABEL$} {shaft}▶"),
        Dir::ToClient => format!("◀{shaft} {label:<LABEL$}"),
    };
    let mut absolute = format!("seq={}", s.seq);
    if let Some(ack) = s.ack {
        let _ = write!(absolute, " ack={ack}");
    }
    if !s.options.is_empty() {
        let _ = write!(absolute, " <{}>", s.options);
    }
    format!("{}  │ {arrow} │  {absolute}", millis(s.at))
}

fn opt(n: Option<u32>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| n.to_string())
}

/// Milliseconds, right-aligned in the time column.
fn millis(at: Duration) -> String {
    format!("{:>9.3}", at.as_secs_f64() * 1000.0)
}

/// A duration in seconds, as `1 s` or `0.5 s`.
pub fn secs(d: Duration) -> String {
    format!("{} s", d.as_secs_f64())
}

/// The options of a SYN, in tcpdump's words.
fn syn_options(packet: &Packet<'_>) -> String {
    let o = &packet.tcp.options;
    if !packet.tcp.flags.syn() {
        return String::new();
    }
    let mut parts = Vec::new();
    if let Some(mss) = o.mss {
        parts.push(format!("mss {mss}"));
    }
    if o.sack_permitted {
        parts.push("sackOK".to_owned());
    }
    if o.timestamps.is_some() {
        parts.push("ts".to_owned());
    }
    if let Some(ws) = o.window_scale {
        parts.push(format!("ws {ws}"));
    }
    parts.join(",")
}

/// The payload's first line, quoted and escaped, cut to [`SNIPPET`] characters; empty
/// without payload.
fn snippet(payload: &[u8]) -> String {
    if payload.is_empty() {
        return String::new();
    }
    let first = payload.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let mut text: String = first
        .escape_ascii()
        .to_string()
        .chars()
        .take(SNIPPET)
        .collect();
    if first.len() < payload.len() || text.len() < first.escape_ascii().count() {
        text.push('…');
    }
    format!("\"{text}\"")
}

/// A device that shows every packet it moves to a [`Recorder`].
pub struct TraceDevice<D> {
    inner: D,
    recorder: Arc<Recorder>,
}

impl<D> TraceDevice<D> {
    /// Wraps `inner`.
    pub fn new(inner: D, recorder: Arc<Recorder>) -> Self {
        TraceDevice { inner, recorder }
    }
}

impl<D: Device> Device for TraceDevice<D> {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let before = batch.len();
        let poll = self.inner.poll_recv(cx, batch);
        for (packet, _) in batch.iter().skip(before) {
            self.recorder.on_packet(packet, false);
        }
        poll
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let first = batch.len() - batch.unsent().count();
        let poll = self.inner.poll_send(cx, batch);
        let taken = batch.len() - batch.unsent().count() - first;
        for (packet, _) in batch.iter().skip(first).take(taken) {
            self.recorder.on_packet(packet, true);
        }
        poll
    }
}

/// The `tracing` layer that hands the driver's state changes to a [`Recorder`]. Give it a
/// filter that lets `net::driver` at DEBUG through.
pub struct StateLayer(pub Arc<Recorder>);

impl<S: tracing::Subscriber> Layer<S> for StateLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: LayerContext<'_, S>) {
        if event.metadata().target() != "net::driver" {
            return;
        }
        let mut fields = StateFields::default();
        event.record(&mut fields);
        if fields.message != "state" {
            return;
        }
        if let (Some(from), Some(to)) = (state_named(&fields.from), state_named(&fields.to)) {
            self.0.on_state(from, to);
        }
    }
}

/// The fields of a `state` event.
#[derive(Default)]
struct StateFields {
    message: String,
    from: String,
    to: String,
}

impl Visit for StateFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let slot = match field.name() {
            "message" => &mut self.message,
            "from" => &mut self.from,
            "to" => &mut self.to,
            _ => return,
        };
        *slot = format!("{value:?}");
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}

/// The state whose `Display` is `name`.
fn state_named(name: &str) -> Option<State> {
    State::ALL.into_iter().find(|s| s.to_string() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        for state in State::ALL {
            assert_eq!(state_named(&state.to_string()), Some(state));
        }
        assert_eq!(state_named("SYN_SENT"), None);
    }

    #[test]
    fn snippets_are_quoted_escaped_and_cut() {
        assert_eq!(snippet(b""), "");
        assert_eq!(
            snippet(b"GET / HTTP/1.1\r\nHost: h\r\n"),
            "\"GET / HTTP/1.1…\""
        );
        assert_eq!(snippet(b"ok"), "\"ok\"");
        assert_eq!(snippet(b"\x00\xff"), "\"\\x00\\xff\"");
        let long = snippet(&[b'a'; 100]);
        assert_eq!(long.chars().count(), SNIPPET + 3);
    }

    #[test]
    fn segment_lines_keep_the_ladder_aligned() {
        let segment = |dir| Segment {
            at: Duration::from_micros(1234),
            dir,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            seq: 4_000_000_000,
            ack: Some(17),
            rel_seq: Some(0),
            rel_ack: Some(1),
            window: 65535,
            len: 0,
            options: "mss 1460".into(),
            snippet: String::new(),
        };
        let out = segment_line(&segment(Dir::ToServer));
        let back = segment_line(&segment(Dir::ToClient));
        let bar = |line: &str| line.char_indices().filter(|&(_, c)| c == '│').count();
        assert_eq!((bar(&out), bar(&back)), (2, 2));
        let right_bar = |line: &str| line.chars().position(|c| c == '▶' || c == '◀');
        assert!(right_bar(&out) > right_bar(&back));
        assert_eq!(
            out.chars().position(|c| c == '<'),
            back.chars().position(|c| c == '<'),
            "the absolute numbers start in the same column"
        );
        assert!(out.starts_with("    1.234  │ S.  seq=0     ack=1     win=65535  len=0"));
        assert!(out.ends_with("│  seq=4000000000 ack=17 <mss 1460>"));
        assert_eq!(
            bar_line("").chars().count(),
            back.find("  seq=4")
                .map_or(0, |i| { back[..i].chars().count() })
        );
    }
}
