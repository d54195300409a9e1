//! Speed of the hot paths of `wire`, each beside etherparse doing the same work in the same run,
//! so that the ratio is what to read (absolute figures move with the machine).
//!
//! - `checksum/{wire,etherparse}/N`: the Internet checksum of an `N`-byte buffer, in bytes per
//!   second.
//! - `packet_1460/*`: one 1500-byte IPv4 packet carrying a 1460-byte TCP payload (an MTU-sized
//!   data segment): parse and verify both checksums with `wire` and with etherparse, and emit it
//!   with `wire` into a reused buffer.
//!
//! Run with `cargo bench -p tcpstk-wire --bench wire`; docs/PERFORMANCE.md records the figures.

use std::hint::black_box;
use std::net::Ipv4Addr;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use etherparse::checksum::Sum16BitWords;
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use wire::{Checksum, IpRepr, Packet, SeqNum, TcpFlags, TcpOptions, TcpRepr};

/// Buffer sizes for the checksum: a small packet, an Ethernet MTU, a maximal IP packet.
const CHECKSUM_SIZES: [usize; 3] = [64, 1500, 64 * 1024];

/// Payload of the segment the packet benches parse and emit.
const PAYLOAD_LEN: usize = 1460;

/// Deterministic bytes that are not all alike, so no sum is trivially zero.
fn test_bytes(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9e37_79b9;
    (0..len)
        .map(|_| {
            // xorshift32: cheap and good enough to vary every byte.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// An ACK carrying `payload` from 10.0.0.1:40000 to 10.0.0.2:80, without options, so that a
/// 1460-byte payload makes a 1500-byte packet.
fn data_segment(payload: &[u8]) -> Packet<'_> {
    Packet {
        ip: IpRepr {
            src: Ipv4Addr::new(10, 0, 0, 1).into(),
            dst: Ipv4Addr::new(10, 0, 0, 2).into(),
            hop_limit: 64,
        },
        tcp: TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: SeqNum::new(0x1234_5678),
            ack: SeqNum::new(0x9abc_def0),
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 502,
            urgent: 0,
            options: TcpOptions::default(),
            payload,
        },
    }
}

/// What etherparse offers for the same job as `Packet::parse`: slice the IPv4 and TCP headers,
/// verify the IPv4 header checksum, then recompute the TCP checksum and compare it with the
/// header's field. Returns the ports and the payload length, or `None` if anything fails.
fn etherparse_parse_verify(bytes: &[u8]) -> Option<(u16, u16, usize)> {
    let sliced = SlicedPacket::from_ip(bytes).ok()?;
    let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) = (sliced.net, sliced.transport)
    else {
        return None;
    };
    let header = ip.header();
    // A correct IPv4 header sums to all ones, so its complement is zero.
    if Sum16BitWords::new()
        .add_slice(header.slice())
        .ones_complement()
        != 0
    {
        return None;
    }
    let expected = tcp
        .calc_checksum_ipv4(header.source(), header.destination())
        .ok()?;
    if expected != tcp.checksum() {
        return None;
    }
    Some((
        tcp.source_port(),
        tcp.destination_port(),
        tcp.payload().len(),
    ))
}

fn checksum(c: &mut Criterion) {
    let mut group = c.benchmark_group("checksum");
    for size in CHECKSUM_SIZES {
        let data = test_bytes(size);
        // Both must agree before their speeds are worth comparing.
        let mut ours = Checksum::new();
        ours.add_bytes(&data);
        // etherparse returns its sum in native byte order, ready for `to_ne_bytes`.
        let theirs = Sum16BitWords::new().add_slice(&data).ones_complement();
        let theirs = u16::from_be_bytes(theirs.to_ne_bytes());
        assert_eq!(ours.finish(), theirs, "checksums of {size} bytes disagree");

        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("wire", size), &data, |b, data| {
            b.iter(|| {
                let mut sum = Checksum::new();
                sum.add_bytes(black_box(data));
                black_box(sum.finish())
            });
        });
        group.bench_with_input(BenchmarkId::new("etherparse", size), &data, |b, data| {
            b.iter(|| {
                black_box(
                    Sum16BitWords::new()
                        .add_slice(black_box(data))
                        .ones_complement(),
                )
            });
        });
    }
    group.finish();
}

fn packet(c: &mut Criterion) {
    let payload = test_bytes(PAYLOAD_LEN);
    let segment = data_segment(&payload);
    let mut bytes = vec![0u8; segment.buffer_len()];
    segment
        .emit(&mut bytes)
        .expect("the test segment fits its own buffer_len");
    assert_eq!(
        Packet::parse(&bytes),
        Ok(segment),
        "wire parses its own segment"
    );
    assert_eq!(
        etherparse_parse_verify(&bytes),
        Some((40000, 80, PAYLOAD_LEN)),
        "etherparse parses and verifies the same segment"
    );

    // One packet per iteration: criterion's time per iteration is the time per packet.
    let mut group = c.benchmark_group("packet_1460");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_verify/wire", |b| {
        b.iter(|| black_box(Packet::parse(black_box(&bytes))))
    });
    group.bench_function("parse_verify/etherparse", |b| {
        b.iter(|| black_box(etherparse_parse_verify(black_box(&bytes))))
    });
    let mut out = vec![0u8; segment.buffer_len()];
    group.bench_function("emit/wire", |b| {
        b.iter(|| black_box(black_box(&segment).emit(black_box(&mut out))))
    });
    group.finish();
}

criterion_group!(benches, checksum, packet);
criterion_main!(benches);
