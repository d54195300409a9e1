//! Retransmission timeout from round-trip samples (RFC 6298), with exponential backoff and
//! Karn's rule.
//!
//! [`RttEstimator`] turns samples into an RTO. [`RttTimer`] takes the samples: it times one
//! segment at a time and forgets it when anything is retransmitted, so an ambiguous ACK never
//! becomes a sample.

use core::time::Duration;

use crate::time::Instant;

/// Clock granularity G of RFC 6298 §2: our clock counts microseconds, but we keep G at 1 ms so
/// that a path with a steady RTT still gets some slack over SRTT.
const GRANULARITY: Duration = Duration::from_millis(1);

/// SRTT and RTTVAR with the RTO they give (RFC 6298 §2), and the current backoff (§5.5).
#[derive(Clone, Debug)]
pub(crate) struct RttEstimator {
    /// Smoothed RTT; `None` until the first sample.
    srtt: Option<Duration>,
    /// RTT variation; zero until the first sample.
    rttvar: Duration,
    /// RTO before backoff, already clamped to `[min_rto, max_rto]`.
    base_rto: Duration,
    /// Consecutive expirations since the last sample; each doubles the RTO.
    backoffs: u32,
    /// Lower bound on the RTO (RFC 6298 §2.4 says 1 s; we allow less, as Linux does).
    min_rto: Duration,
    /// Upper bound on the RTO, backoff included (RFC 6298 §2.5).
    max_rto: Duration,
}

impl RttEstimator {
    /// An estimator with no samples and RTO `initial_rto` (RFC 6298 §2.1: 1 s).
    ///
    /// Every RTO, the initial one included, is clamped to `[min_rto, max_rto]`; if
    /// `min_rto > max_rto`, `max_rto` wins.
    pub(crate) fn new(initial_rto: Duration, min_rto: Duration, max_rto: Duration) -> Self {
        Self {
            srtt: None,
            rttvar: Duration::ZERO,
            base_rto: clamp(initial_rto, min_rto, max_rto),
            backoffs: 0,
            min_rto,
            max_rto,
        }
    }

    /// Takes a round-trip sample from a segment that was not retransmitted (Karn's rule is the
    /// caller's, see [`RttTimer`]) and recomputes the RTO, clearing any backoff.
    pub(crate) fn on_sample(&mut self, rtt: Duration) {
        let (srtt, rttvar) = match self.srtt {
            // RFC 6298 §2.2.
            None => (rtt, rtt / 2),
            // RFC 6298 §2.3, alpha = 1/8 and beta = 1/4; RTTVAR uses the old SRTT.
            Some(srtt) => (
                srtt.saturating_mul(7).saturating_add(rtt) / 8,
                self.rttvar
                    .saturating_mul(3)
                    .saturating_add(srtt.abs_diff(rtt))
                    / 4,
            ),
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        // RFC 6298 §2.3: RTO = SRTT + max(G, K*RTTVAR) with K = 4.
        let rto = srtt.saturating_add(GRANULARITY.max(rttvar.saturating_mul(4)));
        self.base_rto = clamp(rto, self.min_rto, self.max_rto);
        // RFC 6298 §5 (note after rule 5.7): a new sample recomputes the RTO, collapsing the
        // backoff.
        self.backoffs = 0;
    }

    /// The current RTO: the computed one doubled once per backoff (RFC 6298 §5.5), at most
    /// `max_rto`.
    pub(crate) fn rto(&self) -> Duration {
        1u32.checked_shl(self.backoffs)
            .and_then(|factor| self.base_rto.checked_mul(factor))
            .map_or(self.max_rto, |rto| rto.min(self.max_rto))
    }

    /// RFC 6298 §5.7: after a SYN timed out, and while no RTT has been measured, data
    /// transmission starts from `rto` (3 s) rather than the initial 1 s.
    pub(crate) fn fall_back(&mut self, rto: Duration) {
        if self.srtt.is_none() {
            self.base_rto = clamp(rto, self.min_rto, self.max_rto);
            self.backoffs = 0;
        }
    }

    /// Backs the timer off after it expired (RFC 6298 §5.5): the next [`rto`](Self::rto)
    /// doubles, up to `max_rto`.
    pub(crate) fn backoff(&mut self) {
        self.backoffs = self.backoffs.saturating_add(1);
    }

    /// How many times the timer backed off since the last sample (for R1/R2, RFC 9293 §3.8.3).
    #[cfg(test)]
    pub(crate) fn backoffs(&self) -> u32 {
        self.backoffs
    }

    /// The smoothed RTT, or `None` before the first sample.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The RTT variation (zero before the first sample).
    pub(crate) fn rttvar(&self) -> Duration {
        self.rttvar
    }
}

/// `rto` within `[min, max]`; `max` wins if the bounds cross (unlike `Ord::clamp`, no panic).
fn clamp(rto: Duration, min: Duration, max: Duration) -> Duration {
    rto.max(min).min(max)
}

/// Times one segment at a time for RTT samples (RFC 6298 §3 allows one per RTT), in stream
/// offsets.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RttTimer {
    /// The timed segment, if any.
    timed: Option<Timed>,
}

