//! Buffer autotuning: the receive buffer grows with what the application reads per round trip
//! (dynamic right-sizing, as Linux's `tcp_rcv_space_adjust` does), the send buffer with the
//! congestion window; neither ever shrinks, and each stops at its configured maximum.
//!
//! A window of W bytes carries at most W per round trip, so a receive buffer smaller than the
//! path's bandwidth-delay product caps the transfer. The receiver cannot see the sender's
//! congestion window, but it sees how fast the application drains the buffer: when the
//! application reads R bytes per RTT and the buffer is smaller than 2R, the buffer grows to 2R,
//! so a sender in slow start, which doubles its window every RTT, is not held back by ours. A
//! reader that stops reading makes R zero: the buffer, and the memory it takes, stays put.
//!
//! The receiver's RTT is measured the way Linux does without timestamps (`rcv_rtt_est`): note
//! the right edge we have advertised (RCV.NXT + RCV.WND) and the time; the sender cannot send
//! past that edge before an ACK we send later reaches it, so when RCV.NXT passes the edge at
//! least one round trip has gone by. Each sample is an upper bound of the RTT (more when the
//! sender is not window-limited), so the estimate is the smallest sample. This needs nothing
//! from the peer, unlike an estimate from timestamps echoed back (RFC 7323 §4), which only
//! works when both SYNs negotiated them; and it is exact in the case that matters, a sender
//! limited by our window.

use core::time::Duration;

use super::Connection;
use crate::config::Config;
use crate::event::Event;
use crate::time::Instant;

/// The receive buffer grows to this many times the bytes read per RTT.
const RCV_GROWTH: usize = 2;
/// The send buffer grows to this many times the congestion window (Linux keeps about twice
/// cwnd: one window in flight, one queued behind it).
const SND_GROWTH: usize = 2;

/// Receive-buffer autotuning state: the receiver's RTT estimate and the application's reading.
#[derive(Clone, Debug)]
pub(super) struct RcvAutotune {
    /// `recv_buffer_max`, or `None` when autotuning is off (the maximum is not above the
    /// initial size).
    max: Option<usize>,
    /// The receiver's RTT estimate: the smallest sample so far.
    rtt: Option<Duration>,
    /// The sample under way: the stream offset RCV.NXT must pass, and when it was noted.
    mark: Option<(u64, Instant)>,
    /// Start of the current measuring period: the read offset and the time.
    period: Option<(u64, Instant)>,
}

impl RcvAutotune {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            max: (config.recv_buffer_max > config.recv_buffer).then_some(config.recv_buffer_max),
            rtt: None,
            mark: None,
            period: None,
        }
    }

    /// The receiver's RTT estimate, once measured.
    #[cfg(test)]
    pub(super) fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// In-order data arrived at `now`: RCV.NXT is at stream offset `rcv_nxt`, the right edge
    /// we advertised at `rcv_edge`, and the application has read everything before
    /// `read_offset`. Returns the capacity the buffer should grow to, at most once per RTT.
    pub(super) fn on_data(
        &mut self,
        now: Instant,
        (rcv_nxt, rcv_edge): (u64, u64),
        read_offset: u64,
        capacity: usize,
    ) -> Option<usize> {
        let max = self.max?;
        self.measure_rtt(now, rcv_nxt, rcv_edge);
        let rtt = self.rtt?;
        let (start, since) = *self.period.get_or_insert((read_offset, now));
        let elapsed = now - since;
        if elapsed < rtt {
            return None;
        }
        self.period = Some((read_offset, now));
        // Bytes read per RTT: what was read in the period, scaled to one RTT, so a reader that
        // drains a full buffer after a long pause does not look fast.
        let read = u128::from(read_offset - start);
        let per_rtt = read * rtt.as_micros() / elapsed.as_micros();
        let target = usize::try_from(per_rtt)
            .unwrap_or(usize::MAX)
            .saturating_mul(RCV_GROWTH)
            .min(max);
        (target > capacity).then_some(target)
    }

    /// Takes a sample when RCV.NXT passed the noted edge, and notes the edge again.
    fn measure_rtt(&mut self, now: Instant, rcv_nxt: u64, rcv_edge: u64) {
        if let Some((edge, at)) = self.mark {
            if rcv_nxt <= edge {
                return;
            }
            let sample = now - at;
            // A peer sending past our window could make a sample zero: not an RTT.
            if sample > Duration::ZERO {
                self.rtt = Some(self.rtt.map_or(sample, |rtt| rtt.min(sample)));
            }
        }
        self.mark = Some((rcv_edge, now));
    }
}

impl Connection {
    /// RCV.NXT advanced: measure the receiver's RTT, and grow the receive buffer if the
    /// application reads fast enough to need it. The window offered grows with it on the next
    /// segment we send; its right edge only moves forward (RFC 9293 §3.8.6.2.2).
    pub(super) fn on_rcv_nxt_advanced(&mut self, now: Instant) {
        let rcv_nxt = self.recv_buf.contiguous_end();
        let rcv_edge = rcv_nxt + u64::from(self.rcv.wnd_remaining(self.rcv_adv));
        let grow = self.rcv_autotune.on_data(
            now,
            (rcv_nxt, rcv_edge),
            self.recv_buf.read_offset(),
            self.recv_buf.capacity(),
        );
        if let Some(capacity) = grow {
            self.recv_buf.grow(capacity);
        }
    }

