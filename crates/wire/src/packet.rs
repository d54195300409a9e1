//! A whole IP packet carrying TCP: parse from bytes, emit into a caller's buffer.

use crate::error::{EmitError, ParseError};
use crate::ip::{IpPacket, IpRepr, PROTO_TCP};
use crate::tcp::TcpRepr;

/// An IP packet carrying a TCP segment.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use wire::{IpRepr, Packet, SeqNum, TcpFlags, TcpOptions, TcpRepr};
///
/// let packet = Packet {
///     ip: IpRepr {
///         src: Ipv4Addr::new(10, 0, 0, 1).into(),
///         dst: Ipv4Addr::new(10, 0, 0, 2).into(),
///         hop_limit: 64,
///     },
///     tcp: TcpRepr {
///         src_port: 40000,
///         dst_port: 80,
///         seq: SeqNum::new(1000),
///         ack: SeqNum::new(0),
///         flags: TcpFlags::SYN,
///         window: 65535,
///         urgent: 0,
///         options: TcpOptions { mss: Some(1460), ..TcpOptions::default() },
///         payload: &[],
///     },
/// };
/// let mut buf = [0u8; 1500];
/// let len = packet.emit(&mut buf).unwrap();
/// assert_eq!(len, 20 + 24);
/// assert_eq!(Packet::parse(&buf[..len]), Ok(packet));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The IP header fields.
    pub ip: IpRepr,
    /// The TCP segment, its payload borrowed from the packet.
    pub tcp: TcpRepr<'a>,
}

impl<'a> Packet<'a> {
    /// Parses and verifies an IP packet carrying TCP.
    ///
    /// # Errors
    ///
    /// Every [`ParseError`]; [`ParseError::NotTcp`] for a valid IP packet of another protocol
    /// (use [`IpPacket::parse`] to see it).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, ParseError> {
        let packet = IpPacket::parse(bytes)?;
        if packet.protocol != PROTO_TCP {
            return Err(ParseError::NotTcp(packet.protocol));
        }
        Ok(Packet {
            ip: packet.ip,
            tcp: TcpRepr::parse(&packet.ip, packet.payload)?,
        })
    }

    /// Bytes [`Packet::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        self.ip.header_len() + self.tcp.segment_len()
    }

    /// Writes the IP header and the TCP segment, both checksums filled, into the front of `buf`
    /// without allocating. Returns the packet's length.
    ///
    /// # Errors
    ///
    /// [`EmitError::BufferTooSmall`] (with the length needed), [`EmitError::OptionsTooLong`],
    /// [`EmitError::TooLong`] and [`EmitError::FamilyMismatch`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        let buf = buf.get_mut(..len).ok_or(EmitError::BufferTooSmall(len))?;
        let ip_len = self
            .ip
            .emit_header(PROTO_TCP, self.tcp.segment_len(), buf)?;
        self.tcp.emit(&self.ip, &mut buf[ip_len..])?;
        Ok(len)
    }
}