/// A segment being timed.
#[derive(Clone, Copy, Debug)]
struct Timed {
    /// Stream offset just past the segment's last byte: an ACK of this offset covers it.
    end: u64,
    /// When the segment was first sent.
    sent_at: Instant,
}

impl RttTimer {
    /// Starts timing a segment of new data that ends at stream offset `end`, sent `now`.
    ///
    /// Does nothing if a segment is already timed, so the caller may call it on every new
    /// segment. Never call it for a retransmission (Karn's rule, RFC 6298 §3).
    pub(crate) fn start(&mut self, end: u64, now: Instant) {
        if self.timed.is_none() {
            self.timed = Some(Timed { end, sent_at: now });
        }
    }

    /// An ACK up to stream offset `acked_to` arrived `now`: returns the RTT sample and stops
    /// timing if it covers the timed segment.
    pub(crate) fn on_ack(&mut self, acked_to: u64, now: Instant) -> Option<Duration> {
        let timed = self.timed.filter(|timed| acked_to >= timed.end)?;
        self.timed = None;
        Some(now.saturating_since(timed.sent_at))
    }

    /// Forgets the timed segment. Call on every retransmission: an ACK after one cannot say
    /// which transmission it answers (Karn's rule, RFC 6298 §3).
    pub(crate) fn invalidate(&mut self) {
        self.timed = None;
    }

