//! SACK, receiver side: SACK-permitted in the SYNs (RFC 2018 §2), SACK blocks in our ACKs while
//! out-of-order data is held (§4), D-SACK for duplicates (RFC 2883 §4), and segments that stay
//! within the MTU with the blocks.

use wire::{SackBlock, SackBlocks, SeqNum, TcpOptions};

use super::harness::*;
use crate::Config;

/// The peer's TSval, when timestamps are in use (constant, so PAWS never drops a segment).
const PEER_TS: u32 = 100;

/// The peer's data `[from, from + len)` (stream offsets: offset 0 is `their(1)`), with
/// timestamps when they are in use.
fn data(h: &Harness, from: u32, len: usize) -> Seg {
    let seg = Seg::new(ACK, Harness::their(1 + from), h.our(1)).payload(&vec![7; len]);
    match h.ep.conn(h.id()).is_some_and(|c| c.timestamps()) {
        true => seg.ts(PEER_TS, 0),
        false => seg,
    }
}

/// SACK blocks over the peer's stream offsets, in the order given.
fn blocks(ranges: &[(u32, u32)]) -> SackBlocks {
    let mut out = SackBlocks::new();
    for &(from, to) in ranges {
        assert!(out.push(SackBlock {
            left: SeqNum::new(Harness::their(1 + from)),
            right: SeqNum::new(Harness::their(1 + to)),
        }));
    }
    out
}

/// Delivers the peer's data `[from, from + len)` and returns the one ACK it draws at once.
#[track_caller]
fn ack_of(h: &mut Harness, from: u32, len: usize) -> Seg {
    h.send(data(h, from, len));
    h.recv_one()
}

/// Established with the peer offering SACK and timestamps.
fn established_sack_ts() -> Harness {
    let syn = Seg::new(SYN, REMOTE_ISS, 0)
        .mss(1460)
        .sack_ok()
        .ts(PEER_TS, 0);
    Harness::established_with(syn).0
}

#[test]
fn listen_syn_with_sack_ok_answers_with_it() {
    let (h, syn_ack) = Harness::established_with(Seg::new(SYN, REMOTE_ISS, 0).mss(1460).sack_ok());
    assert!(syn_ack.options.sack_permitted);
    assert!(h.ep.conn(h.id()).expect("connection").sack());
}

#[test]
fn listen_syn_without_sack_ok_gets_none_back() {
    let (mut h, syn_ack) = Harness::established_with(Seg::new(SYN, REMOTE_ISS, 0).mss(1460));
    assert!(!syn_ack.options.sack_permitted);
    assert!(!h.ep.conn(h.id()).expect("connection").sack());
    // §2: no blocks without the agreement, even past a gap.
    let ack = ack_of(&mut h, 100, 100);
    assert_eq!(ack.options, TcpOptions::default());
}

#[test]
fn listen_sack_off_in_config_answers_an_offer_without_it() {
    let mut h = Harness::new(Config {
        sack: false,
        ..Config::default()
    });
    let local = std::net::SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free port"));
    h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1460).sack_ok());
    let syn_ack = h.recv_one();
    assert!(!syn_ack.options.sack_permitted);
}

#[test]
fn closed_connect_syn_offers_sack_ok() {
    let mut h = Harness::new(Config::default());
    h.connect();
    assert!(h.recv_one().options.sack_permitted);
    let mut off = Harness::new(Config {
        sack: false,
        ..Config::default()
    });
    off.connect();
    assert!(!off.recv_one().options.sack_permitted);
}

#[test]
fn syn_sent_syn_ack_with_sack_ok_turns_it_on_and_without_leaves_it_off() {
    for offered in [true, false] {
        let mut h = Harness::syn_sent();
        let mut syn_ack = Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(1460);
        if offered {
            syn_ack = syn_ack.sack_ok();
        }
        h.send(syn_ack);
        let ack = h.recv_one();
        assert_eq!(ack.flags, ACK);
        assert!(
            !ack.options.sack_permitted,
            "only SYNs carry SACK-permitted"
        );
        assert_eq!(h.ep.conn(h.id()).expect("connection").sack(), offered);
    }
}

#[test]
fn established_out_of_order_ack_carries_its_block() {
    let mut h = Harness::established_sack();
    let ack = ack_of(&mut h, 100, 100);
    assert_eq!(ack.ack.get(), Harness::their(1));
    assert_eq!(ack.options.sack, blocks(&[(100, 200)]));
}

