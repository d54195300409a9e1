//! A TCP connection: the transmission control block of RFC 9293 §3.3.1 and the operations on it.
//!
//! A [`Connection`] has the four kinds of methods of a sans-IO protocol object: getters
//! (`&self`), inputs from the network or the clock (`handle_segment`, `handle_timeout`), user
//! commands (`write`, `read`, `shutdown`, `close`, `abort`), and outputs the caller drains
//! (`poll_transmit`, `poll_timeout`, `poll_event`). Segment arrival lives in `input.rs`, one
//! function per step of §3.10.7; what to send next in `output.rs`.

mod autotune;
mod congestion;
mod input;
mod output;
mod rack;
mod recovery;
mod rfc7323;
mod sack;

pub(crate) use output::bare_segment;
pub(crate) use rfc7323::ts_clock;
pub(crate) mod timers;

use core::time::Duration;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;

use wire::{SeqNum, TcpRepr};

use crate::cc::{CongestionControl, new_controller};
use crate::config::Config;
use crate::error::{ConnError, ReadError, WriteError};
use crate::event::Event;
use crate::recv_buf::RecvBuf;
use crate::rtt::{RttEstimator, RttTimer};
use crate::send_buf::SendBuf;
use crate::state::{Action, Input, State, transition};
use crate::stats::{Info, Stats};
use crate::time::Instant;
use autotune::RcvAutotune;
use rack::Rack;
use recovery::Recovery;
use rfc7323::Rfc7323;
use sack::Sack;
use timers::{Timer, TimerTable};

/// The send sequence variables of RFC 9293 §3.3.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendSeq {
    /// SND.UNA: oldest unacknowledged sequence number.
    pub una: SeqNum,
    /// SND.NXT: next sequence number to send.
    pub nxt: SeqNum,
    /// Highest sequence number sent so far plus one. SND.NXT moves back to SND.UNA when a
    /// timeout retransmits; ACKs up to this mark stay acceptable (BSD's `snd_max`).
    pub max: SeqNum,
    /// SND.WND: the peer's receive window, counted from SND.UNA (what the peer offered, less
    /// the data acknowledged since).
    pub wnd: u32,
    /// SND.WL1: segment sequence number used for the last window update.
    pub wl1: SeqNum,
    /// SND.WL2: segment acknowledgment number used for the last window update.
    pub wl2: SeqNum,
    /// ISS: our initial sequence number.
    pub iss: SeqNum,
    /// MAX.SND.WND: the largest window the peer has offered (RFC 5961 §5.2).
    pub max_wnd: u32,
}

/// The receive sequence variables of RFC 9293 §3.3.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvSeq {
    /// RCV.NXT: next sequence number expected.
    pub nxt: SeqNum,
    /// RCV.WND: the window we advertised last.
    pub wnd: u32,
    /// IRS: the peer's initial sequence number.
    pub irs: SeqNum,
}

impl RecvSeq {
    /// What is left of the window we advertised up to `right_edge`: RCV.WND as the peer sees
    /// it now.
    fn wnd_remaining(&self, right_edge: SeqNum) -> u32 {
        if right_edge.gt(self.nxt) {
            right_edge - self.nxt
        } else {
            0
        }
    }
}

