//! Goodput of one bulk transfer over a simulated bottleneck ([`path`](super::path)), against
//! the published steady-state response functions, and cwnd traces under scripted loss.
//!
//! A's application keeps its send buffer full; B's reads everything as soon as it can. The
//! simulator is event-driven in virtual time: it jumps the clock to the next packet arrival or
//! engine timeout, so idle time costs nothing and a run is a pure function of its seed.
//!
//! **Goodput** is the payload B's application read during `[warmup, end)`, divided by
//! `end − warmup`. It is reported as a fraction of R and of the ideal payload rate
//! `R × 1448 / 1500` (MSS 1460 less 12 bytes of timestamps, in a 1500-byte IP packet).
//!
//! **Warmup** ends at the first instant, at least [`MIN_WARMUP_RTTS`] RTTs after the start,
//! at which the sender is out of loss recovery and has had every byte outstanding at its last
//! congestion event acknowledged (RFC 6582's "recover", which also covers recovery by timeout).
//! 20 RTTs leave slow start time to fill any path here: IW10 doubling reaches the largest
//! BDP + Q (about 3400 packets at 1 Gbit/s, 20 ms) in 9 RTTs. Waiting for the end of the
//! recovery that follows matters on loss-free paths, where slow start overshoots the queue and
//! its recovery is no steady state. If the sender never settles within
//! [`MAX_WARMUP_RTTS`], measurement starts anyway and the row says "unsettled".
//!
//! **Duration**: a loss-free case measures [`LOSSLESS_MEASURE_RTTS`] RTTs (seeds do not matter:
//! the path draws no random number). A lossy case runs [`LOSSY_SEEDS`] seeds, each measured
//! long enough for [`LOSS_EVENTS_PER_SEED`] losses at the expected rate, at least
//! [`LOSSY_MIN_MEASURE_RTTS`] RTTs; the goodput is total bytes over total time.
//!
//! `cargo test -p tcpstk-fsm --lib tests::goodput -- --nocapture` runs the default cases and
//! prints one markdown table row per case; add `--include-ignored` for the full matrix (the
//! long cases are `#[ignore]`d, so a default run lists them as ignored rather than passing
//! them silently). The default cases take about 6 s on two cores, the full matrix about 25 s.
//! Nothing here reads a clock: the `steps` column counts simulator steps (each one a batch of
//! arrivals and timer firings), so events per second come from timing the test from outside.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use wire::{Packet, SeqNum};

use super::path::{DataPacket, End, LossScript, Path, PathConfig, PathStats};
use crate::{
    Config, CongestionAlgorithm, ConnId, Connection, Endpoint, EndpointEvent, Event, Info, Instant,
    ListenId, ReadError, SendSeq, State, WriteError,
};

const A_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const B_ADDR: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const B_PORT: u16 = 5001;
pub(super) const MBIT: u64 = 1_000_000;
/// Payload of a full segment: MSS 1460 less the 12 bytes the Timestamps option takes.
pub(super) const SEGMENT_PAYLOAD: u64 = 1448;
/// A full segment as an IP packet: 20 bytes of IPv4, 32 of TCP with timestamps, the payload.
const PACKET_LEN: u64 = 1500;
/// RFC 6928 §2: the initial window, min(10 × MSS, max(2 × MSS, 14600)) = 10 × MSS here.
const INITIAL_WINDOW: u32 = 10 * SEGMENT_PAYLOAD as u32;
/// What A's application writes each time (the content does not matter).
const CHUNK: [u8; 16 * 1024] = [0; 16 * 1024];

const MIN_WARMUP_RTTS: u32 = 20;
const MAX_WARMUP_RTTS: u32 = 600;
const LOSSLESS_MEASURE_RTTS: u32 = 200;
const LOSSY_SEEDS: u64 = 3;
const LOSS_EVENTS_PER_SEED: f64 = 50.0;
const LOSSY_MIN_MEASURE_RTTS: u32 = 200;
/// Loss-free: goodput of at least this fraction of R.
const LOSSLESS_MIN_FRACTION: f64 = 0.90;
/// Lossy: measured / expected within [1 / TOLERANCE, TOLERANCE].
const TOLERANCE: f64 = 1.5;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The buffers a path needs so that neither limits the window: 4 × (BDP + Q), at least the
/// defaults.
pub(super) fn config(cc: CongestionAlgorithm, sack: bool, path: &PathConfig) -> Config {
    let defaults = Config::default();
    let need = 4 * (path.bdp() + path.queue);
    Config {
        congestion_control: cc,
        sack,
        send_buffer_max: need.max(defaults.send_buffer_max),
        recv_buffer_max: need.max(defaults.recv_buffer_max),
        ..defaults
    }
}

