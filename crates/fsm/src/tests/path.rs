//! The path of the goodput simulator ([`goodput`](super::goodput)), in virtual time: a sender A,
//! a bottleneck link, a receiver B, and the way back.
//!
//! ```text
//!  A ──loss p, scripted loss──▶ drop-tail queue (Q bytes) ──▶ link of R bit/s ──RTT/2──▶ B
//!  A ◀──────────────────────────────── RTT/2 (no rate limit, no loss) ──────────────────── B
//! ```
//!
//! Random loss (probability p, from a seeded [`Rng`]) and the scripted-loss hook apply to data
//! packets from A only, before the queue; the queue drops what does not fit (tail drop).
//! Serialization takes `8 × IP length / R` per packet. The bottleneck is FIFO and every delay
//! is constant, so the path needs no per-packet queue state: `busy_until`, the instant the link
//! will have sent everything it accepted, gives both a packet's departure and the backlog.
//! Packets in flight wait in a binary heap keyed by arrival time; the path keeps its clock in
//! nanoseconds (a 1500-byte packet takes 12 µs at 1 Gbit/s) and hands out [`Instant`]s rounded
//! up to the microsecond.

use core::cmp::Ordering;
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use wire::SeqNum;

use super::link::Rng;
use crate::Instant;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// The sender's and the receiver's ends of the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum End {
    /// The sender, behind the bottleneck.
    A,
    /// The receiver.
    B,
}

/// The shape of a path.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PathConfig {
    /// Bottleneck rate R, bits per second.
    pub(crate) rate: u64,
    /// Base round-trip time: twice the one-way propagation delay, without serialization or
    /// queueing.
    pub(crate) rtt: Duration,
    /// Capacity Q of the drop-tail queue in front of the link, bytes of IP packets.
    pub(crate) queue: usize,
    /// Probability p that a data packet from A is lost.
    pub(crate) loss: f64,
    pub(crate) seed: u64,
}

impl PathConfig {
    /// A path whose queue holds one bandwidth-delay product.
    pub(crate) fn new(rate: u64, rtt: Duration, loss: f64, seed: u64) -> Self {
        let mut path = PathConfig {
            rate,
            rtt,
            queue: 0,
            loss,
            seed,
        };
        path.queue = path.bdp();
        path
    }

    /// The bandwidth-delay product R × RTT, bytes.
    pub(crate) fn bdp(&self) -> usize {
        let bytes = u128::from(self.rate) * self.rtt.as_nanos() / u128::from(8 * NANOS_PER_SEC);
        usize::try_from(bytes).expect("test paths have BDPs that fit")
    }

    fn one_way_nanos(&self) -> u64 {
        u64::try_from(self.rtt.as_nanos() / 2).expect("test delays fit")
    }

    fn serialization_nanos(&self, bytes: usize) -> u64 {
        bytes as u64 * 8 * NANOS_PER_SEC / self.rate
    }
}

/// A data packet from A, as the scripted-loss hook sees it before the path takes it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DataPacket {
    /// How many data packets A sent before this one (retransmissions included).
    pub(crate) index: u64,
    pub(crate) at: Instant,
    /// True when the packet carries no byte beyond what A had already sent.
    pub(crate) retransmission: bool,
}

/// Decides which data packets the path drops on purpose (cwnd-trace tests).
pub(crate) type LossScript = Box<dyn FnMut(&DataPacket) -> bool>;

/// What the path did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PathStats {
    /// Data packets A offered to the path, lost ones included.
    pub(crate) data_packets: u64,
    pub(crate) random_drops: u64,
    pub(crate) queue_drops: u64,
    pub(crate) scripted_drops: u64,
}

/// A packet on its way, ordered by arrival time, then by the order it was sent in.
#[derive(Debug)]
struct InFlight {
    at_nanos: u64,
    id: u64,
    to: End,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for InFlight {}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at_nanos, self.id).cmp(&(other.at_nanos, other.id))
    }
}

