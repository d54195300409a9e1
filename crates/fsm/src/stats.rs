//! Per-connection counters, read with `Connection::stats`, and the snapshot of a connection
//! `Connection::info` gives, like Linux's `tcp_info` (what `ss -ti` prints).

use core::time::Duration;

use crate::cc::CongestionAlgorithm;
use crate::state::State;

/// Counters of one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments sent (all kinds).
    pub segments_sent: u64,
    /// Segments received and passed the sequence check.
    pub segments_received: u64,
    /// Data bytes sent for the first time.
    pub bytes_sent: u64,
    /// Data bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Data bytes received in order.
    pub bytes_received: u64,
    /// Segments sent again (data, SYN or FIN), after a timeout or in loss recovery.
    pub retransmits: u64,
    /// Loss recovery episodes entered by fast retransmit or SACK loss detection (RFC 6675,
    /// RFC 6582), not counting timeouts.
    pub fast_recoveries: u64,
    /// SACK blocks received from the peer (RFC 2018), D-SACK blocks included.
    pub sack_blocks_received: u64,
    /// D-SACK blocks received: the peer got data twice (RFC 2883).
    pub dsacks_received: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
    /// Tail loss probes sent (RFC 8985 §7).
    pub tlp_probes: u64,
    /// Segments RACK declared lost by time (RFC 8985 §6.3).
    pub rack_losses: u64,
    /// Segments that failed the acceptability test of RFC 9293 §3.10.7.4.
    pub unacceptable: u64,
    /// Challenge ACKs sent (RFC 5961).
    pub challenge_acks: u64,
    /// Duplicate data received.
    pub duplicates: u64,
    /// Segments dropped by PAWS or for lacking the negotiated Timestamps option (RFC 7323 §5,
    /// §3.2).
    pub paws_drops: u64,
}

/// A snapshot of one connection, like Linux's `tcp_info` (what `ss -ti` prints).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Info {
    /// The RFC 9293 state.
    pub state: State,
    /// The effective send MSS.
    pub mss: usize,
    /// Smoothed round-trip time (RFC 6298 SRTT), once measured.
    pub srtt: Option<Duration>,
    /// Round-trip time variation (RFC 6298 RTTVAR).
    pub rttvar: Duration,
    /// The current retransmission timeout, backoff included.
    pub rto: Duration,
    /// The congestion controller.
    pub congestion_control: CongestionAlgorithm,
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow start threshold, bytes; `None` before the first congestion event.
    pub ssthresh: Option<u32>,
    /// In loss recovery (fast recovery, RFC 6675 / RFC 6582).
    pub in_recovery: bool,
    /// Bytes the sender counts as in the network (RFC 6675 pipe during recovery, SND.NXT −
    /// SND.UNA otherwise).
    pub bytes_in_flight: u32,
    /// The peer's receive window (SND.WND).
    pub snd_wnd: u32,
    /// The window we advertised last (RCV.WND).
    pub rcv_wnd: u32,
    /// Current size of the send buffer (it grows with the congestion window).
    pub send_buffer: usize,
    /// Current size of the receive buffer (it grows with the measured bandwidth-delay
    /// product).
    pub recv_buffer: usize,
    /// Bytes per second acknowledged over the last round trip, once measured.
    pub delivery_rate: Option<u64>,
    /// Counters.
    pub stats: Stats,
}