/// One TCP connection, from the first SYN to CLOSED.
#[derive(Debug)]
pub struct Connection {
    config: Arc<Config>,
    state: State,
    local: SocketAddr,
    remote: SocketAddr,
    /// Opened by a listener (a RST in SYN-RECEIVED then returns it to LISTEN, i.e. deletes it).
    passive: bool,
    snd: SendSeq,
    rcv: RecvSeq,
    send_buf: SendBuf,
    recv_buf: RecvBuf,
    /// The largest payload we put in a segment (RFC 9293 §3.7.1: the peer's MSS option, or
    /// 536 when absent, capped by our own).
    snd_mss: usize,
    /// The user shut down the write side: our FIN follows the last byte written.
    fin_queued: bool,
    /// Where the peer's FIN sits in the receive stream, once seen (maybe past a gap).
    peer_fin: Option<u64>,
    /// The peer's FIN arrived in order: RCV.NXT is past it.
    read_closed: bool,
    /// Right edge of the window we advertised last (RCV.NXT + RCV.WND when sent).
    rcv_adv: SeqNum,
    timers: TimerTable,
    rtt: RttEstimator,
    rtt_timer: RttTimer,
    /// Consecutive retransmission timeouts without progress.
    retries: u32,
    /// Our SYN or SYN-ACK timed out at least once (RFC 6298 §5.7).
    syn_timed_out: bool,
    /// Zero-window probes since the peer last answered anything (the give-up count: RFC 9293
    /// §3.8.6.1 MUST-37 keeps a connection whose peer answers).
    probes: u32,
    /// Doublings of the persist interval since the window last opened (SHLD-30's backoff).
    persist_backoff: u32,
    /// A pure ACK is owed now (out-of-order data, a window update, a challenge).
    ack_now: bool,
    /// Full-sized segments received since our last ACK (RFC 9293 §3.8.6.3: ACK every second).
    unacked_full_segments: u32,
    /// The persist timer fired: send one byte past a zero window, or override sender SWS
    /// avoidance.
    probe_now: bool,
    /// End of the last segment sent shorter than the MSS (Minshall's SND.SML, for Nagle).
    snd_sml: SeqNum,
    /// The congestion controller: cwnd and ssthresh (RFC 5681).
    cc: Box<dyn CongestionControl>,
    /// Loss detection and recovery (RFC 6675, RFC 6582, RFC 6937).
    recovery: Recovery,
    /// Time-based loss detection and tail loss probes (RFC 8985).
    rack: Rack,
    /// The congestion window, not the data or the peer's window, held data back since the last
    /// ACK (RFC 7661: only then may the window grow).
    cwnd_limited: bool,
    /// When data was last sent, for the restart window (RFC 5681 §4.1).
    last_send: Option<Instant>,
    /// Start of the current delivery-rate interval: when, and `bytes_acked` then.
    rate_start: (Instant, u64),
    /// Bytes per second acknowledged over the last interval of at least one SRTT.
    delivery_rate: Option<u64>,
    /// A RST to send: `<SEQ=seq><CTL=RST>` (or with ACK when `ack` is set).
    rst: Option<(SeqNum, Option<SeqNum>)>,
    /// The user closed the connection and holds no handle: data arriving now is answered with
    /// RST, and FIN-WAIT-2 is bounded in time.
    orphaned: bool,
    error: Option<ConnError>,
    challenge_window: Instant,
    challenges_in_window: u32,
    nodelay: bool,
    /// Window scaling and timestamps (RFC 7323).
    opts: Rfc7323,
    /// SACK, receiver side (RFC 2018, RFC 2883).
    sack: Sack,
    /// Receive-buffer autotuning (dynamic right-sizing).
    rcv_autotune: RcvAutotune,
    events: VecDeque<Event>,
    stats: Stats,
}

/// Bytes of IP + TCP headers subtracted from the MTU for the default MSS (RFC 9293 §3.7.1).
const DEFAULT_PEER_MSS: usize = 536;
/// The RTO data transmission starts from after a SYN timed out (RFC 6298 §5.7).
const SYN_TIMEOUT_FALLBACK_RTO: Duration = Duration::from_secs(3);