pub(crate) struct Path {
    config: PathConfig,
    rng: Rng,
    script: Option<LossScript>,
    /// When the link has serialized every packet it accepted.
    busy_until_nanos: u64,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    sent: u64,
    /// The highest sequence number A has sent data up to, plus one.
    high: Option<SeqNum>,
    pub(crate) stats: PathStats,
}

impl Path {
    pub(crate) fn new(config: PathConfig, script: Option<LossScript>) -> Self {
        Path {
            config,
            rng: Rng::new(config.seed),
            script,
            busy_until_nanos: 0,
            in_flight: BinaryHeap::new(),
            sent: 0,
            high: None,
            stats: PathStats::default(),
        }
    }

    /// Takes a packet `from` one end at `now`; `data` is its sequence number and payload length
    /// when it carries data.
    pub(crate) fn send(
        &mut self,
        from: End,
        now: Instant,
        bytes: Vec<u8>,
        data: Option<(SeqNum, usize)>,
    ) {
        let now_nanos = now.as_micros() * 1000;
        let at_nanos = match from {
            End::A => {
                if let Some((seq, len)) = data
                    && self.drops_data(now, seq, len)
                {
                    return;
                }
                let Some(departure) = self.enqueue(now_nanos, bytes.len()) else {
                    self.stats.queue_drops += 1;
                    return;
                };
                departure + self.config.one_way_nanos()
            }
            End::B => now_nanos + self.config.one_way_nanos(),
        };
        self.sent += 1;
        let to = match from {
            End::A => End::B,
            End::B => End::A,
        };
        self.in_flight.push(Reverse(InFlight {
            at_nanos,
            id: self.sent,
            to,
            bytes,
        }));
    }

    /// Counts a data packet and decides whether the script or the random loss drops it.
    fn drops_data(&mut self, now: Instant, seq: SeqNum, len: usize) -> bool {
        let packet = self.data_packet(now, seq, len);
        self.stats.data_packets += 1;
        if self.script.as_mut().is_some_and(|script| script(&packet)) {
            self.stats.scripted_drops += 1;
            return true;
        }
        if self.rng.chance(self.config.loss) {
            self.stats.random_drops += 1;
            return true;
        }
        false
    }

    /// Describes a data packet and moves the high mark past it.
    fn data_packet(&mut self, now: Instant, seq: SeqNum, len: usize) -> DataPacket {
        let end = seq + len as u32;
        let retransmission = self.high.is_some_and(|high| end.le(high));
        if self.high.is_none_or(|high| high.lt(end)) {
            self.high = Some(end);
        }
        DataPacket {
            index: self.stats.data_packets,
            at: now,
            retransmission,
        }
    }

    /// Tail drop: the departure time of a packet of `len` bytes arriving at the queue, or
    /// `None` when the backlog leaves no room for it.
    fn enqueue(&mut self, now_nanos: u64, len: usize) -> Option<u64> {
        let waiting_nanos = self.busy_until_nanos.saturating_sub(now_nanos);
        let backlog = u128::from(waiting_nanos) * u128::from(self.config.rate)
            / u128::from(8 * NANOS_PER_SEC);
        if backlog + len as u128 > self.config.queue as u128 {
            return None;
        }
        let start = self.busy_until_nanos.max(now_nanos);
        self.busy_until_nanos = start + self.config.serialization_nanos(len);
        Some(self.busy_until_nanos)
    }

    /// When the next packet arrives, rounded up to the microsecond.
    pub(crate) fn next_arrival(&self) -> Option<Instant> {
        self.in_flight
            .peek()
            .map(|Reverse(p)| Instant::from_micros(p.at_nanos.div_ceil(1000)))
    }

    /// The next packet that has arrived by `now`, and the end it arrived at.
    pub(crate) fn recv(&mut self, now: Instant) -> Option<(End, Vec<u8>)> {
        let due = self
            .in_flight
            .peek()
            .is_some_and(|Reverse(p)| p.at_nanos <= now.as_micros() * 1000);
        if !due {
            return None;
        }
        self.in_flight.pop().map(|Reverse(p)| (p.to, p.bytes))
    }
}
