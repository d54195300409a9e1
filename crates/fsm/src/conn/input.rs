//! SEGMENT ARRIVES (RFC 9293 §3.10.7) for a connection that exists: SYN-SENT (§3.10.7.3) and
//! the other states (§3.10.7.4), one function per step, each saying whether processing goes on.
//! CLOSED and LISTEN (§3.10.7.1-2) belong to the endpoint, which has no connection to ask.

use core::time::Duration;

use wire::TcpRepr;

use super::Connection;
use super::rfc7323::TsCheck;
use super::timers::Timer;
use crate::error::ConnError;
use crate::event::Event;
use crate::state::{Input, State};
use crate::time::Instant;

/// The outcome of the acceptability test of §3.10.7.4 step one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Acceptable {
    /// The segment overlaps the receive window.
    Yes,
    /// The window is zero and the segment starts at RCV.NXT: its ACK, window and RST count,
    /// its data does not (§3.10.7.4: "special allowance should be made").
    ControlOnly,
    /// Wholly left of the window, and no SYN or RST: unacceptable, but its ACK still counts.
    Old,
    /// Outside the window.
    No,
}

impl Connection {
    /// Processes one arriving segment (already parsed and checksummed, and addressed to this
    /// connection's four-tuple).
    pub fn handle_segment(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_segment_syn_sent(now, seg),
            _ => self.on_segment_synchronized(now, seg),
        }
    }

    /// §3.10.7.3: our SYN is out, the peer's is awaited.
    fn on_segment_syn_sent(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let flags = seg.flags;
        // First: an ACK must acknowledge our SYN and nothing beyond what we sent.
        let ack_ok = flags.ack() && self.snd.iss.lt(seg.ack) && seg.ack.le(self.snd.max);
        if flags.ack() && !ack_ok {
            if !flags.rst() {
                self.rst = Some((seg.ack, None));
            }
            return;
        }
        // Second: a RST is believed only with an acceptable ACK (RFC 5961 §3.2 changes nothing
        // here): connection refused.
        if flags.rst() {
            if ack_ok {
                self.fail(now, ConnError::Refused);
            }
            return;
        }
        // Fourth: the peer's SYN. (Data in a SYN-ACK is rare without Fast Open; it is not
        // taken, so the peer retransmits it.)
        if !flags.syn() {
            return;
        }
        self.stats.segments_received += 1;
        self.on_peer_syn(now, seg);
        if ack_ok {
            self.on_new_ack(now, seg);
            self.snd.wl2 = seg.ack;
            self.apply(now, Input::RecvSynAck);
        } else {
            // Simultaneous open (§3.5 figure 8): answer with SYN-ACK, our SYN sent again.
            self.snd.nxt = self.snd.iss;
            self.apply(now, Input::RecvSyn);
        }
    }

    /// §3.10.7.4: SYN-RECEIVED and the synchronized states.
    fn on_segment_synchronized(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if self.on_timestamps(self.opts.check(now, seg))
            || self.on_time_wait_fin(now, seg)
            || self.on_duplicate_syn(seg)
        {
            return;
        }
        let acceptable = self.check_sequence(seg);
        if matches!(acceptable, Acceptable::Old | Acceptable::No) {
            // Step one: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, unless it was a RST.
            self.stats.unacceptable += 1;
            if !seg.flags.rst() {
                self.ack_now = true;
            }
            if acceptable == Acceptable::Old {
                // RFC 2883 §4: data wholly below RCV.NXT is a duplicate; D-SACK it.
                let len = seg.payload.len() as u32;
                self.sack.on_duplicate(seg.seq, seg.seq + len);
            }
            // An old segment's ACK still counts, as in BSD ("keep on processing for RST or
            // ACK"): a peer whose SND.NXT lags our RCV.NXT (after a probe byte it does not count
            // as sent) has no other way to tell us what it received.
            if acceptable == Acceptable::Old && seg.flags.ack() {
                self.on_ack(now, seg);
            }
            return;
        }
        self.stats.segments_received += 1;
        self.opts.on_acceptable(now, seg);
        if seg.flags.rst() {
            return self.on_rst(now, seg);
        }
        if seg.flags.syn() {
            // Step four: a passive open in SYN-RECEIVED returns to LISTEN; elsewhere a SYN gets
            // a challenge ACK (RFC 5961 §4.2).
            if self.state == State::SynReceived && self.passive {
                return self.apply(now, Input::Reset);
            }
            return self.challenge_ack(now);
        }
        if !seg.flags.ack() || !self.on_ack(now, seg) {
            return;
        }
        if acceptable == Acceptable::Yes {
            self.on_text(now, seg);
            self.on_fin(now, seg);
        } else if seg.seq_len() > 0 {
            // Data against a zero window (a window probe): acknowledge, taking none of it.
            self.ack_now = true;
        }
    }

    /// RFC 7323 §3.2 and §5.3 R1, before the sequence check: a segment without the
    /// negotiated timestamps is dropped silently, an old one (PAWS) dropped and acknowledged.
    /// Returns whether it was dropped.
    fn on_timestamps(&mut self, check: TsCheck) -> bool {
        match check {
            TsCheck::Pass => return false,
            TsCheck::Missing => {}
            TsCheck::Old => self.ack_now = true,
        }
        self.stats.paws_drops += 1;
        true
    }

    /// TIME-WAIT: "the only thing that can arrive is a retransmission of the remote FIN":
    /// acknowledge it and restart the 2 MSL timeout (§3.10.7.4 step eight).
    fn on_time_wait_fin(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        if self.state != State::TimeWait || !seg.flags.fin() || seg.flags.rst() {
            return false;
        }
        self.ack_now = true;
        self.timers.set(Timer::TimeWait, now + 2 * self.config.msl);
        true
    }

    /// SYN-RECEIVED: the peer retransmitted its SYN because our SYN-ACK was lost; send the
    /// SYN-ACK again rather than a bare ACK.
    fn on_duplicate_syn(&mut self, seg: &TcpRepr<'_>) -> bool {
        let dup = self.state == State::SynReceived
            && seg.flags.syn()
            && !seg.flags.ack()
            && !seg.flags.rst()
            && seg.seq == self.rcv.irs;
        if dup {
            self.snd.nxt = self.snd.iss;
        }
        dup
    }

    /// Step one: the four cases of segment acceptability.
    fn check_sequence(&self, seg: &TcpRepr<'_>) -> Acceptable {
        let len = seg.seq_len();
        // RCV.WND is the window we advertised, not the free buffer behind it: a wider test
        // would make blind injection easier (RFC 5961 §1).
        let wnd = self.rcv.wnd_remaining(self.rcv_adv);
        let nxt = self.rcv.nxt;
        let ok = match (len, wnd) {
            (0, 0) => seg.seq == nxt,
            // Also at the right edge, as BSD and Linux accept: a peer that filled the window
            // sends its ACKs from there, and they may be all it can say until it retransmits.
            (0, _) => seg.seq.in_window(nxt, wnd) || (seg.seq == nxt + wnd && !seg.flags.rst()),
            (_, 0) => false,
            (_, _) => seg.seq.in_window(nxt, wnd) || (seg.seq + (len - 1)).in_window(nxt, wnd),
        };
        if ok {
            Acceptable::Yes
        } else if wnd == 0 && seg.seq == nxt {
            Acceptable::ControlOnly
        } else if (seg.seq + len).le(nxt)
            && self.state.is_synchronized()
            && !seg.flags.syn()
            && !seg.flags.rst()
        {
            Acceptable::Old
        } else {
            Acceptable::No
        }
    }

    /// Step two, with RFC 5961 §3.2: only a RST exactly at RCV.NXT resets; one elsewhere in
    /// the window gets a challenge ACK.
    fn on_rst(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if seg.seq != self.rcv.nxt {
            return self.challenge_ack(now);
        }
        match self.state {
            // A passive open returns to LISTEN: the listener forgets the half-open connection.
            State::SynReceived if self.passive => self.apply(now, Input::Reset),
            State::SynReceived => self.fail(now, ConnError::Refused),
            State::Established | State::FinWait1 | State::FinWait2 | State::CloseWait => {
                self.fail(now, ConnError::Reset);
            }
            // CLOSING, LAST-ACK, TIME-WAIT: the user already closed; end quietly.
            _ => self.apply(now, Input::Reset),
        }
    }

    /// A challenge ACK (RFC 5961 §3.2, §4.2, §5.2), at most `challenge_ack_limit` a second.
    fn challenge_ack(&mut self, now: Instant) {
        if now.saturating_since(self.challenge_window) >= Duration::from_secs(1) {
            self.challenge_window = now;
            self.challenges_in_window = 0;
        }
        if self.challenges_in_window < self.config.challenge_ack_limit {
            self.challenges_in_window += 1;
            self.stats.challenge_acks += 1;
            self.ack_now = true;
        }
    }

    /// Step five: the ACK field. Returns whether processing goes on.
    fn on_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) -> bool {
        if self.state == State::SynReceived {
            if !(self.snd.una.lt(seg.ack) && seg.ack.le(self.snd.max)) {
                self.rst = Some((seg.ack, None));
                return false;
            }
            self.apply(now, Input::RecvAckOfSyn);
        }
        if seg.ack.gt(self.snd.max) {
            // It acknowledges something not yet sent.
            self.ack_now = true;
            return false;
        }
        if seg.ack.lt(self.snd.una - self.snd.max_wnd) {
            // RFC 5961 §5.2: too old to be a plausible duplicate.
            self.challenge_ack(now);
            return false;
        }
        self.probes = 0;
        let before = (self.snd.una, self.snd.wnd);
        let una_mark = self.snd_mark(self.snd.una);
        let newly_sacked = self.on_sack_option(now, seg);
        let acked = self.snd.una.lt(seg.ack);
        if acked {
            self.on_new_ack(now, seg);
        }
        let duplicate = self.is_duplicate_ack(seg, before, newly_sacked);
        self.update_send_window(seg);
        self.on_rack_ack(now, seg);
        self.on_ack_congestion(now, una_mark, newly_sacked, duplicate);
        self.on_ack_pto(now, acked);
        self.on_fin_acked(now)
    }

    /// SND.UNA advances to `seg.ack`: release acknowledged data, take an RTT sample, manage the
    /// retransmission timer (RFC 6298 §5.2-5.3).
    fn on_new_ack(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let ack = seg.ack;
        // The data acknowledged: what lies before `ack`, less the SYN and FIN it may cover.
        let before = self.send_buf.start();
        let data_start = self.snd_seq(before);
        if data_start.lt(ack) {
            let to = ack.min(self.snd_seq(self.send_buf.end()));
            self.send_buf.ack_to(before + u64::from(to - data_start));
        }
        let acked_bytes = self.send_buf.start() - before;
        self.stats.bytes_acked += acked_bytes;
        self.snd.una = ack;
        // SND.WND counts from SND.UNA: the right edge stays where the peer put it until a
        // window update moves it (as BSD does), even when this segment is too old to update it.
        let acked_window = u32::try_from(acked_bytes).unwrap_or(u32::MAX);
        self.snd.wnd = self.snd.wnd.saturating_sub(acked_window);
        if self.snd.nxt.lt(ack) {
            self.snd.nxt = ack;
        }
        let timed = self.rtt_timer.on_ack(self.snd_mark(ack), now);
        // RFC 7323 §4.1: with timestamps, every ACK of new data is a sample, from its TSecr.
        if let Some(sample) = self.opts.rtt_sample(now, seg).or(timed) {
            self.rtt.on_sample(sample);
        }
        self.retries = 0;
        if self.snd.una == self.snd.max {
            self.timers.stop(Timer::Retransmit);
        } else if self.recovery.restart_timer(self.snd_mark(ack)) {
            self.arm_retransmit(now);
        }
        if acked_bytes > 0 && !self.fin_queued {
            self.push_event(Event::Writable);
        }
    }

    /// The window update rule of step five: take SEG.WND only from a segment newer than the
    /// one it was last taken from (SND.WL1, SND.WL2), so old segments cannot shrink it.
    fn update_send_window(&mut self, seg: &TcpRepr<'_>) {
        let newer =
            self.snd.wl1.lt(seg.seq) || (self.snd.wl1 == seg.seq && self.snd.wl2.le(seg.ack));
        if !(self.snd.una.le(seg.ack) && newer) {
            return;
        }
        // RFC 7323 §2.3: SEG.WND of a non-SYN segment is scaled by Snd.Wind.Shift.
        self.snd.wnd = u32::from(seg.window) << self.opts.snd_wscale();
        self.snd.wl1 = seg.seq;
        self.snd.wl2 = seg.ack;
        self.snd.max_wnd = self.snd.max_wnd.max(self.snd.wnd);
        if self.snd.wnd > 0 {
            self.timers.stop(Timer::Persist);
            self.persist_backoff = 0;
        }
    }

    /// The states of step five that wait for the ACK of our FIN. Returns whether processing
    /// goes on.
    fn on_fin_acked(&mut self, now: Instant) -> bool {
        if !self.fin_acked() {
            return true;
        }
        match self.state {
            State::FinWait1 => {
                self.apply(now, Input::RecvAckOfFin);
                if self.orphaned {
                    self.timers
                        .set(Timer::FinWait2, now + self.config.fin_wait_2_timeout);
                }
                true
            }
            State::Closing => {
                self.apply(now, Input::RecvAckOfFin);
                true
            }
            State::LastAck => {
                self.apply(now, Input::RecvAckOfFin);
                false
            }
            _ => true,
        }
    }

    /// Step seven: the segment text, into the receive buffer (reassembling out-of-order data),
    /// with the ACK policy of §3.8.6.3 and RFC 5681 §4.2.
    fn on_text(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        if seg.payload.is_empty() || !self.state.receives_data() {
            return;
        }
        let Some((offset, data)) = self.rcv_offset(seg) else {
            self.ack_now = true;
            return;
        };
        if self.orphaned && offset + data.len() as u64 > self.recv_buf.contiguous_end() {
            // Nobody will read it: tell the peer at once, as Linux does.
            return self.abort(now);
        }
        let had_gap = self.recv_buf.has_gap();
        let got = self.recv_buf.insert(offset, data);
        self.rcv.nxt = self.rcv_data_nxt();
        self.stats.bytes_received += got.advanced as u64;
        if got.duplicate {
            self.stats.duplicates += 1;
            // RFC 2883 §4: every byte was already held or read; D-SACK the segment's data.
            self.sack
                .on_duplicate(seg.seq, seg.seq + seg.payload.len() as u32);
        }
        if got.out_of_order {
            // RFC 2018 §4: the range holding this segment becomes the first block.
            self.sack.on_out_of_order(offset, &self.recv_buf);
        }
        if got.advanced > 0 {
            self.push_event(Event::Readable);
            self.on_rcv_nxt_advanced(now);
        }
        if got.out_of_order || got.duplicate || (had_gap && got.advanced > 0) {
            // Out-of-order data, a duplicate, or a filled gap: ACK at once.
            self.ack_now = true;
        } else {
            if data.len() >= self.snd_mss {
                self.unacked_full_segments += 1;
            }
            if self.unacked_full_segments >= 2 {
                self.ack_now = true;
            } else if !self.timers.is_set(Timer::DelayedAck) {
                self.timers
                    .set(Timer::DelayedAck, now + self.config.delayed_ack);
            }
        }
    }

    /// The receive-stream offset of a segment's first new byte and its data from there, or
    /// `None` when all of it lies before the start of the stream (an old duplicate).
    fn rcv_offset<'a>(&self, seg: &TcpRepr<'a>) -> Option<(u64, &'a [u8])> {
        let end = self.recv_buf.contiguous_end();
        let start = end as i64 + i64::from(self.rcv_data_nxt().distance_to(seg.seq));
        let skip = usize::try_from(-start.min(0)).ok()?;
        let data = seg.payload.get(skip..)?;
        Some((start.max(0) as u64, data))
    }

    /// Step eight: the FIN, taken once every byte before it has arrived (a FIN past a gap is
    /// remembered until the gap fills).
    fn on_fin(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let fresh_fin = seg.flags.fin() && self.peer_fin.is_none() && self.state.receives_data();
        if let Some((offset, data)) = self.rcv_offset(seg).filter(|_| fresh_fin) {
            let fin_at = offset + data.len() as u64;
            // A FIN past the window was trimmed away with the data before it.
            if fin_at <= self.recv_buf.read_offset() + self.recv_buf.capacity() as u64 {
                self.peer_fin = Some(fin_at);
            }
        }
        let in_order = self.peer_fin == Some(self.recv_buf.contiguous_end());
        if self.read_closed || !self.state.receives_data() {
            return;
        }
        if !in_order {
            // A FIN past a gap is out-of-order arrival: a duplicate ACK at once (RFC 5681 §4.2),
            // even when it carries no data.
            if seg.flags.fin() {
                self.ack_now = true;
            }
            return;
        }
        self.read_closed = true;
        self.rcv.nxt = self.rcv_data_nxt() + 1;
        self.ack_now = true;
        self.push_event(Event::Readable);
        self.push_event(Event::ReadClosed);
        self.apply(now, Input::RecvFin);
    }
}