/// A (the client, sending) and B (the server, reading) joined by a [`Path`].
pub(super) struct Sim {
    pub(super) now: Instant,
    pub(super) path: Path,
    sender: Endpoint,
    receiver: Endpoint,
    listener: ListenId,
    sender_conn: ConnId,
    receiver_conn: Option<ConnId>,
    /// Bytes B's application has read.
    pub(super) read: u64,
    /// Bytes A's application may still write (`u64::MAX`: a bulk transfer, the buffer kept
    /// full).
    pub(super) budget: u64,
    /// Times the simulator stepped (the engine work it did).
    steps: u64,
    buf: Vec<u8>,
}

impl Sim {
    /// Both endpoints with `config`; A's SYN is about to leave.
    pub(super) fn new(config: Config, path: PathConfig, script: Option<LossScript>) -> Self {
        let now = Instant::from_micros(1_000_000);
        let seed = path.seed.to_le_bytes()[0];
        let mut receiver = Endpoint::new(config.clone(), [seed ^ 0xb; 32]);
        let listen = SocketAddr::new(B_ADDR, B_PORT);
        let listener = receiver.listen(listen, 1).expect("a free port");
        let mut sender = Endpoint::new(config, [seed ^ 0xa; 32]);
        let sender_conn = sender
            .connect(now, SocketAddr::new(A_ADDR, 0), listen)
            .expect("a free tuple");
        Sim {
            now,
            path: Path::new(path, script),
            sender,
            receiver,
            listener,
            sender_conn,
            receiver_conn: None,
            read: 0,
            budget: u64::MAX,
            steps: 0,
            buf: vec![0; 64 * 1024],
        }
    }

    /// The sender's snapshot (cwnd, ssthresh, counters).
    pub(super) fn info(&self) -> Info {
        self.sender_conn().info()
    }

    fn snd(&self) -> &SendSeq {
        self.sender_conn().snd()
    }

    pub(super) fn sender_conn(&self) -> &Connection {
        self.sender
            .conn(self.sender_conn)
            .expect("the sender's connection lives")
    }

    /// Runs until A is ESTABLISHED; returns that instant.
    pub(super) fn connect(&mut self) -> Instant {
        let limit = self.now + Duration::from_secs(10);
        loop {
            self.step();
            if self.info().state == State::Established {
                return self.now;
            }
            assert!(self.advance(limit), "no handshake within 10 s");
        }
    }

    /// Runs everything due up to `until`, calling `observe` after each step; the clock ends
    /// at `until`.
    fn run_to(&mut self, until: Instant, mut observe: impl FnMut(&Sim)) {
        loop {
            self.step();
            observe(self);
            if !self.advance(until) {
                return;
            }
        }
    }

