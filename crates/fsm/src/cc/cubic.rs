//! CUBIC (RFC 9438): after a congestion event the window follows a cubic function of the time
//! since the event, concave up to the window where the loss happened (W_max), then convex past
//! it, and never below what Reno would have reached (the Reno-friendly region).
//!
//! The RFC's window variables (W_max, W_est, cwnd_prior, the curve) are kept in segments as
//! `f64`, as its formulas are written; cwnd and ssthresh are bytes, as the trait reports them.

use core::time::Duration;

use super::{CongestionControl, initial_window, slow_start};
use crate::time::Instant;

/// C: the aggressiveness of the curve, in segments per second³ (RFC 9438 §5.1).
const C: f64 = 0.4;
/// β_cubic: the window keeps this fraction on a congestion event (RFC 9438 §4.6).
const BETA: f64 = 0.7;
/// α_cubic: W_est's growth per RTT, 3(1 − β)/(1 + β), which matches Reno's average rate (RFC
/// 9438 §4.3).
const ALPHA: f64 = 3.0 * (1.0 - BETA) / (1.0 + BETA);

/// CUBIC's window.
#[derive(Clone, Debug)]
pub(crate) struct Cubic {
    /// Sender MSS (SMSS), at least 1.
    mss: u32,
    cwnd: u32,
    /// Growth below one byte, in [0, 1), carried to the next ACK so that small per-ACK
    /// increments of a large window add up.
    cwnd_frac: f64,
    ssthresh: u32,
    /// No data acknowledged and no loss, timeout or PRR window yet: [`CongestionControl::set_mss`]
    /// may still replace cwnd with the initial window of the new MSS.
    initial: bool,
    /// W_max: the window, in segments, where the curve reaches its plateau.
    w_max: f64,
    /// cwnd_prior: the window, in segments, just before the last reduction.
    cwnd_prior: f64,
    /// The current congestion avoidance stage; `None` until its first ACK.
    epoch: Option<Epoch>,
    /// The next stage is the first after a timeout: K = 0 and W_max = cwnd_epoch (§4.8).
    after_timeout: bool,
}

/// One congestion avoidance stage (RFC 9438 §4.2).
#[derive(Clone, Copy, Debug)]
struct Epoch {
    /// t_epoch: when the stage began.
    start: Instant,
    /// K, in seconds: when the curve reaches W_max.
    k: f64,
    /// W_est, in segments: the Reno-friendly estimate (§4.3).
    w_est: f64,
}

impl Cubic {
    /// A controller for `mss`-byte segments, starting at the initial window.
    pub(crate) fn new(mss: u32) -> Self {
        let mss = mss.max(1);
        Self {
            mss,
            cwnd: initial_window(mss),
            cwnd_frac: 0.0,
            ssthresh: u32::MAX,
            initial: true,
            w_max: 0.0,
            cwnd_prior: 0.0,
            epoch: None,
            after_timeout: false,
        }
    }

    /// `bytes` in segments.
    fn segments(&self, bytes: u32) -> f64 {
        f64::from(bytes) / f64::from(self.mss)
    }

    /// The first ACK of a congestion avoidance stage (RFC 9438 §4.2, §4.8).
    fn start_epoch(&mut self, now: Instant) -> Epoch {
        let cwnd_epoch = self.segments(self.cwnd);
        let k = if self.after_timeout || cwnd_epoch >= self.w_max {
            self.w_max = cwnd_epoch;
            0.0
        } else {
            cubic_k(self.w_max, cwnd_epoch)
        };
        self.after_timeout = false;
        Epoch {
            start: now,
            k,
            w_est: cwnd_epoch,
        }
    }

