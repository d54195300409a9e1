//! RACK-TLP (RFC 8985), sender side: tail loss probes instead of RTOs (§7), loss detection by
//! time rather than by DupThresh (§6), and the reordering window (§6.2).
//!
//! Unlike the other recovery tests, round trips here take time: the handshake and every ACK
//! come [`RTT`] after what they answer, so SRTT is 100 ms and the RTO 300 ms (RFC 6298: SRTT
//! + 4 × RTTVAR, RTTVAR = RTT / 2 after the first sample).

use std::net::SocketAddr;

use super::harness::*;
use super::recovery::{MSS, ack, info, sent};
use crate::Config;

const RTT: core::time::Duration = core::time::Duration::from_millis(100);

/// Established by a passive open with SACK, the peer's ACK of our SYN-ACK one RTT later.
fn established(config: Config) -> Harness {
    let mut h = Harness::new(config);
    let local = SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free port"));
    h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(MSS as u16).sack_ok());
    h.iss = h.recv_one().seq.get();
    h.advance(RTT);
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    h.conn = h.listener.and_then(|l| h.ep.accept(l));
    h.drain_events();
    h
}

/// Writes `n` full segments and takes them (at most the initial window, 10).
fn send_segments(h: &mut Harness, n: u32) {
    assert_eq!(h.write(&vec![5; (n * MSS) as usize]), (n * MSS) as usize);
    assert_eq!(sent(h), (0..n.min(10)).collect::<Vec<_>>());
}

#[test]
fn established_lost_tail_is_probed_at_two_srtt_not_by_rto() {
    let mut h = established(Config::default());
    send_segments(&mut h, 10);
    // Segment 9 is lost, and the ACKs of 0-8 too. §7.2: PTO = 2 × SRTT, before the RTO.
    assert_eq!(info(&h).rto, 3 * RTT);
    h.advance(2 * RTT - ms(1));
    h.recv_nothing();
    h.advance(ms(1));
    // §7.3: no new data to send: the probe is the last segment again.
    assert_eq!(sent(&mut h), [9]);
    assert_eq!(info(&h).stats.tlp_probes, 1);
    // The probe's ACK covers everything: no RTO follows.
    h.advance(RTT);
    h.send(ack(&h, 10, &[]));
    h.advance(ms(2_000));
    h.recv_nothing();
    let i = info(&h);
    assert_eq!((i.stats.timeouts, i.stats.retransmits), (0, 1));
    assert_eq!(
        i.ssthresh, None,
        "whether the probe repaired a loss is not known yet"
    );
    // §7.4: an ACK beyond the probe without a D-SACK of it confirms the loss it repaired:
    // the congestion response of a fast recovery.
    assert_eq!(h.write(&[5; MSS as usize]), MSS as usize);
    assert_eq!(sent(&mut h), [10]);
    h.advance(RTT);
    h.send(ack(&h, 11, &[]));
    let i = info(&h);
    assert_eq!(i.ssthresh, Some(i.cwnd));
    assert_eq!(i.stats.timeouts, 0);
}

#[test]
fn established_two_lost_tail_segments_probe_sack_lets_rack_retransmit() {
    let mut h = established(Config::default());
    send_segments(&mut h, 10);
    // Segments 8 and 9 are lost.
    h.advance(RTT);
    h.send(ack(&h, 8, &[]));
    h.recv_nothing();
    h.advance(2 * RTT);
    assert_eq!(sent(&mut h), [9]);
    // The probe's SACK: 8 went out an RTT and more before the probe, so RACK declares it lost
    // (one segment SACKed above it would not do for DupThresh) and recovery resends it.
    h.advance(RTT);
    h.send(ack(&h, 8, &[(9, 10)]));
    assert_eq!(sent(&mut h), [8]);
    let i = info(&h);
    assert!(i.in_recovery);
    assert_eq!(i.stats.rack_losses, 1);
    assert_eq!(i.stats.fast_recoveries, 1);
    h.advance(RTT);
    h.send(ack(&h, 10, &[]));
    let i = info(&h);
    assert!(!i.in_recovery);
    assert_eq!((i.stats.timeouts, i.stats.tlp_probes), (0, 1));
}

#[test]
fn established_rack_marks_lost_by_time_with_one_segment_sacked_above() {
    let mut h = established(Config::default());
    send_segments(&mut h, 10);
    h.advance(RTT);
    h.send(ack(&h, 0, &[(1, 2)]));
    h.recv_nothing();
    assert!(!info(&h).in_recovery);
    // §6.2 step 4: RACK.reo_wnd = RACK.min_RTT / 4 = 25 ms past RACK.rtt: the reordering
    // timer (§6.3).
    assert_eq!(h.ep.poll_timeout(), Some(h.now + ms(25)));
    h.advance(ms(25));
    assert_eq!(sent(&mut h), [0]);
    let i = info(&h);
    assert!(i.in_recovery);
    assert_eq!((i.stats.rack_losses, i.stats.fast_recoveries), (1, 1));
    assert_eq!(i.stats.timeouts, 0);
}

#[test]
fn established_reordering_within_reo_wnd_is_not_loss() {
    let mut h = established(Config::default());
    send_segments(&mut h, 10);
    h.advance(RTT);
    h.send(ack(&h, 0, &[(1, 2)]));
    // Segment 0 was only late: it arrives within RACK.reo_wnd.
    h.advance(ms(10));
    h.send(ack(&h, 2, &[]));
    h.advance(ms(100));
    h.recv_nothing();
    let i = info(&h);
    assert!(!i.in_recovery);
    assert_eq!((i.stats.rack_losses, i.stats.retransmits), (0, 0));
}

#[test]
fn established_pto_never_fires_after_the_rto() {
    let mut h = established(Config::default());
    send_segments(&mut h, 1);
    // One segment in flight: 2 × SRTT + WCDelAckT = 400 ms, capped at the RTO (§7.2).
    let rto = info(&h).rto;
    assert_eq!(h.ep.poll_timeout(), Some(h.now + rto));
    h.advance(rto);
    assert_eq!(sent(&mut h), [0]);
    let i = info(&h);
    assert_eq!((i.stats.tlp_probes, i.stats.timeouts), (1, 0));
    // §7.3: the RTO restarts after the probe, and no second probe comes before it.
    assert_eq!(h.ep.poll_timeout(), Some(h.now + rto));
    h.advance(rto);
    assert_eq!(sent(&mut h), [0]);
    let i = info(&h);
    assert_eq!((i.stats.tlp_probes, i.stats.timeouts), (1, 1));
}

#[test]
fn established_without_rack_tlp_lost_tail_waits_for_the_rto() {
    let mut h = established(Config {
        rack_tlp: false,
        ..Config::default()
    });
    send_segments(&mut h, 10);
    h.advance(RTT);
    h.send(ack(&h, 0, &[(1, 2)]));
    // One segment SACKed is no loss for DupThresh, and no probe comes: the RTO, 300 ms after
    // the flight left, resends the head.
    h.advance(2 * RTT - ms(1));
    h.recv_nothing();
    h.advance(ms(1));
    assert_eq!(sent(&mut h), [0]);
    let i = info(&h);
    assert_eq!(i.stats.timeouts, 1);
    assert_eq!((i.stats.tlp_probes, i.stats.rack_losses), (0, 0));
}
