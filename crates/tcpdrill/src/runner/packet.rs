//! Packets between the script and the stack: building an inbound packet's bytes, decoding an
//! outbound packet into the script's numbers, comparing it with the script's line field by
//! field (packetdrill's `verify_tcp` order), and printing both in script syntax.

use core::fmt::Write as _;

use wire::{IpRepr, Packet, SeqNum, TcpFlags, TcpRepr};

use super::flow::Flow;
use crate::script::{Direction, PacketSpec, TcpOpt};

const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WSCALE: u8 = 3;
const KIND_SACK_OK: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TS: u8 = 8;

/// The bytes of the script's inbound packet `p` on `flow`, in live numbers.
pub(super) fn inbound_bytes(flow: &Flow, p: &PacketSpec) -> Result<Vec<u8>, String> {
    let (Some(local), Some(remote)) = (flow.local, flow.remote) else {
        return Err(
            "the connection's ports are not known yet: expect the stack's SYN first".into(),
        );
    };
    let payload = vec![0; usize::from(p.len)];
    let packet = Packet {
        ip: IpRepr {
            src: remote.ip(),
            dst: local.ip(),
            hop_limit: 64,
        },
        tcp: TcpRepr {
            src_port: remote.port(),
            dst_port: local.port(),
            seq: SeqNum::new(flow.inbound_seq(p)),
            ack: SeqNum::new(flow.inbound_ack(p)),
            flags: p.flags,
            window: p.window.unwrap_or(0),
            urgent: 0,
            options: flow.inbound_options(p)?,
            payload: &payload,
        },
    };
    let mut buf = vec![0; packet.buffer_len()];
    let len = packet.emit(&mut buf).map_err(|e| e.to_string())?;
    buf.truncate(len);
    Ok(buf)
}

/// One option as it appeared on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct RawOpt {
    kind: u8,
    data: Vec<u8>,
}

/// An outbound packet in the script's numbers.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    pub(super) flags: TcpFlags,
    pub(super) seq: u32,
    pub(super) ack: u32,
    window: u16,
    urgent: u16,
    /// The options in wire order, SACK blocks already in the script's numbers.
    options: Vec<RawOpt>,
    payload_len: usize,
    payload_is_zeros: bool,
}

/// The option bytes of an IP packet carrying TCP (already parsed successfully).
fn option_bytes(bytes: &[u8]) -> &[u8] {
    let ip_len = match bytes.first().map(|b| b >> 4) {
        Some(4) => usize::from(bytes[0] & 0x0f) * 4,
        _ => wire::IPV6_HEADER_LEN,
    };
    let tcp = bytes.get(ip_len..).unwrap_or_default();
    let header_len = tcp.get(12).map_or(0, |b| usize::from(b >> 4) * 4);
    tcp.get(wire::TCP_HEADER_LEN..header_len)
        .unwrap_or_default()
}

/// The options of `bytes` in wire order (EOL and NOP are one byte each).
fn raw_options(mut bytes: &[u8]) -> Vec<RawOpt> {
    let mut out = Vec::new();
    while let Some(&kind) = bytes.first() {
        let len = match kind {
            KIND_EOL | KIND_NOP => 1,
            _ => bytes
                .get(1)
                .map_or(bytes.len(), |&l| usize::from(l).clamp(2, bytes.len())),
        };
        out.push(RawOpt {
            kind,
            data: bytes.get(2.min(len)..len).unwrap_or_default().to_vec(),
        });
        bytes = &bytes[len..];
    }
    out
}

