//! Closing: RFC 9293 §3.6, figures 12 and 13.

use super::harness::*;
use crate::{Event, State};

#[test]
fn active_close_walks_fin_wait_to_time_wait_then_closed() {
    let mut h = Harness::established();
    h.shutdown();
    let fin = h.recv_one();
    assert_eq!(fin.flags, FIN | ACK);
    assert_eq!(fin.seq.get(), h.our(1));
    assert_eq!(h.state(), State::FinWait1);
    h.send(Seg::new(ACK, Harness::their(1), h.our(2)));
    assert_eq!(h.state(), State::FinWait2);
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(2));
    assert_eq!(h.state(), State::TimeWait);
    // 2 MSL = 60 s by default.
    h.advance(ms(59_999));
    assert_eq!(h.state(), State::TimeWait);
    h.advance(ms(1));
    assert_eq!(h.state(), State::Closed);
    assert!(h.drain_events().contains(&Event::Closed(None)));
}

#[test]
fn fin_wait_1_fin_ack_goes_to_time_wait() {
    let mut h = Harness::established();
    h.shutdown();
    h.recv_one();
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
    h.recv_one();
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn fin_wait_1_fin_without_ack_of_ours_goes_to_closing() {
    let mut h = Harness::established();
    h.shutdown();
    h.recv_one();
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(1)));
    h.recv_one();
    assert_eq!(h.state(), State::Closing);
    h.send(Seg::new(ACK, Harness::their(2), h.our(2)));
    assert_eq!(h.state(), State::TimeWait);
}

#[test]
fn passive_close_close_wait_then_last_ack() {
    let mut h = Harness::established();
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(1)));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(2));
    assert_eq!(h.state(), State::CloseWait);
    let events = h.drain_events();
    assert!(events.contains(&Event::ReadClosed));
    let id = h.id();
    let mut buf = [0u8; 4];
    assert_eq!(h.ep.conn_mut(id).map(|c| c.read(&mut buf)), Some(Ok(0)));
    // Half-close: we can still send.
    h.write(b"late");
    assert_eq!(h.recv_one().payload, b"late");
    h.shutdown();
    let fin = h.recv_one();
    assert_eq!(fin.flags, FIN | ACK);
    assert_eq!(fin.seq.get(), h.our(5));
    assert_eq!(h.state(), State::LastAck);
    h.send(Seg::new(ACK, Harness::their(2), h.our(6)));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn time_wait_retransmitted_fin_is_acked_again() {
    let mut h = Harness::established();
    h.shutdown();
    h.recv_one();
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
    h.recv_one();
    h.advance(ms(30_000));
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(2));
    // The 2 MSL timer restarted.
    h.advance(ms(59_000));
    assert_eq!(h.state(), State::TimeWait);
    h.advance(ms(1_000));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn fin_with_data_delivers_data_then_eof() {
    let mut h = Harness::established();
    h.send(Seg::new(FIN | ACK | PSH, Harness::their(1), h.our(1)).payload(b"bye"));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(5));
    assert_eq!(h.read_all(), b"bye");
    assert_eq!(h.state(), State::CloseWait);
}

#[test]
fn fin_after_gap_waits_for_the_gap() {
    let mut h = Harness::established();
    h.send(Seg::new(FIN | ACK, Harness::their(4), h.our(1)).payload(b"def"));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(1));
    assert_eq!(h.state(), State::Established);
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(b"abc"));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(8));
    assert_eq!(h.state(), State::CloseWait);
    assert_eq!(h.read_all(), b"abcdef");
}

#[test]
fn client_active_close_reports_each_state_change() {
    // The lesson's client: CLOSED → SYN-SENT → ESTABLISHED → FIN-WAIT-1 → FIN-WAIT-2 →
    // TIME-WAIT → CLOSED, as StateChanged events.
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(1460));
    h.recv_one();
    h.shutdown();
    h.recv_one();
    h.send(Seg::new(ACK, Harness::their(1), h.our(2)));
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
    h.recv_one();
    h.advance(ms(60_000));
    let path: Vec<String> = h
        .drain_events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StateChanged { to, .. } => Some(to.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(
        path,
        [
            "SYN-SENT",
            "ESTABLISHED",
            "FIN-WAIT-1",
            "FIN-WAIT-2",
            "TIME-WAIT",
            "CLOSED"
        ]
    );
}

#[test]
fn client_passive_close_close_wait_last_ack() {
    let mut h = Harness::connected();
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(1)));
    h.recv_one();
    assert_eq!(h.state(), State::CloseWait);
    h.shutdown();
    assert_eq!(h.recv_one().flags, FIN | ACK);
    assert_eq!(h.state(), State::LastAck);
    h.send(Seg::new(ACK, Harness::their(2), h.our(2)));
    assert_eq!(h.state(), State::Closed);
}

#[test]
fn time_wait_released_reports_closed_after_2msl() {
    let mut h = Harness::established();
    h.shutdown();
    h.recv_one();
    h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
    h.recv_one();
    h.release();
    h.recv_nothing();
    // The user let go: the connection became a compact TIME-WAIT entry.
    assert_eq!(h.ep.connection_count(), 0);
    assert_eq!(h.ep.time_wait_count(), 1);
    h.drain_events();
    h.advance(ms(60_000));
    assert_eq!(h.ep.time_wait_count(), 0);
    let events = h.drain_events();
    assert_eq!(
        events,
        [
            Event::StateChanged {
                from: State::TimeWait,
                to: State::Closed
            },
            Event::Closed(None)
        ]
    );
}

#[test]
fn established_bare_fin_after_gap_gets_duplicate_ack_at_once() {
    let mut h = Harness::established();
    h.send(Seg::new(FIN | ACK, Harness::their(1001), h.our(1)));
    // RFC 5681 §4.2: out-of-order arrival, even without data, is acknowledged at once.
    let dup = h.recv_one();
    assert_eq!(dup.ack.get(), Harness::their(1));
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(&[7u8; 1000]));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(1002));
    assert_eq!(h.state(), State::CloseWait);
}