    /// Congestion avoidance for `acked` bytes (RFC 9438 §4.2–§4.5).
    fn congestion_avoidance(&mut self, now: Instant, acked: u32, srtt: Duration) {
        let mut epoch = match self.epoch {
            Some(epoch) => epoch,
            None => self.start_epoch(now),
        };
        let cwnd = self.segments(self.cwnd).max(f64::MIN_POSITIVE);
        let acked_segments = self.segments(acked);
        let t = (now - epoch.start).as_secs_f64();

        // §4.3: Reno's window grows α per RTT until it passes the window before the
        // reduction, then one segment per RTT like Reno's.
        let alpha = if epoch.w_est >= self.cwnd_prior {
            1.0
        } else {
            ALPHA
        };
        epoch.w_est += alpha * acked_segments / cwnd;
        self.epoch = Some(epoch);

        if w_cubic(t, epoch.k, self.w_max) < epoch.w_est {
            // §4.3: the Reno-friendly region. Never shrink the window on an ACK, though.
            let w_est = epoch.w_est * f64::from(self.mss);
            if w_est > f64::from(self.cwnd) + self.cwnd_frac {
                self.cwnd = to_u32(w_est);
                self.cwnd_frac = w_est.fract();
            }
        } else {
            // §4.4, §4.5: aim at the curve one RTT ahead, no more than 1.5 × cwnd.
            let target =
                w_cubic(t + srtt.as_secs_f64(), epoch.k, self.w_max).clamp(cwnd, 1.5 * cwnd);
            self.grow((target - cwnd) / cwnd * f64::from(acked));
        }
    }

    /// Adds `bytes` (fractional) to cwnd.
    fn grow(&mut self, bytes: f64) {
        let total = bytes + self.cwnd_frac;
        self.cwnd = self.cwnd.saturating_add(to_u32(total));
        self.cwnd_frac = total.fract();
    }

    /// The reduction of a congestion event or a timeout (RFC 9438 §4.6, §4.7).
    fn reduce(&mut self) {
        let cwnd = self.segments(self.cwnd);
        self.cwnd_prior = cwnd;
        // §4.7 fast convergence: a loss below the last plateau means other flows came in;
        // release some bandwidth by aiming lower.
        self.w_max = if cwnd < self.w_max {
            cwnd * (1.0 + BETA) / 2.0
        } else {
            cwnd
        };
        // §4.6 computes ssthresh from the flight size and allows cwnd instead, which some
        // implementations use; we use cwnd so that one loss multiplies the window by β.
        // Rounded, so that 0.7 × 1 460 000 is not 1 021 999.
        let ssthresh = to_u32((f64::from(self.cwnd) * BETA).round());
        self.ssthresh = ssthresh.max(self.mss.saturating_mul(2));
        self.epoch = None;
    }
}

impl CongestionControl for Cubic {
    fn window(&self) -> u32 {
        self.cwnd
    }

    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    /// Only a window-limited flight grows the window (RFC 9438 §4.1, RFC 7661); the stage's
    /// clock runs on regardless, so the curve is where time says when growth resumes.
    fn on_ack(&mut self, now: Instant, acked: u32, srtt: Duration, cwnd_limited: bool) {
        self.initial = false;
        if !cwnd_limited {
            return;
        }
        let (cwnd, acked) = slow_start(self.cwnd, self.ssthresh, self.mss, acked);
        self.cwnd = cwnd;
        if acked > 0 {
            self.congestion_avoidance(now, acked, srtt);
        }
    }

    fn on_congestion_event(&mut self, _now: Instant, _flight: u32) {
        self.initial = false;
        self.reduce();
    }

    fn set_window(&mut self, cwnd: u32) {
        self.initial = false;
        self.cwnd = cwnd;
        self.cwnd_frac = 0.0;
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        self.cwnd = self.ssthresh;
        self.cwnd_frac = 0.0;
        self.epoch = None;
    }

    /// §4.8: Reno's loss window, with ssthresh and W_max set as on a congestion event.
    fn on_timeout(&mut self, _now: Instant, _flight: u32, reduce: bool) {
        self.initial = false;
        if reduce {
            self.reduce();
        }
        self.cwnd = self.mss;
        self.cwnd_frac = 0.0;
        self.epoch = None;
        self.after_timeout = true;
    }

    fn on_idle_restart(&mut self, _now: Instant) {
        self.cwnd = self.cwnd.min(initial_window(self.mss));
        self.cwnd_frac = 0.0;
        self.epoch = None;
    }

    fn set_mss(&mut self, mss: u32) {
        self.mss = mss.max(1);
        if self.initial {
            self.cwnd = initial_window(self.mss);
        }
    }
}

/// K = ∛((W_max − cwnd_epoch) / C), in seconds (RFC 9438 §4.2, figure 2).
fn cubic_k(w_max: f64, cwnd_epoch: f64) -> f64 {
    ((w_max - cwnd_epoch) / C).cbrt()
}

/// W_cubic(t) = C(t − K)³ + W_max, in segments (RFC 9438 §4.2, figure 1).
fn w_cubic(t: f64, k: f64, w_max: f64) -> f64 {
    C * (t - k).powi(3) + w_max
}

