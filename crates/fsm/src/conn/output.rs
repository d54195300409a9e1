//! What a connection sends next: SYN or SYN-ACK, data (segmentation, Nagle, sender-side SWS
//! avoidance, zero-window probes), FIN, pure ACKs, RST; and the timers that drive them.

use core::time::Duration;

use wire::{SackBlocks, SeqNum, TcpFlags, TcpOptions, TcpRepr};

use super::Connection;
use super::sack::Sack;
use super::timers::Timer;
use crate::error::ConnError;
use crate::state::{Input, State};
use crate::time::Instant;

/// Longest interval between zero-window probes (RFC 9293 §3.8.6.1: exponential backoff; Linux
/// caps it at the RTO maximum too).
const PERSIST_MAX: Duration = Duration::from_secs(60);

/// A segment decided on, its payload not yet borrowed: `len` bytes of the send buffer from
/// stream offset `offset`. Splitting the decision from the borrow lets the endpoint decide, then
/// borrow.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outgoing {
    pub(crate) seg: TcpRepr<'static>,
    offset: u64,
    len: usize,
}

/// A segment with no data, no options and a zero window: RSTs, and the endpoint's replies for
/// connections it does not hold. The ACK flag is set when `ack` is given.
pub(crate) fn bare_segment(
    (src_port, dst_port): (u16, u16),
    seq: SeqNum,
    ack: Option<SeqNum>,
    flags: TcpFlags,
) -> TcpRepr<'static> {
    TcpRepr {
        src_port,
        dst_port,
        seq,
        ack: ack.unwrap_or_default(),
        flags: if ack.is_some() {
            flags | TcpFlags::ACK
        } else {
            flags
        },
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
        payload: &[],
    }
}

/// Where a planned segment comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PlanKind {
    /// From SND.NXT: new data, or go-back-N after a timeout.
    Next,
    /// A lost segment in recovery (RFC 6675 NextSeg() rule 1; RFC 6582's head segment).
    Lost,
    /// UnSACKed data below the highest SACKed byte (NextSeg() rule 3).
    Unsacked,
    /// The rescue retransmission (NextSeg() rule 4).
    Rescue,
    /// A tail loss probe sending the last segment again (RFC 8985 §7.3).
    Probe,
}

/// What the data path decided to send.
pub(super) struct Plan {
    pub(super) seq: SeqNum,
    pub(super) offset: u64,
    pub(super) len: usize,
    pub(super) fin: bool,
    pub(super) probe: bool,
    pub(super) kind: PlanKind,
}

