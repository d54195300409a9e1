//! Both controllers driven through the trait, one RTT round at a time.

use core::time::Duration;

use super::*;

pub(super) const MSS: u32 = 1460;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn t0() -> Instant {
    Instant::from_micros(1_000_000)
}

/// `n` segments in bytes.
pub(super) fn segs(n: u32) -> u32 {
    n * MSS
}

fn both() -> [Box<dyn CongestionControl>; 2] {
    [
        new_controller(CongestionAlgorithm::NewReno, MSS),
        new_controller(CongestionAlgorithm::Cubic, MSS),
    ]
}

/// One RTT round: the whole window at the round's start is acknowledged, `per_ack` bytes at a
/// time (the last ACK may be smaller), the ACKs spread evenly over `rtt` from `now`, which is
/// also the smoothed RTT. Returns when the round ends.
pub(super) fn ack_round(
    cc: &mut dyn CongestionControl,
    now: Instant,
    rtt: Duration,
    per_ack: u32,
) -> Instant {
    let mut left = cc.window();
    let acks = left.div_ceil(per_ack);
    for i in 0..acks {
        let acked = left.min(per_ack);
        left -= acked;
        cc.on_ack(now + rtt * i / acks, acked, rtt, true);
    }
    now + rtt
}

/// Puts `cc` in congestion avoidance at `cwnd` bytes before the loss: a congestion event with
/// the window full, then recovery ends. Returns the window after recovery.
pub(super) fn after_loss(cc: &mut dyn CongestionControl, now: Instant, cwnd: u32) -> u32 {
    cc.set_window(cwnd);
    cc.on_congestion_event(now, cwnd);
    cc.on_recovery_end(now);
    cc.window()
}

#[test]
fn initial_window_follows_rfc6928() {
    assert_eq!(initial_window(1460), 14_600);
    assert_eq!(initial_window(536), 5_360);
    assert_eq!(initial_window(9000), 18_000);
    assert_eq!(initial_window(u32::MAX), u32::MAX);
    for algorithm in [CongestionAlgorithm::NewReno, CongestionAlgorithm::Cubic] {
        for (mss, iw) in [(1460, 14_600), (536, 5_360), (9000, 18_000)] {
            let cc = new_controller(algorithm, mss);
            assert_eq!(cc.window(), iw, "{algorithm:?} mss {mss}");
            assert_eq!(cc.ssthresh(), u32::MAX, "{algorithm:?}");
        }
    }
}

#[test]
fn slow_start_doubles_per_rtt_with_delayed_acks() {
    for mut cc in both() {
        let mut now = t0();
        for round in 0..6 {
            let before = cc.window();
            now = ack_round(cc.as_mut(), now, ms(50), segs(2));
            assert_eq!(cc.window(), 2 * before, "{cc:?} round {round}");
        }
        assert_eq!(cc.window(), 64 * 14_600);
    }
}

#[test]
fn slow_start_doubles_per_rtt_with_an_ack_per_segment() {
    for mut cc in both() {
        let mut now = t0();
        for _ in 0..4 {
            now = ack_round(cc.as_mut(), now, ms(50), MSS);
        }
        assert_eq!(cc.window(), 16 * 14_600, "{cc:?}");
    }
}

#[test]
fn slow_start_counts_at_most_two_segments_per_ack() {
    for mut cc in both() {
        // RFC 3465 §2.2, L = 2 SMSS: a stretch ACK of 8 segments grows the window by 2.
        cc.on_ack(t0(), segs(8), ms(50), true);
        assert_eq!(cc.window(), 14_600 + segs(2), "{cc:?}");
    }
}

#[test]
fn slow_start_stops_at_ssthresh() {
    for mut cc in both() {
        // ssthresh 11 (NewReno) or 15 (CUBIC) segments and some, cwnd 1 segment.
        cc.set_window(segs(22) + 1000);
        cc.on_timeout(t0(), segs(22) + 1000, true);
        let ssthresh = cc.ssthresh();
        assert!((segs(10)..segs(16)).contains(&ssthresh), "{cc:?}");
        assert_eq!(cc.window(), MSS);
        let mut now = t0();
        while cc.window() < ssthresh {
            cc.on_ack(now, segs(2), ms(50), true);
            now += ms(5);
        }
        // The crossing ACK stops at ssthresh; its remainder counts toward avoidance, which
        // grows by far less than slow start would have.
        assert!(cc.window() < ssthresh + MSS, "{cc:?}");
    }
}

