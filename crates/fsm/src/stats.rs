//! Per-connection counters, read with `Connection::stats`.

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
    /// Segments sent again (data, SYN or FIN) after a timeout.
    pub retransmits: u64,
    /// Retransmission timeouts.
    pub timeouts: u64,
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
