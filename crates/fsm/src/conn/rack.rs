//! RACK-TLP (RFC 8985): loss detection by time (RACK, §6) and tail loss probes (TLP, §7), on
//! connections whose peer sends SACK (§4 requires it).
//!
//! RACK keeps the send time of every segment in flight and, on each ACK, the send time of the
//! most recently sent segment the peer has delivered (RACK.xmit_ts). A segment sent before it
//! and still undelivered RACK.rtt + RACK.reo_wnd after its own transmission is lost (§6.3); one
//! not yet that old arms the reordering timer.
//!
//! **With RFC 6675 recovery** (`recovery.rs`): RACK's verdicts raise `Recovery`'s lost
//! boundary, so every unSACKed byte below the end of the highest segment RACK declared lost is
//! lost for IsLost, SetPipe and NextSeg rule 1, beside RFC 6675's own DupThresh rule (a byte is
//! lost when either says so; RACK sees what DupThresh misses, as a short flight's tail, and
//! DupThresh keeps working while RACK waits out its window). A loss RACK detects outside
//! recovery enters it, fast retransmit and congestion response included (§7.1: RACK replaces
//! DupThresh as the trigger).
//!
//! **TLP**: after new data goes out, a probe timeout (PTO) of about two SRTT is armed, never
//! later than the RTO. When it fires, one segment goes out (new data if any, else the last
//! segment sent again), so the ACK it draws lets RACK find the tail's losses instead of the RTO.
//!
//! **Departures from the letter**: RACK.min_RTT is the least sample since the connection began
//! rather than a windowed minimum; a retransmission's delivery is judged ambiguous by RACK.min_RTT
//! alone (§6.2 step 2 also allows the timestamp echo); a retransmission RACK declares lost is
//! not sent again within the same recovery (RFC 6675's HighRxt stands; the RTO repairs it); the
//! RTO keeps its go-back-N instead of §6.3's marking; RACK.reo_wnd_persist counts fast
//! recoveries only.
//!
//! **Memory**: one record per transmission still in flight, dropped once cumulatively acked; a
//! retransmission replaces the records it covers. Records are at most [`MAX_RECORDS`]: beyond,
//! a new transmission is merged into the newest record (its bytes then count as sent later,
//! which only delays RACK's verdict on them).

use core::time::Duration;
use std::collections::VecDeque;

use wire::{SeqNum, TcpRepr};

use super::Connection;
use super::output::{Plan, PlanKind};
use super::recovery::{self, DUP_THRESH};
use super::timers::Timer;
use crate::time::Instant;

/// Records kept at most (2900 full segments fill the largest send buffer, 4 MiB).
const MAX_RECORDS: usize = 8192;
/// WCDelAckT (§7.2): the worst-case delayed-ACK timer of the peer.
const WORST_CASE_DELAYED_ACK: Duration = Duration::from_millis(200);
/// The PTO before any RTT sample (§7.2).
const PTO_WITHOUT_SRTT: Duration = Duration::from_secs(1);
/// The least PTO, as Linux's: on a sub-millisecond path 2·SRTT would fire before the peer's
/// ACK of a burst could come back, sending probes no loss called for (measured: 380 probes in a
/// 16 MiB transfer to the kernel across a namespace, against 12 RTOs).
const PTO_MIN: Duration = Duration::from_millis(10);
/// Recoveries without D-SACK after which RACK.reo_wnd_mult returns to 1 (§6.2 step 4).
const REO_WND_PERSIST: u32 = 16;

/// One transmission of a segment (§6.1): its marks, when it went out, and what became of it.
#[derive(Clone, Copy, Debug)]
struct Segment {
    start: u64,
    end: u64,
    xmit_ts: Instant,
    retransmitted: bool,
    sacked: bool,
    lost: bool,
}

/// What a pass of RACK's loss detection (§6.3) found.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Detection {
    /// One past the highest mark of a segment newly declared lost.
    pub(super) lost_to: Option<u64>,
    /// Segments newly declared lost.
    pub(super) lost: u64,
    /// When the oldest segment not yet lost would be: arm the reordering timer for it.
    pub(super) timeout: Option<Duration>,
}

