//! Loss detection and recovery for the sending side: duplicate ACKs and the SACK scoreboard
//! decide when a segment is lost (RFC 5681 §3.2, RFC 6675 §5), which segment goes next
//! (RFC 6675 NextSeg, RFC 6582 for a peer without SACK), and how fast (PRR, RFC 6937).
//!
//! Positions are "marks": sequence numbers counted from the SYN as `u64` (the connection's
//! `snd_mark`), so nothing here wraps. Every window is in bytes.
//!
//! Without SACK, the peer's duplicate ACKs stand for segments that left the network, as in
//! RFC 6937 §3 ("DeliveredData is estimated as 1 SMSS on duplicate acknowledgements"): they
//! count as SACKed bytes without a position, and the only segment known lost is the first
//! unacknowledged one (RFC 6582 §3.2: retransmitted on entry and after each partial ACK).

use wire::{SackBlock, SeqNum};

use crate::scoreboard::Scoreboard;

/// DupThresh (RFC 5681 §3.2, RFC 6675 §2).
pub(super) const DUP_THRESH: u32 = 3;

/// What an arriving ACK did to recovery.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct AckOutcome {
    /// Loss detected: fast retransmit and enter recovery (RFC 6675 §5 step 4).
    pub(super) enter: bool,
    /// The ACK covered RecoveryPoint: recovery is over (RFC 6675 §5 (A)).
    pub(super) exit: bool,
    /// DeliveredData of RFC 6937: bytes newly acknowledged or SACKed.
    pub(super) delivered: u64,
}

/// One ACK as the recovery logic sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ack {
    /// HighACK before and after this ACK.
    pub(super) una_before: u64,
    pub(super) una: u64,
    /// HighData + 1: one past the highest mark sent.
    pub(super) max: u64,
    /// Bytes this ACK SACKed that were not SACKed before.
    pub(super) newly_sacked: u64,
    /// SACKed bytes the cumulative ACK swallowed.
    pub(super) sacked_acked: u64,
    /// A duplicate ACK by RFC 5681 §2 (no SACK) or RFC 6675 §2 (SACK).
    pub(super) duplicate: bool,
    pub(super) mss: u64,
}

/// The recovery state of a connection's sender.
#[derive(Debug)]
pub(super) struct Recovery {
    /// The peer reports SACK blocks.
    sack: bool,
    scoreboard: Scoreboard,
    /// DupAcks: duplicate ACKs since the last cumulative ACK.
    dupacks: u32,
    /// RecoveryPoint + 1 while in recovery: recovery ends when HighACK reaches it.
    point: Option<u64>,
    /// No new recovery starts until HighACK reaches this (RFC 6582 §3.2 step 2 `recover`;
    /// RFC 6675 §5.1 after a timeout).
    recover: u64,
    /// HighRxt + 1: one past the highest mark retransmitted in this recovery.
    high_rxt: u64,
    /// RescueRxt + 1 (RFC 6675 §4 rule 4): one rescue retransmission per recovery.
    rescue_rxt: Option<u64>,
    /// The first unacknowledged segment is lost (entry; and each partial ACK without SACK).
    head_lost: bool,
    /// One past the highest segment RACK declared lost (RFC 8985 §6.3): every unSACKed byte
    /// below is lost too.
    rack_lost: u64,
    /// Without SACK: bytes the duplicate ACKs stand for (1 SMSS each).
    dup_bytes: u64,
    /// New data sent by limited transmit since the last cumulative ACK: not part of the
    /// FlightSize that sets ssthresh (RFC 5681 §3.2 step 2, RFC 6675 §5 step 4.2).
    limited_transmit: u64,
    /// Partial ACKs in this recovery (RFC 6582 §3.2 step 5).
    partial_acks: u32,
    /// PRR (RFC 6937): prr_delivered, prr_out, RecoverFS.
    prr_delivered: u64,
    prr_out: u64,
    recover_fs: u64,
}