    /// Whether a segment is being timed.
    #[cfg(test)]
    pub(crate) fn is_running(&self) -> bool {
        self.timed.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// The crate's defaults: RTO 1 s initially, within [200 ms, 120 s].
    fn estimator() -> RttEstimator {
        RttEstimator::new(ms(1_000), ms(200), ms(120_000))
    }

    #[test]
    fn new_has_initial_rto_and_no_samples() {
        let est = estimator();
        assert_eq!(est.rto(), ms(1_000));
        assert_eq!(est.srtt(), None);
        assert_eq!(est.rttvar(), Duration::ZERO);
        assert_eq!(est.backoffs(), 0);
    }

    #[test]
    fn new_clamps_initial_rto() {
        assert_eq!(
            RttEstimator::new(ms(1_000), ms(2_000), ms(60_000)).rto(),
            ms(2_000)
        );
        assert_eq!(
            RttEstimator::new(ms(1_000), ms(200), ms(500)).rto(),
            ms(500)
        );
        // Crossed bounds: max wins.
        assert_eq!(
            RttEstimator::new(ms(1_000), ms(900), ms(300)).rto(),
            ms(300)
        );
    }

    #[test]
    fn samples_follow_rfc6298_formulas() {
        let mut est = estimator();

        // §2.2: SRTT = R, RTTVAR = R/2, RTO = R + max(G, 4 * R/2).
        est.on_sample(ms(100));
        assert_eq!(est.srtt(), Some(ms(100)));
        assert_eq!(est.rttvar(), ms(50));
        assert_eq!(est.rto(), ms(300));

        // §2.3: RTTVAR = 3/4 * 50 + 1/4 * |100 - 200| = 62.5;
        // SRTT = 7/8 * 100 + 1/8 * 200 = 112.5; RTO = 112.5 + 4 * 62.5 = 362.5.
        est.on_sample(ms(200));
        assert_eq!(est.rttvar(), us(62_500));
        assert_eq!(est.srtt(), Some(us(112_500)));
        assert_eq!(est.rto(), us(362_500));

        // RTTVAR = 3/4 * 62.5 + 1/4 * |112.5 - 100| = 50;
        // SRTT = 7/8 * 112.5 + 1/8 * 100 = 110.9375; RTO = 110.9375 + 200.
        est.on_sample(ms(100));
        assert_eq!(est.rttvar(), ms(50));
        assert_eq!(est.srtt(), Some(Duration::from_nanos(110_937_500)));
        assert_eq!(est.rto(), Duration::from_nanos(310_937_500));
    }

    #[test]
    fn rttvar_below_granularity_uses_g() {
        let mut est = RttEstimator::new(ms(1_000), Duration::ZERO, ms(60_000));
        // 4 * RTTVAR = 400 us < G = 1 ms, so RTO = SRTT + G.
        est.on_sample(us(200));
        assert_eq!(est.rttvar(), us(100));
        assert_eq!(est.rto(), us(1_200));
    }

    #[test]
    fn rto_clamped_to_min() {
        let mut est = estimator();
        // 10 + 4 * 5 = 30 ms, raised to 200 ms.
        est.on_sample(ms(10));
        assert_eq!(est.srtt(), Some(ms(10)));
        assert_eq!(est.rto(), ms(200));
    }

    #[test]
    fn rto_clamped_to_max() {
        let mut est = estimator();
        // 100 + 4 * 50 = 300 s, lowered to 120 s.
        est.on_sample(ms(100_000));
        assert_eq!(est.rto(), ms(120_000));
    }

    #[test]
    fn huge_sample_saturates_without_panic() {
        let mut est = estimator();
        est.on_sample(Duration::MAX);
        est.on_sample(Duration::MAX);
        est.on_sample(Duration::ZERO);
        assert_eq!(est.rto(), ms(120_000));
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let mut est = RttEstimator::new(ms(1_000), ms(200), ms(60_000));
        let mut rtos = vec![est.rto()];
        for _ in 0..7 {
            est.backoff();
            rtos.push(est.rto());
        }
        let secs: Vec<u64> = rtos.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(est.backoffs(), 7);
    }

    #[test]
    fn backoff_beyond_shift_width_stays_at_max() {
        let mut est = estimator();
        for _ in 0..40 {
            est.backoff();
        }
        assert_eq!(est.rto(), ms(120_000));
        est.backoffs = u32::MAX;
        est.backoff();
        assert_eq!(est.backoffs(), u32::MAX);
        assert_eq!(est.rto(), ms(120_000));
    }

    #[test]
    fn sample_clears_backoff() {
        let mut est = estimator();
        est.on_sample(ms(100));
        est.backoff();
        est.backoff();
        assert_eq!(est.rto(), ms(1_200));
        // SRTT 100 -> 100, RTTVAR 50 -> 37.5: RTO = 100 + 150 = 250 ms, not backed off.
        est.on_sample(ms(100));
        assert_eq!(est.backoffs(), 0);
        assert_eq!(est.rto(), ms(250));
    }

    #[test]
    fn timer_idle_by_default() {
        let mut timer = RttTimer::default();
        assert!(!timer.is_running());
        assert_eq!(timer.on_ack(u64::MAX, Instant::from_micros(5)), None);
    }

    #[test]
    fn timer_samples_when_ack_covers_segment() {
        let t0 = Instant::from_micros(1_000_000);
        let mut timer = RttTimer::default();
        timer.start(1_000, t0);
        assert!(timer.is_running());
        // A partial ACK is not a sample for this segment.
        assert_eq!(timer.on_ack(999, t0 + ms(30)), None);
        assert!(timer.is_running());
        assert_eq!(timer.on_ack(1_000, t0 + ms(40)), Some(ms(40)));
        assert!(!timer.is_running());
        // One sample per timed segment.
        assert_eq!(timer.on_ack(2_000, t0 + ms(50)), None);
    }

    #[test]
    fn timer_sample_from_ack_beyond_segment() {
        let t0 = Instant::from_micros(1_000_000);
        let mut timer = RttTimer::default();
        timer.start(1_000, t0);
        assert_eq!(timer.on_ack(5_000, t0 + ms(25)), Some(ms(25)));
    }

    #[test]
    fn timer_start_keeps_first_segment() {
        let t0 = Instant::from_micros(1_000_000);
        let mut timer = RttTimer::default();
        timer.start(1_000, t0);
        timer.start(2_000, t0 + ms(10));
        assert_eq!(timer.on_ack(1_000, t0 + ms(30)), Some(ms(30)));
    }

    #[test]
    fn timer_invalidate_drops_sample_karn() {
        let t0 = Instant::from_micros(1_000_000);
        let mut timer = RttTimer::default();
        timer.start(1_000, t0);
        // The segment is retransmitted: its ACK is ambiguous.
        timer.invalidate();
        assert!(!timer.is_running());
        assert_eq!(timer.on_ack(1_000, t0 + ms(300)), None);
        // Timing resumes with the next new segment.
        timer.start(2_000, t0 + ms(300));
        assert_eq!(timer.on_ack(2_000, t0 + ms(340)), Some(ms(40)));
    }
}
