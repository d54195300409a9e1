//! Plays a script against the engine in virtual time, as packetdrill plays it against a kernel.
//!
//! The clock only moves forward to the next event's time or to the engine's next timer, so a
//! script runs as fast as the engine computes. Each event:
//!
//! - `<` packets wait for their time (firing the engine's timers on the way), are mapped to
//!   live numbers and injected as bytes;
//! - `>` packets take the next packet the stack sent on the script's connection (packets of
//!   other connections are skipped, as packetdrill's sniffer does), advancing time through the
//!   engine's timers until one appears or its time is well past (2 s, packetdrill's margin);
//!   then every field is compared and its time checked against the script's, within the
//!   tolerance;
//! - system calls run at their time. A call marked `...end` that blocks waits in the
//!   background while the script goes on, and must return by `end`; a blocking call without
//!   `...` blocks the script, and only the engine's timers can end it.
//!
//! Times follow packetdrill's rules: `+N` counts from the end of the previous event (from the
//! previous packet's time when both are inbound packets); the tolerance is
//! `--tolerance_usecs` or `--tolerance_percent` of the time since the previous event, whichever
//! is larger.

mod flow;
mod packet;
mod syscall;
#[cfg(test)]
mod tests;

use core::fmt;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use fsm::{Config, Endpoint, Instant};
use wire::Packet;

use crate::script::{Action, Direction, Event, PacketSpec, Script, SyscallSpec, Time};
use crate::sockets::{Blocked, Sockets};
use flow::{Flow, FlowState, SCRIPT_PORT};
use packet::{Seen, describe_spec, seconds};
use syscall::Check;

/// Our address in IPv4 scripts (packetdrill's default local address).
pub const LOCAL_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// The peer's address in IPv4 scripts (packetdrill's default remote, RFC 5737 TEST-NET-1).
pub const REMOTE_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// Our address in IPv6 scripts (in packetdrill's default local prefix).
pub const LOCAL_V6: Ipv6Addr = Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1);
/// The peer's address in IPv6 scripts (packetdrill's default remote, RFC 3849).
pub const REMOTE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// The peer's first port in passive scripts (packetdrill picks an ephemeral one).
const REMOTE_PORT: u16 = 40000;
/// How long past its time an outbound packet is waited for (packetdrill's sniffing margin).
const SNIFF_MARGIN_US: u64 = 2_000_000;
/// How long the end of a script waits for a blocked call (packetdrill waits a second).
const END_WAIT_US: u64 = 1_000_000;
/// Timer firings in a row before the runner suspects the engine of re-arming forever.
const MAX_TIMER_STEPS: usize = 1_000_000;

/// Why a script failed: the line, and what happened there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The script line.
    pub line: usize,
    /// What went wrong; for a packet, the expected and the actual one on lines of their own.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl core::error::Error for Failure {}

/// The engine configuration scripts run against: the defaults (MSS 1460 as Linux on a
/// 1500-byte MTU, RTO 1 s initially within [200 ms, 120 s], delayed ACK 40 ms).
pub fn config() -> Config {
    Config::default()
}

/// Runs a parsed script against a fresh engine with [`config`].
///
/// # Errors
///
/// The first event that did not happen as the script says.
///
/// # Examples
///
/// ```
/// use tcpdrill::{runner, script};
///
/// let text = "
///     0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
///    +0 bind(3, ..., ...) = 0
///    +0 listen(3, 1) = 0
///    +0 < S 0:0(0) win 65535 <mss 1460>
///    +0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
///   +.1 < . 1:1(0) ack 1 win 65535
///    +0 accept(3, ..., ...) = 4
/// ";
/// assert_eq!(runner::run(&script::parse(text)?), Ok(()));
///
/// let wrong = text.replace("ack 1 win 65535 <mss 1460>", "ack 2 win 65535 <mss 1460>");
/// let failure = runner::run(&script::parse(&wrong)?).unwrap_err();
/// assert_eq!(failure.line, 6);
/// assert!(failure.message.starts_with("ack: expected 2, actual 1"));
/// # Ok::<(), script::ParseError>(())
/// ```
pub fn run(script: &Script) -> Result<(), Failure> {
    Runner::new(script).run()
}