    /// Moves the clock to the next arrival or timeout if it is due by `until` (true), or else
    /// to `until` (false).
    pub(super) fn advance(&mut self, until: Instant) -> bool {
        let next = [
            self.path.next_arrival(),
            self.sender.poll_timeout(),
            self.receiver.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("a sender with data to send has a packet in flight or a timer");
        if next > until {
            self.now = until;
            return false;
        }
        self.now = self.now.max(next);
        true
    }

    /// Everything that happens at `now`: arrivals, timers, the applications, then outputs.
    pub(super) fn step(&mut self) {
        self.steps += 1;
        while let Some((to, bytes)) = self.path.recv(self.now) {
            let packet = Packet::parse(&bytes).expect("the path delivers packets as emitted");
            let ep = match to {
                End::A => &mut self.sender,
                End::B => &mut self.receiver,
            };
            ep.handle_segment(self.now, &packet.ip, &packet.tcp);
        }
        self.sender.handle_timeout(self.now);
        self.receiver.handle_timeout(self.now);
        self.receive();
        self.send();
        self.transmit(End::A);
        self.transmit(End::B);
        check_events(&mut self.sender);
        check_events(&mut self.receiver);
    }

    /// B's application: accept, then read all that is readable.
    fn receive(&mut self) {
        if self.receiver_conn.is_none() {
            self.receiver_conn = self.receiver.accept(self.listener);
        }
        let Some(id) = self.receiver_conn else {
            return;
        };
        let conn = self.receiver.conn_mut(id).expect("B never releases");
        loop {
            match conn.read(&mut self.buf) {
                Ok(0) => panic!("A never shuts down, yet B read EOF"),
                Ok(n) => self.read += n as u64,
                Err(ReadError::Blocked) => return,
                Err(e) => panic!("B's read failed: {e:?}"),
            }
        }
    }

    /// A's application: fill the send buffer, within its budget, once the connection is open.
    fn send(&mut self) {
        let conn = self
            .sender
            .conn_mut(self.sender_conn)
            .expect("A never releases");
        if !conn.state().is_synchronized() {
            return;
        }
        while self.budget > 0 {
            let len = CHUNK
                .len()
                .min(usize::try_from(self.budget).unwrap_or(usize::MAX));
            match conn.write(&CHUNK[..len]) {
                Ok(0) | Err(WriteError::Blocked) => return,
                Ok(n) => self.budget = self.budget.saturating_sub(n as u64),
                Err(e) => panic!("A's write failed: {e:?}"),
            }
        }
    }

    fn transmit(&mut self, from: End) {
        let mut buf = [0u8; 2048];
        let ep = match from {
            End::A => &mut self.sender,
            End::B => &mut self.receiver,
        };
        while let Some(packet) = ep.poll_transmit(self.now) {
            let len = packet.emit(&mut buf).expect("a segment fits 2048 bytes");
            let tcp = &packet.tcp;
            let data = (!tcp.payload.is_empty()).then_some((tcp.seq, tcp.payload.len()));
            self.path.send(from, self.now, buf[..len].to_vec(), data);
        }
    }
}

/// Drains an endpoint's events; a connection that fails fails the test.
fn check_events(ep: &mut Endpoint) {
    while let Some(event) = ep.poll_event() {
        if let EndpointEvent::Conn(_, Event::Closed(Some(e))) = event {
            panic!("a connection failed: {e:?}");
        }
    }
}

/// Finds the end of the warmup (module docs): out of recovery, past the last congestion
/// event's recovery point, at least `earliest`.
struct Warmup {
    earliest: Instant,
    limit: Instant,
    /// SND.MAX at the last congestion event seen.
    recover: Option<SeqNum>,
    ssthresh: Option<u32>,
    timeouts: u64,
    fast_recoveries: u64,
    /// When the warmup ended, whether the sender had settled, and what B had read by then.
    end: Option<(Instant, bool, u64)>,
}

impl Warmup {
    fn new(start: Instant, rtt: Duration) -> Self {
        Warmup {
            earliest: start + rtt * MIN_WARMUP_RTTS,
            limit: start + rtt * MAX_WARMUP_RTTS,
            recover: None,
            ssthresh: None,
            timeouts: 0,
            fast_recoveries: 0,
            end: None,
        }
    }

    fn observe(&mut self, sim: &Sim) {
        if self.end.is_some() {
            return;
        }
        let (info, snd) = (sim.info(), sim.snd());
        let congestion_event = info.ssthresh != self.ssthresh
            || info.stats.timeouts != self.timeouts
            || info.stats.fast_recoveries != self.fast_recoveries;
        if congestion_event {
            self.recover = Some(snd.max);
            self.ssthresh = info.ssthresh;
            self.timeouts = info.stats.timeouts;
            self.fast_recoveries = info.stats.fast_recoveries;
        }
        let settled = !info.in_recovery && self.recover.is_none_or(|r| r.le(snd.una));
        if (settled && sim.now >= self.earliest) || sim.now >= self.limit {
            self.end = Some((sim.now, settled, sim.read));
        }
    }
}

/// One configuration of the matrix.
#[derive(Clone, Copy, Debug)]
struct Case {
    cc: CongestionAlgorithm,
    sack: bool,
    /// Bottleneck rate, bits per second.
    rate: u64,
    rtt: Duration,
    /// Random loss probability p of data packets.
    loss: f64,
}

impl Case {
    fn path(&self, seed: u64) -> PathConfig {
        PathConfig::new(self.rate, self.rtt, self.loss, seed)
    }