impl Seen {
    /// Decodes a packet the stack sent on `flow` (whose addresses it matched), learning the
    /// stack's TS values for the script's.
    pub(super) fn decode(
        flow: &mut Flow,
        packet: &Packet<'_>,
        bytes: &[u8],
        expected: &PacketSpec,
    ) -> Self {
        let tcp = &packet.tcp;
        let ack_offset = flow.outbound_ack_offset(tcp.flags);
        let mut options = raw_options(option_bytes(bytes));
        for option in &mut options {
            if option.kind == KIND_SACK {
                for edge in option.data.chunks_exact_mut(4) {
                    let live = u32::from_be_bytes([edge[0], edge[1], edge[2], edge[3]]);
                    edge.copy_from_slice(&live.wrapping_sub(ack_offset).to_be_bytes());
                }
            }
        }
        let script_ts = expected.options.iter().flatten().find_map(|o| match o {
            TcpOpt::Timestamp { val, .. } => Some(*val),
            _ => None,
        });
        if let (Some(script), Some(live)) = (script_ts, tcp.options.timestamps) {
            flow.note_ts_val(script, live.tsval);
        }
        Seen {
            flags: tcp.flags,
            seq: flow.outbound_seq(tcp.flags, tcp.seq.get()),
            ack: flow.outbound_ack(tcp.flags, tcp.ack.get()),
            window: tcp.window,
            urgent: tcp.urgent,
            options,
            payload_len: tcp.payload.len(),
            payload_is_zeros: tcp.payload.iter().all(|&b| b == 0),
        }
    }

    /// The first difference from the script's packet, described; `None` when it matches.
    pub(super) fn mismatch(&self, p: &PacketSpec) -> Option<String> {
        let field =
            |name: &str, expected: &dyn core::fmt::Display, actual: &dyn core::fmt::Display| {
                Some(format!("{name}: expected {expected}, actual {actual}"))
            };
        if self.payload_len != usize::from(p.len) {
            return field("payload bytes", &p.len, &self.payload_len);
        }
        if self.flags != p.flags {
            return field("flags", &flags(p.flags), &flags(self.flags));
        }
        if self.seq != p.seq {
            return field("seq", &p.seq, &self.seq);
        }
        if self.ack != p.ack {
            return field("ack", &p.ack, &self.ack);
        }
        if let Some(window) = p.window.filter(|&w| w != self.window) {
            return field("win", &window, &self.window);
        }
        if self.urgent != 0 {
            return field("urgent pointer", &0, &self.urgent);
        }
        if let Some(options) = &p.options {
            let expected: Vec<RawOpt> = options.iter().map(raw_from_script).collect();
            let same_kinds = expected.len() == self.options.len()
                && expected
                    .iter()
                    .zip(&self.options)
                    .all(|(e, a)| e.kind == a.kind && (e.kind == KIND_TS || e.data == a.data));
            if !same_kinds {
                let listed = |o: &[RawOpt]| format!("<{}>", list_options(o));
                return field("options", &listed(&expected), &listed(&self.options));
            }
        }
        if !self.payload_is_zeros {
            return Some("payload: expected zeros (what the script writes)".into());
        }
        None
    }

    /// The packet in script syntax, at script time `at` (µs).
    pub(super) fn describe(&self, at: u64) -> String {
        let mut out = format!(
            "{} > {} {}:{}({})",
            seconds(at),
            flags(self.flags),
            self.seq,
            self.seq.wrapping_add(self.payload_len as u32),
            self.payload_len
        );
        if self.flags.ack() {
            let _ = write!(out, " ack {}", self.ack);
        }
        let _ = write!(out, " win {}", self.window);
        if !self.options.is_empty() {
            let _ = write!(out, " <{}>", list_options(&self.options));
        }
        out
    }
}

/// The script's packet line, normalised, at script time `at` (µs).
pub(super) fn describe_spec(p: &PacketSpec, at: u64) -> String {
    let direction = match p.direction {
        Direction::Inbound => '<',
        Direction::Outbound => '>',
    };
    let mut out = format!(
        "{} {direction} {} {}:{}({})",
        seconds(at),
        flags(p.flags),
        p.seq,
        p.seq.wrapping_add(u32::from(p.len)),
        p.len
    );
    if p.flags.ack() || p.ack != 0 {
        let _ = write!(out, " ack {}", p.ack);
    }
    if let Some(window) = p.window {
        let _ = write!(out, " win {window}");
    }
    match &p.options {
        None => out.push_str(" <...>"),
        Some(options) if options.is_empty() => {}
        Some(options) => {
            let raw: Vec<RawOpt> = options.iter().map(raw_from_script).collect();
            let _ = write!(out, " <{}>", list_options(&raw));
        }
    }
    out
}

