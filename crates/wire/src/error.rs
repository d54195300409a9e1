//! Why a packet could not be parsed or emitted.

use core::fmt;

/// Why bytes from the network are not a TCP segment we accept.
///
/// Parsing never panics: every malformed input maps to one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The buffer ends before a header does.
    Truncated,
    /// The IP version nibble is neither 4 nor 6.
    BadVersion(u8),
    /// The IPv4 IHL or the TCP data offset is below the minimum or past the end of the packet.
    BadHeaderLen,
    /// The IP header's length field disagrees with the size of the buffer.
    BadLength {
        /// Bytes the IP header says the packet has.
        claimed: usize,
        /// Bytes the buffer holds.
        actual: usize,
    },
    /// The IPv4 header checksum or the TCP checksum does not verify.
    BadChecksum,
    /// The TCP option list is malformed: a length byte missing, below 2, past the header, or
    /// wrong for a known option kind.
    BadOptions,
    /// Valid IP that this stack does not handle.
    Unsupported(Unsupported),
    /// A well-formed IP packet carrying another protocol (its IP protocol number), for the
    /// driver to answer (ICMP echo) or ignore.
    NotTcp(u8),
}

/// Valid IP features this stack does not implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsupported {
    /// An IPv4 fragment or an IPv6 fragment header: the stack does not reassemble.
    Fragment,
    /// An IPv4 header with options (IHL above 5).
    Ipv4Options,
    /// An IPv6 extension header before the transport header.
    Ipv6Extension(u8),
    /// An IPv6 jumbogram (payload length zero).
    Jumbogram,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated => f.write_str("packet truncated inside a header"),
            ParseError::BadVersion(v) => write!(f, "IP version {v} is neither 4 nor 6"),
            ParseError::BadHeaderLen => f.write_str("header length field out of range"),
            ParseError::BadLength { claimed, actual } => {
                write!(
                    f,
                    "IP length says {claimed} bytes but the packet has {actual}"
                )
            }
            ParseError::BadChecksum => f.write_str("checksum does not verify"),
            ParseError::BadOptions => f.write_str("malformed TCP option list"),
            ParseError::Unsupported(u) => write!(f, "unsupported: {u}"),
            ParseError::NotTcp(p) => write!(f, "IP protocol {p} is not TCP"),
        }
    }
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsupported::Fragment => f.write_str("IP fragment"),
            Unsupported::Ipv4Options => f.write_str("IPv4 options"),
            Unsupported::Ipv6Extension(n) => write!(f, "IPv6 extension header {n}"),
            Unsupported::Jumbogram => f.write_str("IPv6 jumbogram"),
        }
    }
}

impl core::error::Error for ParseError {}

/// Why a segment could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmitError {
    /// The caller's buffer is smaller than the packet (which needs this many bytes).
    BufferTooSmall(usize),
    /// The options take more than the 40 bytes a TCP header has room for.
    OptionsTooLong,
    /// The packet is longer than the IP length field can express.
    TooLong,
    /// Source and destination addresses are of different IP families.
    FamilyMismatch,
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooSmall(n) => {
                write!(f, "buffer too small: the packet needs {n} bytes")
            }
            EmitError::OptionsTooLong => f.write_str("TCP options exceed 40 bytes"),
            EmitError::TooLong => f.write_str("packet longer than the IP length field allows"),
            EmitError::FamilyMismatch => {
                f.write_str("source and destination of different IP families")
            }
        }
    }
}

impl core::error::Error for EmitError {}
