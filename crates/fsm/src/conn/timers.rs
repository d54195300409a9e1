//! A connection's timers: one optional deadline per kind, fired in a fixed order.
//!
//! The table only stores deadlines. The connection sets and stops them, reports the earliest
//! through `poll_timeout`, and in `handle_timeout` pops the expired ones one by one with
//! [`TimerTable::pop_expired`]. Popping one at a time, rather than iterating, leaves the
//! connection free to set or stop other timers while it handles each one.

use crate::time::Instant;

/// The kinds of timer a connection runs, at most one deadline each.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Timer {
    /// Retransmit the oldest unacknowledged segment (RFC 6298, RFC 9293 §3.8.1).
    Retransmit,
    /// RACK's reordering timer: look again for segments lost by time (RFC 8985 §6.3).
    Reorder,
    /// The probe timeout: send a tail loss probe (RFC 8985 §7.2).
    Pto,
    /// Send an ACK held back by the delayed-ACK rule (RFC 9293 §3.8.6.3).
    DelayedAck,
    /// Probe a zero window (RFC 9293 §3.8.6.1).
    Persist,
    /// Leave TIME-WAIT after 2 MSL (RFC 9293 §3.10.8).
    TimeWait,
    /// Stop waiting in FIN-WAIT-2 for a peer that never sends its FIN (a local policy, as in
    /// Linux's `tcp_fin_timeout`; RFC 9293 has no such timer).
    FinWait2,
}

impl Timer {
    /// Every timer, in the order [`TimerTable::pop_expired`] fires them.
    ///
    /// Timers that end the connection come first, so nothing is sent for a connection about to
    /// go. Retransmit and Persist come before DelayedAck, because the segment they send carries
    /// the pending ACK. The PTO comes before the retransmission timer, which it replaces while
    /// armed (RFC 8985 §7.3: the probe restarts the RTO).
    pub(crate) const ALL: [Timer; 7] = [
        Timer::TimeWait,
        Timer::FinWait2,
        Timer::Reorder,
        Timer::Pto,
        Timer::Retransmit,
        Timer::Persist,
        Timer::DelayedAck,
    ];

