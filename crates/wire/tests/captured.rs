//! Segments captured from Linux 6.x TCP on a veth pair (checksum offload off, so the checksums
//! are the kernel's own), decoded field by field: the three-way handshake, data and the FIN of
//! one HTTP exchange, over IPv4 and over IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use wire::{Packet, SeqNum, TcpFlags, Timestamps};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test vector is hex"))
        .collect()
}

const CLIENT4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const SERVER4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);

/// Client SYN: mss 1460, sackOK, TS val 1579617631 ecr 0, nop, wscale 10.
const SYN4: &str = "4500003cfe924000400628150a0900010a090002c31c1f902276de5400000000a002faf0e9f90000\
020405b40402080a5e270d5f000000000103030a";
/// Server SYN-ACK.
const SYN_ACK4: &str = "4500003c00004000400626a80a0900020a0900011f90c31c862ab2352276de55a012fe88bfdc0000\
020405b40402080aa6de47355e270d5f0103030a";
/// Client request: 27 bytes with PSH.
const DATA4: &str = "4500004ffe944000400628000a0900010a090002c31c1f902276de55862ab2368018003f991c0000\
0101080a5e270d60a6de4735474554202f20485454502f312e310d0a486f73743a20780d0a0d0a";
/// Client FIN.
const FIN4: &str = "45000034fe964000400628190a0900010a090002c31c1f902276de70862ab25e8011003fecaf0000\
0101080a5e270d60a6de4736";

#[test]
fn linux_syn_v4() {
    let bytes = hex(SYN4);
    let p = Packet::parse(&bytes).expect("valid SYN");
    assert_eq!(p.ip.src, IpAddr::V4(CLIENT4));
    assert_eq!(p.ip.dst, IpAddr::V4(SERVER4));
    assert_eq!(p.ip.hop_limit, 64);
    assert_eq!(p.tcp.src_port, 49948);
    assert_eq!(p.tcp.dst_port, 8080);
    assert_eq!(p.tcp.seq, SeqNum::new(0x2276_de54));
    assert_eq!(p.tcp.ack, SeqNum::new(0));
    assert_eq!(p.tcp.flags, TcpFlags::SYN);
    assert_eq!(p.tcp.window, 64240);
    assert_eq!(p.tcp.urgent, 0);
    assert_eq!(p.tcp.options.mss, Some(1460));
    assert!(p.tcp.options.sack_permitted);
    assert_eq!(
        p.tcp.options.timestamps,
        Some(Timestamps {
            tsval: 0x5e27_0d5f,
            tsecr: 0
        })
    );
    assert_eq!(p.tcp.options.window_scale, Some(10));
    assert!(p.tcp.payload.is_empty());
    assert_eq!(p.tcp.seq_len(), 1);
}

#[test]
fn linux_syn_ack_v4() {
    let bytes = hex(SYN_ACK4);
    let p = Packet::parse(&bytes).expect("valid SYN-ACK");
    assert_eq!(p.ip.src, IpAddr::V4(SERVER4));
    assert_eq!(p.tcp.src_port, 8080);
    assert_eq!(p.tcp.dst_port, 49948);
    assert_eq!(p.tcp.seq, SeqNum::new(0x862a_b235));
    // ACK = the client's ISS + 1: the SYN took one sequence number.
    assert_eq!(p.tcp.ack, SeqNum::new(0x2276_de54) + 1);
    assert_eq!(p.tcp.flags, TcpFlags::SYN | TcpFlags::ACK);
    assert_eq!(p.tcp.window, 65160);
    assert_eq!(p.tcp.options.mss, Some(1460));
    assert!(p.tcp.options.sack_permitted);
    assert_eq!(
        p.tcp.options.timestamps,
        Some(Timestamps {
            tsval: 0xa6de_4735,
            tsecr: 0x5e27_0d5f
        })
    );
    assert_eq!(p.tcp.options.window_scale, Some(10));
}