/// Seconds with six decimals, as packetdrill prints times.
pub(super) fn seconds(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Flags in script syntax (`-` for none).
fn flags(flags: TcpFlags) -> String {
    if flags == TcpFlags::empty() {
        "-".into()
    } else {
        flags.to_string()
    }
}

/// A script option as the bytes it stands for (the TS option's values are not compared).
fn raw_from_script(option: &TcpOpt) -> RawOpt {
    let (kind, data) = match option {
        TcpOpt::Eol => (KIND_EOL, Vec::new()),
        TcpOpt::Nop => (KIND_NOP, Vec::new()),
        TcpOpt::Mss(mss) => (KIND_MSS, mss.to_be_bytes().to_vec()),
        TcpOpt::WindowScale(shift) => (KIND_WSCALE, vec![*shift]),
        TcpOpt::SackPermitted => (KIND_SACK_OK, Vec::new()),
        TcpOpt::Sack(blocks) => (
            KIND_SACK,
            blocks
                .iter()
                .flat_map(|(l, r)| l.to_be_bytes().into_iter().chain(r.to_be_bytes()))
                .collect(),
        ),
        TcpOpt::Timestamp { val, ecr } => (
            KIND_TS,
            val.to_be_bytes()
                .into_iter()
                .chain(ecr.to_be_bytes())
                .collect(),
        ),
    };
    RawOpt { kind, data }
}

/// Options in script syntax: `mss 1460,sackOK,nop`.
fn list_options(options: &[RawOpt]) -> String {
    let word = |d: &[u8], i: usize| {
        d.get(i..i + 4)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let names: Vec<String> = options
        .iter()
        .map(|o| match (o.kind, o.data.as_slice()) {
            (KIND_EOL, _) => "eol".into(),
            (KIND_NOP, _) => "nop".into(),
            (KIND_MSS, [a, b]) => format!("mss {}", u16::from_be_bytes([*a, *b])),
            (KIND_WSCALE, [shift]) => format!("wscale {shift}"),
            (KIND_SACK_OK, []) => "sackOK".into(),
            (KIND_SACK, d) => {
                let blocks: Vec<String> = (0..d.len() / 8)
                    .map(|i| format!("{}:{}", word(d, 8 * i), word(d, 8 * i + 4)))
                    .collect();
                format!("sack {}", blocks.join(" "))
            }
            (KIND_TS, d) => format!("TS val {} ecr {}", word(d, 0), word(d, 4)),
            (kind, d) => format!("kind {kind} len {}", d.len() + 2),
        })
        .collect();
    names.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_options_split_by_kind_and_length() {
        let bytes = [2, 4, 5, 180, 1, 3, 3, 7, 4, 2, 0, 0];
        let options = raw_options(&bytes);
        assert_eq!(
            list_options(&options),
            "mss 1460,nop,wscale 7,sackOK,eol,eol"
        );
        // A length past the end is cut short rather than read out of bounds.
        assert_eq!(raw_options(&[8, 40, 1]).len(), 1);
        assert_eq!(list_options(&raw_options(&[99, 2])), "kind 99 len 2");
    }

    #[test]
    fn script_options_round_trip_through_bytes() {
        let options = [
            TcpOpt::Mss(1000),
            TcpOpt::Sack(vec![(1, 2), (3, 4)]),
            TcpOpt::Timestamp { val: 5, ecr: 6 },
        ];
        let raw: Vec<RawOpt> = options.iter().map(raw_from_script).collect();
        assert_eq!(list_options(&raw), "mss 1000,sack 1:2 3:4,TS val 5 ecr 6");
    }
}