/// A packet the stack sent, not yet matched, and when (script µs).
struct Sent {
    at: u64,
    bytes: Vec<u8>,
}

/// A blocking call (`...end`) running in the background.
struct Pending {
    blocked: Blocked,
    line: usize,
    spec: SyscallSpec,
    check: Check,
    start: u64,
    end: u64,
}

/// The previous event, which relative times and the tolerance count from.
#[derive(Clone, Copy)]
struct Last {
    time: u64,
    inbound_packet: bool,
}

struct Runner<'s> {
    script: &'s Script,
    sockets: Sockets,
    /// Virtual time in µs since the script started.
    now: u64,
    local_ip: IpAddr,
    remote_ip: IpAddr,
    sent: VecDeque<Sent>,
    /// Every socket and connection the script made; `under_test` is the one packets are about.
    flows: Vec<Flow>,
    under_test: Option<usize>,
    next_remote_port: u16,
    /// The script's fd numbers → the socket layer's.
    fds: Vec<(i32, i32)>,
    pending: Option<Pending>,
    last: Option<Last>,
}

impl<'s> Runner<'s> {
    fn new(script: &'s Script) -> Self {
        let (local_ip, remote_ip) = if script.options.ipv6 {
            (IpAddr::V6(LOCAL_V6), IpAddr::V6(REMOTE_V6))
        } else {
            (IpAddr::V4(LOCAL_V4), IpAddr::V4(REMOTE_V4))
        };
        let endpoint = Endpoint::new(config(), [0; 32]);
        Runner {
            script,
            sockets: Sockets::new(endpoint, [local_ip]),
            now: 0,
            local_ip,
            remote_ip,
            sent: VecDeque::new(),
            flows: Vec::new(),
            under_test: None,
            next_remote_port: REMOTE_PORT,
            fds: Vec::new(),
            pending: None,
            last: None,
        }
    }

    fn run(mut self) -> Result<(), Failure> {
        for event in &self.script.events {
            let (start, end) = self.resolve(event);
            let tolerance = self.tolerance(start);
            let inbound_packet = match &event.action {
                Action::Packet(p) if p.direction == Direction::Inbound => {
                    self.inbound(event, p, start, tolerance)?;
                    true
                }
                Action::Packet(p) => {
                    self.outbound(event, p, start, end, tolerance)?;
                    false
                }
                Action::Syscall(spec) => {
                    self.syscall(event, spec, start, tolerance)?;
                    false
                }
            };
            self.last = Some(Last {
                time: start,
                inbound_packet,
            });
        }
        self.finish()
    }

    // ---- time ----

    fn instant(&self) -> Instant {
        Instant::from_micros(self.now)
    }

    /// The event's start and end in script µs (packetdrill's `adjust_relative_event_times`).
    fn resolve(&self, event: &Event) -> (u64, u64) {
        let inbound =
            matches!(&event.action, Action::Packet(p) if p.direction == Direction::Inbound);
        let offset = match self.last {
            Some(last) if last.inbound_packet && inbound => last.time,
            _ => self.now,
        };
        match event.time {
            Time::Absolute(t) => (t, t),
            Time::Relative(d) => (offset.saturating_add(d), offset.saturating_add(d)),
            Time::Any => (offset, offset),
            Time::AbsoluteRange(a, b) => (a, b),
            Time::RelativeRange(a, b) => (offset.saturating_add(a), offset.saturating_add(b)),
        }
    }

    /// packetdrill's tolerance: the fixed one, or a share of the time since the last event.
    fn tolerance(&self, start: u64) -> u64 {
        let options = self.script.options;
        let since_last = self.last.map_or(0, |l| start.saturating_sub(l.time));
        let share = (options.tolerance_percent / 100.0 * since_last as f64) as u64;
        options.tolerance_usecs.max(share)
    }

    /// The tolerance of a blocking call's return: a share of its expected duration.
    fn end_tolerance(&self, start: u64, end: u64) -> u64 {
        let options = self.script.options;
        let share = options.tolerance_percent / 100.0 * end.saturating_sub(start) as f64;
        options.tolerance_usecs.max(share as u64)
    }

