//! Retransmission: RFC 6298 timers, Karn's rule, backoff and give-up (RFC 9293 §3.8.1, §3.8.3).

use super::harness::*;
use crate::{Config, ConnError, Event, State};

#[test]
fn syn_sent_retransmits_syn_with_backoff_then_times_out() {
    let mut h = Harness::new(Config {
        syn_retries: 2,
        ..Config::default()
    });
    h.connect();
    let syn = h.recv_one().without_ts();
    h.advance(ms(999));
    h.recv_nothing();
    h.advance(ms(1));
    assert_eq!(h.recv_one().without_ts(), syn);
    // Backoff: 2 s, then give up after the second retry's 4 s.
    h.advance(ms(2000));
    assert_eq!(h.recv_one().without_ts(), syn);
    h.advance(ms(4000));
    h.recv_nothing();
    assert_eq!(h.state(), State::Closed);
    assert!(
        h.drain_events()
            .contains(&Event::Closed(Some(ConnError::TimedOut)))
    );
}

#[test]
fn syn_received_retransmits_syn_ack() {
    let mut h = Harness::listening();
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    let syn_ack = h.recv_one();
    h.advance(ms(1000));
    assert_eq!(h.recv_one(), syn_ack);
}

#[test]
fn established_data_retransmitted_after_rto() {
    let mut h = Harness::established();
    h.write(b"data");
    let seg = h.recv_one();
    h.advance(ms(1000));
    let again = h.recv_one();
    assert_eq!(again.seq, seg.seq);
    assert_eq!(again.payload, seg.payload);
    assert_eq!(h.ep.conn(h.id()).map(|c| c.stats().retransmits), Some(1));
}

#[test]
fn syn_received_rtt_sample_sets_rto() {
    let mut h = Harness::listening();
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    h.iss = h.recv_one().seq.get();
    h.advance(ms(100));
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    h.conn = h.listener.and_then(|l| h.ep.accept(l));
    // First sample (RFC 6298 §2.2): SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4*50 = 300 ms.
    let conn = h.ep.conn(h.id()).expect("exists");
    assert_eq!(conn.srtt(), Some(ms(100)));
    assert_eq!(conn.rttvar(), ms(50));
    assert_eq!(conn.rto(), ms(300));
    h.write(b"y");
    let seg = h.recv_one();
    h.advance(ms(299));
    h.recv_nothing();
    h.advance(ms(1));
    assert_eq!(h.recv_one().payload, seg.payload);
    // Backoff doubles it (RFC 6298 §5.5); an ACK of the retransmission gives no sample
    // (Karn), so the next data is timed with the backed-off RTO still in force.
    assert_eq!(h.ep.conn(h.id()).map(|c| c.rto()), Some(ms(600)));
    h.advance(ms(50));
    h.send(Seg::new(ACK, Harness::their(1), h.our(2)));
    let conn = h.ep.conn(h.id()).expect("exists");
    assert_eq!(conn.srtt(), Some(ms(100)));
    assert_eq!(conn.rto(), ms(600));
}

#[test]
fn established_gives_up_after_data_retries() {
    let mut h = Harness::new(Config {
        data_retries: 3,
        ..Config::default()
    });
    let local = std::net::SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free"));
    h.send(Seg::new(SYN, REMOTE_ISS, 0));
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    h.conn = h.listener.and_then(|l| h.ep.accept(l));
    h.write(b"lost");
    h.recv_one();
    for _ in 0..3 {
        h.advance(ms(120_000));
        assert_eq!(h.recv().len(), 1);
    }
    h.advance(ms(120_000));
    assert_eq!(h.state(), State::Closed);
    assert!(
        h.drain_events()
            .contains(&Event::Closed(Some(ConnError::TimedOut)))
    );
}

#[test]
fn fin_wait_1_fin_retransmitted() {
    let mut h = Harness::established();
    h.shutdown();
    let fin = h.recv_one();
    h.advance(ms(1000));
    assert_eq!(h.recv_one(), fin);
}

#[test]
fn established_data_after_rto_acked_from_highest_seq_sent() {
    // After a timeout SND.NXT goes back to SND.UNA, but the peer may already hold everything
    // sent: a pure ACK carrying the rewound SND.NXT would lie left of its window, be dropped as
    // unacceptable, and its news lost (the simulator found two sides stuck this way). BSD
    // sends pure ACKs from the highest sequence number sent (snd_max).
    let mut h = Harness::established();
    h.write(&[1u8; 3 * 1460]);
    assert_eq!(h.recv().len(), 3);
    h.advance(ms(1000));
    let again = h.recv_one();
    assert_eq!(again.seq.get(), h.our(1));
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(b"x"));
    h.advance(ms(40));
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert!(ack.payload.is_empty());
    assert_eq!(ack.seq.get(), h.our(1 + 3 * 1460));
    assert_eq!(ack.ack.get(), Harness::their(2));
}

#[test]
fn syn_sent_timeout_makes_data_start_from_a_3s_rto() {
    // RFC 6298 §5.7: the SYN timed out and Karn's rule leaves no RTT sample, so the first data
    // is retransmitted after 3 s, not 1 s.
    let mut h = Harness::new(Config::default());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.advance(ms(1000));
    h.recv_one();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(1460));
    h.recv_one();
    assert_eq!(h.ep.conn(h.id()).map(|c| c.rto()), Some(ms(3000)));
    h.write(b"data");
    h.recv_one();
    h.advance(ms(2999));
    h.recv_nothing();
    h.advance(ms(1));
    assert_eq!(h.recv_one().payload, b"data");
}