impl Connection {
    fn new(
        config: Arc<Config>,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Self {
        let mss = our_mss(&config, local);
        Connection {
            state: State::Closed,
            local,
            remote,
            passive: false,
            snd: SendSeq {
                una: iss,
                nxt: iss,
                max: iss,
                wnd: 0,
                wl1: SeqNum::new(0),
                wl2: iss,
                iss,
                max_wnd: 0,
            },
            rcv: RecvSeq {
                nxt: SeqNum::new(0),
                wnd: 0,
                irs: SeqNum::new(0),
            },
            send_buf: SendBuf::new(config.send_buffer),
            recv_buf: RecvBuf::new(config.recv_buffer),
            snd_mss: mss.min(DEFAULT_PEER_MSS),
            fin_queued: false,
            peer_fin: None,
            read_closed: false,
            rcv_adv: SeqNum::new(0),
            timers: TimerTable::default(),
            rtt: RttEstimator::new(config.rto_initial, config.rto_min, config.rto_max),
            rtt_timer: RttTimer::default(),
            retries: 0,
            syn_timed_out: false,
            probes: 0,
            persist_backoff: 0,
            ack_now: false,
            unacked_full_segments: 0,
            probe_now: false,
            snd_sml: iss,
            cc: new_controller(config.congestion_control, mss as u32),
            recovery: Recovery::new(),
            rack: Rack::new(),
            cwnd_limited: false,
            last_send: None,
            rate_start: (now, 0),
            delivery_rate: None,
            rst: None,
            orphaned: false,
            error: None,
            challenge_window: now,
            challenges_in_window: 0,
            nodelay: config.nodelay,
            opts: Rfc7323::new(&config, ts_offset),
            sack: Sack::new(&config),
            rcv_autotune: RcvAutotune::new(&config),
            events: VecDeque::new(),
            stats: Stats::default(),
            config,
        }
    }

    /// An active open (RFC 9293 §3.10.1): CLOSED → SYN-SENT; the SYN goes out on the next
    /// `poll_transmit`.
    pub(crate) fn connect(
        config: Arc<Config>,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNum,
        ts_offset: u32,
    ) -> Self {
        let mut conn = Connection::new(config, now, local, remote, iss, ts_offset);
        conn.apply(now, Input::ActiveOpen);
        conn
    }

    /// A passive open by a listener that received `syn` (RFC 9293 §3.10.7.2): LISTEN →
    /// SYN-RECEIVED; the SYN-ACK goes out on the next `poll_transmit`.
    pub(crate) fn accept_syn(
        config: Arc<Config>,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        (iss, ts_offset): (SeqNum, u32),
        syn: &TcpRepr<'_>,
    ) -> Self {
        let mut conn = Connection::new(config, now, local, remote, iss, ts_offset);
        conn.passive = true;
        conn.state = State::Listen;
        conn.on_peer_syn(now, syn);
        conn.apply(now, Input::RecvSyn);
        conn
    }

    // ---- getters ----

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Our address and port.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The peer's address and port.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// The send sequence variables.
    pub fn snd(&self) -> &SendSeq {
        &self.snd
    }

    /// The receive sequence variables.
    pub fn rcv(&self) -> &RecvSeq {
        &self.rcv
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// A snapshot of the connection's state, windows, timers and counters, like Linux's
    /// `tcp_info`.
    pub fn info(&self) -> Info {
        Info {
            state: self.state,
            mss: self.snd_mss,
            srtt: self.rtt.srtt(),
            rttvar: self.rtt.rttvar(),
            rto: self.rtt.rto(),
            congestion_control: self.config.congestion_control,
            cwnd: self.cc.window(),
            ssthresh: Some(self.cc.ssthresh()).filter(|&s| s != u32::MAX),
            in_recovery: self.recovery.in_recovery(),
            bytes_in_flight: self.in_flight(),
            snd_wnd: self.snd.wnd,
            rcv_wnd: self.rcv.wnd,
            send_buffer: self.send_buf.capacity(),
            recv_buffer: self.recv_buf.capacity(),
            delivery_rate: self.delivery_rate,
            stats: self.stats,
        }
    }

    /// The effective send MSS.
    pub fn mss(&self) -> usize {
        self.snd_mss
    }

    /// The window scale shifts in effect, `(peer's, ours)` (RFC 7323 Snd.Wind.Shift and
    /// Rcv.Wind.Shift), once both SYNs carried the option.
    pub fn window_scale(&self) -> Option<(u8, u8)> {
        self.opts.window_scale()
    }

    /// True once both SYNs carried the Timestamps option (RFC 7323 §3.2): every segment
    /// carries it from then on.
    pub fn timestamps(&self) -> bool {
        self.opts.timestamps()
    }

    /// True once both SYNs carried SACK-permitted (RFC 2018 §2): our ACKs then report
    /// out-of-order and duplicate data in SACK blocks.
    pub fn sack(&self) -> bool {
        self.sack.agreed()
    }

    /// The smoothed round-trip time (RFC 6298 SRTT), once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.rtt.srtt()
    }

    /// The round-trip time variation (RFC 6298 RTTVAR).
    pub fn rttvar(&self) -> Duration {
        self.rtt.rttvar()
    }

    /// The current retransmission timeout, backoff included.
    pub fn rto(&self) -> Duration {
        self.rtt.rto()
    }

    /// Why the connection failed, if it did.
    pub fn error(&self) -> Option<ConnError> {
        self.error
    }

    /// Whether Nagle's algorithm is off.
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }

    /// Bytes ready to read.
    pub fn readable(&self) -> usize {
        self.recv_buf.readable()
    }

    /// Free space in the send buffer.
    pub fn send_capacity(&self) -> usize {
        self.send_buf.free()
    }

    /// Bytes written but not yet acknowledged.
    pub fn send_queued(&self) -> usize {
        self.send_buf.len()
    }

    /// True once the peer's FIN has been received in order.
    pub fn is_read_closed(&self) -> bool {
        self.read_closed
    }

    /// True once the user shut the write side down.
    pub fn is_write_closed(&self) -> bool {
        self.fin_queued
    }

    // ---- user commands ----

    /// Turns Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.nodelay = nodelay;
    }

    /// Queues data to send (RFC 9293 §3.10.2 SEND), returning how much the send buffer took.
    ///
    /// # Errors
    ///
    /// [`WriteError::Blocked`] when the buffer is full, [`WriteError::Closed`] after
    /// `shutdown`/`close` or once the peer can no longer receive, [`WriteError::Failed`] after a
    /// reset or timeout.
    pub fn write(&mut self, data: &[u8]) -> Result<usize, WriteError> {
        if let Some(e) = self.error {
            return Err(WriteError::Failed(e));
        }
        if self.fin_queued || !self.state.accepts_writes() {
            return Err(WriteError::Closed);
        }
        if data.is_empty() {
            return Ok(0);
        }
        match self.send_buf.write(data) {
            0 => Err(WriteError::Blocked),
            n => Ok(n),
        }
    }

    /// Reads received data in order (RFC 9293 §3.10.3 RECEIVE). `Ok(0)` means the peer's FIN
    /// has been reached: end of stream.
    ///
    /// # Errors
    ///
    /// [`ReadError::Blocked`] when nothing has arrived yet, [`ReadError::Failed`] after a
    /// reset or timeout, [`ReadError::NotConnected`] when closed without a FIN from the peer.
    pub fn read(&mut self, dst: &mut [u8]) -> Result<usize, ReadError> {
        if let Some(e) = self.error {
            return Err(ReadError::Failed(e));
        }
        if dst.is_empty() {
            return Ok(0);
        }
        let n = self.recv_buf.read(dst);
        if n > 0 {
            self.on_user_read();
            return Ok(n);
        }
        if self.read_closed {
            Ok(0)
        } else if self.state == State::Closed {
            Err(ReadError::NotConnected)
        } else {
            Err(ReadError::Blocked)
        }
    }

    /// Copies received data without consuming it.
    ///
    /// # Errors
    ///
    /// As [`Connection::read`].
    pub fn peek(&self, dst: &mut [u8]) -> Result<usize, ReadError> {
        if let Some(e) = self.error {
            return Err(ReadError::Failed(e));
        }
        match self.recv_buf.peek(dst) {
            0 if self.read_closed || dst.is_empty() => Ok(0),
            0 if self.state == State::Closed => Err(ReadError::NotConnected),
            0 => Err(ReadError::Blocked),
            n => Ok(n),
        }
    }

    /// Shuts the write side down: a FIN follows the data already written (RFC 9293 §3.10.4
    /// CLOSE, which in TCP means "I have no more to send"). Reading goes on.
    pub fn shutdown(&mut self, now: Instant) {
        if self.fin_queued || self.error.is_some() {
            return;
        }
        self.fin_queued = true;
        // In SYN-SENT and SYN-RECEIVED the FIN waits for ESTABLISHED (§3.10.4: queue it).
        if matches!(self.state, State::Established | State::CloseWait) {
            self.apply(now, Input::Close);
        }
    }

    /// Closes the connection for good, as dropping a Linux socket does: if received data was
    /// never read, the peer gets a RST (RFC 9293 §3.10.4 allows it; RFC 2525 §2.17 recommends
    /// it); otherwise the FIN handshake finishes without the user, and data arriving
    /// afterwards is answered with RST.
    pub fn close(&mut self, now: Instant) {
        if self.orphaned {
            return;
        }
        self.orphaned = true;
        match self.state {
            State::Closed | State::TimeWait => {}
            State::SynSent => self.apply(now, Input::Close),
            _ if self.recv_buf.readable() > 0 => self.terminate(now, true),
            _ => {
                self.shutdown(now);
                if self.state == State::FinWait2 {
                    self.timers
                        .set(Timer::FinWait2, now + self.config.fin_wait_2_timeout);
                }
            }
        }
    }

    /// Aborts: sends RST if the peer may still send to us, drops both buffers, reaches CLOSED
    /// (RFC 9293 §3.10.5 ABORT: a RST from SYN-RECEIVED to CLOSE-WAIT; none in SYN-SENT,
    /// CLOSING, LAST-ACK or TIME-WAIT).
    pub fn abort(&mut self, now: Instant) {
        let rst = !matches!(self.state, State::SynSent | State::Closing | State::LastAck);
        self.terminate(now, rst);
    }

    /// Ends the connection at the user's request, with `<SEQ=SND.NXT><CTL=RST>` if `rst`.
    fn terminate(&mut self, now: Instant, rst: bool) {
        match self.state {
            State::Closed => {}
            State::TimeWait => self.apply(now, Input::Reset),
            _ => {
                if rst {
                    self.rst = Some((self.snd.nxt, None));
                }
                self.fail(now, ConnError::Aborted);
            }
        }
    }

    // ---- outputs ----

    /// The earliest instant at which `handle_timeout` has work, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// The next event for the driver.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ---- internals shared by input.rs and output.rs ----

    /// Takes an edge of figure 5 and performs its action.
    fn apply(&mut self, now: Instant, input: Input) {
        let Some((next, action)) = transition(self.state, input) else {
            return;
        };
        let from = self.state;
        self.state = next;
        if from != next {
            self.events
                .push_back(Event::StateChanged { from, to: next });
        }
        match action {
            Action::None | Action::SendSyn | Action::SendSynAck => {}
            Action::SendAck => self.ack_now = true,
            Action::SendFin => self.fin_queued = true,
            Action::StartTimeWait => {
                // No ACK of its own: from FIN-WAIT-2, step eight already acknowledges the FIN;
                // from CLOSING, the ACK of our FIN needs no answer (§3.10.7.4 step five).
                self.timers.stop_all();
                self.timers.set(Timer::TimeWait, now + 2 * self.config.msl);
            }
            Action::Delete => {
                self.timers.stop_all();
                self.events.push_back(Event::Closed(self.error));
            }
        }
        if next == State::Established {
            if self.syn_timed_out {
                self.rtt.fall_back(SYN_TIMEOUT_FALLBACK_RTO);
            }
            self.push_event(Event::Connected);
            self.push_event(Event::Writable);
            if self.fin_queued {
                self.apply(now, Input::Close);
            }
        }
    }

    /// Ends the connection with `error`: CLOSED, buffers dropped from the user's view.
    fn fail(&mut self, now: Instant, error: ConnError) {
        self.error = Some(error);
        self.apply(now, Input::Reset);
    }

    fn push_event(&mut self, event: Event) {
        if !self.events.contains(&event) {
            self.events.push_back(event);
        }
    }

    /// Takes the peer's ISN, window, MSS and RFC 7323 options from its SYN (RFC 9293
    /// §3.10.7.2-3).
    fn on_peer_syn(&mut self, now: Instant, syn: &TcpRepr<'_>) {
        self.opts.on_peer_syn(now, syn);
        self.sack.on_peer_syn(syn);
        self.rcv.irs = syn.seq;
        self.rcv.nxt = syn.seq + 1;
        self.rcv_adv = self.rcv.nxt;
        // RFC 7323 §2.2: the window of a SYN is never scaled.
        self.snd.wnd = u32::from(syn.window);
        self.snd.max_wnd = self.snd.max_wnd.max(self.snd.wnd);
        self.snd.wl1 = syn.seq;
        // RFC 9293 §3.7.1: without the option the peer accepts 536 bytes (IPv4) or 1220 (IPv6,
        // RFC 8200 §5's minimum MTU minus headers); the effective MSS is never above ours.
        let ours = our_mss(&self.config, self.local);
        let default = if self.local.is_ipv6() {
            1220
        } else {
            DEFAULT_PEER_MSS
        };
        let theirs = syn.options.mss.map_or(default, usize::from);
        // RFC 6691: the MSS counts no TCP options, so every segment's timestamps come out of
        // the payload (1448 bytes on a 1500-byte MTU, as Linux sends).
        self.snd_mss = theirs
            .clamp(1, ours)
            .saturating_sub(self.opts.option_overhead())
            .max(1);
        self.cc.set_mss(self.snd_mss as u32);
        self.recovery.set_sack(self.sack.agreed());
        self.rack
            .set_enabled(self.config.rack_tlp && self.sack.agreed());
        self.on_cwnd_grown();
    }

    /// Sequence number of send-stream offset `offset` (offset 0 follows the SYN).
    fn snd_seq(&self, offset: u64) -> SeqNum {
        self.snd.iss + 1 + offset as u32
    }

    /// Send-stream offset of a sequence number at or after the first data byte.
    fn snd_offset(&self, seq: SeqNum) -> u64 {
        let start = self.send_buf.start();
        start + u64::from(seq - self.snd_seq(start))
    }

    /// Position of `seq` in our sequence space counted from the SYN (0) as a 64-bit number, so
    /// the RTT timer can compare marks across the 2^32 wrap.
    fn snd_mark(&self, seq: SeqNum) -> u64 {
        if seq == self.snd.iss {
            0
        } else {
            self.snd_offset(seq) + 1
        }
    }

    /// Sequence number of receive-stream offset `offset` (offset 0 follows the peer's SYN).
    fn rcv_seq(&self, offset: u64) -> SeqNum {
        self.rcv.irs + 1 + offset as u32
    }

    /// Sequence number of the first byte not yet received in order (RCV.NXT before any FIN).
    fn rcv_data_nxt(&self) -> SeqNum {
        self.rcv_seq(self.recv_buf.contiguous_end())
    }

    /// Where our FIN sits in sequence space, once the user has shut down.
    fn fin_seq(&self) -> Option<SeqNum> {
        self.fin_queued.then(|| self.snd_seq(self.send_buf.end()))
    }

    /// True once the peer acknowledged our FIN.
    fn fin_acked(&self) -> bool {
        self.fin_seq().is_some_and(|f| f.lt(self.snd.una))
    }

    /// The user read data: if the window opened by enough, tell the peer (receiver-side SWS
    /// avoidance, RFC 9293 §3.8.6.2.2: at least min(MSS, buffer/2)).
    fn on_user_read(&mut self) {
        if !self.state.receives_data() {
            return;
        }
        let edge = self.rcv.nxt + self.window_to_advertise(self.opts.rcv_wscale());
        let threshold = self.snd_mss.min(self.recv_buf.capacity() / 2) as u32;
        if edge.gt(self.rcv_adv) && edge - self.rcv_adv >= threshold {
            self.ack_now = true;
        }
    }

    /// The receive window we may offer now (before the SWS rule), within the 16-bit field
    /// shifted by `shift`, and rounded down to a multiple of 2^shift so that we never offer
    /// more than the buffer holds (RFC 7323 §2.3).
    fn window_to_advertise(&self, shift: u8) -> u32 {
        let free = u32::try_from(self.recv_buf.window()).unwrap_or(u32::MAX);
        (free.min(u32::from(u16::MAX) << shift) >> shift) << shift
    }
}

/// Our MSS for a local address: the configured one, 20 bytes less for IPv6's larger header.
fn our_mss(config: &Config, local: SocketAddr) -> usize {
    let mss = usize::from(config.mss);
    if local.is_ipv6() {
        mss.saturating_sub(20).max(1)
    } else {
        mss
    }
}

impl Connection {
    /// Test and driver helper: true when the connection has nothing more to do and can be
    /// removed (CLOSED, with no RST left to send).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed && self.rst.is_none()
    }

    /// For the endpoint's compact TIME-WAIT entry: the timestamp clock's offset and TS.Recent,
    /// when timestamps are in use.
    pub(crate) fn ts_echo(&self) -> Option<(u32, u32)> {
        self.opts.ts_echo()
    }

    fn arm_retransmit(&mut self, now: Instant) {
        self.timers.set(Timer::Retransmit, now + self.rtt.rto());
    }
}