#[test]
fn newreno_slow_start_remainder_counts_toward_avoidance() {
    let mut cc = NewReno::new(MSS);
    cc.on_timeout(t0(), segs(22) + 1000, true);
    assert_eq!(cc.ssthresh(), segs(11) + 500);
    for _ in 0..5 {
        cc.on_ack(t0(), segs(2), ms(50), true);
    }
    assert_eq!(cc.window(), segs(11));
    // 500 bytes of this ACK reach ssthresh, the other 2420 go to avoidance.
    cc.on_ack(t0(), segs(2), ms(50), true);
    assert_eq!(cc.window(), segs(11) + 500);
    cc.on_ack(t0(), segs(11) + 500 - 2420 - 1, ms(50), true);
    assert_eq!(cc.window(), segs(11) + 500);
    cc.on_ack(t0(), 1, ms(50), true);
    assert_eq!(cc.window(), segs(12) + 500);
}

#[test]
fn no_growth_when_not_cwnd_limited() {
    for mut cc in both() {
        // Slow start.
        for i in 0..20 {
            cc.on_ack(t0() + ms(i), segs(2), ms(50), false);
        }
        assert_eq!(cc.window(), 14_600, "{cc:?}");
        // Congestion avoidance, for many seconds.
        let w = after_loss(cc.as_mut(), t0(), segs(40));
        for i in 0..1000 {
            cc.on_ack(t0() + ms(10 * i), segs(2), ms(50), false);
        }
        assert_eq!(cc.window(), w, "{cc:?}");
    }
}

#[test]
fn timeout_drops_to_one_segment() {
    for mut cc in both() {
        cc.set_window(segs(40));
        cc.on_timeout(t0(), segs(40), true);
        assert_eq!(cc.window(), MSS, "{cc:?}");
        let ssthresh = cc.ssthresh();
        assert!(ssthresh >= segs(20) && ssthresh <= segs(28), "{cc:?}");

        // A second timeout of the same episode keeps ssthresh.
        cc.set_window(segs(4));
        cc.on_timeout(t0() + ms(1000), segs(4), false);
        assert_eq!(cc.window(), MSS, "{cc:?}");
        assert_eq!(cc.ssthresh(), ssthresh, "{cc:?}");
    }
}

#[test]
fn timeout_without_reduce_keeps_initial_ssthresh() {
    for mut cc in both() {
        cc.on_timeout(t0(), segs(10), false);
        assert_eq!(cc.window(), MSS, "{cc:?}");
        assert_eq!(cc.ssthresh(), u32::MAX, "{cc:?}");
    }
}

#[test]
fn idle_restart_cuts_to_the_initial_window() {
    for mut cc in both() {
        let mut now = t0();
        for _ in 0..3 {
            now = ack_round(cc.as_mut(), now, ms(50), segs(2));
        }
        assert_eq!(cc.window(), 8 * 14_600);
        cc.on_idle_restart(now + ms(5_000));
        assert_eq!(cc.window(), 14_600, "{cc:?}");
        // A window already below IW stays.
        cc.on_timeout(now, segs(20), true);
        cc.on_idle_restart(now + ms(10_000));
        assert_eq!(cc.window(), MSS, "{cc:?}");
    }
}

#[test]
fn set_mss_before_any_ack_resets_the_initial_window() {
    for algorithm in [CongestionAlgorithm::NewReno, CongestionAlgorithm::Cubic] {
        let mut cc = new_controller(algorithm, 536);
        cc.set_mss(9000);
        assert_eq!(cc.window(), 18_000, "{algorithm:?}");
        cc.set_mss(1460);
        assert_eq!(cc.window(), 14_600, "{algorithm:?}");
        cc.on_ack(t0(), 1460, ms(50), true);
        assert_eq!(cc.window(), 14_600 + 1460, "{algorithm:?}");
        // Now the window has moved: a new MSS changes only the growth step.
        cc.set_mss(536);
        assert_eq!(cc.window(), 14_600 + 1460, "{algorithm:?}");
        cc.on_ack(t0(), 1460, ms(50), true);
        assert_eq!(cc.window(), 14_600 + 1460 + 1072, "{algorithm:?}");
    }
}

#[test]
fn set_mss_after_a_loss_keeps_the_window() {
    for mut cc in both() {
        cc.on_timeout(t0(), segs(10), true);
        cc.set_mss(536);
        assert_eq!(cc.window(), MSS, "{cc:?}");
    }
}

