//! The TCP header (RFC 9293 §3.1) as a [`TcpRepr`]: its fields, options and a borrowed payload.

use etherparse::TcpHeaderSlice;

use crate::checksum::Checksum;
use crate::error::{EmitError, ParseError};
use crate::flags::TcpFlags;
use crate::ip::{IpRepr, PROTO_TCP};
use crate::options::TcpOptions;
use crate::seq::SeqNum;

/// Length of a TCP header without options.
pub const TCP_HEADER_LEN: usize = 20;

/// A TCP segment: every header field, the options, and the payload borrowed from the packet
/// (or, when emitting, from the sender's buffer).
///
/// The checksum and data offset are not fields: parsing verifies them and emitting computes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first octet (of the SYN, when SYN is set).
    pub seq: SeqNum,
    /// Acknowledgment number; meaningful only when the ACK flag is set.
    pub ack: SeqNum,
    /// Control bits.
    pub flags: TcpFlags,
    /// The window field as carried (not yet scaled).
    pub window: u16,
    /// Urgent pointer; meaningful only when URG is set.
    pub urgent: u16,
    /// Options.
    pub options: TcpOptions,
    /// Data.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parses a TCP segment carried by `ip`, verifying its checksum over the pseudo-header.
    ///
    /// # Errors
    ///
    /// [`ParseError::Truncated`] for fewer than 20 bytes, [`ParseError::BadHeaderLen`] for a
    /// data offset below 5 or past the end, [`ParseError::BadOptions`] for a malformed option
    /// list, [`ParseError::BadChecksum`] when the segment does not sum to all ones.
    pub fn parse(ip: &IpRepr, segment: &'a [u8]) -> Result<Self, ParseError> {
        if segment.len() < TCP_HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let header = TcpHeaderSlice::from_slice(segment).map_err(|_| ParseError::BadHeaderLen)?;
        let mut sum = Checksum::new();
        sum.add_pseudo_header(ip.src, ip.dst, PROTO_TCP, segment.len() as u32);
        sum.add_bytes(segment);
        if !sum.is_valid() {
            return Err(ParseError::BadChecksum);
        }
        let header_len = header.slice().len();
        Ok(TcpRepr {
            src_port: header.source_port(),
            dst_port: header.destination_port(),
            seq: SeqNum::new(header.sequence_number()),
            ack: SeqNum::new(header.acknowledgment_number()),
            flags: TcpFlags::from_bits(segment[13]),
            window: header.window_size(),
            urgent: header.urgent_pointer(),
            options: TcpOptions::parse(&segment[TCP_HEADER_LEN..header_len])?,
            payload: &segment[header_len..],
        })
    }

    /// Length of the header with options.
    pub fn header_len(&self) -> usize {
        TCP_HEADER_LEN + self.options.buffer_len()
    }

    /// Length of header, options and payload.
    pub fn segment_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Sequence space the segment occupies (SEG.LEN, RFC 9293 §3.4): payload plus one each for
    /// SYN and FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn()) + u32::from(self.flags.fin())
    }

    /// Writes the segment (header, options, payload) into the front of `buf`, computing the
    /// checksum over `ip`'s pseudo-header. Returns the length written.
    ///
    /// # Errors
    ///
    /// [`EmitError::OptionsTooLong`] and [`EmitError::BufferTooSmall`].
    pub fn emit(&self, ip: &IpRepr, buf: &mut [u8]) -> Result<usize, EmitError> {
        let options_len = self.options.buffer_len();
        let header_len = TCP_HEADER_LEN + options_len;
        let total = header_len + self.payload.len();
        let out = buf
            .get_mut(..total)
            .ok_or(EmitError::BufferTooSmall(total))?;
        self.options.emit(&mut out[TCP_HEADER_LEN..header_len])?;
        out[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        out[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        out[4..8].copy_from_slice(&self.seq.get().to_be_bytes());
        out[8..12].copy_from_slice(&self.ack.get().to_be_bytes());
        out[12] = ((header_len / 4) as u8) << 4;
        out[13] = self.flags.bits();
        out[14..16].copy_from_slice(&self.window.to_be_bytes());
        out[16..18].fill(0);
        out[18..20].copy_from_slice(&self.urgent.to_be_bytes());
        out[header_len..].copy_from_slice(self.payload);
        let mut sum = Checksum::new();
        sum.add_pseudo_header(ip.src, ip.dst, PROTO_TCP, total as u32);
        sum.add_bytes(out);
        out[16..18].copy_from_slice(&sum.finish().to_be_bytes());
        Ok(total)
    }
}