    /// This timer's slot in a [`TimerTable`].
    const fn index(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`]; all stopped by default.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable([Option<Instant>; Timer::ALL.len()]);

impl TimerTable {
    /// Arms `timer` to fire at `at`, replacing any earlier deadline.
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.0[timer.index()] = Some(at);
    }

    /// Stops `timer`; stopping a stopped timer does nothing.
    pub(crate) fn stop(&mut self, timer: Timer) {
        self.0[timer.index()] = None;
    }

    /// When `timer` fires, if it is set.
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.0[timer.index()]
    }

    /// Whether `timer` is set.
    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    /// Stops every timer.
    pub(crate) fn stop_all(&mut self) {
        self.0 = [None; Timer::ALL.len()];
    }

    /// The earliest deadline of any timer, or `None` if none is set.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.0.iter().flatten().min().copied()
    }

    /// Stops and returns the first timer in [`Timer::ALL`] order whose deadline is at or before
    /// `now`, or `None` if none is due.
    ///
    /// The caller loops until `None`, handling each timer as it comes. A handler that re-arms a
    /// timer must put its deadline after `now`, or the loop returns it again.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let timer = Timer::ALL
            .into_iter()
            .find(|&timer| self.get(timer).is_some_and(|at| at <= now))?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn t0() -> Instant {
        Instant::from_micros(1_000_000)
    }

    #[test]
    fn all_lists_every_timer_once() {
        let mut seen = [false; Timer::ALL.len()];
        for timer in Timer::ALL {
            // Exhaustive: a new variant fails to compile until it is placed in ALL.
            match timer {
                Timer::Retransmit
                | Timer::Reorder
                | Timer::Pto
                | Timer::DelayedAck
                | Timer::Persist
                | Timer::TimeWait
                | Timer::FinWait2 => {}
            }
            assert!(!seen[timer.index()], "{timer:?} listed twice");
            seen[timer.index()] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn default_has_nothing_set() {
        let mut table = TimerTable::default();
        for timer in Timer::ALL {
            assert!(!table.is_set(timer));
            assert_eq!(table.get(timer), None);
        }
        assert_eq!(table.next_timeout(), None);
        assert_eq!(table.pop_expired(Instant::from_micros(u64::MAX)), None);
    }

    #[test]
    fn set_get_stop() {
        let mut table = TimerTable::default();
        table.set(Timer::Retransmit, t0() + ms(200));
        assert!(table.is_set(Timer::Retransmit));
        assert_eq!(table.get(Timer::Retransmit), Some(t0() + ms(200)));
        table.stop(Timer::Retransmit);
        assert!(!table.is_set(Timer::Retransmit));
        assert_eq!(table.get(Timer::Retransmit), None);
        // Stopping again is harmless.
        table.stop(Timer::Retransmit);
        assert!(!table.is_set(Timer::Retransmit));
    }

    #[test]
    fn set_replaces_deadline() {
        let mut table = TimerTable::default();
        table.set(Timer::Persist, t0() + ms(500));
        table.set(Timer::Persist, t0() + ms(100));
        assert_eq!(table.get(Timer::Persist), Some(t0() + ms(100)));
    }

    #[test]
    fn timers_have_separate_slots() {
        let mut table = TimerTable::default();
        for (n, timer) in (1..).zip(Timer::ALL) {
            table.set(timer, t0() + ms(n));
        }
        table.stop(Timer::DelayedAck);
        for (n, timer) in (1..).zip(Timer::ALL) {
            let want = (timer != Timer::DelayedAck).then(|| t0() + ms(n));
            assert_eq!(table.get(timer), want, "{timer:?}");
        }
    }

    #[test]
    fn next_timeout_is_earliest() {
        let mut table = TimerTable::default();
        table.set(Timer::TimeWait, t0() + ms(7_200_000));
        table.set(Timer::Retransmit, t0() + ms(1_000));
        table.set(Timer::DelayedAck, t0() + ms(40));
        assert_eq!(table.next_timeout(), Some(t0() + ms(40)));
        table.stop(Timer::DelayedAck);
        assert_eq!(table.next_timeout(), Some(t0() + ms(1_000)));
    }

    #[test]
    fn pop_expired_before_deadline_does_nothing() {
        let mut table = TimerTable::default();
        table.set(Timer::Retransmit, t0() + ms(200));
        assert_eq!(table.pop_expired(t0() + ms(199)), None);
        assert_eq!(table.get(Timer::Retransmit), Some(t0() + ms(200)));
    }

    #[test]
    fn pop_expired_at_deadline_fires_once() {
        let mut table = TimerTable::default();
        table.set(Timer::Retransmit, t0() + ms(200));
        assert_eq!(table.pop_expired(t0() + ms(200)), Some(Timer::Retransmit));
        assert!(!table.is_set(Timer::Retransmit));
        assert_eq!(table.pop_expired(t0() + ms(200)), None);
    }

    #[test]
    fn pop_expired_follows_fixed_order_not_deadlines() {
        let mut table = TimerTable::default();
        // Deadlines in the reverse of ALL's order, all expired by t0 + 100 ms.
        for (n, timer) in (0..).zip(Timer::ALL.into_iter().rev()) {
            table.set(timer, t0() + ms(n));
        }
        let fired: Vec<Timer> = core::iter::from_fn(|| table.pop_expired(t0() + ms(100))).collect();
        assert_eq!(fired, Timer::ALL);
        assert_eq!(table.next_timeout(), None);
    }

    #[test]
    fn pop_expired_leaves_pending_timers() {
        let mut table = TimerTable::default();
        table.set(Timer::DelayedAck, t0() + ms(40));
        table.set(Timer::Retransmit, t0() + ms(300));
        assert_eq!(table.pop_expired(t0() + ms(50)), Some(Timer::DelayedAck));
        assert_eq!(table.pop_expired(t0() + ms(50)), None);
        assert_eq!(table.next_timeout(), Some(t0() + ms(300)));
    }

    #[test]
    fn rearmed_timer_fires_again_later() {
        let mut table = TimerTable::default();
        table.set(Timer::Retransmit, t0() + ms(200));
        let now = t0() + ms(200);
        assert_eq!(table.pop_expired(now), Some(Timer::Retransmit));
        table.set(Timer::Retransmit, now + ms(400));
        assert_eq!(table.pop_expired(now), None);
        assert_eq!(table.pop_expired(now + ms(400)), Some(Timer::Retransmit));
    }
}