impl Recovery {
    pub(super) fn new() -> Self {
        Self {
            sack: false,
            scoreboard: Scoreboard::new(),
            dupacks: 0,
            point: None,
            recover: 0,
            high_rxt: 0,
            rescue_rxt: None,
            head_lost: false,
            rack_lost: 0,
            dup_bytes: 0,
            limited_transmit: 0,
            partial_acks: 0,
            prr_delivered: 0,
            prr_out: 0,
            recover_fs: 0,
        }
    }

    /// Both SYNs carried SACK-permitted: the peer's ACKs carry SACK blocks.
    pub(super) fn set_sack(&mut self, sack: bool) {
        self.sack = sack;
    }

    /// In fast recovery.
    pub(super) fn in_recovery(&self) -> bool {
        self.point.is_some()
    }

    /// Records the SACK blocks of an ACK (RFC 6675 Update()), given as marks already checked
    /// to lie in (HighACK, HighData]. Returns the bytes newly SACKed.
    pub(super) fn on_sack_block(&mut self, start: u64, end: u64) -> u64 {
        if self.sack {
            self.scoreboard.add(start, end)
        } else {
            0
        }
    }

    /// The cumulative ACK reached `una`; returns the SACKed bytes it swallowed.
    pub(super) fn advance(&mut self, una: u64) -> u64 {
        let before = self.scoreboard.sacked_bytes();
        self.scoreboard.advance(una);
        before - self.scoreboard.sacked_bytes()
    }

    /// Processes an ACK (RFC 6675 §5, RFC 6582 §3.2, RFC 6937 DeliveredData).
    pub(super) fn on_ack(&mut self, ack: &Ack) -> AckOutcome {
        let acked = ack.una - ack.una_before;
        let mut out = AckOutcome {
            delivered: if self.sack {
                (acked + ack.newly_sacked).saturating_sub(ack.sacked_acked)
            } else if ack.duplicate {
                ack.mss
            } else {
                // RFC 6937 §3: the change in SND.UNA less the SMSS already counted for each
                // duplicate ACK.
                acked.saturating_sub(self.dup_bytes)
            },
            ..AckOutcome::default()
        };
        if acked > 0 {
            self.dupacks = 0;
            self.dup_bytes = self.dup_bytes.saturating_sub(acked);
            self.limited_transmit = 0;
        }
        if let Some(point) = self.point {
            if ack.una >= point {
                out.exit = true;
                self.point = None;
                self.head_lost = false;
                self.dup_bytes = 0;
            } else if acked > 0 {
                // A partial ACK. Without SACK the next hole is lost too (RFC 6582 §3.2 step 5);
                // with SACK, IsLost decides (RFC 6675 §4) and the head marked at entry is done.
                self.head_lost = !self.sack;
            }
        }
        if ack.duplicate {
            self.dupacks += 1;
            if !self.sack {
                let flight = ack.max - ack.una;
                self.dup_bytes = (self.dup_bytes + ack.mss).min(flight.saturating_sub(ack.mss));
            }
        }
        if self.can_enter(ack.una) {
            // RFC 6675 §5 steps 1 and 2; RFC 5681 §3.2 / RFC 6582 §3.2 step 2 without SACK;
            // RFC 8985 §7.1: a loss RACK detected, on any ACK.
            let lost = self.sack && self.lost_boundary(ack.una, ack.mss) > ack.una;
            out.enter = (ack.duplicate && (self.dupacks >= DUP_THRESH || lost))
                || self.rack_lost_above(ack.una);
        }
        out
    }

    /// Whether an ACK of new data up to `una` restarts the retransmission timer (RFC 6298
    /// §5.3). Without SACK, in recovery, only the first partial ACK does: RFC 6582 §3.2 step 5
    /// (the "Impatient" variant of §4), so that a window with many losses, repaired one per
    /// round trip, falls back on the timeout and slow start rather than taking a round trip
    /// per hole.
    pub(super) fn restart_timer(&mut self, una: u64) -> bool {
        match self.point {
            Some(point) if !self.sack && una < point => {
                self.partial_acks += 1;
                self.partial_acks == 1
            }
            _ => true,
        }
    }

    /// Not in recovery, and none ended by a timeout or begun since is still unfinished.
    pub(super) fn can_enter(&self, una: u64) -> bool {
        self.point.is_none() && una >= self.recover
    }

