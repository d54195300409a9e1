//! Bad input gets a typed error, never a panic.

use std::net::Ipv4Addr;

use proptest::prelude::*;
use wire::{
    Checksum, IpPacket, IpRepr, Packet, ParseError, SeqNum, TcpFlags, TcpOptions, TcpRepr,
    Unsupported,
};

fn sample() -> Vec<u8> {
    let packet = Packet {
        ip: IpRepr {
            src: Ipv4Addr::new(10, 0, 0, 1).into(),
            dst: Ipv4Addr::new(10, 0, 0, 2).into(),
            hop_limit: 64,
        },
        tcp: TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: SeqNum::new(100),
            ack: SeqNum::new(200),
            flags: TcpFlags::ACK,
            window: 1000,
            urgent: 0,
            options: TcpOptions {
                mss: Some(1400),
                ..TcpOptions::default()
            },
            payload: b"hello",
        },
    };
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.emit(&mut buf).expect("fits");
    buf
}

/// Recomputes the IPv4 header checksum after a test edits the header.
fn fix_ipv4_checksum(buf: &mut [u8]) {
    let ihl = usize::from(buf[0] & 0xf) * 4;
    buf[10..12].fill(0);
    let mut sum = Checksum::new();
    sum.add_bytes(&buf[..ihl.min(buf.len())]);
    buf[10..12].copy_from_slice(&sum.finish().to_be_bytes());
}

#[test]
fn sample_parses() {
    let buf = sample();
    assert_eq!(
        Packet::parse(&buf).map(|p| p.tcp.payload),
        Ok(&b"hello"[..])
    );
}

#[test]
fn truncated_everywhere() {
    let buf = sample();
    assert_eq!(Packet::parse(&[]), Err(ParseError::Truncated));
    assert_eq!(Packet::parse(&buf[..19]), Err(ParseError::Truncated));
    // Cut inside the TCP header: the IP length no longer matches.
    assert!(matches!(
        Packet::parse(&buf[..30]),
        Err(ParseError::BadLength {
            claimed: 49,
            actual: 30
        })
    ));
}

#[test]
fn wrong_version() {
    let mut buf = sample();
    buf[0] = 0x55;
    assert_eq!(Packet::parse(&buf), Err(ParseError::BadVersion(5)));
}

#[test]
fn ihl_below_minimum() {
    let mut buf = sample();
    buf[0] = 0x44;
    assert_eq!(Packet::parse(&buf), Err(ParseError::BadHeaderLen));
}

#[test]
fn ip_options_unsupported() {
    let mut buf = sample();
    // Pretend to carry 4 bytes of options (the TCP header's first word becomes them).
    buf[0] = 0x46;
    fix_ipv4_checksum(&mut buf);
    assert_eq!(
        Packet::parse(&buf),
        Err(ParseError::Unsupported(Unsupported::Ipv4Options))
    );
}

#[test]
fn total_length_longer_and_shorter_than_buffer() {
    let mut buf = sample();
    buf.push(0);
    assert!(matches!(
        Packet::parse(&buf),
        Err(ParseError::BadLength { .. })
    ));
    let mut buf = sample();
    buf[3] -= 1;
    fix_ipv4_checksum(&mut buf);
    assert!(matches!(
        Packet::parse(&buf),
        Err(ParseError::BadLength { .. })
    ));
}

#[test]
fn fragments_unsupported() {
    for (flags_hi, offset_lo) in [(0x20, 0x00), (0x00, 0x10)] {
        let mut buf = sample();
        buf[6] = flags_hi;
        buf[7] = offset_lo;
        fix_ipv4_checksum(&mut buf);
        assert_eq!(
            Packet::parse(&buf),
            Err(ParseError::Unsupported(Unsupported::Fragment))
        );
    }
}

#[test]
fn bad_ip_header_checksum() {
    let mut buf = sample();
    buf[8] = 63; // TTL changed, checksum not.
    assert_eq!(Packet::parse(&buf), Err(ParseError::BadChecksum));
}

#[test]
fn bad_tcp_checksum() {
    let mut buf = sample();
    let last = buf.len() - 1;
    buf[last] ^= 0x40;
    assert_eq!(Packet::parse(&buf), Err(ParseError::BadChecksum));
}

#[test]
fn data_offset_out_of_range() {
    for doff in [0x40u8, 0xf0] {
        let mut buf = sample();
        buf[32] = doff;
        assert_eq!(
            Packet::parse(&buf),
            Err(ParseError::BadHeaderLen),
            "doff {doff:#x}"
        );
    }
}

#[test]
fn options_overrunning_the_header_are_an_error() {
    let mut buf = sample();
    // MSS option claims 8 bytes inside a 4-byte option area; fix the TCP checksum after.
    buf[41] = 8;
    let seg_len = buf.len() - 20;
    buf[36..38].fill(0);
    let mut sum = Checksum::new();
    sum.add_pseudo_header(
        Ipv4Addr::new(10, 0, 0, 1).into(),
        Ipv4Addr::new(10, 0, 0, 2).into(),
        6,
        seg_len as u32,
    );
    sum.add_bytes(&buf[20..]);
    let value = sum.finish();
    buf[36..38].copy_from_slice(&value.to_be_bytes());
    assert_eq!(Packet::parse(&buf), Err(ParseError::BadOptions));
}

#[test]
fn other_protocols_are_reported() {
    let mut buf = sample();
    buf[9] = 1; // ICMP
    fix_ipv4_checksum(&mut buf);
    assert_eq!(Packet::parse(&buf), Err(ParseError::NotTcp(1)));
    let ip = IpPacket::parse(&buf).expect("still valid IP");
    assert_eq!(ip.protocol, 1);
    assert_eq!(ip.payload.len(), buf.len() - 20);
}

#[test]
fn ipv6_extension_headers_unsupported() {
    let mut v6 = vec![0u8; 40 + 8];
    v6[0] = 0x60;
    v6[5] = 8;
    v6[6] = 0; // hop-by-hop options
    assert_eq!(
        IpPacket::parse(&v6),
        Err(ParseError::Unsupported(Unsupported::Ipv6Extension(0)))
    );
    v6[6] = 44;
    assert_eq!(
        IpPacket::parse(&v6),
        Err(ParseError::Unsupported(Unsupported::Fragment))
    );
    v6[5] = 0;
    assert_eq!(
        IpPacket::parse(&v6),
        Err(ParseError::Unsupported(Unsupported::Jumbogram))
    );
}

proptest! {
    /// Parsing arbitrary bytes returns, never panics; valid-looking prefixes exercise the deeper
    /// checks too.
    #[test]
    fn parse_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
        let err = Packet::parse(&bytes);
        prop_assert!(err.is_err() || bytes.len() >= 40);
    }

    #[test]
    fn every_single_bit_flip_is_caught(bit in 0usize..49 * 8) {
        let mut buf = sample();
        buf[bit / 8] ^= 1 << (bit % 8);
        // Every bit of the packet is covered by a length check or one of the two checksums.
        prop_assert!(Packet::parse(&buf).is_err());
    }
}
