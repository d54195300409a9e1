//! The connection's side of congestion control and loss recovery: what an ACK tells the
//! controller and the recovery state, how much may be in flight, and which lost segment goes
//! out next. The rules themselves live in `crate::cc` and `recovery.rs`.

use wire::TcpRepr;

use super::Connection;
use super::output::{Plan, PlanKind};
use super::recovery::{self, Ack};
use crate::state::State;
use crate::time::Instant;

impl Connection {
    /// Marks (positions counted from the SYN) of SND.UNA and SND.MAX (HighACK and HighData + 1).
    fn una_max_marks(&self) -> (u64, u64) {
        (self.snd_mark(self.snd.una), self.snd_mark(self.snd.max))
    }

    /// Bytes in flight as the sender counts them for the congestion window: RFC 6675's pipe
    /// (SACKed and lost data out, retransmissions in), or, while a timeout's go-back-N resends
    /// what was sent before, the unSACKed bytes between SND.UNA and SND.NXT.
    pub(super) fn in_flight(&self) -> u32 {
        let (una, max) = self.una_max_marks();
        let bytes = if self.snd.nxt.lt(self.snd.max) {
            // Resent from SND.UNA so far, less what the peer SACKed since (RFC 6675 §5.1).
            self.recovery
                .unsacked_bytes(una, self.snd_mark(self.snd.nxt))
        } else {
            self.recovery.pipe(una, max, self.snd_mss as u64)
        };
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    /// Takes the SACK blocks of an ACK into the scoreboard (RFC 6675 Update()), before SND.UNA
    /// moves, and into RACK's records. Returns the bytes newly SACKed.
    pub(super) fn on_sack_option(&mut self, now: Instant, seg: &TcpRepr<'_>) -> u64 {
        let blocks = seg.options.sack.as_slice();
        if blocks.is_empty() || !self.sack.agreed() {
            return 0;
        }
        self.stats.sack_blocks_received += blocks.len() as u64;
        if recovery::is_dsack(blocks, seg.ack) {
            self.stats.dsacks_received += 1;
        }
        let (una, una_mark, max) = (self.snd.una, self.snd_mark(self.snd.una), self.snd.max);
        let mut newly_sacked = 0;
        for (start, end) in blocks
            .iter()
            .filter_map(|&b| recovery::block_marks(b, una, una_mark, max))
        {
            newly_sacked += self.recovery.on_sack_block(start, end);
            self.on_rack_sack_block(now, (start, end));
        }
        newly_sacked
    }

    /// A duplicate ACK: by RFC 6675 §2 with SACK (it SACKs new data), by RFC 5681 §2 without
    /// (no data, no SYN or FIN, same ACK and window, data outstanding). `una_before` and
    /// `wnd_before` are SND.UNA and SND.WND before this ACK.
    pub(super) fn is_duplicate_ack(
        &self,
        seg: &TcpRepr<'_>,
        (una_before, wnd_before): (wire::SeqNum, u32),
        newly_sacked: u64,
    ) -> bool {
        // Outstanding data counts from SND.NXT: a zero-window probe's byte is not sent data.
        if self.snd.una != una_before || una_before == self.snd.nxt {
            return false;
        }
        if self.sack.agreed() {
            return newly_sacked > 0;
        }
        seg.payload.is_empty()
            && !seg.flags.syn()
            && !seg.flags.fin()
            && u32::from(seg.window) << self.opts.snd_wscale() == wnd_before
    }

    /// After step five took an ACK: duplicate ACK counting, entering and leaving recovery
    /// (RFC 6675 §5, RFC 6582 §3.2), PRR's window in recovery (RFC 6937), window growth outside
    /// it (RFC 5681 §3.1). `una_before` is the mark of SND.UNA before this ACK.
    pub(super) fn on_ack_congestion(
        &mut self,
        now: Instant,
        una_before: u64,
        newly_sacked: u64,
        duplicate: bool,
    ) {
        let (una, max) = self.una_max_marks();
        let mss = self.snd_mss as u64;
        let sacked_acked = self.recovery.advance(una);
        let out = self.recovery.on_ack(&Ack {
            una_before,
            una,
            max,
            newly_sacked,
            sacked_acked,
            duplicate,
            mss,
        });
        if out.exit {
            self.rack.on_recovery_exit();
            self.cc.on_recovery_end(now);
            // RFC 6582 §3.2 step 3, option 1: if little is left in flight (the peer's window
            // held new data back during recovery), cwnd = FlightSize + SMSS rather than a burst
            // of ssthresh at line rate; slow start climbs back to ssthresh.
            let limit = (max - una).max(mss) + mss;
            if limit < u64::from(self.cc.window()) {
                self.cc.set_window(u32::try_from(limit).unwrap_or(u32::MAX));
            }
        }
        if out.enter {
            self.enter_recovery(now, una, max);
        }
        let acked = una - una_before;
        if self.recovery.in_recovery() {
            self.set_prr_window(out.delivered);
        } else if acked > 0 && !out.exit {
            let srtt = self.rtt.srtt().unwrap_or_else(|| self.rtt.rto());
            let acked = u32::try_from(acked).unwrap_or(u32::MAX);
            self.cc.on_ack(now, acked, srtt, self.cwnd_limited);
        }
        if acked > 0 {
            self.cwnd_limited = false;
            self.update_delivery_rate(now);
            self.on_cwnd_grown();
        }
    }

    /// Loss detected: fast retransmit and recovery (RFC 6675 §5 step 4), the controller's
    /// congestion response. Any TLP episode ends with it (its loss is this one).
    pub(super) fn enter_recovery(&mut self, now: Instant, una: u64, max: u64) {
        self.stats.fast_recoveries += 1;
        let flight = self.recovery.flight_size(una, max);
        self.cc
            .on_congestion_event(now, u32::try_from(flight).unwrap_or(u32::MAX));
        self.recovery.enter(una, max);
        self.rack.on_recovery_enter();
    }

    /// PRR's window for an ACK in recovery that delivered `delivered` bytes (RFC 6937 §3).
    pub(super) fn set_prr_window(&mut self, delivered: u64) {
        let (una, max) = self.una_max_marks();
        let mss = self.snd_mss as u64;
        let pipe = self.recovery.pipe(una, max, mss);
        let ssthresh = u64::from(self.cc.ssthresh());
        let cwnd = self.recovery.prr_window(delivered, pipe, ssthresh, mss);
        self.cc.set_window(u32::try_from(cwnd).unwrap_or(u32::MAX));
    }

    /// A retransmission timeout: the controller's loss window (RFC 5681 §3.1), ssthresh
    /// reduced on the first timeout unless recovery already reduced it; recovery ends.
    pub(super) fn on_timeout_congestion(&mut self, now: Instant) {
        let (una, max) = self.una_max_marks();
        // RFC 5681 §3.1: a lost SYN or SYN-ACK leaves one segment as the initial window, but
        // no data was in flight to halve.
        let handshake = matches!(self.state, State::SynSent | State::SynReceived);
        let reduce = self.retries == 1 && !self.recovery.in_recovery() && !handshake;
        let flight = u32::try_from(max - una).unwrap_or(u32::MAX);
        self.cc.on_timeout(now, flight, reduce);
        self.recovery.on_timeout(una, max);
    }

    /// RFC 5681 §4.1: after an idle period longer than the RTO, start again from the restart
    /// window.
    pub(super) fn restart_after_idle(&mut self, now: Instant) {
        if self.snd.una == self.snd.max {
            // Nothing in flight: the delivery rate restarts rather than count idle time.
            self.rate_start = (now, self.stats.bytes_acked);
        }
        let idle = self.snd.una == self.snd.max
            && self
                .last_send
                .is_some_and(|at| now.saturating_since(at) > self.rtt.rto());
        if idle {
            self.cc.on_idle_restart(now);
            self.last_send = Some(now);
        }
    }

    /// Go-back-N after a timeout skips what the peer SACKed since: SND.NXT moves to the next
    /// unSACKed byte. Returns how much may go from there before SACKed data (`None`: no
    /// limit).
    pub(super) fn skip_sacked(&mut self) -> Option<usize> {
        if !self.snd.nxt.lt(self.snd.max) || !self.sack.agreed() {
            return None;
        }
        let (_, max) = self.una_max_marks();
        let nxt = self.snd_mark(self.snd.nxt);
        match self.recovery.unsacked(nxt, max) {
            Some((start, end)) => {
                self.snd.nxt += (start - nxt) as u32;
                // A hole up to SND.MAX (or a probe's byte) limits nothing.
                (end < max).then(|| usize::try_from(end - start).unwrap_or(usize::MAX))
            }
            None => {
                self.snd.nxt = self.snd.max;
                None
            }
        }
    }

    /// A retransmission during recovery, by NextSeg() rule 1 (`Lost`: a lost segment),
    /// rule 3 (`Unsacked`) or rule 4 (`Rescue`), if the window allows `cwnd_left` more bytes.
    pub(super) fn plan_recovery(&self, kind: PlanKind, cwnd_left: usize) -> Option<Plan> {
        if !self.recovery.in_recovery() {
            return None;
        }
        let (una, max) = self.una_max_marks();
        let mss = self.snd_mss as u64;
        let range = match kind {
            PlanKind::Next | PlanKind::Probe => None,
            PlanKind::Lost => self.recovery.next_lost(una, max, mss),
            PlanKind::Unsacked => self.recovery.next_unsacked(una, mss),
            PlanKind::Rescue => self.recovery.rescue(una, max, mss),
        }?;
        self.plan_range(range, kind)
            .filter(|plan| plan.len.max(1) <= cwnd_left)
    }

    /// The segment of sequence marks `[start, end)`: data, and the FIN if it falls inside. The
    /// data stays within the peer's window, which may have shrunk since it was first sent (by
    /// the rounding of a scaled window, RFC 7323 §2.4).
    pub(super) fn plan_range(&self, (start, end): (u64, u64), kind: PlanKind) -> Option<Plan> {
        // Mark m ≥ 1 is stream offset m − 1; the FIN's mark follows the last data byte's.
        let offset = start.checked_sub(1)?;
        let fin_mark = self.send_buf.end() + 1;
        let right_edge = self.snd_mark(self.snd.una) + u64::from(self.snd.wnd);
        let data_end = end.min(fin_mark).min(right_edge);
        let want = usize::try_from(data_end.saturating_sub(start)).ok()?;
        let len = self.send_buf.chunk(offset, want).len();
        let fin = self.fin_queued && end > fin_mark && data_end == fin_mark && len == want;
        (len > 0 || fin).then(|| Plan {
            seq: self.snd_seq(offset),
            offset,
            len,
            fin,
            probe: false,
            kind,
        })
    }

    /// A retransmission planned by [`Connection::plan_recovery`] went out, up to `end`.
    pub(super) fn on_recovery_sent(&mut self, end: wire::SeqNum, kind: PlanKind) {
        let end = self.snd_mark(end);
        self.recovery.on_retransmit(end, kind == PlanKind::Rescue);
    }

    /// Delivery rate: the bytes acknowledged over the last interval of at least one SRTT.
    fn update_delivery_rate(&mut self, now: Instant) {
        let Some(srtt) = self.rtt.srtt() else {
            return;
        };
        let (start, acked_then) = self.rate_start;
        let elapsed = now.saturating_since(start);
        if elapsed >= srtt && !elapsed.is_zero() {
            let delivered = self.stats.bytes_acked - acked_then;
            let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
            self.delivery_rate = Some(delivered.saturating_mul(1_000_000) / micros);
            self.rate_start = (now, self.stats.bytes_acked);
        }
    }
}