    /// In fast recovery, or in a timeout's go-back-N (RFC 8985's "fast or RTO recovery").
    pub(super) fn recovering(&self, una: u64) -> bool {
        self.point.is_some() || una < self.recover
    }

    /// RACK declared the bytes up to `end` lost (RFC 8985 §6.3).
    pub(super) fn on_rack_lost(&mut self, end: u64) {
        self.rack_lost = self.rack_lost.max(end);
    }

    /// Whether RACK declared bytes above HighACK lost.
    pub(super) fn rack_lost_above(&self, una: u64) -> bool {
        self.rack_lost > una
    }

    /// Enters recovery (RFC 6675 §5 step 4): RecoveryPoint = HighData, the head segment is
    /// lost, PRR starts from FlightSize.
    pub(super) fn enter(&mut self, una: u64, max: u64) {
        self.point = Some(max);
        self.recover = max;
        self.high_rxt = una;
        self.rescue_rxt = None;
        self.head_lost = true;
        self.partial_acks = 0;
        self.prr_delivered = 0;
        self.prr_out = 0;
        self.recover_fs = max - una;
    }

    /// A retransmission timeout (RFC 6675 §5.1): recovery ends, none starts again before
    /// HighACK reaches HighData, and the SACK information is dropped (RFC 2018 §8: the
    /// timeout may mean the receiver reneged).
    pub(super) fn on_timeout(&mut self, una: u64, max: u64) {
        self.point = None;
        self.recover = max;
        self.high_rxt = una;
        self.rescue_rxt = None;
        self.head_lost = false;
        self.rack_lost = 0;
        self.dupacks = 0;
        self.dup_bytes = 0;
        self.limited_transmit = 0;
        self.scoreboard.clear();
    }

    /// The lost boundary: every unSACKed byte in [HighACK, boundary) is lost (RFC 6675
    /// IsLost, or RACK's verdict), the head segment too once recovery marked it.
    fn lost_boundary(&self, una: u64, mss: u64) -> u64 {
        let by_sack = if self.sack {
            self.scoreboard
                .lost_boundary(una, u64::from(DUP_THRESH), mss)
        } else {
            una
        };
        let by_sack = by_sack.max(self.rack_lost);
        if self.head_lost {
            by_sack.max(una + mss)
        } else {
            by_sack
        }
    }

    /// RFC 6675 SetPipe(): the bytes in the network between HighACK and HighData.
    pub(super) fn pipe(&self, una: u64, max: u64, mss: u64) -> u64 {
        let lost_to = self.lost_boundary(una, mss).min(max);
        let retransmitted = self.high_rxt.clamp(una, max);
        if self.sack {
            self.scoreboard.unsacked_in(lost_to, max)
                + self.scoreboard.unsacked_in(una, retransmitted)
        } else {
            ((max - lost_to) + (retransmitted - una)).saturating_sub(self.dup_bytes)
        }
    }

    /// NextSeg() rule 1 (RFC 6675 §4), and the head retransmission of RFC 6582: the first
    /// lost, unSACKed range above HighRxt, at most `mss` long.
    pub(super) fn next_lost(&self, una: u64, max: u64, mss: u64) -> Option<(u64, u64)> {
        let from = self.high_rxt.max(una);
        let to = self.lost_boundary(una, mss).min(max);
        self.hole(from, to, mss)
    }

    /// NextSeg() rule 3: unSACKed data above HighRxt and below the highest SACKed byte.
    pub(super) fn next_unsacked(&self, una: u64, mss: u64) -> Option<(u64, u64)> {
        let top = self.scoreboard.highest_sacked()?;
        self.hole(self.high_rxt.max(una), top, mss)
    }

    /// NextSeg() rule 4: the rescue retransmission, once per recovery, of the segment holding
    /// the highest unSACKed byte, when HighACK has passed RescueRxt.
    pub(super) fn rescue(&self, una: u64, max: u64, mss: u64) -> Option<(u64, u64)> {
        if !self.sack || !self.in_recovery() || self.rescue_rxt.is_some_and(|r| una < r) {
            return None;
        }
        let mut end = max;
        for (start, stop) in self.scoreboard.ranges().rev() {
            if stop < end {
                break;
            }
            end = end.min(start);
        }
        // Only data not retransmitted yet in this recovery (rule 1 may have sent the tail
        // already, as RACK marks it lost).
        (end > una.max(self.high_rxt)).then(|| (end.saturating_sub(mss).max(una), end))
    }