#[test]
fn newreno_avoidance_adds_one_segment_per_window() {
    for per_ack in [MSS, segs(2)] {
        let mut cc = NewReno::new(MSS);
        let mut w = after_loss(&mut cc, t0(), segs(40));
        assert_eq!(w, segs(20));
        let mut now = t0();
        for round in 0..30 {
            now = ack_round(&mut cc, now, ms(50), per_ack);
            w += MSS;
            assert_eq!(cc.window(), w, "ack ratio {per_ack}, round {round}");
        }
    }
}

#[test]
fn newreno_avoidance_waits_for_a_whole_window() {
    let mut cc = NewReno::new(MSS);
    let w = after_loss(&mut cc, t0(), segs(40));
    cc.on_ack(t0(), w - 1, ms(50), true);
    assert_eq!(cc.window(), w);
    cc.on_ack(t0(), 1, ms(50), true);
    assert_eq!(cc.window(), w + MSS);
    // A stretch ACK of two windows counts twice.
    cc.on_ack(t0(), 2 * (w + MSS), ms(50), true);
    assert_eq!(cc.window(), w + 3 * MSS);
}

#[test]
fn newreno_recovery_end_forgets_partial_counts() {
    let mut cc = NewReno::new(MSS);
    let w = after_loss(&mut cc, t0(), segs(40));
    cc.on_ack(t0(), w - MSS, ms(50), true);
    let w = after_loss(&mut cc, t0(), w);
    cc.on_ack(t0(), w - 1, ms(50), true);
    assert_eq!(cc.window(), w);
}

#[test]
fn newreno_congestion_event_halves_the_flight() {
    let mut cc = NewReno::new(MSS);
    cc.set_window(segs(100));
    cc.on_congestion_event(t0(), segs(80));
    assert_eq!(cc.ssthresh(), segs(40));
    // The window is PRR's until recovery ends.
    assert_eq!(cc.window(), segs(100));
    cc.set_window(segs(61));
    assert_eq!(cc.window(), segs(61));
    cc.on_recovery_end(t0() + ms(100));
    assert_eq!(cc.window(), segs(40));

    // RFC 5681 eq. 4: never below two segments.
    cc.on_congestion_event(t0() + ms(200), MSS);
    assert_eq!(cc.ssthresh(), segs(2));
}

#[test]
fn cubic_congestion_event_keeps_seven_tenths_of_cwnd() {
    let mut cc = Cubic::new(MSS);
    cc.set_window(segs(100));
    // The flight does not matter: one loss multiplies the window by β.
    cc.on_congestion_event(t0(), segs(30));
    assert_eq!(cc.ssthresh(), segs(70));
    assert_eq!(cc.window(), segs(100));
    cc.on_recovery_end(t0() + ms(100));
    assert_eq!(cc.window(), segs(70));

    cc.set_window(MSS);
    cc.on_congestion_event(t0() + ms(200), MSS);
    assert_eq!(cc.ssthresh(), segs(2));
}

#[test]
fn extreme_values_do_not_panic() {
    let extremes = [0, 1, 2, MSS, u32::MAX / 2, u32::MAX - 1, u32::MAX];
    for algorithm in [CongestionAlgorithm::NewReno, CongestionAlgorithm::Cubic] {
        for mss in extremes {
            let mut cc = new_controller(algorithm, mss);
            let times = [
                t0(),
                Instant::ZERO,
                t0() + ms(10_000),
                t0(),
                Instant::from_micros(u64::MAX),
            ];
            for (i, now) in times.into_iter().enumerate() {
                for srtt in [Duration::ZERO, ms(1), Duration::MAX] {
                    for acked in extremes {
                        cc.on_ack(now, acked, srtt, true);
                        assert!(cc.window() > 0, "{cc:?}");
                    }
                }
                let window = cc.window();
                cc.on_congestion_event(now, window);
                cc.set_window(extremes[i % extremes.len()]);
                cc.on_recovery_end(now);
                for acked in extremes {
                    cc.on_ack(now, acked, ms(1), true);
                }
                cc.on_timeout(now, u32::MAX, i % 2 == 0);
                cc.on_idle_restart(now);
                cc.set_mss(extremes[(i + 3) % extremes.len()]);
            }
            // Congestion avoidance with a window near u32::MAX.
            cc.set_window(u32::MAX - 1);
            cc.on_congestion_event(t0(), u32::MAX);
            cc.on_recovery_end(t0());
            cc.set_window(u32::MAX - 1);
            for acked in extremes {
                cc.on_ack(t0() + ms(1), acked, Duration::MAX, true);
                assert!(cc.window() >= u32::MAX - 1, "{cc:?}");
            }
        }
    }
}