#[test]
fn established_several_gaps_most_recent_block_first() {
    let mut h = Harness::established_sack();
    ack_of(&mut h, 100, 100);
    ack_of(&mut h, 300, 100);
    let ack = ack_of(&mut h, 500, 100);
    assert_eq!(
        ack.options.sack,
        blocks(&[(500, 600), (300, 400), (100, 200)])
    );
    // Data between the first two merges them; the merged range leads.
    let ack = ack_of(&mut h, 200, 100);
    assert_eq!(ack.options.sack, blocks(&[(100, 400), (500, 600)]));
    // An older range that receives data moves to the front again.
    let ack = ack_of(&mut h, 400, 50);
    assert_eq!(ack.options.sack, blocks(&[(100, 450), (500, 600)]));
}

#[test]
fn established_blocks_disappear_as_gaps_fill() {
    let mut h = Harness::established_sack();
    ack_of(&mut h, 100, 100);
    ack_of(&mut h, 300, 100);
    let ack = ack_of(&mut h, 0, 100);
    assert_eq!(ack.ack.get(), Harness::their(201));
    assert_eq!(ack.options.sack, blocks(&[(300, 400)]));
    let ack = ack_of(&mut h, 200, 100);
    assert_eq!(ack.ack.get(), Harness::their(401));
    assert!(ack.options.sack.is_empty());
}

#[test]
fn established_duplicate_below_rcv_nxt_is_dsacked_once() {
    let mut h = Harness::established_sack();
    h.send(data(&h, 0, 100));
    h.advance(ms(40));
    assert!(h.recv_one().options.sack.is_empty());
    // RFC 2883 §4: the first (here only) block reports the duplicate.
    let ack = ack_of(&mut h, 0, 100);
    assert_eq!(ack.ack.get(), Harness::their(101));
    assert_eq!(ack.options.sack, blocks(&[(0, 100)]));
    // Reported once: the next ACK has no block.
    h.send(data(&h, 100, 10));
    h.advance(ms(40));
    assert!(h.recv_one().options.sack.is_empty());
}

#[test]
fn established_duplicate_of_held_data_is_dsacked_before_its_block() {
    let mut h = Harness::established_sack();
    ack_of(&mut h, 300, 100);
    ack_of(&mut h, 100, 100);
    // RFC 2883 §4.1.2: the D-SACK block, then the block containing it, then the others.
    let ack = ack_of(&mut h, 320, 50);
    assert_eq!(
        ack.options.sack,
        blocks(&[(320, 370), (300, 400), (100, 200)])
    );
    let ack = ack_of(&mut h, 500, 10);
    assert_eq!(
        ack.options.sack,
        blocks(&[(500, 510), (300, 400), (100, 200)])
    );
}

#[test]
fn established_four_blocks_without_timestamps() {
    let mut h = Harness::established_sack();
    for i in 1..=5 {
        ack_of(&mut h, 200 * i, 100);
    }
    let ack = ack_of(&mut h, 1200, 100);
    assert_eq!(
        ack.options.sack,
        blocks(&[(1200, 1300), (1000, 1100), (800, 900), (600, 700)])
    );
    assert!(ack.options.buffer_len() <= wire::MAX_OPTIONS_LEN);
}

#[test]
fn established_three_blocks_beside_timestamps_dsack_included() {
    let mut h = established_sack_ts();
    for i in 1..=4 {
        ack_of(&mut h, 200 * i, 100);
    }
    let ack = ack_of(&mut h, 1000, 100);
    assert!(ack.options.timestamps.is_some());
    assert_eq!(
        ack.options.sack,
        blocks(&[(1000, 1100), (800, 900), (600, 700)])
    );
    assert_eq!(ack.options.buffer_len(), wire::MAX_OPTIONS_LEN);
    // A D-SACK block takes the first of the three places.
    let ack = ack_of(&mut h, 600, 100);
    assert_eq!(
        ack.options.sack,
        blocks(&[(600, 700), (600, 700), (1000, 1100)])
    );
}

#[test]
fn established_data_with_blocks_stays_within_the_mtu() {
    let mut h = established_sack_ts();
    ack_of(&mut h, 100, 100);
    ack_of(&mut h, 300, 100);
    h.write(&[1; 5000]);
    let segs = h.recv();
    let mut sent = 0;
    for seg in &segs {
        // 1460 = 1500 less 20 bytes of IPv4 header and 20 of TCP header.
        assert!(
            seg.options.buffer_len() + seg.payload.len() <= 1460,
            "{seg:#?}"
        );
        // Every ACK, data segments included, reports the blocks (RFC 2018 §4).
        assert_eq!(seg.options.sack, blocks(&[(300, 400), (100, 200)]));
        sent += seg.payload.len();
    }
    // 1448 of payload beside timestamps, less 20 bytes of SACK option for two blocks; the
    // shorter segments count as full-sized for Nagle, so the tail follows at once.
    let lens: Vec<usize> = segs.iter().map(|s| s.payload.len()).collect();
    assert_eq!(lens, [1428, 1428, 1428, 716]);
    assert_eq!(sent, 5000);
}