/// RACK's and TLP's state for one connection.
#[derive(Debug)]
pub(super) struct Rack {
    /// RACK-TLP is configured and the peer sends SACK.
    enabled: bool,
    /// Transmissions in flight, in the order they were sent.
    segments: VecDeque<Segment>,
    /// RACK.segs_sacked: records SACKed and not yet cumulatively acked.
    segs_sacked: usize,
    /// Records of retransmissions (they break the sequence order of the queue).
    retransmitted: usize,
    /// RACK.xmit_ts and RACK.end_seq: the most recently sent segment delivered.
    xmit_ts: Option<Instant>,
    end_seq: u64,
    /// RACK.rtt: the RTT of that segment's delivery.
    rtt: Duration,
    /// RACK.min_RTT: the least RTT of an unambiguous delivery.
    min_rtt: Option<Duration>,
    /// RACK.fack: the highest end of a delivered segment; RACK.reord: one was delivered below it.
    fack: u64,
    reord: bool,
    /// RACK.dsack_round, RACK.reo_wnd_mult, RACK.reo_wnd_persist (§6.2 step 4).
    dsack_round: Option<u64>,
    reo_wnd_mult: u32,
    reo_wnd_persist: u32,
    /// TLP.end_seq and TLP.is_retrans (§7.1): SND.NXT when the outstanding probe went out, and
    /// whether it was a retransmission.
    tlp_end_seq: Option<u64>,
    tlp_is_retrans: bool,
    /// The PTO fired: the next segment is the probe.
    probe_now: bool,
}

impl Rack {
    pub(super) fn new() -> Self {
        Rack {
            enabled: false,
            segments: VecDeque::new(),
            segs_sacked: 0,
            retransmitted: 0,
            xmit_ts: None,
            end_seq: 0,
            rtt: Duration::ZERO,
            min_rtt: None,
            fack: 0,
            reord: false,
            dsack_round: None,
            reo_wnd_mult: 1,
            reo_wnd_persist: 0,
            tlp_end_seq: None,
            tlp_is_retrans: false,
            probe_now: false,
        }
    }

    /// RACK-TLP runs when configured and both SYNs carried SACK-permitted.
    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// §6.1: `[start, end)` went out at `now`. A retransmission replaces the records it covers.
    fn on_sent(&mut self, start: u64, end: u64, now: Instant, retransmitted: bool) {
        if retransmitted {
            self.forget(start, end);
        }
        let full = self.segments.len() >= MAX_RECORDS;
        if let Some(last) = self.segments.back_mut()
            && full
            && last.end == start
            && !last.retransmitted
            && !retransmitted
        {
            last.end = end;
            last.xmit_ts = now;
            return;
        }
        self.retransmitted += usize::from(retransmitted);
        self.segments.push_back(Segment {
            start,
            end,
            xmit_ts: now,
            retransmitted,
            sacked: false,
            lost: false,
        });
    }

    /// Drops `[start, end)` from the records, splitting one that straddles it.
    fn forget(&mut self, start: u64, end: u64) {
        let mut i = 0;
        while let Some(seg) = self.segments.get(i).copied() {
            i += 1;
            if seg.end <= start || end <= seg.start {
                continue;
            }
            let left = (seg.start < start).then_some(Segment { end: start, ..seg });
            let right = (end < seg.end).then_some(Segment { start: end, ..seg });
            match (left, right) {
                (Some(l), Some(r)) => {
                    self.segments[i - 1] = l;
                    self.segments.insert(i, r);
                    i += 1;
                    // Two records now carry the flags the counters count once each.
                    self.segs_sacked += usize::from(seg.sacked);
                    self.retransmitted += usize::from(seg.retransmitted);
                }
                (Some(piece), None) | (None, Some(piece)) => self.segments[i - 1] = piece,
                (None, None) => {
                    i -= 1;
                    self.segments.remove(i);
                    self.segs_sacked -= usize::from(seg.sacked);
                    self.retransmitted -= usize::from(seg.retransmitted);
                }
            }
        }
    }