    /// Fails unless `actual` is within `tolerance` of `[start, end]`.
    fn check_time(
        line: usize,
        what: &str,
        (start, end): (u64, u64),
        actual: u64,
        tolerance: u64,
    ) -> Result<(), Failure> {
        if actual.saturating_add(tolerance) >= start && actual <= end.saturating_add(tolerance) {
            return Ok(());
        }
        let expected = if start == end {
            format!("at {}", seconds(start))
        } else {
            format!("between {} and {}", seconds(start), seconds(end))
        };
        Err(Failure {
            line,
            message: format!(
                "timing error: expected {what} {expected} s, but it happened at {} s \
                 (tolerance {} s)",
                seconds(actual),
                seconds(tolerance)
            ),
        })
    }

    /// Moves the clock to `target`, firing the engine's timers on the way.
    fn advance_to(&mut self, target: u64) -> Result<(), Failure> {
        while self.fire_next_timer(Some(target))? {}
        self.now = self.now.max(target);
        Ok(())
    }

    /// Fires the engine's next timer if it is due by `limit` (any time for `None`); false if
    /// there is none.
    fn fire_next_timer(&mut self, limit: Option<u64>) -> Result<bool, Failure> {
        let Some(at) = self.sockets.poll_timeout().map(Instant::as_micros) else {
            return Ok(false);
        };
        if limit.is_some_and(|limit| at > limit) {
            return Ok(false);
        }
        self.now = self.now.max(at);
        self.sockets.handle_timeout(self.instant());
        self.after_input()?;
        Ok(true)
    }

    /// After any input: collect what the stack sends, and see whether a background call can
    /// return now.
    fn after_input(&mut self) -> Result<(), Failure> {
        self.collect_sent(0)?;
        if let Some(pending) = self.pending.take() {
            match self.sockets.resume(self.instant(), pending.blocked) {
                crate::sockets::Progress::Blocked(blocked) => {
                    self.pending = Some(Pending { blocked, ..pending });
                }
                crate::sockets::Progress::Done(result) => {
                    self.collect_sent(pending.line)?;
                    let tolerance = self.end_tolerance(pending.start, pending.end);
                    self.check_result(pending.line, &pending.spec, pending.check, result)?;
                    let end = (pending.end, pending.end);
                    Self::check_time(pending.line, "the call to return", end, self.now, tolerance)?;
                }
            }
        }
        Ok(())
    }

    /// Moves every packet the stack has to send into `sent`, stamped with the current time.
    fn collect_sent(&mut self, line: usize) -> Result<(), Failure> {
        let now = self.instant();
        while let Some(bytes) = self.sockets.poll_transmit(now) {
            let bytes = bytes.map_err(|e| Failure {
                line,
                message: format!("the engine produced a packet it cannot encode: {e}"),
            })?;
            self.sent.push_back(Sent {
                at: self.now,
                bytes,
            });
        }
        Ok(())
    }

    // ---- packets ----

    fn inbound(
        &mut self,
        event: &Event,
        p: &PacketSpec,
        start: u64,
        tol: u64,
    ) -> Result<(), Failure> {
        let line = event.line;
        Self::check_time(
            line,
            "the inbound packet",
            (start, start),
            self.now.max(start),
            tol,
        )?;
        self.advance_to(start)?;
        let needs_child = self
            .under_test
            .is_none_or(|i| self.flows[i].state == FlowState::Listening);
        if needs_child {
            let local = SocketAddr::new(self.local_ip, SCRIPT_PORT);
            let remote = SocketAddr::new(self.remote_ip, self.next_remote_port);
            self.next_remote_port = self.next_remote_port.wrapping_add(1);
            self.flows.push(Flow::passive(local, remote, p));
            self.under_test = Some(self.flows.len() - 1);
        }
        let flow = self.flow_mut(line)?;
        flow.on_inbound(p);
        let bytes = packet::inbound_bytes(flow, p).map_err(|message| Failure { line, message })?;
        let now = self.instant();
        self.sockets
            .handle_packet(now, &bytes)
            .map_err(|e| Failure {
                line,
                message: format!("the stack could not parse the injected packet: {e}"),
            })?;
        self.after_input()
    }

