//! RFC 7323: window scaling and timestamps, negotiated in the SYNs; TS.Recent, RTT samples from
//! TSecr, PAWS; and the MSS left for data once timestamps ride in every segment.

use core::time::Duration;
use std::net::SocketAddr;

use wire::Timestamps;

use super::harness::*;
use crate::{Config, Endpoint};

/// Our shift for the default 4 MiB `recv_buffer_max` that autotuning may grow the 256 KB
/// receive buffer to: 65535 << 7 is the first to cover it.
const OUR_WSCALE: u8 = 7;
/// The peer's first TSval.
const PEER_TS: u32 = 100;

/// The peer's SYN, with `wscale` and timestamps offered as asked.
fn peer_syn(wscale: Option<u8>, ts: bool) -> Seg {
    let mut syn = Seg::new(SYN, REMOTE_ISS, 0).mss(1460);
    if let Some(shift) = wscale {
        syn = syn.wscale(shift);
    }
    if ts {
        syn = syn.ts(PEER_TS, 0);
    }
    syn
}

/// Passive open with `syn` from the peer; the peer's ACK echoes our TSval when timestamps
/// were agreed. Returns the SYN-ACK.
fn accept(h: &mut Harness, syn: Seg) -> Seg {
    h.send(syn);
    let syn_ack = h.recv_one();
    h.iss = syn_ack.seq.get();
    let mut ack = Seg::new(ACK, Harness::their(1), h.our(1));
    if let Some(ts) = syn_ack.options.timestamps {
        ack = ack.ts(PEER_TS, ts.tsval);
    }
    h.send(ack);
    h.recv_nothing();
    let listener = h.listener.expect("listening");
    h.conn = Some(h.ep.accept(listener).expect("handshake complete"));
    syn_ack
}

/// Established by a passive open in which the peer offered both options (wscale 7).
fn established_both() -> (Harness, Seg) {
    let mut h = Harness::listening();
    let syn_ack = accept(&mut h, peer_syn(Some(7), true));
    (h, syn_ack)
}

fn ts_of(seg: &Seg) -> Timestamps {
    seg.options.timestamps.expect("a TS option")
}

#[test]
fn listen_syn_without_options_gets_neither_back() {
    let mut h = Harness::listening();
    let syn_ack = accept(&mut h, peer_syn(None, false));
    assert_eq!(syn_ack.options.window_scale, None);
    assert_eq!(syn_ack.options.timestamps, None);
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!((conn.window_scale(), conn.timestamps()), (None, false));
    // No TS after the handshake either, and the window field is not shifted.
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(&[1; 100]));
    h.advance(ms(40));
    let ack = h.recv_one();
    assert_eq!(ack.options, wire::TcpOptions::default());
    // Unscaled: the edge the SYN-ACK offered stays until it may move by an MSS.
    assert_eq!(ack.window, 65535 - 100);
}

#[test]
fn listen_syn_with_wscale_only_scales_both_ways_without_timestamps() {
    let mut h = Harness::listening();
    let syn_ack = accept(&mut h, peer_syn(Some(7), false));
    // §2.2: the SYN-ACK answers with our shift; its own window is not scaled.
    assert_eq!(syn_ack.options.window_scale, Some(OUR_WSCALE));
    assert_eq!(syn_ack.options.timestamps, None);
    assert_eq!(syn_ack.window, 65535);
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!(conn.window_scale(), Some((7, OUR_WSCALE)));
    assert!(!conn.timestamps());
    assert_eq!(conn.mss(), 1460);
    // The peer's window is shifted by its 7.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(100));
    assert_eq!(h.ep.conn(h.id()).map(|c| c.snd().wnd), Some(100 << 7));
    // Ours by our 7: 262144 - 100 free, rounded down to 262016, is 2047 units.
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(&[1; 100]));
    h.advance(ms(40));
    let ack = h.recv_one();
    assert_eq!(ack.options, wire::TcpOptions::default());
    assert_eq!(ack.window, 2047);
}