    /// The peer SACKed `[start, end)`: the records inside it are delivered.
    fn on_sack_block(&mut self, now: Instant, start: u64, end: u64) {
        for i in 0..self.segments.len() {
            let seg = self.segments[i];
            if !seg.sacked && start <= seg.start && seg.end <= end {
                self.segments[i].sacked = true;
                self.segs_sacked += 1;
                self.on_delivered(now, &seg);
            }
        }
    }

    /// The cumulative ACK reached `una`: the records below it are delivered and dropped.
    fn on_cumulative_ack(&mut self, now: Instant, una: u64) {
        while let Some(seg) = self.segments.front().copied()
            && seg.end <= una
        {
            self.segments.pop_front();
            self.on_acked(now, &seg);
        }
        if self.retransmitted > 0 {
            // Out-of-order records (retransmissions, and what was sent after them) may be
            // acked too.
            let mut i = 0;
            while let Some(seg) = self.segments.get(i).copied() {
                if seg.end <= una {
                    self.segments.remove(i);
                    self.on_acked(now, &seg);
                } else {
                    i += 1;
                }
            }
        }
    }

    fn on_acked(&mut self, now: Instant, seg: &Segment) {
        self.retransmitted -= usize::from(seg.retransmitted);
        if seg.sacked {
            self.segs_sacked -= 1;
        } else {
            self.on_delivered(now, seg);
        }
    }

    /// §6.2 steps 1-3: a segment newly delivered updates RACK.min_RTT, RACK.rtt, RACK.xmit_ts,
    /// RACK.end_seq, RACK.fack and RACK.reord.
    fn on_delivered(&mut self, now: Instant, seg: &Segment) {
        let rtt = now.saturating_since(seg.xmit_ts);
        if seg.retransmitted {
            // Step 2: the ACK may answer the first transmission; an RTT below the least one
            // seen says it did.
            if self.min_rtt.is_none_or(|min| rtt < min) {
                return;
            }
        } else {
            self.min_rtt = Some(self.min_rtt.map_or(rtt, |min| min.min(rtt)));
            if seg.end < self.fack {
                self.reord = true;
            }
            self.fack = self.fack.max(seg.end);
        }
        if self.sent_after(seg.xmit_ts, seg.end) {
            self.rtt = rtt;
            self.xmit_ts = Some(seg.xmit_ts);
            self.end_seq = seg.end;
        }
    }

    /// RACK_sent_after (§6.2): a segment sent at `xmit_ts` ending at `end` went out after
    /// RACK's segment (ties broken by sequence).
    fn sent_after(&self, xmit_ts: Instant, end: u64) -> bool {
        self.xmit_ts
            .is_none_or(|ts| xmit_ts > ts || (xmit_ts == ts && end > self.end_seq))
    }

    /// §6.2 step 4, D-SACK half: a D-SACK widens the window once per round trip.
    fn on_dsack(&mut self, una: u64, nxt: u64, dsack: bool) {
        if self.dsack_round.is_some_and(|round| una >= round) {
            self.dsack_round = None;
        }
        if dsack && self.dsack_round.is_none() {
            self.dsack_round = Some(nxt);
            self.reo_wnd_mult += 1;
            self.reo_wnd_persist = REO_WND_PERSIST;
        }
    }

    /// §6.2 step 4: fast recovery ended; after 16 without D-SACK the window shrinks back.
    pub(super) fn on_recovery_exit(&mut self) {
        self.reo_wnd_persist = self.reo_wnd_persist.saturating_sub(1);
        if self.reo_wnd_persist == 0 {
            self.reo_wnd_mult = 1;
        }
    }