/// `x` in whole units: truncated, negative and NaN give 0 and too large gives `u32::MAX` (an
/// `as` cast from a float saturates).
fn to_u32(x: f64) -> u32 {
    x as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cc::tests::{MSS, ack_round, after_loss, ms, segs, t0};

    /// K of the current stage, in seconds, or `None` between stages.
    fn k(cc: &Cubic) -> Option<f64> {
        cc.epoch.map(|epoch| epoch.k)
    }

    fn window_segments(cc: &Cubic) -> f64 {
        cc.segments(cc.window())
    }

    #[test]
    fn k_is_the_time_back_to_w_max() {
        assert!((cubic_k(100.0, 70.0) - 4.2172).abs() < 1e-4);

        let mut cc = Cubic::new(MSS);
        after_loss(&mut cc, t0(), segs(100));
        assert_eq!(k(&cc), None);
        cc.on_ack(t0(), MSS, ms(100), true);
        assert!((k(&cc).unwrap_or_default() - 4.2172).abs() < 1e-4, "{cc:?}");
        assert!((cc.w_max - 100.0).abs() < 1e-9);
        assert!((cc.cwnd_prior - 100.0).abs() < 1e-9);
    }

    #[test]
    fn curve_is_concave_then_back_at_w_max_after_k_then_convex() {
        // A window large enough for the curve to stay above Reno's estimate throughout.
        let mut cc = Cubic::new(MSS);
        after_loss(&mut cc, t0(), segs(1000));
        let k = cubic_k(1000.0, 700.0);
        let rtt = ms(100);
        // The window at the start of each round: every 100 ms for 15 s.
        let mut windows = vec![window_segments(&cc)];
        let mut now = t0();
        for _ in 0..150 {
            now = ack_round(&mut cc, now, rtt, MSS);
            windows.push(window_segments(&cc));
        }
        let growth_per_second: Vec<f64> = windows
            .windows(11)
            .step_by(10)
            .map(|w| w[10] - w[0])
            .collect();
        // Concave: each second up to K grows less than the one before...
        let concave = &growth_per_second[..9];
        assert!(concave.windows(2).all(|g| g[0] > g[1]), "{concave:?}");
        // ... the window is back at W_max after K...
        let back = windows
            .iter()
            .position(|&w| w >= 1000.0)
            .unwrap_or(usize::MAX);
        let back = back as f64 * rtt.as_secs_f64();
        assert!(
            (back - k).abs() <= 0.2,
            "back at W_max after {back} s, K = {k}"
        );
        // ... and each second past K grows more than the one before.
        let convex = &growth_per_second[10..];
        assert!(convex.windows(2).all(|g| g[0] < g[1]), "{convex:?}");
        // The window follows the curve, at most an RTT ahead of it.
        let curve = w_cubic(15.0, k, 1000.0);
        assert!(
            (curve..w_cubic(15.1, k, 1000.0)).contains(&windows[150]),
            "{windows:?}"
        );
    }

    #[test]
    fn fast_convergence_lowers_w_max_below_the_last_plateau() {
        let mut cc = Cubic::new(MSS);
        after_loss(&mut cc, t0(), segs(100));
        assert!((cc.w_max - 100.0).abs() < 1e-9);
        // A loss at 80 segments, below the last W_max of 100: aim at 80 × (1 + β) / 2 = 68.
        cc.set_window(segs(80));
        cc.on_congestion_event(t0() + ms(1_000), segs(80));
        assert!((cc.w_max - 68.0).abs() < 1e-9, "{cc:?}");
        assert!((cc.cwnd_prior - 80.0).abs() < 1e-9, "{cc:?}");
        assert_eq!(cc.ssthresh(), segs(56));
        // A loss at or above it: W_max is the window.
        cc.set_window(segs(90));
        cc.on_congestion_event(t0() + ms(2_000), segs(90));
        assert!((cc.w_max - 90.0).abs() < 1e-9, "{cc:?}");
    }

    #[test]
    fn reno_friendly_region_dominates_at_small_rtt() {
        let mut cc = Cubic::new(MSS);
        after_loss(&mut cc, t0(), segs(20));
        // 1 ms RTT: after 10 rounds the curve has barely moved off 14 segments, while Reno's
        // estimate has grown by about α_cubic per round.
        let mut now = t0();
        for _ in 0..10 {
            now = ack_round(&mut cc, now, ms(1), MSS);
        }
        let t = (now - t0()).as_secs_f64();
        assert!(w_cubic(t, cubic_k(20.0, 14.0), 20.0) < 14.1);
        let w = window_segments(&cc);
        assert!((w - (14.0 + 10.0 * ALPHA)).abs() < 0.3, "{w} segments");

        // Past cwnd_prior (20 segments), Reno's one segment per RTT.
        while window_segments(&cc) < 21.0 {
            now = ack_round(&mut cc, now, ms(1), MSS);
        }
        let w = window_segments(&cc);
        for _ in 0..10 {
            now = ack_round(&mut cc, now, ms(1), segs(2));
        }
        let grown = window_segments(&cc) - w;
        assert!((grown - 10.0).abs() < 0.5, "{grown} segments in 10 RTTs");
    }

    #[test]
    fn first_stage_after_timeout_starts_at_the_plateau() {
        let mut cc = Cubic::new(MSS);
        let w = after_loss(&mut cc, t0(), segs(100));
        assert_eq!(w, segs(70));
        // Fast convergence: W_max = 70 × 0.85 = 59.5; ssthresh = 49 segments.
        cc.on_timeout(t0() + ms(1_000), w, true);
        assert_eq!(cc.window(), MSS);
        assert_eq!(cc.ssthresh(), segs(49));
        let mut now = t0() + ms(1_000);
        while cc.window() < cc.ssthresh() {
            now += ms(10);
            cc.on_ack(now, segs(2), ms(100), true);
        }
        assert_eq!(cc.window(), segs(49));
        assert_eq!(k(&cc), None);
        // 49 < W_max would give K > 0; after a timeout K = 0 and W_max = cwnd_epoch.
        cc.on_ack(now, MSS, ms(100), true);
        assert_eq!(k(&cc), Some(0.0));
        assert!((cc.w_max - 49.0).abs() < 1e-9, "{cc:?}");
        // The next stage is a normal one again.
        cc.on_congestion_event(now + ms(100), cc.window());
        cc.on_recovery_end(now + ms(200));
        cc.on_ack(now + ms(300), MSS, ms(100), true);
        assert!(k(&cc).unwrap_or_default() > 0.0, "{cc:?}");
    }

    #[test]
    fn idle_restart_ends_the_stage() {
        let mut cc = Cubic::new(MSS);
        after_loss(&mut cc, t0(), segs(100));
        cc.on_ack(t0(), MSS, ms(100), true);
        assert!(k(&cc).is_some());
        cc.on_idle_restart(t0() + ms(5_000));
        assert_eq!(k(&cc), None);
        assert_eq!(cc.window(), 14_600);
    }

    #[test]
    fn time_runs_on_while_application_limited() {
        let rtt = ms(100);
        let mut limited = Cubic::new(MSS);
        after_loss(&mut limited, t0(), segs(100));
        limited.on_ack(t0(), MSS, rtt, true);
        let w = limited.window();
        for i in 1..30 {
            limited.on_ack(t0() + ms(100 * i), MSS, rtt, false);
        }
        assert_eq!(limited.window(), w);
        // A stage that begins now, for comparison.
        let mut fresh = Cubic::new(MSS);
        after_loss(&mut fresh, t0(), segs(100));
        fresh.on_ack(t0() + ms(3_000), MSS, rtt, true);
        let fresh_w = fresh.window();

        // 3 s into the stage, the curve is near W_max: the next ACK grows the window more than
        // at the start of a stage.
        limited.on_ack(t0() + ms(3_000), MSS, rtt, true);
        fresh.on_ack(t0() + ms(3_000), MSS, rtt, true);
        assert!(
            limited.window() - w > 2 * (fresh.window() - fresh_w),
            "{limited:?} {fresh:?}"
        );
    }

    #[test]
    fn growth_is_at_most_half_the_window_per_rtt() {
        let mut cc = Cubic::new(MSS);
        let w = after_loss(&mut cc, t0(), segs(100));
        cc.on_ack(t0(), 1, ms(100), true);
        // 20 s later the curve is past 1 600 segments; §4.4–4.5 cap the target at 1.5 × cwnd.
        let now = t0() + ms(20_000);
        assert!(w_cubic(20.0, k(&cc).unwrap_or_default(), 100.0) > 1_600.0);
        ack_round(&mut cc, now, ms(100), MSS);
        assert!(cc.window() > w + w / 4, "{cc:?}");
        assert!(cc.window() <= w + w / 2, "{cc:?}");
    }
}