impl Connection {
    /// The next segment to send, if any. Call until it returns `None` after every input; the
    /// payload borrows the send buffer, so encode it before the next call.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<TcpRepr<'_>> {
        let out = self.poll_outgoing(now)?;
        Some(self.with_payload(&out))
    }

    /// [`Connection::poll_transmit`] without the payload borrowed yet.
    pub(crate) fn poll_outgoing(&mut self, now: Instant) -> Option<Outgoing> {
        let control = |seg| Outgoing {
            seg,
            offset: 0,
            len: 0,
        };
        if let Some((seq, ack)) = self.rst.take() {
            return Some(control(self.rst_segment(seq, ack)));
        }
        match self.state {
            State::Closed | State::Listen => None,
            State::SynSent | State::SynReceived if self.snd.nxt == self.snd.iss => {
                Some(control(self.syn_segment(now)))
            }
            State::SynSent => None,
            _ => self.data_segment(now),
        }
    }

    /// The segment of `out` with its payload borrowed from the send buffer.
    pub(crate) fn with_payload(&self, out: &Outgoing) -> TcpRepr<'_> {
        TcpRepr {
            payload: self.send_buf.chunk(out.offset, out.len),
            ..out.seg
        }
    }

    /// Timers that expired by `now` (RFC 6298 §5.4-5.6 for the retransmission timer). Calls
    /// before any deadline do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(timer) = self.timers.pop_expired(now) {
            match timer {
                Timer::Retransmit => self.on_retransmit_timeout(now),
                Timer::Reorder => self.on_reorder_timeout(now),
                Timer::Pto => self.on_pto(now),
                Timer::DelayedAck => self.ack_now = true,
                Timer::Persist => self.on_persist_timeout(now),
                Timer::TimeWait => self.apply(now, Input::TimeWaitTimeout),
                // An orphan's FIN-WAIT-2 is bounded (like Linux's tcp_fin_timeout).
                Timer::FinWait2 => self.apply(now, Input::Reset),
            }
        }
    }

    fn on_retransmit_timeout(&mut self, now: Instant) {
        if self.snd.una == self.snd.max {
            return;
        }
        self.retries += 1;
        self.stats.timeouts += 1;
        let limit = match self.state {
            State::SynSent => self.config.syn_retries,
            State::SynReceived => self.config.synack_retries,
            _ => self.config.data_retries,
        };
        if self.retries > limit {
            return self.fail(now, ConnError::TimedOut);
        }
        self.syn_timed_out |= matches!(self.state, State::SynSent | State::SynReceived);
        self.rtt.backoff();
        // Karn: the segment being timed is about to be sent again.
        self.rtt_timer.invalidate();
        // Go back to the oldest unacknowledged octet; one segment at first (RFC 5681 §3.1).
        self.on_timeout_congestion(now);
        self.on_rack_timeout();
        self.snd.nxt = self.snd.una;
        self.arm_retransmit(now);
    }

    fn on_persist_timeout(&mut self, now: Instant) {
        self.probes += 1;
        if self.probes > self.config.data_retries {
            return self.fail(now, ConnError::TimedOut);
        }
        self.persist_backoff = self.persist_backoff.saturating_add(1);
        self.probe_now = true;
    }

    fn rst_segment(&mut self, seq: SeqNum, ack: Option<SeqNum>) -> TcpRepr<'static> {
        self.stats.segments_sent += 1;
        bare_segment(
            (self.local.port(), self.remote.port()),
            seq,
            ack,
            TcpFlags::RST,
        )
    }

    /// Our SYN (active open) or SYN-ACK (passive or simultaneous open), first or again.
    fn syn_segment(&mut self, now: Instant) -> TcpRepr<'static> {
        let retransmit = self.snd.max != self.snd.iss;
        let mut flags = TcpFlags::SYN;
        let mut ack = SeqNum::default();
        if self.state == State::SynReceived {
            flags |= TcpFlags::ACK;
            ack = self.rcv.nxt;
            self.on_ack_sent();
        }
        self.snd.nxt = self.snd.iss + 1;
        self.snd.max = self.snd.max.max(self.snd.nxt);
        self.note_sent(now, retransmit, 0);
        let mss = u16::try_from(super::our_mss(&self.config, self.local)).ok();
        TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: self.snd.iss,
            ack,
            flags,
            // RFC 7323 §2.2: the window of a SYN is never scaled.
            window: self.advertise_window(0),
            urgent: 0,
            options: TcpOptions {
                sack_permitted: self.sack.syn_permitted(flags.ack()),
                ..self.opts.syn_options(now, mss, flags.ack())
            },
            payload: &[],
        }
    }

    /// Data, FIN, a zero-window probe or a pure ACK, in that order of preference.
    fn data_segment(&mut self, now: Instant) -> Option<Outgoing> {
        let plan = self.plan_data(now);
        if plan.is_none() && !self.ack_now {
            return None;
        }
        let mut plan = plan.unwrap_or(Plan {
            seq: self.pure_ack_seq(),
            offset: 0,
            len: 0,
            fin: false,
            probe: false,
            kind: PlanKind::Next,
        });
        let mut options = self.opts.segment_options(now);
        options.sack = self.sack_blocks();
        // The MSS left room for the timestamps only (RFC 6691), so SACK blocks on a data
        // segment come out of its payload, as Linux does: the segment stays within the MTU, and
        // every ACK still reports the blocks (RFC 2018 §4), not only the pure ones.
        let room = self
            .snd_mss
            .saturating_sub(Sack::option_len(&options.sack))
            .max(1);
        if plan.len > room {
            plan.len = room;
            plan.fin = false;
        }
        let mut flags = TcpFlags::ACK;
        if plan.len > 0 && plan.offset + plan.len as u64 == self.send_buf.end() {
            flags |= TcpFlags::PSH;
        }
        if plan.fin {
            flags |= TcpFlags::FIN;
        }
        let seq_len = plan.len as u32 + u32::from(plan.fin);
        let retransmit = seq_len > 0 && plan.seq.lt(self.snd.max);
        if plan.probe {
            // The probe's byte is not counted as sent: SND.NXT stays, but an ACK of it is
            // acceptable.
            self.snd.max = self.snd.max.max(plan.seq + 1);
            self.probe_now = false;
            self.timers
                .set(Timer::Persist, now + self.persist_interval());
        } else if seq_len > 0 {
            self.probe_now = false;
            // A segment cut short by SACK blocks is full-sized for Nagle.
            if plan.len > 0 && plan.len < room {
                self.snd_sml = plan.seq + plan.len as u32;
            }
            match plan.kind {
                PlanKind::Next => {
                    self.snd.nxt = plan.seq + seq_len;
                    self.snd.max = self.snd.max.max(self.snd.nxt);
                }
                PlanKind::Probe => {}
                _ => self.on_recovery_sent(plan.seq + seq_len, plan.kind),
            }
            self.recovery.on_sent(u64::from(seq_len));
            self.note_sent(now, retransmit, plan.len);
            let start = self.snd_mark(plan.seq);
            self.on_rack_sent(now, (start, start + u64::from(seq_len)), retransmit);
        }
        self.on_ack_sent();
        self.stats.segments_sent += u64::from(seq_len == 0 || plan.probe);
        let seg = TcpRepr {
            src_port: self.local.port(),
            dst_port: self.remote.port(),
            seq: plan.seq,
            ack: self.rcv.nxt,
            flags,
            window: self.advertise_window(self.opts.rcv_wscale()),
            urgent: 0,
            options,
            payload: &[],
        };
        Some(Outgoing {
            seg,
            offset: plan.offset,
            len: plan.len,
        })
    }

    /// Decides the next data or FIN segment: in recovery a lost segment first, then new data,
    /// then RFC 6675's rules 3 and 4 (NextSeg()).
    fn plan_data(&mut self, now: Instant) -> Option<Plan> {
        if !matches!(
            self.state,
            State::Established
                | State::CloseWait
                | State::FinWait1
                | State::Closing
                | State::LastAck
        ) {
            return None;
        }
        let cwnd_left = self.cc.window().saturating_sub(self.in_flight()) as usize;
        self.plan_recovery(PlanKind::Lost, cwnd_left)
            .or_else(|| self.plan_next(now, cwnd_left))
            .or_else(|| self.plan_tlp_retransmit())
            .or_else(|| self.plan_recovery(PlanKind::Unsacked, cwnd_left))
            .or_else(|| self.plan_recovery(PlanKind::Rescue, cwnd_left))
    }

    /// The segment from SND.NXT, within both windows (RFC 9293 §3.7.4 Nagle, §3.8.6.2.1 sender
    /// SWS avoidance), or arms the persist timer when a zero window blocks everything.
    fn plan_next(&mut self, now: Instant, cwnd_left: usize) -> Option<Plan> {
        let before_sacked = self.skip_sacked();
        let fin_seq = self.fin_seq();
        if fin_seq.is_some_and(|f| f.lt(self.snd.nxt)) {
            return None; // Everything, FIN included, is sent.
        }
        self.restart_after_idle(now);
        let mut cwnd_left =
            cwnd_left.min(self.cc.window().saturating_sub(self.in_flight()) as usize);
        if self.tlp_probe_now() {
            // RFC 8985 §7.3: the probe may take FlightSize one segment past cwnd.
            cwnd_left = cwnd_left.max(self.snd_mss);
        }
        let seq = self.snd.nxt;
        let offset = self.snd_offset(seq);
        let end = self.send_buf.end();
        let unsent = (end - offset) as usize;
        let in_flight = self.snd.nxt - self.snd.una;
        let rwnd_left = self.snd.wnd.saturating_sub(in_flight) as usize;
        let want = unsent
            .min(rwnd_left)
            .min(cwnd_left)
            .min(self.snd_mss)
            .min(before_sacked.unwrap_or(usize::MAX));
        if cwnd_left < unsent.min(self.snd_mss) && cwnd_left < rwnd_left {
            self.cwnd_limited = true;
        }
        let fin = fin_seq.is_some() && offset + want as u64 == end;
        if want == 0 && !fin {
            return self.plan_probe(now, seq, offset, unsent, in_flight);
        }
        // Nagle in Minshall's form (as Linux): hold a small segment only while an earlier
        // small segment is unacknowledged.
        let nagle_ok = self.nodelay || !self.snd_sml.gt(self.snd.una);
        let send = want == self.snd_mss
            || fin
            || seq.lt(self.snd.max)
            || self.probe_now
            || self.tlp_probe_now()
            || (offset + want as u64 == end && nagle_ok)
            || (want as u32 >= self.snd.max_wnd / 2 && nagle_ok);
        if !send {
            // Held by SWS avoidance with nothing in flight to bring an ACK: the override
            // timeout (the persist timer's slot) sends it later.
            if in_flight == 0 && !self.timers.is_set(Timer::Persist) {
                self.timers
                    .set(Timer::Persist, now + self.persist_interval());
            }
            return None;
        }
        // A wrap of the ring buffer may cut the piece short; the rest follows next call.
        let len = self.send_buf.chunk(offset, want).len();
        Some(Plan {
            seq,
            offset,
            len,
            fin: fin && len == want,
            probe: false,
            kind: PlanKind::Next,
        })
    }

    /// A zero window with data waiting and nothing in flight: probe when the persist timer
    /// says so, otherwise make sure it runs (RFC 9293 §3.8.6.1).
    fn plan_probe(
        &mut self,
        now: Instant,
        seq: SeqNum,
        offset: u64,
        unsent: usize,
        in_flight: u32,
    ) -> Option<Plan> {
        if unsent == 0 || self.snd.wnd > 0 || in_flight > 0 {
            return None;
        }
        if self.probe_now {
            return Some(Plan {
                seq,
                offset,
                len: 1,
                fin: false,
                probe: true,
                kind: PlanKind::Next,
            });
        }
        if !self.timers.is_set(Timer::Persist) {
            self.timers
                .set(Timer::Persist, now + self.persist_interval());
        }
        None
    }

    /// The sequence number of a pure ACK: the highest sent (BSD's `snd_max`), not SND.NXT,
    /// which a timeout moved back to SND.UNA while the peer may already hold everything up to
    /// SND.MAX; an ACK from left of its window would be dropped as unacceptable, news and all.
    /// But never past the peer's right edge (Linux's `tcp_acceptable_seq`), which a zero-window
    /// probe's byte is, and never below SND.NXT.
    fn pure_ack_seq(&self) -> SeqNum {
        let right_edge = self.snd.una + self.snd.wnd;
        self.snd.max.min(right_edge).max(self.snd.nxt)
    }

    fn persist_interval(&self) -> Duration {
        let base = self.rtt.rto();
        base.saturating_mul(1 << self.persist_backoff.min(16))
            .min(PERSIST_MAX)
    }

    /// Bookkeeping for a segment that occupies sequence space (SYN, data, FIN).
    fn note_sent(&mut self, now: Instant, retransmit: bool, len: usize) {
        self.stats.segments_sent += 1;
        self.last_send = Some(now);
        if retransmit {
            self.stats.retransmits += 1;
            // Karn: an ACK may now answer either copy.
            self.rtt_timer.invalidate();
        } else {
            self.stats.bytes_sent += len as u64;
            self.rtt_timer.start(self.snd_mark(self.snd.nxt), now);
        }
        if !self.timers.is_set(Timer::Retransmit) {
            self.arm_retransmit(now);
        }
    }

    /// The SACK blocks of our next ACK, beside the timestamps if in use (RFC 2018 §4).
    fn sack_blocks(&self) -> SackBlocks {
        self.sack
            .blocks(&self.recv_buf, self.opts.option_overhead(), |offset| {
                self.rcv_seq(offset)
            })
    }

    /// Every segment we send carries the ACK: nothing is owed any more.
    fn on_ack_sent(&mut self) {
        self.opts.on_ack_sent(self.rcv.nxt);
        self.sack.on_ack_sent();
        self.ack_now = false;
        self.unacked_full_segments = 0;
        self.timers.stop(Timer::DelayedAck);
    }

    /// The window field: free receive space, but with receiver-side SWS avoidance
    /// (RFC 9293 §3.8.6.2.2): the right edge moves forward only by at least
    /// min(MSS, buffer/2), and never moves back. Scaled, it is right-shifted by `shift`
    /// (RFC 7323 §2.3): a new edge is rounded down, never past the buffer; an edge kept is
    /// rounded up when the buffer has room, so rounding does not move it back (§2.4).
    fn advertise_window(&mut self, shift: u8) -> u16 {
        let edge = self.rcv.nxt + self.window_to_advertise(shift);
        let threshold = self.snd_mss.min(self.recv_buf.capacity() / 2) as u32;
        if self.rcv_adv.lt(self.rcv.nxt)
            || (edge.gt(self.rcv_adv) && edge - self.rcv_adv >= threshold)
        {
            self.rcv_adv = edge;
        }
        let wnd = self.rcv.wnd_remaining(self.rcv_adv);
        let free = u32::try_from(self.recv_buf.window()).unwrap_or(u32::MAX);
        let up = wnd.div_ceil(1 << shift);
        let field = if up << shift <= free {
            up
        } else {
            wnd >> shift
        };
        self.rcv_adv = self.rcv_adv.max(self.rcv.nxt + (field << shift));
        self.rcv.wnd = self.rcv.wnd_remaining(self.rcv_adv);
        u16::try_from(field).unwrap_or(u16::MAX)
    }
}