    /// RACK.reo_wnd (§6.2 step 4): none in recovery or once DupThresh segments are SACKed,
    /// unless reordering was seen; else RACK.min_RTT / 4 per D-SACK round, at most SRTT.
    fn reo_wnd(&self, recovering: bool, srtt: Option<Duration>) -> Duration {
        if !self.reord && (recovering || self.segs_sacked >= DUP_THRESH as usize) {
            return Duration::ZERO;
        }
        let wnd = self.min_rtt.unwrap_or_default() * self.reo_wnd_mult / 4;
        srtt.map_or(wnd, |srtt| wnd.min(srtt))
    }

    /// RACK_detect_loss (§6.3): every segment sent before RACK's and undelivered
    /// RACK.rtt + `reo_wnd` after it went out is lost.
    fn detect_loss(&mut self, now: Instant, reo_wnd: Duration) -> Detection {
        let mut found = Detection::default();
        let Some(rack_ts) = self.xmit_ts else {
            return found;
        };
        let (rtt, end_seq) = (self.rtt, self.end_seq);
        for seg in &mut self.segments {
            if seg.xmit_ts > rack_ts {
                break; // In send order: the rest went out after RACK's segment.
            }
            if seg.sacked || seg.lost || (seg.xmit_ts == rack_ts && seg.end >= end_seq) {
                continue;
            }
            let deadline = seg.xmit_ts + rtt + reo_wnd;
            if deadline <= now {
                seg.lost = true;
                found.lost += 1;
                found.lost_to = found.lost_to.max(Some(seg.end));
            } else {
                found.timeout = found.timeout.max(Some(deadline - now));
            }
        }
        found
    }

    /// Recovery began: its congestion response covers the loss a probe may have repaired.
    pub(super) fn on_recovery_enter(&mut self) {
        self.tlp_end_seq = None;
    }

    /// A retransmission timeout: the SACK information is dropped (as the scoreboard's), and the
    /// TLP episode ends.
    fn on_timeout(&mut self) {
        for seg in &mut self.segments {
            seg.sacked = false;
        }
        self.segs_sacked = 0;
        self.tlp_end_seq = None;
        self.probe_now = false;
    }

    /// §7.2: whether a PTO may be armed: no probe outstanding and nothing SACKed (RACK and
    /// recovery deal with those).
    fn may_probe(&self) -> bool {
        self.enabled && self.tlp_end_seq.is_none() && self.segs_sacked == 0
    }

    /// TLP_process_ack (§7.4): whether this ACK shows that the outstanding retransmitted probe
    /// repaired a loss. `dsack_end` is the end mark of the ACK's D-SACK block, if any.
    fn on_tlp_ack(&mut self, una: u64, dsack_end: Option<u64>) -> bool {
        let Some(end) = self.tlp_end_seq.filter(|&end| una >= end) else {
            return false;
        };
        if !self.tlp_is_retrans || dsack_end == Some(end) {
            // New data delivered, or the retransmission was a duplicate: no loss.
            self.tlp_end_seq = None;
            false
        } else if una > end {
            // Data sent after the probe is acked, and no D-SACK came for it.
            self.tlp_end_seq = None;
            true
        } else {
            false
        }
    }
}

/// §7.2: the probe timeout: two SRTT (at least `PTO_MIN`), plus the peer's delayed-ACK
/// allowance when less than two full segments are in flight; one second before any RTT
/// sample.
fn pto(srtt: Option<Duration>, flight: u64, mss: u64) -> Duration {
    match srtt {
        // §7.2 adds WCDelAckT for one segment in flight; any flight short of two full-sized
        // segments may wait for the peer's delayed ACK (RFC 5681 §4.2), as a full segment and
        // a small one do.
        Some(srtt) if flight < 2 * mss => 2 * srtt + WORST_CASE_DELAYED_ACK,
        Some(srtt) => (2 * srtt).max(PTO_MIN),
        None => PTO_WITHOUT_SRTT,
    }
}