#[test]
fn listen_syn_with_timestamps_only_echoes_them_without_scaling() {
    let mut h = Harness::listening();
    let syn_ack = accept(&mut h, peer_syn(None, true));
    assert_eq!(syn_ack.options.window_scale, None);
    // §3.2: TSecr of the SYN-ACK echoes the SYN's TSval.
    assert_eq!(ts_of(&syn_ack).tsecr, PEER_TS);
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!((conn.window_scale(), conn.timestamps()), (None, true));
    // 12 bytes of every segment go to the option (RFC 6691).
    assert_eq!(conn.mss(), 1448);
    h.send(
        Seg::new(ACK | PSH, Harness::their(1), h.our(1))
            .payload(&[1; 100])
            .ts(PEER_TS + 5, ts_of(&syn_ack).tsval),
    );
    h.advance(ms(40));
    let ack = h.recv_one();
    assert_eq!(ts_of(&ack).tsecr, PEER_TS + 5);
    // Unscaled: the edge the SYN-ACK offered stays until it may move by an MSS.
    assert_eq!(ack.window, 65535 - 100);
}

#[test]
fn listen_syn_with_both_negotiates_both() {
    let (h, syn_ack) = established_both();
    assert_eq!(syn_ack.options.mss, Some(1460));
    assert_eq!(syn_ack.options.window_scale, Some(OUR_WSCALE));
    assert_eq!(ts_of(&syn_ack).tsecr, PEER_TS);
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!(conn.window_scale(), Some((7, OUR_WSCALE)));
    assert!(conn.timestamps());
}

#[test]
fn listen_options_off_in_config_answers_an_offer_with_neither() {
    let mut h = Harness::new(Config {
        window_scaling: false,
        timestamps: false,
        ..Config::default()
    });
    let local = SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free port"));
    let syn_ack = accept(&mut h, peer_syn(Some(7), true));
    assert_eq!(syn_ack.options.window_scale, None);
    assert_eq!(syn_ack.options.timestamps, None);
    // The peer's window stays unscaled.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(100));
    assert_eq!(h.ep.conn(h.id()).map(|c| c.snd().wnd), Some(100));
}

#[test]
fn closed_connect_syn_offers_mss_timestamps_and_wscale() {
    let mut h = Harness::syn_sent();
    h.advance(ms(1000));
    let syn = h.recv_one();
    assert_eq!(syn.options.mss, Some(1460));
    assert_eq!(syn.options.window_scale, Some(OUR_WSCALE));
    assert_eq!(ts_of(&syn).tsecr, 0);
    // §2.2: the SYN's window is never scaled.
    assert_eq!(syn.window, 65535);
}

#[test]
fn syn_sent_syn_ack_without_options_turns_both_off() {
    let mut h = Harness::connected();
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!((conn.window_scale(), conn.timestamps()), (None, false));
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(&[1; 100]));
    h.advance(ms(40));
    let ack = h.recv_one();
    assert_eq!(ack.options, wire::TcpOptions::default());
    // Unscaled: the edge the SYN-ACK offered stays until it may move by an MSS.
    assert_eq!(ack.window, 65535 - 100);
}

#[test]
fn syn_sent_syn_ack_with_both_negotiates_both() {
    let mut h = Harness::syn_sent();
    h.send(
        Seg::new(SYN | ACK, REMOTE_ISS, h.our(1))
            .mss(1460)
            .wscale(2)
            .ts(PEER_TS, 0)
            .window(1000),
    );
    let ack = h.recv_one();
    assert_eq!(ack.flags, ACK);
    assert_eq!(ts_of(&ack).tsecr, PEER_TS);
    assert_eq!(ack.options.window_scale, None, "WS only in SYNs");
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!(conn.window_scale(), Some((2, OUR_WSCALE)));
    // §2.2: the SYN-ACK's window was not scaled; later ones are.
    assert_eq!(conn.snd().wnd, 1000);
    h.send(
        Seg::new(ACK, Harness::their(1), h.our(1))
            .window(1000)
            .ts(PEER_TS + 1, ts_of(&ack).tsval),
    );
    assert_eq!(h.ep.conn(h.id()).map(|c| c.snd().wnd), Some(4000));
}

