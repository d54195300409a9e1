//! Opening a connection: RFC 9293 §3.5 and §3.10.7.2-3.

use super::harness::*;
use crate::{ConnError, Event, State};

#[test]
fn listen_syn_sends_syn_ack() {
    let mut h = Harness::listening();
    h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1200));
    let syn_ack = h.recv_one();
    assert_eq!(syn_ack.flags, SYN | ACK);
    assert_eq!(syn_ack.ack.get(), Harness::their(1));
    assert_eq!(syn_ack.options.mss, Some(1460));
    assert!(syn_ack.payload.is_empty());
}

#[test]
fn syn_received_ack_of_syn_establishes_and_queues_for_accept() {
    let h = Harness::established();
    assert_eq!(h.state(), State::Established);
    // The peer's MSS option was honoured.
    assert_eq!(h.ep.conn(h.id()).map(|c| c.mss()), Some(1460));
}

#[test]
fn listen_ack_answered_with_rst() {
    let mut h = Harness::listening();
    h.send(Seg::new(ACK, 5, 777));
    let rst = h.recv_one();
    // §3.10.7.2: <SEQ=SEG.ACK><CTL=RST>.
    assert_eq!(rst.flags, RST);
    assert_eq!(rst.seq.get(), 777);
}

#[test]
fn listen_rst_ignored() {
    let mut h = Harness::listening();
    h.send(Seg::new(RST, 5, 0));
    h.recv_nothing();
}

#[test]
fn closed_port_syn_answered_with_rst_ack() {
    let mut h = Harness::new(crate::Config::default());
    h.send(Seg::new(SYN, REMOTE_ISS, 0).payload(b"ab"));
    let rst = h.recv_one();
    // §3.10.7.1: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
    assert_eq!(rst.flags, RST | ACK);
    assert_eq!(rst.seq.get(), 0);
    assert_eq!(rst.ack.get(), Harness::their(3));
}

#[test]
fn syn_sent_syn_ack_establishes() {
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    let syn = h.recv_one();
    assert_eq!(syn.flags, SYN);
    assert_eq!(syn.options.mss, Some(1460));
    assert_eq!(h.state(), State::SynSent);
    h.iss = syn.seq.get();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(1000));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(ack.seq.get(), h.our(1));
    assert_eq!(ack.ack.get(), Harness::their(1));
    assert_eq!(h.state(), State::Established);
    assert_eq!(h.ep.conn(h.id()).map(|c| c.mss()), Some(1000));
    assert!(h.drain_events().contains(&Event::Connected));
}

#[test]
fn syn_sent_missing_mss_option_means_536() {
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)));
    h.recv_one();
    assert_eq!(h.ep.conn(h.id()).map(|c| c.mss()), Some(536));
}

#[test]
fn syn_sent_rst_ack_refuses() {
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(RST | ACK, 0, h.our(1)));
    h.recv_nothing();
    assert_eq!(h.state(), State::Closed);
    assert!(
        h.drain_events()
            .contains(&Event::Closed(Some(ConnError::Refused)))
    );
}

#[test]
fn syn_sent_rst_with_bad_ack_ignored() {
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(RST | ACK, 0, h.our(5)));
    h.recv_nothing();
    assert_eq!(h.state(), State::SynSent);
}

#[test]
fn syn_sent_bad_ack_answered_with_rst() {
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(ACK, 9, h.our(100)));
    let rst = h.recv_one();
    assert_eq!(rst.flags, RST);
    assert_eq!(rst.seq.get(), h.our(100));
    assert_eq!(h.state(), State::SynSent);
}

#[test]
fn syn_sent_syn_is_simultaneous_open() {
    let mut h = Harness::new(crate::Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    // Figure 8: the SYNs cross.
    h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1460));
    assert_eq!(h.state(), State::SynReceived);
    let syn_ack = h.recv_one();
    assert_eq!(syn_ack.flags, SYN | ACK);
    assert_eq!(syn_ack.seq.get(), h.our(0));
    assert_eq!(syn_ack.ack.get(), Harness::their(1));
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)));
    // The peer's SYN-ACK repeats its SYN: a challenge ACK; its ACK still completes nothing
    // until a plain ACK arrives.
    h.recv();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    assert_eq!(h.state(), State::Established);
}

#[test]
fn syn_received_duplicate_syn_resends_syn_ack() {
    let mut h = Harness::listening();
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    let first = h.recv_one();
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    let again = h.recv_one();
    assert_eq!(again, first);
}

#[test]
fn syn_received_bad_ack_answered_with_rst() {
    let mut h = Harness::listening();
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    let syn_ack = h.recv_one();
    h.send(Seg::new(
        ACK,
        Harness::their(1),
        syn_ack.seq.get().wrapping_add(50),
    ));
    let rst = h.recv_one();
    assert_eq!(rst.flags, RST);
    assert_eq!(rst.seq.get(), syn_ack.seq.get().wrapping_add(50));
}

#[test]
fn listen_backlog_full_drops_syn() {
    let mut h = Harness::new(crate::Config::default());
    let local = std::net::SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 1).expect("free"));
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    assert_eq!(h.recv().len(), 1);
    // A second SYN from another port: the backlog of one is full.
    let ip = wire::IpRepr {
        src: REMOTE_IP,
        dst: LOCAL_IP,
        hop_limit: 64,
    };
    let tcp = wire::TcpRepr {
        src_port: REMOTE_PORT + 1,
        dst_port: LOCAL_PORT,
        seq: wire::SeqNum::new(5),
        ack: wire::SeqNum::new(0),
        flags: SYN,
        window: 1000,
        urgent: 0,
        options: wire::TcpOptions::default(),
        payload: &[],
    };
    h.ep.handle_segment(h.now, &ip, &tcp);
    h.recv_nothing();
    assert_eq!(h.ep.stats().syns_dropped, 1);
}

#[test]
fn syn_received_ack_at_right_edge_of_full_window_establishes() {
    // The peer filled our 262-byte window with its first data, which was lost; its ACKs now
    // start at the right edge, RCV.NXT + RCV.WND. RFC 9293's test (SEG.SEQ < RCV.NXT +
    // RCV.WND) would drop them, and the handshake could never complete (the simulator found
    // this); BSD and Linux accept an empty segment at the right edge.
    let mut h = Harness::new(crate::Config {
        recv_buffer: 262,
        ..crate::Config::default()
    });
    let local = std::net::SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    let listener = h.ep.listen(local, 8).expect("free port");
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    let syn_ack = h.recv_one();
    assert_eq!(syn_ack.window, 262);
    h.iss = syn_ack.seq.get();
    h.send(Seg::new(ACK, Harness::their(1 + 262), h.our(1)));
    h.conn = Some(h.ep.accept(listener).expect("handshake complete"));
    assert_eq!(h.state(), State::Established);
}
