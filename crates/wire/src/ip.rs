//! The IP layer under TCP: IPv4 (RFC 791) and IPv6 (RFC 8200) headers, parsed with etherparse's
//! zero-copy header slices.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use etherparse::{
    IpDscp, IpEcn, IpFragOffset, IpNumber, Ipv4Header, Ipv4HeaderSlice, Ipv4Options, Ipv6FlowLabel,
    Ipv6Header, Ipv6HeaderSlice,
};

use crate::checksum::Checksum;
use crate::error::{EmitError, ParseError, Unsupported};

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = 40;

/// The fields of an IP header that TCP uses.
///
/// `src` and `dst` are of the same family; emitting a mixed pair is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpRepr {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4 TTL or IPv6 hop limit.
    pub hop_limit: u8,
}

/// A parsed IP packet: its header fields and a view of the payload it carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPacket<'a> {
    /// The header fields.
    pub ip: IpRepr,
    /// The protocol of the payload (IPv4 protocol, IPv6 next header).
    pub protocol: u8,
    /// The payload, borrowed from the packet.
    pub payload: &'a [u8],
}

impl<'a> IpPacket<'a> {
    /// Parses an IPv4 or IPv6 packet, checking that its length fields agree with the buffer and
    /// that an IPv4 header checksum verifies.
    ///
    /// # Errors
    ///
    /// See [`ParseError`]: truncated headers, a bad version, IHL or length, a bad IPv4 header
    /// checksum, fragments, IPv4 options and IPv6 extension headers.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        match bytes.first().map(|b| b >> 4) {
            None => Err(ParseError::Truncated),
            Some(4) => parse_v4(bytes),
            Some(6) => parse_v6(bytes),
            Some(v) => Err(ParseError::BadVersion(v)),
        }
    }
}

fn parse_v4(bytes: &[u8]) -> Result<IpPacket<'_>, ParseError> {
    use etherparse::err::ipv4::HeaderSliceError;
    let header = Ipv4HeaderSlice::from_slice(bytes).map_err(|e| match e {
        HeaderSliceError::Len(_) => ParseError::Truncated,
        HeaderSliceError::Content(_) => ParseError::BadHeaderLen,
    })?;
    let header_len = header.slice().len();
    let total = usize::from(header.total_len());
    if total < header_len || total != bytes.len() {
        return Err(ParseError::BadLength {
            claimed: total,
            actual: bytes.len(),
        });
    }
    let mut sum = Checksum::new();
    sum.add_bytes(header.slice());
    if !sum.is_valid() {
        return Err(ParseError::BadChecksum);
    }
    if header.more_fragments() || header.fragments_offset().value() != 0 {
        return Err(ParseError::Unsupported(Unsupported::Fragment));
    }
    if header_len != IPV4_HEADER_LEN {
        return Err(ParseError::Unsupported(Unsupported::Ipv4Options));
    }
    Ok(IpPacket {
        ip: IpRepr {
            src: header.source_addr().into(),
            dst: header.destination_addr().into(),
            hop_limit: header.ttl(),
        },
        protocol: header.protocol().0,
        payload: &bytes[header_len..],
    })
}

fn parse_v6(bytes: &[u8]) -> Result<IpPacket<'_>, ParseError> {
    let header = Ipv6HeaderSlice::from_slice(bytes).map_err(|_| ParseError::Truncated)?;
    let payload_len = usize::from(header.payload_length());
    if payload_len == 0 && bytes.len() > IPV6_HEADER_LEN {
        return Err(ParseError::Unsupported(Unsupported::Jumbogram));
    }
    if IPV6_HEADER_LEN + payload_len != bytes.len() {
        return Err(ParseError::BadLength {
            claimed: IPV6_HEADER_LEN + payload_len,
            actual: bytes.len(),
        });
    }
    let next = header.next_header();
    if next == IpNumber::IPV6_FRAGMENTATION_HEADER {
        return Err(ParseError::Unsupported(Unsupported::Fragment));
    }
    if next.is_ipv6_ext_header_value() {
        return Err(ParseError::Unsupported(Unsupported::Ipv6Extension(next.0)));
    }
    Ok(IpPacket {
        ip: IpRepr {
            src: header.source_addr().into(),
            dst: header.destination_addr().into(),
            hop_limit: header.hop_limit(),
        },
        protocol: next.0,
        payload: &bytes[IPV6_HEADER_LEN..],
    })
}

impl IpRepr {
    /// Length of the header [`IpRepr::emit_header`] writes.
    pub fn header_len(&self) -> usize {
        match self.src {
            IpAddr::V4(_) => IPV4_HEADER_LEN,
            IpAddr::V6(_) => IPV6_HEADER_LEN,
        }
    }

    /// Writes the IP header for `payload_len` bytes of `protocol` into the front of `buf`, with
    /// the IPv4 header checksum filled and Don't Fragment set. Returns the header length.
    ///
    /// # Errors
    ///
    /// [`EmitError::FamilyMismatch`] for an IPv4/IPv6 mix, [`EmitError::TooLong`] when the
    /// length field cannot hold the packet, [`EmitError::BufferTooSmall`] when `buf` is shorter
    /// than the header.
    pub fn emit_header(
        &self,
        protocol: u8,
        payload_len: usize,
        buf: &mut [u8],
    ) -> Result<usize, EmitError> {
        match (self.src, self.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => {
                self.emit_v4(src, dst, protocol, payload_len, buf)
            }
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                self.emit_v6(src, dst, protocol, payload_len, buf)
            }
            _ => Err(EmitError::FamilyMismatch),
        }
    }

    fn emit_v4(
        &self,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: u8,
        payload_len: usize,
        buf: &mut [u8],
    ) -> Result<usize, EmitError> {
        let total_len =
            u16::try_from(IPV4_HEADER_LEN + payload_len).map_err(|_| EmitError::TooLong)?;
        let out = buf
            .get_mut(..IPV4_HEADER_LEN)
            .ok_or(EmitError::BufferTooSmall(IPV4_HEADER_LEN))?;
        let mut header = Ipv4Header {
            dscp: IpDscp::ZERO,
            ecn: IpEcn::NotEct,
            total_len,
            // RFC 6864 §4.1: an atomic datagram (DF set, not fragmented) may carry any ID.
            identification: 0,
            dont_fragment: true,
            more_fragments: false,
            fragment_offset: IpFragOffset::ZERO,
            time_to_live: self.hop_limit,
            protocol: IpNumber(protocol),
            header_checksum: 0,
            source: src.octets(),
            destination: dst.octets(),
            options: Ipv4Options::new(),
        };
        header.header_checksum = header.calc_header_checksum();
        out.copy_from_slice(&header.to_bytes());
        Ok(IPV4_HEADER_LEN)
    }

    fn emit_v6(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        protocol: u8,
        payload_len: usize,
        buf: &mut [u8],
    ) -> Result<usize, EmitError> {
        let payload_length = u16::try_from(payload_len).map_err(|_| EmitError::TooLong)?;
        let out = buf
            .get_mut(..IPV6_HEADER_LEN)
            .ok_or(EmitError::BufferTooSmall(IPV6_HEADER_LEN))?;
        let header = Ipv6Header {
            traffic_class: 0,
            flow_label: Ipv6FlowLabel::ZERO,
            payload_length,
            next_header: IpNumber(protocol),
            hop_limit: self.hop_limit,
            source: src.octets(),
            destination: dst.octets(),
        };
        out.copy_from_slice(&header.to_bytes());
        Ok(IPV6_HEADER_LEN)
    }
}
