//! Resets: RFC 9293 §3.5.2-3 with RFC 5961's blind-attack defences.

use super::harness::*;
use crate::{ConnError, Event, State};

#[test]
fn established_rst_at_rcv_nxt_resets() {
    let mut h = Harness::established();
    h.send(Seg::new(RST, Harness::their(1), 0));
    h.recv_nothing();
    assert_eq!(h.state(), State::Closed);
    assert!(
        h.drain_events()
            .contains(&Event::Closed(Some(ConnError::Reset)))
    );
}

#[test]
fn established_rst_in_window_gets_challenge_ack() {
    let mut h = Harness::established();
    h.send(Seg::new(RST, Harness::their(100), 0));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(ack.seq.get(), h.our(1));
    assert_eq!(ack.ack.get(), Harness::their(1));
    assert_eq!(h.state(), State::Established);
}

#[test]
fn established_rst_outside_window_dropped_silently() {
    let mut h = Harness::established();
    h.send(Seg::new(RST, Harness::their(1 << 30), 0));
    h.recv_nothing();
    assert_eq!(h.state(), State::Established);
}

#[test]
fn established_syn_gets_challenge_ack() {
    let mut h = Harness::established();
    h.send(Seg::new(SYN, Harness::their(1), 0));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(ack.ack.get(), Harness::their(1));
    assert_eq!(h.state(), State::Established);
}

#[test]
fn established_challenge_acks_are_rate_limited() {
    let mut h = Harness::established();
    let mut sent = 0;
    for _ in 0..50 {
        h.send(Seg::new(SYN, Harness::their(1), 0));
        sent += h.recv().len();
    }
    assert_eq!(sent, 10);
    h.advance(ms(1000));
    h.send(Seg::new(SYN, Harness::their(1), 0));
    assert_eq!(h.recv().len(), 1);
}

#[test]
fn established_old_ack_gets_challenge_ack() {
    let mut h = Harness::established();
    // RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND.
    h.send(Seg::new(
        ACK,
        Harness::their(1),
        h.our(1).wrapping_sub(1 << 20),
    ));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(h.ep.conn(h.id()).map(|c| c.stats().challenge_acks), Some(1));
}

#[test]
fn syn_received_rst_returns_to_listen() {
    let mut h = Harness::listening();
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    h.recv_one();
    h.send(Seg::new(RST, Harness::their(1), 0));
    h.recv_nothing();
    assert_eq!(h.ep.connection_count(), 0);
    // The listener takes a new SYN.
    h.send(Seg::new(SYN, REMOTE_ISS + 7, 0));
    assert_eq!(h.recv_one().flags, SYN | ACK);
}

#[test]
fn established_abort_sends_rst() {
    let mut h = Harness::established();
    let (id, now) = (h.id(), h.now);
    h.ep.conn_mut(id).expect("exists").abort(now);
    let rst = h.recv_one();
    assert_eq!(rst.flags, RST);
    assert_eq!(rst.seq.get(), h.our(1));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn established_close_with_unread_data_sends_rst() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(b"unread"));
    h.recv();
    let (id, now) = (h.id(), h.now);
    h.ep.release(now, id);
    let segs = h.recv();
    assert_eq!(segs.last().map(|s| s.flags), Some(RST));
    assert_eq!(h.ep.connection_count(), 0);
}

#[test]
fn established_rst_beyond_advertised_window_dropped_silently() {
    // The receive buffer (256 KiB) is larger than the 16-bit window we advertised (65535):
    // RCV.WND is what the peer was told, so a RST 100 000 octets ahead is outside it.
    let mut h = Harness::established();
    h.send(Seg::new(RST, Harness::their(100_000), 0));
    h.recv_nothing();
    assert_eq!(h.state(), State::Established);
    assert_eq!(h.ep.conn(h.id()).map(|c| c.stats().challenge_acks), Some(0));
}

#[test]
fn closed_but_held_segment_answered_with_rst() {
    // Reset by the peer, the connection is CLOSED while the user still holds it: a later
    // segment gets the RST of §3.10.7.1.
    let mut h = Harness::established();
    h.send(Seg::new(RST, Harness::their(1), 0));
    assert_eq!(h.state(), State::Closed);
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(b"late"));
    let rst = h.recv_one();
    assert_eq!(rst.flags, RST);
    assert_eq!(rst.seq.get(), h.our(1));
}