    /// The ideal payload rate: every packet on the link full-sized, bits per second.
    fn ideal(&self) -> f64 {
        self.rate as f64 * SEGMENT_PAYLOAD as f64 / PACKET_LEN as f64
    }

    /// The steady-state goodput the response function predicts, capped at the ideal rate.
    fn expected(&self) -> f64 {
        if self.loss == 0.0 {
            return self.ideal();
        }
        let window = match self.cc {
            CongestionAlgorithm::NewReno => reno_window(self.loss),
            // In its Reno-friendly region CUBIC runs AIMD matched to Reno (RFC 9438 §4.3), so
            // it gets at least Reno's window.
            CongestionAlgorithm::Cubic => {
                cubic_window(self.loss, self.rtt).max(reno_window(self.loss))
            }
        };
        let rate = window * (SEGMENT_PAYLOAD * 8) as f64 / self.rtt.as_secs_f64();
        rate.min(self.ideal())
    }

    /// How long each seed measures.
    fn measure(&self) -> Duration {
        if self.loss == 0.0 {
            return self.rtt * LOSSLESS_MEASURE_RTTS;
        }
        let packets_per_sec = self.expected() / (SEGMENT_PAYLOAD * 8) as f64;
        let for_losses =
            Duration::from_secs_f64(LOSS_EVENTS_PER_SEED / (self.loss * packets_per_sec));
        for_losses.max(self.rtt * LOSSY_MIN_MEASURE_RTTS)
    }

    fn seeds(&self) -> u64 {
        if self.loss == 0.0 { 1 } else { LOSSY_SEEDS }
    }

    fn name(&self) -> String {
        let sack = if self.sack { "SACK" } else { "no SACK" };
        format!(
            "{:?} {sack}, {} Mbit/s, {} ms, p = {}%",
            self.cc,
            self.rate / MBIT,
            self.rtt.as_millis(),
            self.loss * 100.0
        )
    }
}

/// Mathis et al., "The Macroscopic Behavior of the TCP Congestion Avoidance Algorithm" (CCR
/// 27(3), 1997), in segments: with one loss every 1/p packets the window saws between W/2 and
/// W, growing one segment per RTT, so a cycle lasts W/2 RTTs and carries
/// (W/2 + W)/2 × W/2 = 3W²/8 packets. Setting that to 1/p gives W = sqrt(8 / (3p)), and the
/// mean window 3W/4 = sqrt(3/2) / sqrt(p): rate = MSS/RTT × C/sqrt(p) with C = sqrt(3/2).
/// Byte counting (RFC 3465) keeps the growth at one segment per RTT whatever the ACK ratio;
/// counting ACKs with an ACK every other segment would give C = sqrt(3/4).
fn reno_window(p: f64) -> f64 {
    (1.5 / p).sqrt()
}

/// RFC 9438 §5: CUBIC's mean window under one loss every 1/p packets, in segments, with
/// C = 0.4, β_cubic = 0.7 and the RTT in seconds:
/// `(C × (3 + β) / (4 × (1 − β)))^(1/4) × RTT^(3/4) / p^(3/4)`.
fn cubic_window(p: f64, rtt: Duration) -> f64 {
    const C: f64 = 0.4;
    const BETA: f64 = 0.7;
    (C * (3.0 + BETA) / (4.0 * (1.0 - BETA))).powf(0.25) * rtt.as_secs_f64().powf(0.75)
        / p.powf(0.75)
}

/// What one seed measured.
struct Run {
    warmup: Duration,
    measured: Duration,
    bytes: u64,
    settled: bool,
    path: PathStats,
    info: Info,
    steps: u64,
}

fn run(case: &Case, seed: u64) -> Run {
    let path = case.path(seed);
    let mut sim = Sim::new(config(case.cc, case.sack, &path), path, None);
    let start = sim.now;
    let mut warmup = Warmup::new(start, case.rtt);
    while warmup.end.is_none() {
        let until = sim.now + case.rtt;
        sim.run_to(until, |s| warmup.observe(s));
    }
    let (at, settled, read) = warmup.end.expect("the loop ends with the warmup");
    sim.run_to(at + case.measure(), |_| {});
    Run {
        warmup: at - start,
        measured: sim.now - at,
        bytes: sim.read - read,
        settled,
        path: sim.path.stats,
        info: sim.info(),
        steps: sim.steps,
    }
}

/// The seeds of a case together.
struct Summary {
    case: Case,
    runs: Vec<Run>,
}

impl Summary {
    fn measure(case: Case) -> Self {
        let runs = (1..=case.seeds()).map(|seed| run(&case, seed)).collect();
        Summary { case, runs }
    }