    /// The first unSACKed run of bytes in [from, to).
    pub(super) fn unsacked(&self, from: u64, to: u64) -> Option<(u64, u64)> {
        if self.sack {
            self.scoreboard.next_hole(from, to)
        } else {
            (from < to).then_some((from, to))
        }
    }

    fn hole(&self, from: u64, to: u64, mss: u64) -> Option<(u64, u64)> {
        let (start, end) = self.unsacked(from, to)?;
        Some((start, end.min(start + mss)))
    }

    /// A retransmission of [start, end) went out; `rescue` when by rule 4.
    pub(super) fn on_retransmit(&mut self, end: u64, rescue: bool) {
        if rescue {
            self.rescue_rxt = self.point;
        } else {
            self.high_rxt = self.high_rxt.max(end);
            if self.rescue_rxt.is_none() {
                // RFC 6675 §5 step 4.3: no rescue before the first retransmission is acked.
                self.rescue_rxt = Some(end);
            }
        }
    }

    /// `len` bytes went out: counted by PRR in recovery (RFC 6937 prr_out), as limited
    /// transmit before it.
    pub(super) fn on_sent(&mut self, len: u64) {
        if self.in_recovery() {
            self.prr_out += len;
        } else if self.dupacks > 0 {
            self.limited_transmit += len;
        }
    }

    /// FlightSize for ssthresh: what is outstanding less what limited transmit sent.
    pub(super) fn flight_size(&self, una: u64, max: u64) -> u64 {
        (max - una).saturating_sub(self.limited_transmit)
    }

    /// Bytes in [from, to) the peer has not SACKed.
    pub(super) fn unsacked_bytes(&self, from: u64, to: u64) -> u64 {
        self.scoreboard.unsacked_in(from, to)
    }

    /// RFC 6937 §3: the congestion window for this ACK in recovery, pipe + sndcnt, given the
    /// ssthresh the controller set. The first ACK in recovery always allows one segment, so
    /// the fast retransmit goes out at once.
    pub(super) fn prr_window(&mut self, delivered: u64, pipe: u64, ssthresh: u64, mss: u64) -> u64 {
        self.prr_delivered += delivered;
        let sndcnt = if pipe > ssthresh {
            // Proportional rate reduction.
            (self.prr_delivered * ssthresh)
                .div_ceil(self.recover_fs.max(1))
                .saturating_sub(self.prr_out)
        } else {
            // Slow start reduction bound (PRR-SSRB).
            let limit = (self.prr_delivered.saturating_sub(self.prr_out)).max(delivered) + mss;
            (ssthresh - pipe).min(limit)
        };
        let sndcnt = if self.prr_out == 0 {
            sndcnt.max(mss)
        } else {
            sndcnt
        };
        pipe + sndcnt
    }
}

/// Turns a SACK block into marks within (HighACK, HighData], or `None` when it reports
/// nothing new or lies outside what was sent. `una_mark` is the mark of `una`.
pub(super) fn block_marks(
    block: SackBlock,
    una: SeqNum,
    una_mark: u64,
    max: SeqNum,
) -> Option<(u64, u64)> {
    if !block.left.lt(block.right) || block.right.le(una) || block.right.gt(max) {
        return None;
    }
    let left = if block.left.lt(una) { una } else { block.left };
    Some((
        una_mark + u64::from(left - una),
        una_mark + u64::from(block.right - una),
    ))
}

/// RFC 2883 §4: the first block is a D-SACK when it lies below the cumulative ACK or inside
/// the second block.
pub(super) fn is_dsack(blocks: &[SackBlock], ack: SeqNum) -> bool {
    match blocks {
        [first, rest @ ..] => {
            first.right.le(ack)
                || rest.first().is_some_and(|second| {
                    second.left.le(first.left) && first.right.le(second.right)
                })
        }
        [] => false,
    }
}