#[test]
fn syn_sent_wscale_above_14_is_used_as_14() {
    let mut h = Harness::syn_sent();
    h.send(
        Seg::new(SYN | ACK, REMOTE_ISS, h.our(1))
            .mss(1460)
            .wscale(15),
    );
    h.recv_one();
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!(conn.window_scale(), Some((14, OUR_WSCALE)));
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)).window(3));
    assert_eq!(h.ep.conn(h.id()).map(|c| c.snd().wnd), Some(3 << 14));
}

#[test]
fn closed_connect_big_buffer_offers_at_most_14() {
    let mut ep = Endpoint::new(
        Config {
            recv_buffer: 2 << 30,
            ..Config::default()
        },
        [7; 32],
    );
    let local = SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    let remote = SocketAddr::new(REMOTE_IP, REMOTE_PORT);
    let now = crate::Instant::from_micros(1);
    ep.connect(now, local, remote).expect("free tuple");
    let syn = ep.poll_transmit(now).expect("our SYN");
    assert_eq!(syn.tcp.options.window_scale, Some(14));
}

#[test]
fn established_without_timestamps_on_negotiated_connection_dropped_silently() {
    let (mut h, _) = established_both();
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(b"no TS"));
    h.advance(ms(500));
    h.recv_nothing();
    assert!(h.read_all().is_empty());
    assert_eq!(h.ep.conn(h.id()).map(|c| c.stats().paws_drops), Some(1));
}

#[test]
fn established_paws_drops_old_tsval_and_acks() {
    let (mut h, syn_ack) = established_both();
    let our_ts = ts_of(&syn_ack).tsval;
    h.send(
        Seg::new(ACK | PSH, Harness::their(1), h.our(1))
            .payload(b"new")
            .ts(PEER_TS + 100, our_ts),
    );
    h.advance(ms(40));
    assert_eq!(ts_of(&h.recv_one()).tsecr, PEER_TS + 100);
    // An old duplicate from an earlier incarnation: in the window, but TSval < TS.Recent.
    h.send(
        Seg::new(ACK | PSH, Harness::their(4), h.our(1))
            .payload(b"old")
            .ts(PEER_TS + 50, our_ts),
    );
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(4));
    assert_eq!(ts_of(&ack).tsecr, PEER_TS + 100);
    assert_eq!(h.read_all(), b"new");
    assert_eq!(h.ep.conn(h.id()).map(|c| c.stats().paws_drops), Some(1));
}

#[test]
fn established_paws_spares_rst() {
    let (mut h, _) = established_both();
    h.send(Seg::new(RST, Harness::their(1), 0).ts(PEER_TS - 50, 0));
    assert_eq!(h.state(), crate::State::Closed);
}

#[test]
fn established_ts_recent_invalid_after_24_days_idle() {
    let (mut h, syn_ack) = established_both();
    let our_ts = ts_of(&syn_ack).tsval;
    h.advance(Duration::from_secs(25 * 24 * 60 * 60));
    // §5.5: TS.Recent is too old to judge by; the segment is taken and its TSval recorded.
    h.send(
        Seg::new(ACK | PSH, Harness::their(1), h.our(1))
            .payload(b"late")
            .ts(PEER_TS - 50, our_ts),
    );
    h.advance(ms(40));
    assert_eq!(ts_of(&h.recv_one()).tsecr, PEER_TS - 50);
    assert_eq!(h.read_all(), b"late");
}

#[test]
fn established_ts_recent_only_from_segment_at_last_ack_sent() {
    let (mut h, syn_ack) = established_both();
    let our_ts = ts_of(&syn_ack).tsval;
    let full = [1u8; 1448];
    // Two full segments, the second beyond Last.ACK.sent: §4.3 keeps the first's TSval, so
    // the ACK's echo covers the delay of the whole pair.
    h.send(
        Seg::new(ACK, Harness::their(1), h.our(1))
            .payload(&full)
            .ts(PEER_TS + 1, our_ts),
    );
    h.recv_nothing();
    h.send(
        Seg::new(ACK, Harness::their(1449), h.our(1))
            .payload(&full)
            .ts(PEER_TS + 2, our_ts),
    );
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(2897));
    assert_eq!(ts_of(&ack).tsecr, PEER_TS + 1);
    // The next segment starts at Last.ACK.sent: its TSval is recorded.
    h.send(
        Seg::new(ACK | PSH, Harness::their(2897), h.our(1))
            .payload(b"x")
            .ts(PEER_TS + 3, our_ts),
    );
    h.advance(ms(40));
    assert_eq!(ts_of(&h.recv_one()).tsecr, PEER_TS + 3);
}

