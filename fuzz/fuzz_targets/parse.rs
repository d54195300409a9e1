//! Parses arbitrary bytes as an IP packet and as a TCP packet. Beyond "never panics", checks
//! that the two parsers agree, and that whatever parses re-emits to bytes that parse back to the
//! same value: `parse(emit(parse(bytes))) == parse(bytes)`.
//!
//! Random bytes almost never carry a valid checksum, so each input is tried twice: as it is
//! (the error paths), and with its length fields and checksums repaired (so that mutations reach
//! the TCP header and option parsers behind the checksum checks).

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use wire::{Checksum, EmitError, IpPacket, PROTO_TCP, Packet, ParseError, TcpRepr};

fuzz_target!(|data: &[u8]| {
    check(data);
    let mut repaired = data.to_vec();
    repair(&mut repaired);
    check(&repaired);
});

fn check(data: &[u8]) {
    let ip = IpPacket::parse(data);
    let packet = Packet::parse(data);
    check_agreement(&ip, &packet);
    if let Ok(ip) = ip {
        check_ip_round_trip(&ip);
    }
    if let Ok(packet) = packet {
        check_packet_round_trip(&packet, data.len());
    }
}

/// `Packet::parse` is `IpPacket::parse` followed by `TcpRepr::parse` of a TCP payload.
fn check_agreement(ip: &Result<IpPacket<'_>, ParseError>, packet: &Result<Packet<'_>, ParseError>) {
    match ip {
        Err(e) => assert_eq!(packet, &Err(*e), "an IP error is the packet's error"),
        Ok(ip) if ip.protocol != PROTO_TCP => {
            assert_eq!(packet, &Err(ParseError::NotTcp(ip.protocol)));
        }
        Ok(ip) => {
            let tcp = TcpRepr::parse(&ip.ip, ip.payload);
            assert_eq!(packet.map(|p| p.tcp), tcp, "TCP parsed alone differs");
            if let Ok(p) = packet {
                assert_eq!(p.ip, ip.ip);
            }
        }
    }
}

/// The IP header re-emitted in front of the same payload parses back to the same `IpPacket`.
fn check_ip_round_trip(ip: &IpPacket<'_>) {
    let mut buf = vec![0u8; ip.ip.header_len() + ip.payload.len()];
    let header_len = ip
        .ip
        .emit_header(ip.protocol, ip.payload.len(), &mut buf)
        .expect("a parsed IP header re-emits");
    assert_eq!(header_len, ip.ip.header_len());
    buf[header_len..].copy_from_slice(ip.payload);
    assert_eq!(IpPacket::parse(&buf).as_ref(), Ok(ip), "IP round trip");
}

/// The whole packet, parsed from `original_len` bytes, re-emitted parses back to the same
/// `Packet`.
fn check_packet_round_trip(packet: &Packet<'_>, original_len: usize) {
    let mut buf = vec![0u8; packet.buffer_len()];
    match packet.emit(&mut buf) {
        Ok(len) => {
            assert_eq!(len, buf.len());
            assert_eq!(
                Packet::parse(&buf).as_ref(),
                Ok(packet),
                "packet round trip"
            );
        }
        // Our NOP-padded options can be longer than the sender's packed ones, so a packet at the
        // IP length limit may outgrow it (only with -max_len above 65535).
        Err(EmitError::TooLong) => assert!(buf.len() > original_len, "TooLong without growing"),
        Err(e) => panic!("a parsed packet re-emits: {e}"),
    }
}

/// Makes the IP length field match the buffer and fills in the IPv4 header checksum and, when
/// the packet says it carries TCP, the TCP checksum. Leaves anything else as the fuzzer made it.
fn repair(buf: &mut [u8]) {
    match buf.first().map(|b| b >> 4) {
        Some(4) if buf.len() >= 20 => {
            if let Ok(total) = u16::try_from(buf.len()) {
                buf[2..4].copy_from_slice(&total.to_be_bytes());
            }
            let ihl = usize::from(buf[0] & 0x0f) * 4;
            if ihl < 20 || ihl > buf.len() {
                return;
            }
            fill_checksum(&mut buf[..ihl], 10, Checksum::new());
            let src = Ipv4Addr::from(<[u8; 4]>::try_from(&buf[12..16]).expect("4 bytes"));
            let dst = Ipv4Addr::from(<[u8; 4]>::try_from(&buf[16..20]).expect("4 bytes"));
            if buf[9] == PROTO_TCP {
                repair_tcp(src.into(), dst.into(), &mut buf[ihl..]);
            }
        }
        Some(6) if buf.len() >= 40 => {
            if let Ok(payload_len) = u16::try_from(buf.len() - 40) {
                buf[4..6].copy_from_slice(&payload_len.to_be_bytes());
            }
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&buf[8..24]).expect("16 bytes"));
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&buf[24..40]).expect("16 bytes"));
            if buf[6] == PROTO_TCP {
                repair_tcp(src.into(), dst.into(), &mut buf[40..]);
            }
        }
        _ => {}
    }
}

fn repair_tcp(src: IpAddr, dst: IpAddr, segment: &mut [u8]) {
    if segment.len() < 20 {
        return;
    }
    let mut sum = Checksum::new();
    sum.add_pseudo_header(src, dst, PROTO_TCP, segment.len() as u32);
    fill_checksum(segment, 16, sum);
}

/// Writes into `bytes[at..at + 2]` the checksum of `bytes` (with that field zeroed) on top of
/// `sum`.
fn fill_checksum(bytes: &mut [u8], at: usize, mut sum: Checksum) {
    bytes[at..at + 2].fill(0);
    sum.add_bytes(bytes);
    bytes[at..at + 2].copy_from_slice(&sum.finish().to_be_bytes());
}