    /// Payload bits per second over every seed's measurement.
    fn goodput(&self) -> f64 {
        let bytes: u64 = self.runs.iter().map(|r| r.bytes).sum();
        let secs: f64 = self.runs.iter().map(|r| r.measured.as_secs_f64()).sum();
        bytes as f64 * 8.0 / secs
    }

    fn sum(&self, f: impl Fn(&Run) -> u64) -> u64 {
        self.runs.iter().map(f).sum()
    }

    fn row(&self) -> String {
        let c = &self.case;
        let goodput = self.goodput();
        let data = self.sum(|r| r.path.data_packets);
        let random = self.sum(|r| r.path.random_drops);
        let last = self.runs.last().expect("at least one seed");
        let unsettled = if self.runs.iter().all(|r| r.settled) {
            ""
        } else {
            " (unsettled)"
        };
        let warmup = self.runs.iter().map(|r| r.warmup).max().unwrap_or_default();
        let measured: Duration = self.runs.iter().map(|r| r.measured).sum();
        format!(
            "| {} | {:.4}% | {:.1} s{unsettled} | {:.0} s × {} | {:.2} Mbit/s | {:.1}% | {:.1}% \
             | {:.2} Mbit/s | {:.2} | {} | {} | {} | {} / {} | {} / {:?} | {} |",
            c.name(),
            random as f64 * 100.0 / data.max(1) as f64,
            warmup.as_secs_f64(),
            measured.as_secs_f64(),
            self.runs.len(),
            goodput / MBIT as f64,
            goodput * 100.0 / c.rate as f64,
            goodput * 100.0 / c.ideal(),
            c.expected() / MBIT as f64,
            goodput / c.expected(),
            self.sum(|r| r.info.stats.fast_recoveries),
            self.sum(|r| r.info.stats.timeouts),
            self.sum(|r| r.info.stats.retransmits),
            random,
            self.sum(|r| r.path.queue_drops),
            last.info.cwnd,
            last.info.ssthresh,
            self.sum(|r| r.steps),
        )
    }
}

const HEADER: &str = "| case | p measured | warmup (max) | measured × seeds | goodput | of R \
                      | of ideal | expected | measured/expected | fast recoveries | RTOs \
                      | retransmits | random / queue drops | last cwnd / ssthresh | steps |\n\
                      |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|";

/// Runs a case, prints its row, and checks it: ≥ 90% of R loss-free, within a factor 1.5 of
/// the response function under loss.
fn check(case: Case) {
    let summary = Summary::measure(case);
    eprintln!("{HEADER}\n{}", summary.row());
    let goodput = summary.goodput();
    if case.loss == 0.0 {
        let fraction = goodput / case.rate as f64;
        assert!(
            fraction >= LOSSLESS_MIN_FRACTION,
            "{}: goodput {:.1}% of R, below {:.0}%",
            case.name(),
            fraction * 100.0,
            LOSSLESS_MIN_FRACTION * 100.0
        );
    } else {
        let ratio = goodput / case.expected();
        assert!(
            (1.0 / TOLERANCE..=TOLERANCE).contains(&ratio),
            "{}: goodput {:.2} Mbit/s is {ratio:.2} × the expected {:.2} Mbit/s",
            case.name(),
            goodput / MBIT as f64,
            case.expected() / MBIT as f64
        );
    }
}

macro_rules! goodput_tests {
    ($($(#[$attr:meta])* $name:ident: $cc:ident, sack $sack:expr, $mbit:literal Mbit/s,
       $rtt:literal ms, p $p:expr;)*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                check(Case {
                    cc: CongestionAlgorithm::$cc,
                    sack: $sack,
                    rate: $mbit * MBIT,
                    rtt: ms($rtt),
                    loss: $p,
                });
            }
        )*
    };
}

