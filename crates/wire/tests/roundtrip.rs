//! `parse(emit(packet)) == packet` for random headers, options and payloads, IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use wire::{
    EmitError, IpRepr, MAX_OPTIONS_LEN, Packet, SackBlock, SackBlocks, SeqNum, TcpFlags,
    TcpOptions, TcpRepr, Timestamps,
};

fn arb_ip() -> impl Strategy<Value = IpRepr> {
    let v4 = (any::<u32>(), any::<u32>(), any::<u8>()).prop_map(|(s, d, ttl)| IpRepr {
        src: IpAddr::V4(Ipv4Addr::from(s)),
        dst: IpAddr::V4(Ipv4Addr::from(d)),
        hop_limit: ttl,
    });
    let v6 = (any::<u128>(), any::<u128>(), any::<u8>()).prop_map(|(s, d, hl)| IpRepr {
        src: IpAddr::V6(Ipv6Addr::from(s)),
        dst: IpAddr::V6(Ipv6Addr::from(d)),
        hop_limit: hl,
    });
    prop_oneof![v4, v6]
}

fn arb_options() -> impl Strategy<Value = TcpOptions> {
    (
        proptest::option::of(any::<u16>()),
        proptest::option::of(any::<u8>()),
        any::<bool>(),
        proptest::option::of((any::<u32>(), any::<u32>())),
        proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=4),
    )
        .prop_map(|(mss, window_scale, sack_permitted, ts, blocks)| {
            let mut opts = TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                timestamps: ts.map(|(tsval, tsecr)| Timestamps { tsval, tsecr }),
                sack: SackBlocks::new(),
            };
            for (l, r) in blocks {
                if opts.buffer_len() + 8 + 4 * usize::from(opts.sack.is_empty()) <= MAX_OPTIONS_LEN
                {
                    opts.sack.push(SackBlock {
                        left: SeqNum::new(l),
                        right: SeqNum::new(r),
                    });
                }
            }
            opts
        })
}

proptest! {
    #[test]
    fn emit_then_parse_is_identity(
        ip in arb_ip(),
        ports in any::<(u16, u16)>(),
        seq in any::<u32>(),
        ack in any::<u32>(),
        flags in any::<u8>(),
        window in any::<u16>(),
        urgent in any::<u16>(),
        options in arb_options(),
        payload in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let packet = Packet {
            ip,
            tcp: TcpRepr {
                src_port: ports.0,
                dst_port: ports.1,
                seq: SeqNum::new(seq),
                ack: SeqNum::new(ack),
                flags: TcpFlags::from_bits(flags),
                window,
                urgent,
                options,
                payload: &payload,
            },
        };
        let mut buf = vec![0u8; packet.buffer_len() + 7];
        let len = packet.emit(&mut buf).expect("fits");
        prop_assert_eq!(len, packet.buffer_len());
        prop_assert_eq!(Packet::parse(&buf[..len]), Ok(packet));
        // A buffer one byte short is refused, with the size needed.
        prop_assert_eq!(packet.emit(&mut buf[..len - 1]), Err(EmitError::BufferTooSmall(len)));
    }
}

#[test]
fn mixed_families_refused() {
    let packet = Packet {
        ip: IpRepr {
            src: Ipv4Addr::LOCALHOST.into(),
            dst: Ipv6Addr::LOCALHOST.into(),
            hop_limit: 64,
        },
        tcp: TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: SeqNum::new(0),
            ack: SeqNum::new(0),
            flags: TcpFlags::SYN,
            window: 0,
            urgent: 0,
            options: TcpOptions::default(),
            payload: &[],
        },
    };
    assert_eq!(packet.emit(&mut [0u8; 100]), Err(EmitError::FamilyMismatch));
}

#[test]
fn oversized_ipv4_refused() {
    let payload = vec![0u8; 65536 - 40];
    let packet = Packet {
        ip: IpRepr {
            src: Ipv4Addr::LOCALHOST.into(),
            dst: Ipv4Addr::LOCALHOST.into(),
            hop_limit: 64,
        },
        tcp: TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: SeqNum::new(0),
            ack: SeqNum::new(0),
            flags: TcpFlags::ACK,
            window: 0,
            urgent: 0,
            options: TcpOptions::default(),
            payload: &payload,
        },
    };
    let mut buf = vec![0u8; packet.buffer_len()];
    assert_eq!(packet.emit(&mut buf), Err(EmitError::TooLong));
}
