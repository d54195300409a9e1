//! The test as a raw TCP peer on the far end of an in-memory link: it writes segments itself,
//! several in one device batch, and reads exactly what the stack sends back.

use std::future::poll_fn;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use net::device::{Batch, Device, MemDevice, PacketMeta};
use net::{Stack, TcpListener};
use wire::{IpRepr, Packet, SeqNum, TcpFlags, TcpOptions, TcpRepr};

const STACK: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const PEER_PORT: u16 = 5555;
const PEER_ISS: u32 = 1000;

fn segment(flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let packet = Packet {
        ip: IpRepr {
            src: PEER,
            dst: STACK,
            hop_limit: 64,
        },
        tcp: TcpRepr {
            src_port: PEER_PORT,
            dst_port: 80,
            seq: SeqNum::new(seq),
            ack: SeqNum::new(ack),
            flags,
            window: 65535,
            urgent: 0,
            options: TcpOptions {
                mss: flags.syn().then_some(1460),
                ..TcpOptions::default()
            },
            payload,
        },
    };
    let mut buf = vec![0u8; packet.buffer_len()];
    packet.emit(&mut buf).expect("fits");
    buf
}

/// Sends `packets` to the stack in one device batch.
async fn send_batch(peer: &mut MemDevice, packets: &[Vec<u8>]) {
    let mut batch = Batch::new(packets.len(), 1500);
    for p in packets {
        assert!(batch.push(p, PacketMeta::default()));
    }
    poll_fn(|cx| peer.poll_send(cx, &mut batch))
        .await
        .expect("send");
}

/// Every (flags, seq, ack, payload length) the stack sent within `wait` of virtual time.
async fn received(peer: &mut MemDevice, wait: Duration) -> Vec<(TcpFlags, u32, u32, usize)> {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut batch = Batch::new(64, 1500);
    while let Ok(Ok(())) =
        tokio::time::timeout_at(deadline, poll_fn(|cx| peer.poll_recv(cx, &mut batch))).await
    {
        for (bytes, _) in batch.iter() {
            let p = Packet::parse(bytes).expect("the stack sends valid packets");
            out.push((
                p.tcp.flags,
                p.tcp.seq.get(),
                p.tcp.ack.get(),
                p.tcp.payload.len(),
            ));
        }
        batch.clear();
    }
    out
}

#[tokio::test(start_paused = true)]
async fn each_out_of_order_segment_of_a_batch_gets_its_duplicate_ack() {
    let (device, mut peer) = MemDevice::pair(1500);
    let stack = Stack::builder()
        .address(STACK)
        .build(device)
        .expect("stack");
    let listener = TcpListener::bind(&stack, SocketAddr::new(STACK, 80))
        .await
        .expect("bind");

    send_batch(&mut peer, &[segment(TcpFlags::SYN, PEER_ISS, 0, &[])]).await;
    let syn_ack = received(&mut peer, Duration::from_millis(1)).await;
    let [(flags, iss, _, _)] = syn_ack[..] else {
        panic!("expected one SYN-ACK, got {syn_ack:?}");
    };
    assert_eq!(flags, TcpFlags::SYN | TcpFlags::ACK);
    send_batch(
        &mut peer,
        &[segment(TcpFlags::ACK, PEER_ISS + 1, iss + 1, &[])],
    )
    .await;
    let (_stream, _) = listener.accept().await.expect("accept");

    // Nine segments after a lost first one, all in one batch: nine duplicate ACKs, each
    // acknowledging the hole (RFC 5681 §4.2), so that the peer can fast-retransmit.
    let data = [7u8; 1000];
    let burst: Vec<Vec<u8>> = (1..10)
        .map(|k| segment(TcpFlags::ACK, PEER_ISS + 1 + 1000 * k, iss + 1, &data))
        .collect();
    send_batch(&mut peer, &burst).await;
    let acks = received(&mut peer, Duration::from_millis(1)).await;
    let dup_acks = acks
        .iter()
        .filter(|&&(f, _, ack, len)| f == TcpFlags::ACK && ack == PEER_ISS + 1 && len == 0)
        .count();
    assert_eq!(dup_acks, 9, "{acks:?}");
}
