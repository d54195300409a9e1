//! Tail losses in short transfers: how many request/response-sized transfers need a
//! retransmission timeout to complete, and what that costs in completion time.
//!
//! One connection over the goodput simulator's [`path`](super::path) (100 Mbit/s, 50 ms, a
//! queue of one BDP, random loss p on data packets) carries [`TRANSFERS`] transfers one after
//! the other, as a keep-alive HTTP connection does: A's application writes 4 to 20 full
//! segments (drawn from a seeded RNG), and the next transfer starts as soon as A has every
//! byte acknowledged. A transfer's **completion time** runs from the write to that last ACK;
//! it **needed an RTO** when A's timeout counter moved meanwhile. A lost segment near the end
//! of a transfer draws too few duplicate ACKs for fast retransmit, so without tail loss probes
//! only the RTO repairs it.
//!
//! Each case runs twice on the same seed, with RACK-TLP (RFC 8985) and without (RFC 6675's
//! DupThresh alone), and checks that RACK-TLP at least halves the transfers that need an RTO
//! and completes them sooner in total.
//!
//! `cargo test -p tcpstk-fsm --lib tests::tail_loss -- --nocapture` prints one markdown row per
//! case.

use core::time::Duration;

use super::goodput::{MBIT, SEGMENT_PAYLOAD, Sim, config};
use super::link::Rng;
use super::path::PathConfig;
use crate::{Config, CongestionAlgorithm};

const TRANSFERS: u32 = 1000;
/// Full segments per transfer.
const SEGMENTS: core::ops::Range<u64> = 4..21;
/// Longest a transfer may take before the test calls it stuck.
const STUCK: Duration = Duration::from_secs(60);

/// What one case measured.
struct Outcome {
    /// Transfers during which at least one RTO fired.
    with_rto: u32,
    timeouts: u64,
    total: Duration,
    /// Completion times, sorted.
    times: Vec<Duration>,
    random_drops: u64,
    tlp_probes: u64,
}

impl Outcome {
    fn percentile(&self, pct: usize) -> Duration {
        let i = (self.times.len() * pct / 100).min(self.times.len().saturating_sub(1));
        self.times.get(i).copied().unwrap_or_default()
    }

    fn row(&self, name: &str) -> String {
        let n = self.times.len() as u32;
        format!(
            "| {name} | {} | {} | {} | {} | {} | {:.1} s | {:.1} ms | {:.1} ms | {:.1} ms |",
            n,
            self.random_drops,
            self.tlp_probes,
            self.with_rto,
            self.timeouts,
            self.total.as_secs_f64(),
            (self.total / n.max(1)).as_secs_f64() * 1e3,
            self.percentile(50).as_secs_f64() * 1e3,
            self.percentile(99).as_secs_f64() * 1e3,
        )
    }
}

const HEADER: &str = "| case | transfers | random drops | TLP probes | transfers with an RTO \
                      | RTOs | total time | mean | median | p99 |\n\
                      |---|---|---|---|---|---|---|---|---|---|";

fn run(loss: f64, seed: u64, rack_tlp: bool) -> Outcome {
    let path = PathConfig::new(100 * MBIT, Duration::from_millis(50), loss, seed);
    let config = Config {
        rack_tlp,
        ..config(CongestionAlgorithm::Cubic, true, &path)
    };
    let mut sim = Sim::new(config, path, None);
    sim.connect();
    let mut rng = Rng::new(seed ^ 0x7a11);
    let mut outcome = Outcome {
        with_rto: 0,
        timeouts: 0,
        total: Duration::ZERO,
        times: Vec::new(),
        random_drops: 0,
        tlp_probes: 0,
    };
    for i in 0..TRANSFERS {
        let timeouts = sim.info().stats.timeouts;
        let start = sim.now;
        sim.budget = rng.range(SEGMENTS) * SEGMENT_PAYLOAD;
        loop {
            sim.step();
            if sim.budget == 0 && sim.sender_conn().send_queued() == 0 {
                break;
            }
            assert!(sim.advance(start + STUCK), "transfer {i} stuck");
        }
        let rtos = sim.info().stats.timeouts - timeouts;
        outcome.with_rto += u32::from(rtos > 0);
        outcome.timeouts += rtos;
        outcome.total += sim.now - start;
        outcome.times.push(sim.now - start);
    }
    outcome.times.sort();
    outcome.random_drops = sim.path.stats.random_drops;
    outcome.tlp_probes = sim.info().stats.tlp_probes;
    outcome
}

fn check(loss: f64, seed: u64) {
    let name = format!("100 Mbit/s, 50 ms, p {}%", loss * 100.0);
    let rack = run(loss, seed, true);
    let dupthresh = run(loss, seed, false);
    eprintln!(
        "{HEADER}\n{}\n{}",
        rack.row(&format!("{name}, RACK-TLP")),
        dupthresh.row(&format!("{name}, DupThresh only"))
    );
    assert_eq!(dupthresh.tlp_probes, 0);
    assert!(
        2 * rack.with_rto <= dupthresh.with_rto,
        "{name}: {} transfers needed an RTO with RACK-TLP, {} without",
        rack.with_rto,
        dupthresh.with_rto
    );
    assert!(rack.total < dupthresh.total, "{name}: RACK-TLP is slower");
}

#[test]
fn short_transfers_p1_tail_losses() {
    check(0.01, 1);
}

#[test]
fn short_transfers_p2_tail_losses() {
    check(0.02, 2);
}
