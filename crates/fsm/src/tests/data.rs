//! Moving data: segmentation, reassembly, delayed ACK, Nagle (RFC 9293 §3.7-3.8).

use super::harness::*;
use crate::{Event, ReadError};

#[test]
fn established_data_in_order_is_readable_and_acked_after_delay() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(b"hello"));
    // A single small segment: the ACK is delayed.
    h.recv_nothing();
    assert!(h.drain_events().contains(&Event::Readable));
    assert_eq!(h.read_all(), b"hello");
    h.advance(ms(40));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(ack.ack.get(), Harness::their(6));
}

#[test]
fn established_two_full_segments_acked_at_once() {
    let mut h = Harness::established();
    let full = vec![7u8; 1460];
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(&full));
    h.recv_nothing();
    h.send(Seg::new(ACK, Harness::their(1461), h.our(1)).payload(&full));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(2921));
}

#[test]
fn established_out_of_order_acked_at_once_then_gap_fill() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(4), h.our(1)).payload(b"def"));
    let dup_ack = h.recv_one();
    assert_eq!(dup_ack.ack.get(), Harness::their(1));
    let id = h.id();
    let mut buf = [0u8; 8];
    assert_eq!(
        h.ep.conn_mut(id).map(|c| c.read(&mut buf)),
        Some(Err(ReadError::Blocked))
    );
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(b"abc"));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(7));
    assert_eq!(h.read_all(), b"abcdef");
}

#[test]
fn established_duplicate_data_acked_not_delivered_twice() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(b"abc"));
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(b"abc"));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(4));
    assert_eq!(h.read_all(), b"abc");
}

#[test]
fn established_write_segments_by_mss_with_psh_on_last() {
    let mut h = Harness::established();
    let data: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
    assert_eq!(h.write(&data), 4000);
    let segs = h.recv();
    // IW10 covers it: three segments of 1460, 1460, 1080.
    let lens: Vec<usize> = segs.iter().map(|s| s.payload.len()).collect();
    assert_eq!(lens, [1460, 1460, 1080]);
    assert_eq!(segs[0].seq.get(), h.our(1));
    assert_eq!(segs[2].seq.get(), h.our(2921));
    assert!(!segs[0].flags.psh());
    assert!(segs[2].flags.psh());
    let sent: Vec<u8> = segs.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(sent, data);
}

#[test]
fn established_nagle_holds_small_segment_while_data_in_flight() {
    let mut h = Harness::established();
    h.write(b"a");
    assert_eq!(h.recv_one().payload, b"a");
    h.write(b"b");
    // Nagle: unacknowledged data in flight, so the small write waits.
    h.recv_nothing();
    h.send(Seg::new(ACK, Harness::their(1), h.our(2)));
    let seg = h.recv_one();
    assert_eq!(seg.payload, b"b");
    assert_eq!(seg.seq.get(), h.our(2));
}

#[test]
fn established_nodelay_sends_small_segments_at_once() {
    let mut h = Harness::established();
    let id = h.id();
    h.ep.conn_mut(id).expect("exists").set_nodelay(true);
    h.write(b"a");
    assert_eq!(h.recv_one().payload, b"a");
    h.write(b"b");
    assert_eq!(h.recv_one().payload, b"b");
}

#[test]
fn established_ack_frees_send_buffer_and_signals_writable() {
    let mut h = Harness::established();
    h.write(b"hello");
    h.recv_one();
    h.drain_events();
    h.send(Seg::new(ACK, Harness::their(1), h.our(6)));
    assert!(h.drain_events().contains(&Event::Writable));
    assert_eq!(h.ep.conn(h.id()).map(|c| c.send_queued()), Some(0));
}

#[test]
fn established_ack_of_unsent_data_answered_with_ack() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(500)));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(ack.seq.get(), h.our(1));
}