#[test]
fn established_rtt_sampled_from_tsecr_even_after_retransmission() {
    let (mut h, _) = established_both();
    h.write(b"data");
    let first = h.recv_one();
    // No ACK: the RTO fires.
    let rto = h.ep.conn(h.id()).map(|c| c.rto()).expect("connection");
    h.advance(rto);
    let again = h.recv_one();
    assert_eq!(again.payload, first.payload);
    // The ACK echoes the retransmission, 30 ms later: a valid sample despite Karn (§4.1).
    h.advance(ms(30));
    h.send(Seg::new(ACK, Harness::their(1), h.our(5)).ts(PEER_TS + 1, ts_of(&again).tsval));
    let conn = h.ep.conn(h.id()).expect("connection");
    assert_eq!(conn.snd().una.get(), h.our(5));
    // The handshake's 0 ms sample, then 30 ms: SRTT = 7/8 * 0 + 1/8 * 30.
    assert_eq!(conn.srtt(), Some(Duration::from_micros(3750)));
}

#[test]
fn established_no_segment_exceeds_the_mtu_with_timestamps() {
    let (mut h, syn_ack) = established_both();
    let our_ts = ts_of(&syn_ack).tsval;
    h.send(
        Seg::new(ACK, Harness::their(1), h.our(1))
            .window(10_000)
            .ts(PEER_TS + 1, our_ts),
    );
    h.write(&[7u8; 20_000]);
    let segs = h.recv();
    assert!(!segs.is_empty());
    for seg in &segs {
        // IPv4 and TCP headers, the options (TS: 12 bytes), the payload.
        let size = 20 + 20 + seg.options.buffer_len() + seg.payload.len();
        assert!(size <= 1500, "{size} bytes: {seg:?}");
        assert!(seg.options.timestamps.is_some());
    }
    assert_eq!(segs[0].payload.len(), 1448);
}

#[test]
fn established_scaled_window_rounds_up_so_the_right_edge_stays() {
    let mut h = Harness::listening();
    accept(&mut h, peer_syn(Some(7), false));
    h.send(Seg::new(ACK | PSH, Harness::their(1), h.our(1)).payload(&[1; 100]));
    h.advance(ms(40));
    // 262016 bytes from their(101): the right edge is their(262117).
    assert_eq!(h.recv_one().window, 2047);
    h.send(Seg::new(ACK | PSH, Harness::their(101), h.our(1)).payload(&[1; 3]));
    h.advance(ms(40));
    // 262013 bytes left would be 2046.98 units: rounding down would pull the edge back, so
    // it rounds up, to 3 bytes past the old edge but within the free 262041.
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(104));
    assert_eq!(ack.window, 2047);
}

#[test]
fn time_wait_compact_entry_answers_with_timestamps() {
    let (mut h, _) = established_both();
    h.shutdown();
    let fin = h.recv_one();
    assert!(fin.flags.contains(FIN));
    let peer_fin =
        Seg::new(FIN | ACK, Harness::their(1), h.our(2)).ts(PEER_TS + 1, ts_of(&fin).tsval);
    h.send(peer_fin.clone());
    assert_eq!(ts_of(&h.recv_one()).tsecr, PEER_TS + 1);
    h.release();
    h.recv_nothing();
    assert_eq!(h.ep.time_wait_count(), 1);
    h.advance(ms(200));
    // Our ACK was lost: the retransmitted FIN reaches the compact entry, whose ACK still carries
    // timestamps, which the peer would otherwise drop (§3.2).
    h.send(peer_fin.ts(PEER_TS + 200, ts_of(&fin).tsval));
    let ack = h.recv_one();
    assert_eq!(ack.ack.get(), Harness::their(2));
    assert_eq!(ts_of(&ack).tsecr, PEER_TS + 1);
    assert_eq!(ts_of(&ack).tsval, ts_of(&fin).tsval + 200);
}
