//! Tunables of the engine, with defaults close to Linux's.

use core::ops::RangeInclusive;
use core::time::Duration;

use crate::cc::CongestionAlgorithm;

/// Configuration shared by an [`Endpoint`](crate::Endpoint) and its connections.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use fsm::Config;
///
/// let config = Config {
///     msl: Duration::from_secs(1),
///     ..Config::default()
/// };
/// assert_eq!(config.mss, 1460);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The MSS we advertise and the most payload we put in a segment: the MTU minus the IP and
    /// TCP headers (1460 for IPv4 on a 1500-byte MTU). IPv6 connections use 20 bytes less.
    pub mss: u16,
    /// Bytes the send buffer holds at first (written, not yet acknowledged). It grows with the
    /// congestion window up to `send_buffer_max`.
    pub send_buffer: usize,
    /// The most the send buffer grows to (Linux's `tcp_wmem[2]`); at or below `send_buffer`,
    /// the send buffer keeps its size.
    pub send_buffer_max: usize,
    /// Bytes the receive buffer holds at first (received, not yet read), which bounds the
    /// window. It grows with the measured bandwidth-delay product up to `recv_buffer_max`.
    pub recv_buffer: usize,
    /// The most the receive buffer grows to (Linux's `tcp_rmem[2]`); at or below
    /// `recv_buffer`, the receive buffer keeps its size (no autotuning).
    pub recv_buffer_max: usize,
    /// Maximum segment lifetime: TIME-WAIT lasts twice this (RFC 9293 §3.4.2).
    pub msl: Duration,
    /// RTO before any RTT sample (RFC 6298 §2.1).
    pub rto_initial: Duration,
    /// Lower bound of the RTO (RFC 6298 §2.4 says 1 s; Linux and most stacks use 200 ms).
    pub rto_min: Duration,
    /// Upper bound of the RTO after backoff (RFC 6298 §2.5).
    pub rto_max: Duration,
    /// SYN retransmissions before an active open gives up (RFC 9293 §3.8.3 R2 for SYNs).
    pub syn_retries: u32,
    /// SYN-ACK retransmissions before a half-open connection is dropped.
    pub synack_retries: u32,
    /// Retransmissions of data or FIN before the connection times out (R2).
    pub data_retries: u32,
    /// Longest an ACK of in-order data may wait (RFC 9293 §3.8.6.3: under 0.5 s).
    pub delayed_ack: Duration,
    /// Disable Nagle's algorithm on new connections (`TCP_NODELAY`).
    pub nodelay: bool,
    /// Challenge ACKs a connection may send per second (RFC 5961 §7).
    pub challenge_ack_limit: u32,
    /// How long an orphaned connection (closed by the user) may stay in FIN-WAIT-2 waiting for
    /// the peer's FIN, like Linux's `tcp_fin_timeout`.
    pub fin_wait_2_timeout: Duration,
    /// Local ports for active opens (RFC 6056 §2.1 suggests 49152–65535).
    pub ephemeral_ports: RangeInclusive<u16>,
    /// Connections, in any state but the compact TIME-WAIT, the endpoint holds at most.
    pub max_connections: usize,
    /// TTL / hop limit of our packets.
    pub hop_limit: u8,
    /// Offer the Window Scale option (RFC 7323 §2), with the shift the receive buffer needs
    /// (Linux's `tcp_window_scaling`).
    pub window_scaling: bool,
    /// Offer the Timestamps option (RFC 7323 §3): RTT samples from every ACK and PAWS
    /// (Linux's `tcp_timestamps`).
    pub timestamps: bool,
    /// Offer SACK-permitted (RFC 2018 §2): when both SYNs carry it, our ACKs report
    /// out-of-order data in SACK blocks, and duplicates in D-SACK blocks (RFC 2883) (Linux's
    /// `tcp_sack`).
    pub sack: bool,
    /// The congestion controller of new connections (Linux's `tcp_congestion_control`).
    pub congestion_control: CongestionAlgorithm,
    /// Detect losses by time and probe for lost tails, RACK-TLP (RFC 8985), on connections
    /// with SACK (Linux's `tcp_recovery` and `tcp_early_retrans`). Off, loss detection is
    /// RFC 6675's DupThresh alone, and a lost tail waits for the RTO.
    pub rack_tlp: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: 1460,
            send_buffer: 256 * 1024,
            send_buffer_max: 4 * 1024 * 1024,
            recv_buffer: 256 * 1024,
            recv_buffer_max: 4 * 1024 * 1024,
            msl: Duration::from_secs(30),
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(120),
            syn_retries: 6,
            synack_retries: 5,
            data_retries: 15,
            delayed_ack: Duration::from_millis(40),
            nodelay: false,
            challenge_ack_limit: 10,
            fin_wait_2_timeout: Duration::from_secs(60),
            ephemeral_ports: 49152..=65535,
            max_connections: 65536,
            hop_limit: 64,
            window_scaling: true,
            timestamps: true,
            sack: true,
            congestion_control: CongestionAlgorithm::Cubic,
            rack_tlp: true,
        }
    }
}