    /// The congestion window may have grown: keep the send buffer at least twice it, up to
    /// `send_buffer_max`, so the application can queue the next window while one is in
    /// flight. What is in flight never exceeds the peer's window either, so twice the largest
    /// it offered (MAX.SND.WND) bounds the growth too. The buffer at least doubles each time it
    /// grows: a window growing by a few bytes per ACK must not copy the ring on every ACK.
    /// Tells the writer when that made room.
    pub(super) fn on_cwnd_grown(&mut self) {
        let window = self.cc.window().min(self.snd.max_wnd);
        let target = usize::try_from(window)
            .unwrap_or(usize::MAX)
            .saturating_mul(SND_GROWTH)
            .min(self.config.send_buffer_max);
        let capacity = self.send_buf.capacity();
        if target <= capacity {
            return;
        }
        let doubled = capacity.saturating_mul(2).min(self.config.send_buffer_max);
        self.send_buf.grow(target.max(doubled));
        if !self.fin_queued && self.state.accepts_writes() {
            self.push_event(Event::Writable);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KB: usize = 1024;

    fn autotune(initial: usize, max: usize) -> RcvAutotune {
        RcvAutotune::new(&Config {
            recv_buffer: initial,
            recv_buffer_max: max,
            ..Config::default()
        })
    }

    fn at(ms: u64) -> Instant {
        Instant::from_micros(1_000_000 + ms * 1000)
    }

    #[test]
    fn rtt_is_time_for_rcv_nxt_to_pass_the_advertised_edge() {
        let mut tune = autotune(64 * KB, 4096 * KB);
        assert_eq!(tune.on_data(at(0), (1000, 65_000), 0, 64 * KB), None);
        // Still within the window advertised at t=0: no sample yet.
        assert_eq!(tune.on_data(at(60), (65_000, 129_000), 0, 64 * KB), None);
        assert_eq!(tune.rtt(), None);
        tune.on_data(at(100), (65_001, 129_000), 0, 64 * KB);
        assert_eq!(tune.rtt(), Some(Duration::from_millis(100)));
        // A longer sample (an application- or cwnd-limited sender) does not raise it.
        tune.on_data(at(400), (129_001, 190_000), 0, 64 * KB);
        assert_eq!(tune.rtt(), Some(Duration::from_millis(100)));
        tune.on_data(at(480), (190_001, 250_000), 0, 64 * KB);
        assert_eq!(tune.rtt(), Some(Duration::from_millis(80)));
    }

    #[test]
    fn fast_reader_grows_the_buffer_to_twice_its_reading_per_rtt() {
        let mut tune = autotune(64 * KB, 4096 * KB);
        tune.on_data(at(0), (0, 65_536), 0, 64 * KB);
        // The first sample starts the measuring period.
        assert_eq!(
            tune.on_data(at(100), (65_537, 131_072), 60_000, 64 * KB),
            None
        );
        // Less than an RTT later: nothing yet.
        assert_eq!(
            tune.on_data(at(150), (70_000, 131_072), 65_000, 64 * KB),
            None
        );
        // One RTT: 65 536 bytes read, twice that is above the 64 KiB capacity.
        let grown = tune.on_data(at(200), (131_073, 196_608), 60_000 + 65_536, 64 * KB);
        assert_eq!(grown, Some(2 * 65_536));
    }

    #[test]
    fn slow_reader_keeps_the_buffer() {
        let mut tune = autotune(64 * KB, 4096 * KB);
        tune.on_data(at(0), (0, 65_536), 0, 64 * KB);
        tune.on_data(at(100), (65_537, 131_072), 0, 64 * KB);
        // 20 000 bytes per RTT: twice that fits.
        assert_eq!(
            tune.on_data(at(200), (80_000, 131_072), 20_000, 64 * KB),
            None
        );
        // Nothing read at all.
        assert_eq!(
            tune.on_data(at(300), (90_000, 131_072), 20_000, 64 * KB),
            None
        );
    }

    #[test]
    fn draining_a_full_buffer_after_a_pause_is_not_a_fast_reader() {
        let mut tune = autotune(64 * KB, 4096 * KB);
        tune.on_data(at(0), (0, 65_536), 0, 64 * KB);
        tune.on_data(at(100), (65_537, 131_072), 0, 64 * KB);
        // 64 KiB read over 10 s: 655 bytes per RTT.
        assert_eq!(
            tune.on_data(at(10_100), (70_000, 135_000), 65_536, 64 * KB),
            None
        );
    }

    #[test]
    fn growth_stops_at_recv_buffer_max() {
        let mut tune = autotune(64 * KB, 100 * KB);
        tune.on_data(at(0), (0, 65_536), 0, 64 * KB);
        tune.on_data(at(100), (65_537, 131_072), 0, 64 * KB);
        let grown = tune.on_data(at(200), (131_073, 196_608), 65_536, 64 * KB);
        assert_eq!(grown, Some(100 * KB));
        let again = tune.on_data(at(300), (200_000, 300_000), 200_000, 100 * KB);
        assert_eq!(again, None);
    }

    #[test]
    fn off_when_the_maximum_is_not_above_the_initial_size() {
        let mut tune = autotune(64 * KB, 64 * KB);
        tune.on_data(at(0), (0, 65_536), 0, 64 * KB);
        tune.on_data(at(100), (65_537, 131_072), 0, 64 * KB);
        assert_eq!(
            tune.on_data(at(200), (131_073, 196_608), 65_536, 64 * KB),
            None
        );
        assert_eq!(tune.rtt(), None);
    }
}
