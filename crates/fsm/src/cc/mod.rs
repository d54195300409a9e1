//! Congestion control: how much a connection may have in flight (RFC 5681's cwnd and
//! ssthresh), behind one small trait with two implementations, NewReno (RFC 5681, RFC 6582)
//! and CUBIC (RFC 9438, the default).
//!
//! The connection detects loss and runs recovery (RFC 6675, RFC 6582, with PRR's sending rate
//! from RFC 6937); the controller only answers "how big is the window" and reacts to the events
//! the connection reports. All quantities are bytes.

use core::fmt;
use core::time::Duration;

use crate::time::Instant;

use self::cubic::Cubic;
use self::newreno::NewReno;

mod cubic;
mod newreno;
#[cfg(test)]
mod tests;

/// Which congestion controller new connections use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum CongestionAlgorithm {
    /// NewReno: AIMD with factor 1/2 (RFC 5681, with RFC 6582's recovery).
    NewReno,
    /// CUBIC (RFC 9438): a cubic window growth function of the time since the last congestion
    /// event, multiplicative decrease by 0.7, a Reno-friendly region and fast convergence.
    #[default]
    Cubic,
}

/// A congestion controller, told of the events of one connection.
pub(crate) trait CongestionControl: fmt::Debug + Send + Sync {
    /// The congestion window (cwnd).
    fn window(&self) -> u32;

    /// The slow start threshold (ssthresh); `u32::MAX` until the first congestion event.
    fn ssthresh(&self) -> u32;

    /// `acked` bytes of new data were acknowledged outside loss recovery. `srtt` is the
    /// smoothed RTT; `cwnd_limited` says whether the window, not the application or the peer's
    /// window, limited the flight (RFC 7661: the window grows only then).
    fn on_ack(&mut self, now: Instant, acked: u32, srtt: Duration, cwnd_limited: bool);

    /// Loss was detected by fast retransmit or SACK (a congestion event): ssthresh drops (to
    /// FlightSize/2 for NewReno, RFC 5681 eq. 4; to cwnd × 0.7 for CUBIC, RFC 9438 §4.6).
    /// The window then follows PRR through [`CongestionControl::set_window`].
    fn on_congestion_event(&mut self, now: Instant, flight: u32);

    /// The window PRR computed during recovery (RFC 6937: pipe + sndcnt).
    fn set_window(&mut self, cwnd: u32);

    /// Recovery ended with a full ACK: the window becomes ssthresh (RFC 6582 §3.2 step 3,
    /// RFC 6937 §3).
    fn on_recovery_end(&mut self, now: Instant);

    /// A retransmission timeout: the window becomes one segment (RFC 5681 §3.1, the loss
    /// window). When `reduce` is set (the first timeout of this episode, not already in
    /// recovery), ssthresh drops as on a congestion event.
    fn on_timeout(&mut self, now: Instant, flight: u32, reduce: bool);

    /// Nothing was sent for an RTO (RFC 5681 §4.1): the window is cut to the restart window,
    /// min(IW, cwnd).
    fn on_idle_restart(&mut self, now: Instant);

    /// The sender MSS is known (after the handshake) or changed: sets the initial window (RFC
    /// 6928: min(10 × MSS, max(2 × MSS, 14600))) if no data has been acknowledged yet, and the
    /// segment size growth counts in.
    fn set_mss(&mut self, mss: u32);
}

/// A controller of kind `algorithm` for a sender MSS of `mss` bytes, with the initial window.
pub(crate) fn new_controller(
    algorithm: CongestionAlgorithm,
    mss: u32,
) -> Box<dyn CongestionControl> {
    match algorithm {
        CongestionAlgorithm::NewReno => Box::new(NewReno::new(mss)),
        CongestionAlgorithm::Cubic => Box::new(Cubic::new(mss)),
    }
}

/// The initial window for `mss` (RFC 6928 §2), saturating for absurd MSS values.
pub(crate) fn initial_window(mss: u32) -> u32 {
    mss.saturating_mul(10)
        .min(mss.saturating_mul(2).max(14_600))
}

/// One ACK of slow start (RFC 5681 §3.1) with appropriate byte counting and L = 2 SMSS (RFC
/// 3465 §2.2), so that a receiver acknowledging every other segment still doubles the window
/// each RTT. Returns the new cwnd and the acknowledged bytes beyond ssthresh: the window stops
/// at ssthresh and those bytes count toward congestion avoidance.
fn slow_start(cwnd: u32, ssthresh: u32, mss: u32, acked: u32) -> (u32, u32) {
    let room = ssthresh.saturating_sub(cwnd);
    let increase = acked.min(mss.saturating_mul(2));
    if increase < room {
        (cwnd + increase, 0)
    } else {
        (cwnd.saturating_add(room), acked - room)
    }
}
