//! Flow control: the peer's window, zero-window probing, our advertised window and receiver
//! SWS avoidance (RFC 9293 §3.8.6).

use super::harness::*;
use crate::Config;

#[test]
fn established_send_limited_by_peer_window() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(4380));
    h.write(&[1u8; 30000]);
    let segs = h.recv();
    let sent: usize = segs.iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 4380);
    // The window opens wide: the initial congestion window (10 segments, RFC 6928) limits.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(60000));
    let sent: usize = h.recv().iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 14600 - 4380);
}

#[test]
fn established_sender_sws_waits_for_override_on_shrunk_window() {
    let mut h = Harness::established();
    // The peer offered 65535 before; 1000 is under half of that, so sending it now would be
    // silly-window behaviour (RFC 9293 §3.8.6.2.1): wait for the override timeout.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(1000));
    h.write(&[1u8; 3000]);
    h.recv_nothing();
    h.advance(ms(200));
    let seg = h.recv_one();
    assert_eq!(seg.payload.len(), 1000);
}

#[test]
fn established_zero_window_probed_with_backoff() {
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(0));
    h.write(b"blocked");
    h.recv_nothing();
    // The first probe after one RTO (200 ms: the handshake measured an RTT of 0).
    h.advance(ms(199));
    h.recv_nothing();
    h.advance(ms(1));
    let probe = h.recv_one();
    assert_eq!(probe.payload, b"b");
    assert_eq!(probe.seq.get(), h.our(1));
    // The peer still has no room: the next probe waits twice as long.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(0));
    h.recv_nothing();
    h.advance(ms(399));
    h.recv_nothing();
    h.advance(ms(1));
    assert_eq!(h.recv_one().payload, b"b");
    // The window opens: everything goes.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(1000));
    assert_eq!(h.recv_one().payload, b"blocked");
}

#[test]
fn established_window_shrinks_as_buffer_fills_and_reopens_after_read() {
    let mut h = Harness::new(Config {
        recv_buffer: 4000,
        ..Config::default()
    });
    let local = std::net::SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free"));
    h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1000));
    let syn_ack = h.recv_one();
    assert_eq!(syn_ack.window, 4000);
    h.iss = syn_ack.seq.get();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    h.conn = h.listener.and_then(|l| h.ep.accept(l));
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).payload(&[0u8; 1000]));
    h.send(Seg::new(ACK, Harness::their(1001), h.our(1)).payload(&[0u8; 1000]));
    let ack = h.recv_one();
    assert_eq!(ack.window, 2000);
    h.send(Seg::new(ACK, Harness::their(2001), h.our(1)).payload(&[0u8; 1000]));
    h.send(Seg::new(ACK, Harness::their(3001), h.our(1)).payload(&[0u8; 1000]));
    let ack = h.recv_one();
    assert_eq!(ack.window, 0);
    // Data beyond a zero window is not accepted.
    h.send(Seg::new(ACK, Harness::their(4001), h.our(1)).payload(b"x"));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(4001));
    // Reading opens the window and a window update goes out.
    assert_eq!(h.read_all().len(), 4000);
    let update = h.recv_one();
    assert_eq!(update.window, 4000);
}

#[test]
fn receiver_sws_small_read_does_not_open_window() {
    let mut h = Harness::new(Config {
        recv_buffer: 4000,
        ..Config::default()
    });
    let local = std::net::SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free"));
    h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1000));
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    h.conn = h.listener.and_then(|l| h.ep.accept(l));
    for i in 0..4u32 {
        h.send(Seg::new(ACK, Harness::their(1 + 1000 * i), h.our(1)).payload(&[0u8; 1000]));
    }
    h.recv();
    let id = h.id();
    let mut small = [0u8; 10];
    assert_eq!(h.ep.conn_mut(id).map(|c| c.read(&mut small)), Some(Ok(10)));
    // 10 bytes freed: below min(MSS, buffer/2), so no window update.
    h.recv_nothing();
}

#[test]
fn established_ack_without_window_update_keeps_right_edge() {
    let mut h = Harness::established();
    // Out of order, so SND.WL1 moves past the gap: the window is 2920 from our(1).
    h.send(
        Seg::new(ACK, Harness::their(11), h.our(1))
            .payload(&[2u8; 10])
            .window(2920),
    );
    h.recv_one();
    h.write(&[1u8; 5000]);
    assert_eq!(h.recv().len(), 2);
    // The gap fills with a segment older than SND.WL1: its ACK counts, its window (0: the
    // peer's buffer is full) does not (§3.10.7.4 step five). The right edge stays at our(2921),
    // so nothing more may be sent; SND.UNA + the old SND.WND would put it at our(5841).
    h.send(
        Seg::new(ACK, Harness::their(1), h.our(2921))
            .payload(&[2u8; 10])
            .window(0),
    );
    let segs = h.recv();
    assert!(
        segs.iter().all(|s| s.payload.is_empty()),
        "sent past the window: {segs:#?}"
    );
}

#[test]
fn established_ack_left_of_window_still_acknowledges_probe() {
    // Both sides probe a zero window and each takes the other's probe byte. A probe does not
    // advance SND.NXT, so each side's ACKs now start one octet left of the other's window: if
    // an old segment's ACK field were ignored, neither would ever learn its probe arrived, and
    // the two would trade ACKs forever (the simulator found this; BSD keeps processing the ACK
    // of a segment left of the window, as here).
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(0));
    h.send(
        Seg::new(ACK, Harness::their(1), h.our(1))
            .payload(b"p")
            .window(0),
    );
    h.write(b"blocked");
    h.recv_nothing();
    h.advance(ms(40));
    assert_eq!(h.recv_one().ack.get(), Harness::their(2));
    h.advance(ms(160));
    let probe = h.recv_one();
    assert_eq!(
        (probe.seq.get(), probe.payload.as_slice()),
        (h.our(1), &b"b"[..])
    );
    // The peer took our byte and has room now; its ACK starts at its SND.NXT, their(1).
    h.send(Seg::new(ACK, Harness::their(1), h.our(2)).window(1000));
    let segs = h.recv();
    assert!(
        segs.iter()
            .any(|s| s.seq.get() == h.our(2) && s.payload == b"locked"),
        "the rest should follow the probe: {segs:#?}"
    );
}

#[test]
fn established_zero_window_probes_back_off_while_the_peer_answers() {
    // RFC 9293 §3.8.6.1: the interval doubles even though every probe is acknowledged (with a
    // zero window); the answers only keep the connection from giving up.
    let mut h = Harness::established();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(0));
    h.write(b"blocked");
    // Nothing can go out; the persist timer starts now.
    h.recv_nothing();
    let mut gaps = Vec::new();
    let mut last = h.now;
    for _ in 0..4 {
        let mut waited = 0;
        loop {
            h.advance(ms(1));
            waited += 1;
            if let Some(probe) = h.recv().pop() {
                assert_eq!(probe.payload, b"b");
                break;
            }
            assert!(waited < 100_000, "no probe");
        }
        gaps.push(h.now - last);
        last = h.now;
        h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(0));
    }
    assert_eq!(gaps, [ms(200), ms(400), ms(800), ms(1600)]);
}