goodput_tests! {
    goodput_newreno_sack_100mbit_100ms_lossless: NewReno, sack true, 100 Mbit/s, 100 ms, p 0.0;
    #[ignore = "long (about 5 s): run with --include-ignored"]
    goodput_newreno_sack_100mbit_100ms_p0_01: NewReno, sack true, 100 Mbit/s, 100 ms, p 1e-4;
    goodput_newreno_sack_100mbit_100ms_p0_1: NewReno, sack true, 100 Mbit/s, 100 ms, p 1e-3;
    goodput_newreno_sack_100mbit_100ms_p1: NewReno, sack true, 100 Mbit/s, 100 ms, p 1e-2;
    goodput_newreno_sack_1gbit_20ms_lossless: NewReno, sack true, 1000 Mbit/s, 20 ms, p 0.0;
    goodput_newreno_nosack_100mbit_100ms_lossless: NewReno, sack false, 100 Mbit/s, 100 ms, p 0.0;
    #[ignore = "long (about 5 s): run with --include-ignored"]
    goodput_newreno_nosack_100mbit_100ms_p0_01: NewReno, sack false, 100 Mbit/s, 100 ms, p 1e-4;
    goodput_newreno_nosack_100mbit_100ms_p0_1: NewReno, sack false, 100 Mbit/s, 100 ms, p 1e-3;
    goodput_newreno_nosack_100mbit_100ms_p1: NewReno, sack false, 100 Mbit/s, 100 ms, p 1e-2;
    goodput_newreno_nosack_1gbit_20ms_lossless: NewReno, sack false, 1000 Mbit/s, 20 ms, p 0.0;
    goodput_cubic_sack_100mbit_100ms_lossless: Cubic, sack true, 100 Mbit/s, 100 ms, p 0.0;
    goodput_cubic_sack_100mbit_100ms_p0_01: Cubic, sack true, 100 Mbit/s, 100 ms, p 1e-4;
    goodput_cubic_sack_100mbit_100ms_p0_1: Cubic, sack true, 100 Mbit/s, 100 ms, p 1e-3;
    goodput_cubic_sack_100mbit_100ms_p1: Cubic, sack true, 100 Mbit/s, 100 ms, p 1e-2;
    goodput_cubic_sack_1gbit_20ms_lossless: Cubic, sack true, 1000 Mbit/s, 20 ms, p 0.0;
    goodput_cubic_nosack_100mbit_100ms_lossless: Cubic, sack false, 100 Mbit/s, 100 ms, p 0.0;
    #[ignore = "long (about 5 s): run with --include-ignored"]
    goodput_cubic_nosack_100mbit_100ms_p0_01: Cubic, sack false, 100 Mbit/s, 100 ms, p 1e-4;
    goodput_cubic_nosack_100mbit_100ms_p0_1: Cubic, sack false, 100 Mbit/s, 100 ms, p 1e-3;
    goodput_cubic_nosack_100mbit_100ms_p1: Cubic, sack false, 100 Mbit/s, 100 ms, p 1e-2;
    goodput_cubic_nosack_1gbit_20ms_lossless: Cubic, sack false, 1000 Mbit/s, 20 ms, p 0.0;
}

// ---- cwnd traces under scripted loss ----

/// The trace tests' path: 100 Mbit/s, 100 ms, no random loss; a BDP (856 packets) is far above
/// the windows they reach, so only the script drops packets.
fn trace_path() -> PathConfig {
    PathConfig::new(100 * MBIT, ms(100), 0.0, 1)
}

