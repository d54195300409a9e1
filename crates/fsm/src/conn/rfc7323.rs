//! RFC 7323 for one connection: window scaling (§2) and timestamps, with RTT samples (§4) and
//! PAWS (§5). Both options count only when both SYNs carried them.

use core::time::Duration;

use wire::{SeqNum, TcpOptions, TcpRepr, Timestamps};

use crate::config::Config;
use crate::time::Instant;

/// RFC 7323 §2.3: the largest shift; a larger one is used as 14.
pub(super) const MAX_WSCALE: u8 = 14;
/// RFC 7323 §5.5: after this long without an update TS.Recent is no longer valid.
const TS_RECENT_LIFETIME: Duration = Duration::from_secs(24 * 24 * 60 * 60);
/// Bytes the Timestamps option takes in every segment, with the two NOPs that align it
/// (RFC 7323 appendix A).
const TS_OPTION_LEN: usize = 12;

/// What the timestamp rules of RFC 7323 say about an arriving segment, before the sequence
/// check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TsCheck {
    /// Go on.
    Pass,
    /// §3.2: no TSopt although both SYNs had it: drop silently.
    Missing,
    /// §5.3 R1 (PAWS): SEG.TSval < TS.Recent: drop and acknowledge.
    Old,
}

/// TS.Recent (§4.3) and when it was last set (§5.5).
#[derive(Clone, Copy, Debug)]
struct TsRecent {
    value: u32,
    at: Instant,
}

/// The RFC 7323 state of a connection.
#[derive(Clone, Debug)]
pub(super) struct Rfc7323 {
    /// The shift we offer in our SYN (§2.2), if we offer one.
    offer_wscale: Option<u8>,
    /// We offer timestamps in our SYN.
    offer_ts: bool,
    /// Both SYNs carried WSopt (§2.2).
    ws_agreed: bool,
    /// Snd.Wind.Shift and Rcv.Wind.Shift, zero unless both SYNs carried WSopt.
    snd_wscale: u8,
    rcv_wscale: u8,
    /// Offset of our timestamp clock (§7.1), so TSval does not reveal uptime.
    ts_offset: u32,
    /// Timestamps are in use (both SYNs carried TSopt), with TS.Recent.
    ts_recent: Option<TsRecent>,
    /// Last.ACK.sent (§4.3): the ACK field of the last segment we sent.
    last_ack_sent: SeqNum,
}

impl Rfc7323 {
    pub(super) fn new(config: &Config, ts_offset: u32) -> Self {
        Self {
            // The shift is fixed by the SYN, so it must cover the largest buffer autotuning may
            // grow to (§2.3), as Linux sizes it for tcp_rmem[2].
            offer_wscale: config
                .window_scaling
                .then(|| wscale_for(config.recv_buffer.max(config.recv_buffer_max))),
            offer_ts: config.timestamps,
            ws_agreed: false,
            snd_wscale: 0,
            rcv_wscale: 0,
            ts_offset,
            ts_recent: None,
            last_ack_sent: SeqNum::new(0),
        }
    }

    /// The peer's SYN or SYN-ACK: each option is in effect when both SYNs carry it (§2.2,
    /// §3.2). We offer ours in every SYN and answer a SYN in kind, so the peer's SYN decides.
    pub(super) fn on_peer_syn(&mut self, now: Instant, syn: &TcpRepr<'_>) {
        if let (Some(ours), Some(theirs)) = (self.offer_wscale, syn.options.window_scale) {
            self.ws_agreed = true;
            self.rcv_wscale = ours;
            // §2.3: a shift above 14 is used as 14.
            self.snd_wscale = theirs.min(MAX_WSCALE);
        }
        if let (true, Some(ts)) = (self.offer_ts, syn.options.timestamps) {
            // §4.3: TS.Recent starts from the SYN's TSval.
            self.ts_recent = Some(TsRecent {
                value: ts.tsval,
                at: now,
            });
        }
    }

    /// (Snd.Wind.Shift, Rcv.Wind.Shift) once both SYNs carried WSopt.
    pub(super) fn window_scale(&self) -> Option<(u8, u8)> {
        self.ws_agreed.then_some((self.snd_wscale, self.rcv_wscale))
    }

    /// Both SYNs carried TSopt.
    pub(super) fn timestamps(&self) -> bool {
        self.ts_recent.is_some()
    }

    /// Snd.Wind.Shift: how far SEG.WND of a non-SYN segment from the peer is shifted left.
    pub(super) fn snd_wscale(&self) -> u8 {
        self.snd_wscale
    }

    /// Rcv.Wind.Shift: how far our window is shifted right in non-SYN segments.
    pub(super) fn rcv_wscale(&self) -> u8 {
        self.rcv_wscale
    }

    /// Bytes of options in every data segment, which the payload gives up (RFC 6691).
    pub(super) fn option_overhead(&self) -> usize {
        if self.ts_recent.is_some() {
            TS_OPTION_LEN
        } else {
            0
        }
    }

