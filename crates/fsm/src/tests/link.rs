//! The simulator's virtual link: two directions, each a queue of packets in flight with seeded
//! delay, loss, duplication, reordering and corruption (s2n-quic's knobs), in virtual time.
//!
//! The link moves bytes, not segments: corruption flips a bit of the encoded packet, and the
//! receiver's parser has to notice. A corrupted copy remembers the bytes it came from so the
//! simulator can tell a rejected packet from one whose damage the checksums do not cover.

use core::ops::Range;
use core::time::Duration;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::Instant;

/// SplitMix64: a tiny seeded PRNG, plenty for test decisions (no dependency, same numbers on
/// every platform).
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `range` (which must not be empty); the modulo bias is irrelevant here.
    pub(crate) fn range(&mut self, range: Range<u64>) -> u64 {
        range.start + self.next_u64() % (range.end - range.start)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        // The top 53 bits make a uniform float in [0, 1).
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// A duration uniform in `range` (microsecond resolution).
    pub(crate) fn duration(&mut self, range: Range<Duration>) -> Duration {
        let micros = |d: Duration| u64::try_from(d.as_micros()).expect("test durations fit");
        Duration::from_micros(self.range(micros(range.start)..micros(range.end)))
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// The faults of one direction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Faults {
    /// One-way delay of every packet.
    pub(crate) delay: Duration,
    /// Probability that a packet is dropped.
    pub(crate) loss: f64,
    /// Probability that a packet is delivered twice (each copy with its own delay).
    pub(crate) duplicate: f64,
    /// Probability that a copy is held back by up to `reorder_delay` more, so later packets
    /// overtake it.
    pub(crate) reorder: f64,
    pub(crate) reorder_delay: Duration,
    /// Probability that a copy has one random bit flipped.
    pub(crate) corrupt: f64,
}

/// What the link did, summed over both directions.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LinkStats {
    pub(crate) sent: u64,
    pub(crate) lost: u64,
    pub(crate) duplicated: u64,
    pub(crate) reordered: u64,
    pub(crate) corrupted: u64,
}

impl LinkStats {
    pub(crate) fn add(&mut self, other: &LinkStats) {
        self.sent += other.sent;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.reordered += other.reordered;
        self.corrupted += other.corrupted;
    }
}

/// A packet arriving: its bytes, and the bytes it was sent as if the link corrupted it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Arrival {
    pub(crate) bytes: Vec<u8>,
    pub(crate) original: Option<Vec<u8>>,
}

/// Two directions of packets in flight: 0 carries side 0's packets to side 1, 1 the reverse.
#[derive(Debug)]
pub(crate) struct Link {
    rng: Rng,
    faults: [Faults; 2],
    /// In flight, earliest arrival first; the counter keeps equal arrival times in send order.
    queues: [BinaryHeap<Reverse<(Instant, u64, Arrival)>>; 2],
    sent: u64,
    pub(crate) stats: LinkStats,
}

impl Link {
    pub(crate) fn new(seed: u64, faults: [Faults; 2]) -> Self {
        Link {
            rng: Rng::new(seed),
            faults,
            queues: [BinaryHeap::new(), BinaryHeap::new()],
            sent: 0,
            stats: LinkStats::default(),
        }
    }

    /// Puts a packet sent at `now` on direction `dir`.
    pub(crate) fn send(&mut self, dir: usize, now: Instant, bytes: &[u8]) {
        self.stats.sent += 1;
        let faults = self.faults[dir];
        if self.rng.chance(faults.loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.chance(faults.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let mut at = now + faults.delay;
            if self.rng.chance(faults.reorder) {
                self.stats.reordered += 1;
                at += self.rng.duration(Duration::ZERO..faults.reorder_delay);
            }
            let arrival = if self.rng.chance(faults.corrupt) {
                self.stats.corrupted += 1;
                let mut damaged = bytes.to_vec();
                let bit = self.rng.range(0..bytes.len() as u64 * 8);
                damaged[(bit / 8) as usize] ^= 1 << (bit % 8);
                Arrival {
                    bytes: damaged,
                    original: Some(bytes.to_vec()),
                }
            } else {
                Arrival {
                    bytes: bytes.to_vec(),
                    original: None,
                }
            };
            self.sent += 1;
            self.queues[dir].push(Reverse((at, self.sent, arrival)));
        }
    }

    /// When the next packet arrives, in either direction.
    pub(crate) fn next_arrival(&self) -> Option<Instant> {
        self.queues
            .iter()
            .filter_map(|q| q.peek().map(|Reverse((at, _, _))| *at))
            .min()
    }

    /// The next packet on `dir` that has arrived by `now`.
    pub(crate) fn recv(&mut self, dir: usize, now: Instant) -> Option<Arrival> {
        let queue = &mut self.queues[dir];
        if queue.peek().is_none_or(|Reverse((at, _, _))| *at > now) {
            return None;
        }
        queue.pop().map(|Reverse((_, _, arrival))| arrival)
    }
}