/// The trace tests' configuration: buffers at their maximum from the start, so that the window
/// is the congestion window's alone (no autotuning in the way).
fn trace_config(cc: CongestionAlgorithm) -> Config {
    let path = trace_path();
    let mut config = config(cc, true, &path);
    config.send_buffer = config.send_buffer_max;
    config.recv_buffer = config.recv_buffer_max;
    config
}

/// The data packet whose first transmission ends slow start in the trace tests: sent in the
/// fourth round trip, when cwnd is 80 segments; the loss is seen one RTT later, at 160.
const SLOW_START_LOSS: u64 = 100;

/// RFC 5681 §3.1: cwnd doubles every RTT in slow start (with byte counting, RFC 3465, when the
/// receiver ACKs every other segment). Samples once per RTT, mid-way between the ACK bursts.
fn check_slow_start_doubles(cc: CongestionAlgorithm) {
    let rtt = trace_path().rtt;
    let mut sim = Sim::new(trace_config(cc), trace_path(), None);
    let established = sim.connect();
    let mut cwnd = Vec::new();
    for k in 0..6 {
        sim.run_to(established + rtt * k + rtt / 2, |_| {});
        let info = sim.info();
        assert_eq!(info.ssthresh, None, "{cc:?}: no congestion event yet");
        cwnd.push(info.cwnd);
    }
    assert_eq!(sim.path.stats.queue_drops, 0);
    assert_eq!(
        cwnd[0], INITIAL_WINDOW,
        "{cc:?}: IW10 (RFC 6928); samples {cwnd:?}"
    );
    for pair in cwnd.windows(2) {
        let growth = f64::from(pair[1]) / f64::from(pair[0]);
        assert!(
            (1.75..=2.25).contains(&growth),
            "{cc:?}: cwnd grew {growth:.2}× in one RTT (samples {cwnd:?})"
        );
    }
}

#[test]
fn slow_start_newreno_cwnd_doubles_per_rtt() {
    check_slow_start_doubles(CongestionAlgorithm::NewReno);
}

#[test]
fn slow_start_cubic_cwnd_doubles_per_rtt() {
    check_slow_start_doubles(CongestionAlgorithm::Cubic);
}

/// The sender's snapshots on both sides of one recovery episode.
#[derive(Default)]
struct RecoveryTrace {
    prev: Option<Info>,
    /// The last snapshot before recovery began, and the first after it ended.
    before: Option<Info>,
    after: Option<Info>,
}

impl RecoveryTrace {
    fn observe(&mut self, info: Info) {
        if let Some(prev) = self.prev {
            if !prev.in_recovery && info.in_recovery && self.before.is_none() {
                self.before = Some(prev);
            }
            if prev.in_recovery && !info.in_recovery && self.before.is_some() {
                self.after.get_or_insert(info);
            }
        }
        self.prev = Some(info);
    }
}

/// One loss in congestion avoidance: fast recovery, and when it ends cwnd and ssthresh are β × the
/// window before the loss (RFC 5681 eq. 4 with FlightSize = cwnd for NewReno, β = 1/2;
/// RFC 9438 §4.6 for CUBIC, β = 0.7), through PRR (RFC 6937 §3).
fn check_single_loss(cc: CongestionAlgorithm, beta: f64) {
    let rtt = trace_path().rtt;
    let start = Instant::from_micros(1_000_000);
    // Slow start ended 40 RTTs before: congestion avoidance, well under the BDP.
    let loss_at = start + rtt * 40;
    let mut armed = true;
    let script = move |p: &DataPacket| {
        let second = armed && !p.retransmission && p.at >= loss_at;
        armed &= !second;
        p.index == SLOW_START_LOSS || second
    };
    let mut sim = Sim::new(trace_config(cc), trace_path(), Some(Box::new(script)));
    sim.run_to(loss_at, |_| {});
    let exited = sim.info();
    assert!(exited.ssthresh.is_some(), "{cc:?}: slow start never ended");
    let mut trace = RecoveryTrace::default();
    sim.run_to(loss_at + rtt * 20, |s| trace.observe(s.info()));
    let (Some(before), Some(after)) = (trace.before, trace.after) else {
        panic!("{cc:?}: no complete fast recovery after the loss at {loss_at:?}");
    };
    assert_eq!(sim.path.stats.scripted_drops, 2);
    assert_eq!(
        after.stats.timeouts, exited.stats.timeouts,
        "{cc:?}: no RTO"
    );
    assert_eq!(
        after.stats.fast_recoveries,
        exited.stats.fast_recoveries + 1
    );
    // PRR sets cwnd to ssthresh as recovery ends (RFC 6937 §3); growth on that same ACK
    // stays within the tolerance.
    let ssthresh = after.ssthresh.expect("ssthresh set by the loss");
    for (what, bytes) in [("ssthresh", ssthresh), ("cwnd", after.cwnd)] {
        let ratio = f64::from(bytes) / f64::from(before.cwnd);
        assert!(
            (ratio - beta).abs() <= 0.03,
            "{cc:?}: cwnd {} before the loss, {what} {bytes} after recovery: {ratio:.3}, not \
             {beta}",
            before.cwnd
        );
    }
}