impl Connection {
    /// A segment occupying `[start, end)` went out (§6.1); new data (re)starts the PTO.
    pub(super) fn on_rack_sent(&mut self, now: Instant, (start, end): (u64, u64), rexmit: bool) {
        if !self.rack.enabled {
            return;
        }
        self.rack.on_sent(start, end, now, rexmit);
        if self.rack.probe_now {
            // §7.3: the probe is out; the RTO, not another PTO, follows it.
            self.rack.probe_now = false;
            self.rack.tlp_end_seq = Some(self.snd_mark(self.snd.max));
            self.rack.tlp_is_retrans = rexmit;
            self.stats.tlp_probes += 1;
            self.timers.stop(Timer::Pto);
        } else if !rexmit {
            self.arm_pto(now);
        }
    }

    /// Takes the SACK block `[start, end)` (marks) into RACK's records.
    pub(super) fn on_rack_sack_block(&mut self, now: Instant, (start, end): (u64, u64)) {
        if self.rack.enabled {
            self.rack.on_sack_block(now, start, end);
        }
    }

    /// After step five took an ACK (SND.UNA already moved): RACK's update and loss detection
    /// (§6.2-6.3) and TLP's verdict on an outstanding probe (§7.4), before the congestion
    /// response, which enters recovery on RACK's losses.
    pub(super) fn on_rack_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if !self.rack.enabled {
            return;
        }
        let (una, nxt) = (self.snd_mark(self.snd.una), self.snd_mark(self.snd.nxt));
        self.rack.on_cumulative_ack(now, una);
        let blocks = seg.options.sack.as_slice();
        let dsack = recovery::is_dsack(blocks, seg.ack);
        self.rack.on_dsack(una, nxt, dsack);
        let dsack_end = blocks
            .first()
            .filter(|_| dsack)
            .map(|b| self.mark_below(b.right));
        if self.rack.on_tlp_ack(una, dsack_end) && !self.recovery.recovering(una) {
            // §7.4: the probe repaired a loss: the congestion response of a fast recovery.
            let flight = u32::try_from(self.snd_mark(self.snd.max) - una).unwrap_or(u32::MAX);
            self.cc.on_congestion_event(now, flight);
            self.cc.on_recovery_end(now);
        }
        self.rack_detect_loss(now);
    }

    /// The mark of `seq`, which may lie below SND.UNA (a D-SACK block's edge).
    fn mark_below(&self, seq: SeqNum) -> u64 {
        let una = self.snd_mark(self.snd.una);
        if seq.le(self.snd.una) {
            una.saturating_sub(u64::from(self.snd.una - seq))
        } else {
            una + u64::from(seq - self.snd.una)
        }
    }

    /// RACK_detect_loss_and_arm_timer (§6.3): RACK's losses raise the recovery's lost boundary;
    /// segments not yet old enough arm the reordering timer.
    fn rack_detect_loss(&mut self, now: Instant) {
        let una = self.snd_mark(self.snd.una);
        let reo_wnd = self
            .rack
            .reo_wnd(self.recovery.recovering(una), self.rtt.srtt());
        let found = self.rack.detect_loss(now, reo_wnd);
        if let Some(lost_to) = found.lost_to {
            self.stats.rack_losses += found.lost;
            self.recovery.on_rack_lost(lost_to);
        }
        match found.timeout {
            Some(after) => self.timers.set(Timer::Reorder, now + after),
            None => self.timers.stop(Timer::Reorder),
        }
    }

    /// The reordering timer fired (§6.3): detect again, and enter recovery on a loss.
    pub(super) fn on_reorder_timeout(&mut self, now: Instant) {
        self.rack_detect_loss(now);
        let (una, max) = (self.snd_mark(self.snd.una), self.snd_mark(self.snd.max));
        if self.recovery.rack_lost_above(una) && self.recovery.can_enter(una) {
            self.enter_recovery(now, una, max);
            self.set_prr_window(0);
        }
    }

    /// After an ACK: an ACK of new data restarts the PTO (§7.2); any ACK stops it once RACK,
    /// recovery or the RTO have the connection in hand.
    pub(super) fn on_ack_pto(&mut self, now: Instant, acked: bool) {
        let una = self.snd_mark(self.snd.una);
        if acked {
            self.arm_pto(now);
        } else if !self.rack.may_probe() || self.recovery.recovering(una) {
            self.timers.stop(Timer::Pto);
        }
    }

    /// (Re)arms the PTO after new data went out or an ACK (§7.2), or stops it when RACK,
    /// recovery or the RTO have the connection in hand.
    fn arm_pto(&mut self, now: Instant) {
        let (una, max) = (self.snd_mark(self.snd.una), self.snd_mark(self.snd.max));
        if una == max || !self.rack.may_probe() || self.recovery.recovering(una) {
            self.timers.stop(Timer::Pto);
            return;
        }
        let rto_at = match self.timers.get(Timer::Retransmit) {
            Some(at) => at,
            None => {
                self.arm_retransmit(now);
                now + self.rtt.rto()
            }
        };
        let pto = pto(self.rtt.srtt(), max - una, self.snd_mss as u64);
        self.timers.set(Timer::Pto, (now + pto).min(rto_at));
    }

    /// The PTO fired (§7.3): the next segment is a probe, and the RTO restarts from now.
    pub(super) fn on_pto(&mut self, now: Instant) {
        if self.snd.una == self.snd.max || !self.rack.may_probe() {
            return;
        }
        self.rack.probe_now = true;
        self.arm_retransmit(now);
    }

    /// Whether the next segment is a probe: it may go past the congestion window (§7.3).
    pub(super) fn tlp_probe_now(&self) -> bool {
        self.rack.probe_now
    }

    /// §7.3: with no new data to send, the probe retransmits the last segment sent: up to
    /// SND.NXT (SND.MAX may hold a zero-window probe's byte).
    pub(super) fn plan_tlp_retransmit(&self) -> Option<Plan> {
        if !self.rack.probe_now {
            return None;
        }
        let (una, end) = (self.snd_mark(self.snd.una), self.snd_mark(self.snd.nxt));
        let start = end.saturating_sub(self.snd_mss as u64).max(una);
        self.plan_range((start, end), PlanKind::Probe)
    }

    /// A retransmission timeout: RACK forgets the SACKs, TLP its probe.
    pub(super) fn on_rack_timeout(&mut self) {
        self.rack.on_timeout();
        self.timers.stop(Timer::Pto);
        self.timers.stop(Timer::Reorder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retransmitting_the_middle_of_a_record_keeps_the_counts_exact() {
        let t0 = Instant::from_micros(1_000_000);
        let mut rack = Rack::new();
        rack.on_sent(1, 3001, t0, true);
        // Its middle again: the record splits in two around the new one.
        rack.on_sent(1001, 2001, t0 + Duration::from_millis(10), true);
        assert_eq!(rack.segments.len(), 3);
        assert_eq!(rack.retransmitted, 3);
        // Everything acknowledged: every record goes and the count returns to zero.
        rack.on_cumulative_ack(t0 + Duration::from_millis(50), 3001);
        assert!(rack.segments.is_empty());
        assert_eq!(rack.retransmitted, 0);
    }

    #[test]
    fn pto_is_two_srtt_with_a_floor_and_the_delayed_ack_allowance() {
        let ms = Duration::from_millis;
        assert_eq!(pto(Some(ms(100)), 14_600, 1460), ms(200));
        // A sub-millisecond path: the floor, not 2·SRTT.
        assert_eq!(pto(Some(Duration::from_micros(100)), 14_600, 1460), ms(10));
        // One segment in flight, or a full one and a small one: the peer may delay its ACK
        // (§7.2 WCDelAckT).
        assert_eq!(pto(Some(ms(100)), 1460, 1460), ms(400));
        assert_eq!(pto(Some(ms(100)), 1460 + 656, 1460), ms(400));
        assert_eq!(pto(Some(ms(100)), 2 * 1460, 1460), ms(200));
        assert_eq!(pto(None, 14_600, 1460), Duration::from_secs(1));
    }
}
