//! NewReno's window (RFC 5681 §3.1): slow start and congestion avoidance with byte counting
//! (RFC 3465), halving on loss. Recovery itself (RFC 6582, PRR) is the connection's.

use core::time::Duration;

use super::{CongestionControl, initial_window, slow_start};
use crate::time::Instant;

/// AIMD: one MSS more per window of acknowledged data, half the flight on loss.
#[derive(Clone, Debug)]
pub(crate) struct NewReno {
    /// Sender MSS (SMSS), at least 1.
    mss: u32,
    cwnd: u32,
    ssthresh: u32,
    /// RFC 3465 §2.1: bytes acknowledged in congestion avoidance not yet turned into growth.
    bytes_acked: u64,
    /// No data acknowledged and no loss, timeout or PRR window yet: [`CongestionControl::set_mss`]
    /// may still replace cwnd with the initial window of the new MSS.
    initial: bool,
}

impl NewReno {
    /// A controller for `mss`-byte segments, starting at the initial window.
    pub(crate) fn new(mss: u32) -> Self {
        let mss = mss.max(1);
        Self {
            mss,
            cwnd: initial_window(mss),
            ssthresh: u32::MAX,
            bytes_acked: 0,
            initial: true,
        }
    }

    /// RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 × SMSS).
    fn halve(&mut self, flight: u32) {
        self.ssthresh = (flight / 2).max(self.mss.saturating_mul(2));
    }
}

impl CongestionControl for NewReno {
    fn window(&self) -> u32 {
        self.cwnd
    }

    fn ssthresh(&self) -> u32 {
        self.ssthresh
    }

    fn on_ack(&mut self, _now: Instant, acked: u32, _srtt: Duration, cwnd_limited: bool) {
        self.initial = false;
        if !cwnd_limited {
            return;
        }
        let (cwnd, acked) = slow_start(self.cwnd, self.ssthresh, self.mss, acked);
        self.cwnd = cwnd;
        if acked == 0 {
            return;
        }
        // RFC 3465 §2.1: one SMSS more each time a whole cwnd of bytes has been acknowledged,
        // which is one SMSS per RTT whatever the receiver's ACK ratio.
        self.bytes_acked += u64::from(acked);
        let cwnd = u64::from(self.cwnd.max(1));
        let windows = self.bytes_acked / cwnd;
        self.bytes_acked -= windows * cwnd;
        let increase = u64::from(self.mss).saturating_mul(windows);
        self.cwnd = u32::try_from(u64::from(self.cwnd) + increase).unwrap_or(u32::MAX);
    }

    fn on_congestion_event(&mut self, _now: Instant, flight: u32) {
        self.initial = false;
        self.halve(flight);
    }

    fn set_window(&mut self, cwnd: u32) {
        self.initial = false;
        self.cwnd = cwnd;
    }

    fn on_recovery_end(&mut self, _now: Instant) {
        self.cwnd = self.ssthresh;
        self.bytes_acked = 0;
    }

    fn on_timeout(&mut self, _now: Instant, flight: u32, reduce: bool) {
        self.initial = false;
        if reduce {
            self.halve(flight);
        }
        // RFC 5681 §3.1: the loss window is one segment.
        self.cwnd = self.mss;
        self.bytes_acked = 0;
    }

    fn on_idle_restart(&mut self, _now: Instant) {
        self.cwnd = self.cwnd.min(initial_window(self.mss));
    }

    fn set_mss(&mut self, mss: u32) {
        self.mss = mss.max(1);
        if self.initial {
            self.cwnd = initial_window(self.mss);
        }
    }
}