#[test]
fn congestion_avoidance_newreno_single_loss_halves_cwnd() {
    check_single_loss(CongestionAlgorithm::NewReno, 0.5);
}

#[test]
fn congestion_avoidance_cubic_single_loss_cuts_cwnd_to_0_7() {
    check_single_loss(CongestionAlgorithm::Cubic, 0.7);
}

/// The sender's snapshots just before and after each retransmission timeout.
#[derive(Default)]
struct TimeoutTrace {
    prev: Option<Info>,
    timeouts: Vec<(Info, Info)>,
}

impl TimeoutTrace {
    fn observe(&mut self, info: Info) {
        if let Some(prev) = self.prev
            && info.stats.timeouts > prev.stats.timeouts
        {
            self.timeouts.push((prev, info));
        }
        self.prev = Some(info);
    }
}

/// A black hole of 2 s in congestion avoidance: the RTO fires, cwnd drops to one segment
/// (RFC 5681 §3.1, the loss window) and ssthresh to β × FlightSize; when the retransmission
/// times out too, cwnd stays one segment and ssthresh is held constant (RFC 5681 §3.1).
fn check_timeout(cc: CongestionAlgorithm, beta: f64) {
    let rtt = trace_path().rtt;
    let start = Instant::from_micros(1_000_000);
    let hole = start + rtt * 30;
    let hole_end = hole + Duration::from_secs(2);
    let script =
        move |p: &DataPacket| p.index == SLOW_START_LOSS || (hole..hole_end).contains(&p.at);
    let mut sim = Sim::new(trace_config(cc), trace_path(), Some(Box::new(script)));
    sim.run_to(hole, |_| {});
    let mut trace = TimeoutTrace::default();
    sim.run_to(hole_end + rtt * 30, |s| trace.observe(s.info()));
    let [(before, first), (_, second), ..] = trace.timeouts[..] else {
        panic!(
            "{cc:?}: {} timeouts in a 2 s black hole",
            trace.timeouts.len()
        );
    };
    let mss = first.mss as u32;
    assert_eq!(first.cwnd, mss, "{cc:?}: loss window after the first RTO");
    let ssthresh = first.ssthresh.expect("ssthresh set by the RTO");
    let flight = f64::from(before.bytes_in_flight.max(2 * mss));
    assert!(
        (f64::from(ssthresh) / flight - beta).abs() <= 0.03,
        "{cc:?}: ssthresh {ssthresh} after an RTO with {flight} bytes in flight, not × {beta}"
    );
    assert_eq!(second.cwnd, mss, "{cc:?}: loss window after the second RTO");
    assert_eq!(second.ssthresh, Some(ssthresh), "{cc:?}: ssthresh held");
    assert!(
        sim.info().cwnd > mss,
        "{cc:?}: slow start again after the black hole"
    );
}

#[test]
fn established_newreno_timeout_collapses_cwnd_to_one_segment() {
    check_timeout(CongestionAlgorithm::NewReno, 0.5);
}

#[test]
fn established_cubic_timeout_collapses_cwnd_to_one_segment() {
    check_timeout(CongestionAlgorithm::Cubic, 0.7);
}
