//! Wire formats for a userspace TCP stack: IPv4 and IPv6 headers, the TCP header and its
//! options, the Internet checksum and 32-bit sequence numbers.
//!
//! # Views and representations
//!
//! Parsing turns bytes into a *representation*: a plain struct of header fields
//! ([`IpRepr`], [`TcpRepr`]) whose payload is a slice borrowed from the packet, so nothing is
//! copied. Emitting goes the other way, writing a representation into a caller's buffer with
//! both checksums filled, without allocating. `parse(emit(r)) == r` for every valid `r`.
//!
//! Parsing checks everything a receiver must before trusting a field (RFC 9293 §3.10.7 assumes
//! it): header lengths, length fields against the buffer, the IPv4 header checksum and the TCP
//! checksum over the pseudo-header. Every failure is a [`ParseError`]; no input panics.
//! A valid packet of another protocol is [`ParseError::NotTcp`], so a driver can answer ICMP echo
//! through [`IpPacket::parse`].
//!
//! # Examples
//!
//! ```
//! use wire::{Packet, ParseError};
//!
//! // A SYN from Linux (10.9.0.1:49948 → 10.9.0.2:8080), captured on a veth.
//! let syn = [
//!     0x45, 0x00, 0x00, 0x3c, 0xfe, 0x92, 0x40, 0x00, 0x40, 0x06, 0x28, 0x15, 0x0a, 0x09, 0x00,
//!     0x01, 0x0a, 0x09, 0x00, 0x02, 0xc3, 0x1c, 0x1f, 0x90, 0x22, 0x76, 0xde, 0x54, 0x00, 0x00,
//!     0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0, 0xe9, 0xf9, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04,
//!     0x02, 0x08, 0x0a, 0x5e, 0x27, 0x0d, 0x5f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
//! ];
//! let packet = Packet::parse(&syn)?;
//! assert_eq!(packet.tcp.dst_port, 8080);
//! assert!(packet.tcp.flags.syn());
//! assert_eq!(packet.tcp.options.mss, Some(1460));
//!
//! let mut corrupted = syn;
//! corrupted[30] ^= 1;
//! assert_eq!(Packet::parse(&corrupted), Err(ParseError::BadChecksum));
//! # Ok::<(), ParseError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod checksum;
mod error;
mod flags;
mod ip;
mod options;
mod packet;
mod seq;
mod tcp;

pub use crate::checksum::{Checksum, checksum_update};
pub use crate::error::{EmitError, ParseError, Unsupported};
pub use crate::flags::TcpFlags;
pub use crate::ip::{
    IPV4_HEADER_LEN, IPV6_HEADER_LEN, IpPacket, IpRepr, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP,
};
pub use crate::options::{
    MAX_OPTIONS_LEN, MAX_SACK_BLOCKS, SackBlock, SackBlocks, TcpOptions, Timestamps,
};
pub use crate::packet::Packet;
pub use crate::seq::SeqNum;
pub use crate::tcp::{TCP_HEADER_LEN, TcpRepr};