#[test]
fn linux_data_v4() {
    let bytes = hex(DATA4);
    let p = Packet::parse(&bytes).expect("valid data segment");
    assert_eq!(p.tcp.seq, SeqNum::new(0x2276_de55));
    assert_eq!(p.tcp.ack, SeqNum::new(0x862a_b236));
    assert_eq!(p.tcp.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(p.tcp.window, 63);
    assert_eq!(p.tcp.options.mss, None);
    assert_eq!(
        p.tcp.options.timestamps,
        Some(Timestamps {
            tsval: 0x5e27_0d60,
            tsecr: 0xa6de_4735
        })
    );
    assert_eq!(p.tcp.payload, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    // The payload is a view into the packet, not a copy.
    assert_eq!(p.tcp.payload.as_ptr(), bytes[52..].as_ptr());
    assert_eq!(p.tcp.seq_len(), 27);
}

#[test]
fn linux_fin_v4() {
    let bytes = hex(FIN4);
    let p = Packet::parse(&bytes).expect("valid FIN");
    assert_eq!(p.tcp.flags, TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!(p.tcp.seq, SeqNum::new(0x2276_de70));
    assert_eq!(p.tcp.ack, SeqNum::new(0x862a_b25e));
    assert!(p.tcp.payload.is_empty());
    assert_eq!(p.tcp.seq_len(), 1);
}

/// Client SYN over IPv6 (fd00::1 → fd00::2): mss 1440.
const SYN6: &str = "600a0ac600280640fd000000000000000000000000000001fd000000000000000000000000000002\
df2a1f90f96dcf4e00000000a002fd205abc0000020405a00402080afcea31cd000000000103030a";
/// Server data over IPv6: 40 bytes of HTTP response.
const DATA6: &str = "600f1e5d00480640fd000000000000000000000000000002fd000000000000000000000000000001\
1f90df2a9caee9acf96dcf6a8018003f626d00000101080a84ca0101fcea31cd485454502f312e3120323030204f4b\
0d0a436f6e74656e742d4c656e6774683a20320d0a0d0a6869";
/// Server FIN over IPv6.
const FIN6: &str = "600f1e5d00200640fd000000000000000000000000000002fd000000000000000000000000000001\
1f90df2a9caee9d4f96dcf6b8011003f79dc00000101080a84ca0102fcea31cd";

#[test]
fn linux_syn_v6() {
    let bytes = hex(SYN6);
    let p = Packet::parse(&bytes).expect("valid SYN");
    let client: Ipv6Addr = "fd00::1".parse().expect("literal");
    assert_eq!(p.ip.src, IpAddr::V6(client));
    assert_eq!(p.ip.hop_limit, 64);
    assert_eq!(p.tcp.src_port, 57130);
    assert_eq!(p.tcp.seq, SeqNum::new(0xf96d_cf4e));
    assert_eq!(p.tcp.flags, TcpFlags::SYN);
    assert_eq!(p.tcp.window, 64800);
    assert_eq!(p.tcp.options.mss, Some(1440));
    assert_eq!(p.tcp.options.window_scale, Some(10));
}

#[test]
fn linux_data_and_fin_v6() {
    let bytes = hex(DATA6);
    let p = Packet::parse(&bytes).expect("valid data");
    assert_eq!(p.tcp.flags, TcpFlags::PSH | TcpFlags::ACK);
    assert_eq!(p.tcp.payload.len(), 40);
    assert!(p.tcp.payload.starts_with(b"HTTP/1.1 200 OK"));
    let bytes = hex(FIN6);
    let p = Packet::parse(&bytes).expect("valid FIN");
    assert_eq!(p.tcp.flags, TcpFlags::FIN | TcpFlags::ACK);
    assert_eq!(p.tcp.seq, SeqNum::new(0x9cae_e9d4));
}

/// Re-emitting a parsed Linux segment gives back Linux's exact bytes (its options are in the
/// order and padding our emitter uses), except the IPv4 ID, which we leave zero under DF.
#[test]
fn reemit_matches_linux_bytes() {
    for vector in [SYN4, SYN_ACK4, DATA4, FIN4, SYN6, DATA6, FIN6] {
        let bytes = hex(vector);
        let p = Packet::parse(&bytes).expect("valid");
        let mut out = vec![0u8; p.buffer_len()];
        assert_eq!(p.emit(&mut out), Ok(bytes.len()));
        let ip_len = p.ip.header_len();
        assert_eq!(out[ip_len..], bytes[ip_len..], "TCP bytes of {vector}");
        assert_eq!(Packet::parse(&out), Ok(p));
    }
}