    fn ts_val(&self, now: Instant) -> u32 {
        ts_clock(now, self.ts_offset)
    }

    /// What a reply on the connection's behalf needs to carry timestamps: the clock's offset
    /// and TS.Recent to echo, when timestamps are in use.
    pub(super) fn ts_echo(&self) -> Option<(u32, u32)> {
        self.ts_recent.map(|recent| (self.ts_offset, recent.value))
    }

    /// Options of our SYN (offering) or SYN-ACK (answering what the peer's SYN offered,
    /// §2.2 and §3.2).
    pub(super) fn syn_options(&self, now: Instant, mss: Option<u16>, syn_ack: bool) -> TcpOptions {
        let (window_scale, timestamps) = if syn_ack {
            let ws = self.ws_agreed.then_some(self.rcv_wscale);
            (ws, self.ts_recent.map(|r| r.value))
        } else {
            (self.offer_wscale, self.offer_ts.then_some(0))
        };
        TcpOptions {
            mss,
            window_scale,
            timestamps: timestamps.map(|tsecr| Timestamps {
                tsval: self.ts_val(now),
                tsecr,
            }),
            ..TcpOptions::default()
        }
    }

    /// Options of a non-SYN, non-RST segment: TSopt in every one once negotiated (§3.2).
    pub(super) fn segment_options(&self, now: Instant) -> TcpOptions {
        TcpOptions {
            timestamps: self.ts_recent.map(|recent| Timestamps {
                tsval: self.ts_val(now),
                tsecr: recent.value,
            }),
            ..TcpOptions::default()
        }
    }

    /// §3.2 and §5.3 R1, for a segment in a synchronized state (or SYN-RECEIVED).
    pub(super) fn check(&self, now: Instant, seg: &TcpRepr<'_>) -> TsCheck {
        // §3.2: a RST is processed whether or not it has TSopt; §5.3 R1 exempts it from PAWS.
        let Some(recent) = self.ts_recent.filter(|_| !seg.flags.rst()) else {
            return TsCheck::Pass;
        };
        match seg.options.timestamps {
            None => TsCheck::Missing,
            // §5.5: a TS.Recent idle for 24 days is no longer valid.
            Some(ts) if ts_lt(ts.tsval, recent.value) && now - recent.at <= TS_RECENT_LIFETIME => {
                TsCheck::Old
            }
            Some(_) => TsCheck::Pass,
        }
    }

    /// §4.3 (and §5.3 R3): an acceptable segment at or before Last.ACK.sent with a TSval not
    /// older than TS.Recent becomes TS.Recent.
    pub(super) fn on_acceptable(&mut self, now: Instant, seg: &TcpRepr<'_>) {
        let (Some(recent), Some(ts)) = (self.ts_recent.as_mut(), seg.options.timestamps) else {
            return;
        };
        let expired = now - recent.at > TS_RECENT_LIFETIME;
        if seg.seq.le(self.last_ack_sent) && (!ts_lt(ts.tsval, recent.value) || expired) {
            *recent = TsRecent {
                value: ts.tsval,
                at: now,
            };
        }
    }

    /// Every segment we send acknowledges `ack` (Last.ACK.sent, §4.3).
    pub(super) fn on_ack_sent(&mut self, ack: SeqNum) {
        self.last_ack_sent = ack;
    }

    /// §4.1 with RFC 6298: an ACK of new data gives a sample, our clock minus its TSecr. The
    /// echo names the segment that triggered the ACK, so retransmissions are no ambiguity
    /// (Karn's rule is not needed). A zero TSecr is not an echo (Linux ignores it too).
    pub(super) fn rtt_sample(&self, now: Instant, seg: &TcpRepr<'_>) -> Option<Duration> {
        self.ts_recent?;
        let tsecr = seg.options.timestamps?.tsecr;
        let rtt = self.ts_val(now).wrapping_sub(tsecr);
        // An echo from the future (or from before the wrap) is no sample.
        (tsecr != 0 && rtt < 1 << 31).then(|| Duration::from_millis(u64::from(rtt)))
    }
}

/// Our timestamp clock: milliseconds (§5.4 allows 1 ms to 1 s a tick) from a per-connection
/// offset.
pub(crate) fn ts_clock(now: Instant, offset: u32) -> u32 {
    // Truncation wraps the clock modulo 2^32, as §5.2 expects.
    ((now.as_micros() / 1000) as u32).wrapping_add(offset)
}

/// §5.2: timestamps compare modulo 2^32, as sequence numbers do.
fn ts_lt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// §2.3: the smallest shift at which the 16-bit field covers the receive buffer, at most 14.
fn wscale_for(recv_buffer: usize) -> u8 {
    (0..MAX_WSCALE)
        .find(|&shift| recv_buffer <= usize::from(u16::MAX) << shift)
        .unwrap_or(MAX_WSCALE)
}