    fn outbound(
        &mut self,
        event: &Event,
        p: &PacketSpec,
        start: u64,
        end: u64,
        tol: u64,
    ) -> Result<(), Failure> {
        let line = event.line;
        self.flow_mut(line)?.on_expected(p);
        let deadline =
            (event.time != Time::Any).then(|| start.max(end).saturating_add(SNIFF_MARGIN_US));
        let mut steps = 0;
        let (seen, at) = loop {
            if let Some(found) = self.take_sent(line, p)? {
                break found;
            }
            steps += 1;
            if steps > MAX_TIMER_STEPS || !self.fire_next_timer(deadline)? {
                if let Some(deadline) = deadline {
                    self.advance_to(deadline)?;
                }
                return Err(Failure {
                    line,
                    message: format!(
                        "expected a packet, but the stack sent none (waited until {} s{})\n  \
                         script: {}",
                        seconds(self.now),
                        self.describe_state(),
                        describe_spec(p, start)
                    ),
                });
            }
        };
        self.now = self.now.max(at);
        if let Some(mismatch) = seen.mismatch(p) {
            return Err(Failure {
                line,
                message: format!(
                    "{mismatch}\n  script: {}\n  actual: {}",
                    describe_spec(p, start),
                    seen.describe(at)
                ),
            });
        }
        if event.time == Time::Any {
            return Ok(());
        }
        Self::check_time(line, "the outbound packet", (start, end), at, tol).map_err(|f| Failure {
            message: format!(
                "{}\n  script: {}\n  actual: {}",
                f.message,
                describe_spec(p, start),
                seen.describe(at)
            ),
            ..f
        })
    }

    /// The next packet the stack sent on the connection under test, decoded; packets of other
    /// connections are dropped, as packetdrill's sniffer drops them.
    fn take_sent(&mut self, line: usize, p: &PacketSpec) -> Result<Option<(Seen, u64)>, Failure> {
        while let Some(sent) = self.sent.pop_front() {
            let packet = Packet::parse(&sent.bytes).map_err(|e| Failure {
                line,
                message: format!("the stack sent a packet that does not parse: {e}"),
            })?;
            let tcp = &packet.tcp;
            let src = SocketAddr::new(packet.ip.src, tcp.src_port);
            let dst = SocketAddr::new(packet.ip.dst, tcp.dst_port);
            let flow = self.flow_mut(line)?;
            if flow.claims(src, dst, tcp.flags, tcp.seq.get(), p) {
                return Ok(Some((Seen::decode(flow, &packet, &sent.bytes, p), sent.at)));
            }
        }
        Ok(None)
    }

    /// `; the connection is in ESTABLISHED` when the connection under test has an fd.
    fn describe_state(&self) -> String {
        let script_fd = self.under_test.and_then(|i| self.flows.get(i)?.fd);
        let live_fd = self.fds.iter().find(|(s, _)| Some(*s) == script_fd);
        live_fd
            .and_then(|&(_, fd)| self.sockets.tcp_state(fd))
            .map_or(String::new(), |state| {
                format!("; the connection is in {state}")
            })
    }

    fn flow_mut(&mut self, line: usize) -> Result<&mut Flow, Failure> {
        self.under_test
            .and_then(|i| self.flows.get_mut(i))
            .ok_or_else(|| Failure {
                line,
                message: "no connection yet: an outbound packet needs a socket() first".into(),
            })
    }

    // ---- the end ----

    /// A call still blocked at the end gets a second to return, as in packetdrill.
    fn finish(mut self) -> Result<(), Failure> {
        let deadline = self.now.saturating_add(END_WAIT_US);
        while self.pending.is_some() && self.fire_next_timer(Some(deadline))? {}
        match self.pending {
            Some(pending) => Err(Failure {
                line: pending.line,
                message: format!(
                    "the script ended while {} was still blocked",
                    syscall::describe(&pending.spec)
                ),
            }),
            None => Ok(()),
        }
    }
}
