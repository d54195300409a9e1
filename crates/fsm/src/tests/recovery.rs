//! Loss recovery, sender side: fast retransmit on the third duplicate ACK (RFC 5681 §3.2),
//! NewReno's partial ACKs (RFC 6582), SACK loss detection and NextSeg() (RFC 6675), PRR
//! (RFC 6937), limited transmit (RFC 3042), the loss window after a timeout and the restart
//! window after idle (RFC 5681 §3.1, §4.1).

use std::net::SocketAddr;

use wire::{SackBlock, SackBlocks, SeqNum};

use super::harness::*;
use crate::{Config, CongestionAlgorithm, Info};

/// The MSS the peer announces; with no timestamps every segment carries this much.
pub(super) const MSS: u32 = 1460;

/// Established by a passive open under `config`, the peer offering SACK when `sack`.
fn established(config: Config, sack: bool) -> Harness {
    let mut h = Harness::new(config);
    let local = SocketAddr::new(LOCAL_IP, LOCAL_PORT);
    h.listener = Some(h.ep.listen(local, 8).expect("free port"));
    let syn = Seg::new(SYN, REMOTE_ISS, 0).mss(MSS as u16);
    h.send(if sack { syn.sack_ok() } else { syn });
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(ACK, Harness::their(1), h.our(1)));
    h.conn = h.listener.and_then(|l| h.ep.accept(l));
    h.drain_events();
    h
}

fn newreno() -> Config {
    Config {
        congestion_control: CongestionAlgorithm::NewReno,
        ..Config::default()
    }
}

/// NewReno with RFC 6675's DupThresh rule alone: RACK-TLP (RFC 8985) off. The harness's
/// round trips take no time, so RACK would call every hole lost at the first SACK, and the PTO
/// would fire before the RTO; the tests of DupThresh, PRR, the rescue and go-back-N turn it
/// off.
fn newreno_dupthresh() -> Config {
    Config {
        rack_tlp: false,
        ..newreno()
    }
}

pub(super) fn info(h: &Harness) -> Info {
    h.ep.conn(h.id()).expect("connection").info()
}

/// Our sequence number of the first byte of segment `n` (0-based, full-sized segments).
pub(super) fn seg_seq(h: &Harness, n: u32) -> u32 {
    h.our(1 + n * MSS)
}

/// An ACK up to the start of our segment `n`, SACKing segments `[from, to)` per range.
pub(super) fn ack(h: &Harness, n: u32, sacked: &[(u32, u32)]) -> Seg {
    let mut seg = Seg::new(ACK, Harness::their(1), seg_seq(h, n));
    let mut blocks = SackBlocks::new();
    for &(from, to) in sacked {
        assert!(blocks.push(SackBlock {
            left: SeqNum::new(seg_seq(h, from)),
            right: SeqNum::new(seg_seq(h, to)),
        }));
    }
    seg.options.sack = blocks;
    seg
}

/// Which of our segments (by index) the given segments start at.
pub(super) fn indices(h: &Harness, segs: &[Seg]) -> Vec<u32> {
    segs.iter()
        .map(|s| (s.seq.get().wrapping_sub(h.our(1))) / MSS)
        .collect()
}

/// The indices of the segments the endpoint sends now.
pub(super) fn sent(h: &mut Harness) -> Vec<u32> {
    let segs = h.recv();
    indices(h, &segs)
}

/// Writes `n` full segments of data and takes the initial window's worth (10 segments).
fn send_initial_window(h: &mut Harness, n: u32) -> Vec<Seg> {
    assert_eq!(h.write(&vec![5; (n * MSS) as usize]), (n * MSS) as usize);
    let segs = h.recv();
    assert_eq!(indices(h, &segs), (0..10).collect::<Vec<_>>());
    segs
}

#[test]
fn established_third_duplicate_ack_fast_retransmits_without_sack() {
    let mut h = established(newreno(), false);
    send_initial_window(&mut h, 40);
    // Segment 0 is lost; 1, 2, 3 arrive, each drawing a duplicate ACK.
    // RFC 3042 limited transmit: each of the first two sends one new segment.
    h.send(ack(&h, 0, &[]));
    assert_eq!(sent(&mut h), [10]);
    h.send(ack(&h, 0, &[]));
    assert_eq!(sent(&mut h), [11]);
    assert_eq!(info(&h).stats.fast_recoveries, 0);
    // The third: fast retransmit, well before any RTO (RFC 5681 §3.2).
    h.send(ack(&h, 0, &[]));
    let out = h.recv();
    assert_eq!(indices(&h, &out)[0], 0);
    let i = info(&h);
    assert!(i.in_recovery);
    assert_eq!(i.stats.fast_recoveries, 1);
    assert_eq!(i.stats.timeouts, 0);
    // RFC 5681 eq. 4: ssthresh = FlightSize / 2; twelve segments were in flight, two of them
    // sent by limited transmit, which FlightSize leaves out (RFC 5681 §3.2 step 2).
    assert_eq!(i.ssthresh, Some(5 * MSS));
}

#[test]
fn established_partial_ack_retransmits_next_hole_without_sack() {
    let mut h = established(newreno(), false);
    send_initial_window(&mut h, 40);
    // Segments 0 and 4 lost.
    for _ in 0..3 {
        h.send(ack(&h, 0, &[]));
        h.recv();
    }
    assert!(info(&h).in_recovery);
    // The retransmitted 0 fills the first hole: a partial ACK up to 4 (RFC 6582 §3.2 step
    // 5) makes segment 4 the next to go, as soon as PRR allows (the next duplicate ACKs).
    h.send(ack(&h, 4, &[]));
    let mut out = h.recv();
    while out.is_empty() {
        h.send(ack(&h, 4, &[]));
        out = h.recv();
    }
    assert_eq!(indices(&h, &out).first(), Some(&4));
    assert!(info(&h).in_recovery);
    // A full ACK of everything ends recovery. Nothing is left in flight, so cwnd is
    // FlightSize + SMSS, not ssthresh (RFC 6582 §3.2 step 3, option 1): no burst of six
    // segments at once; slow start climbs back.
    let high = info(&h).stats.bytes_sent as u32 / MSS;
    h.send(ack(&h, high, &[]));
    let i = info(&h);
    assert!(!i.in_recovery);
    assert_eq!(i.ssthresh, Some(5 * MSS));
    assert_eq!(i.cwnd, 2 * MSS);
    assert_eq!(sent(&mut h).len(), 2);
}

#[test]
fn established_only_first_partial_ack_restarts_timer_without_sack() {
    let mut h = established(newreno(), false);
    send_initial_window(&mut h, 10);
    // Every other segment lost: 1, 3, 5, 7, 9 arrive.
    for _ in 0..3 {
        h.send(ack(&h, 0, &[]));
    }
    assert_eq!(sent(&mut h), [0]);
    let rto = info(&h).rto;
    // The first partial ACK restarts the timer (RFC 6582 §3.2 step 5)...
    h.send(ack(&h, 2, &[]));
    h.recv();
    h.advance(rto - ms(50));
    // ...a later one does not (the Impatient variant, §4): the RTO fires one RTO after the
    // first, and slow start resends the rest instead of one hole per round trip.
    h.send(ack(&h, 4, &[]));
    h.recv();
    h.advance(ms(50));
    let i = info(&h);
    assert_eq!(i.stats.timeouts, 1);
    assert!(!i.in_recovery);
    assert_eq!(i.cwnd, MSS);
}

#[test]
fn syn_sent_syn_timeout_leaves_one_segment_and_no_ssthresh() {
    let mut h = Harness::new(newreno());
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.advance(ms(1000));
    h.recv_one();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(MSS as u16));
    h.recv();
    // RFC 5681 §3.1: after a lost SYN the initial window is one segment; nothing was in
    // flight to halve, so ssthresh stays unset.
    let i = info(&h);
    assert_eq!(i.cwnd, MSS);
    assert_eq!(i.ssthresh, None);
}

#[test]
fn established_sack_of_three_segments_detects_loss_on_one_ack() {
    let mut h = established(newreno(), true);
    send_initial_window(&mut h, 40);
    // One ACK SACKing segments 1..4: IsLost(HighACK + 1) holds with DupAcks = 1 (RFC 6675
    // §5 step 2), so segment 0 goes again at once.
    h.send(ack(&h, 0, &[(1, 4)]));
    let out = h.recv();
    assert_eq!(indices(&h, &out).first(), Some(&0));
    let i = info(&h);
    assert!(i.in_recovery);
    assert_eq!(i.stats.sack_blocks_received, 1);
}

#[test]
fn established_sack_retransmits_every_lost_hole_in_one_recovery() {
    let mut h = established(newreno(), true);
    send_initial_window(&mut h, 40);
    // Segments 0 and 4 lost, the rest SACKed: both holes are lost (RFC 6675 IsLost) and
    // NextSeg() rule 1 picks them first, before new data.
    h.send(ack(&h, 0, &[(5, 10), (1, 4)]));
    let out = sent(&mut h);
    assert_eq!(out[..2], [0, 4], "{out:?}");
    assert!(out[2..].iter().all(|&n| n >= 10), "{out:?}");
    let rxt = info(&h).stats.retransmits;
    assert_eq!(rxt, 2);
}

#[test]
fn established_sack_retransmits_unsacked_hole_not_yet_lost_by_rule_3() {
    let mut h = established(newreno(), true);
    assert_eq!(h.write(&vec![5; 6 * MSS as usize]), 6 * MSS as usize);
    assert_eq!(sent(&mut h).len(), 6);
    // 0 and 4 missing, 1..4 and 5 SACKed: 0 is lost (three segments SACKed above it), 4 is
    // not (one). With no new data to send, NextSeg() rule 3 still sends 4 after 0.
    h.send(ack(&h, 0, &[(1, 4), (5, 6)]));
    assert_eq!(sent(&mut h), [0, 4]);
}

#[test]
fn established_sack_tail_loss_gets_rescue_retransmission() {
    // RFC 6675 alone: with RACK on, RACK marks the tail lost first (see rack.rs).
    let mut h = established(newreno_dupthresh(), true);
    send_initial_window(&mut h, 10);
    // 0 and the last segment, 9, lost: nothing is SACKed above 9, so no rule marks it lost.
    h.send(ack(&h, 0, &[(1, 9)]));
    assert_eq!(sent(&mut h), [0]);
    // Once the retransmission is acknowledged (HighACK passes RescueRxt), NextSeg() rule 4
    // retransmits the segment holding the highest unSACKed byte, without waiting for the RTO.
    h.send(ack(&h, 9, &[]));
    assert_eq!(sent(&mut h), [9]);
    let i = info(&h);
    assert_eq!(i.stats.retransmits, 2);
    assert_eq!(i.stats.timeouts, 0);
    // One rescue per recovery: a duplicate ACK gets nothing more.
    h.send(ack(&h, 9, &[]));
    assert!(sent(&mut h).is_empty());
}

#[test]
fn established_sack_pipe_excludes_sacked_and_lost_data() {
    let mut h = established(newreno(), true);
    send_initial_window(&mut h, 10);
    h.send(ack(&h, 0, &[(5, 10), (1, 4)]));
    h.recv();
    // After retransmitting 0 and 4: pipe is what RFC 6675 SetPipe() counts: the two
    // retransmissions, nothing else (the rest is SACKed).
    assert_eq!(info(&h).bytes_in_flight, 2 * MSS);
}

#[test]
fn established_prr_spreads_recovery_sending_over_the_acks() {
    let mut h = established(newreno_dupthresh(), true);
    send_initial_window(&mut h, 100);
    // Segment 0 lost; each later segment draws an ACK SACKing one more. PRR (RFC 6937)
    // sends about ssthresh/RecoverFS = 1/2 a segment per segment delivered while pipe >
    // ssthresh, not a burst.
    let mut sent = Vec::new();
    for n in 2..=10 {
        h.send(ack(&h, 0, &[(1, n)]));
        sent.push(h.recv().len());
    }
    let total: usize = sent.iter().sum();
    assert!(info(&h).in_recovery);
    // Nine segments delivered (and the retransmission counted): about half as many sent.
    assert!((4..=6).contains(&total), "sent per ACK: {sent:?}");
    assert!(sent.iter().all(|&n| n <= 2), "a burst: {sent:?}");
    // The retransmission arrives: a full ACK (RecoveryPoint: the 12 segments out at entry,
    // two by limited transmit) with the PRR-paced new segments still in flight ends recovery
    // at min(ssthresh, FlightSize + SMSS) (RFC 6582 §3.2 step 3, option 1). ssthresh is half
    // the ten segments out before limited transmit.
    h.send(ack(&h, 12, &[]));
    let i = info(&h);
    assert!(!i.in_recovery);
    assert_eq!(i.ssthresh, Some(5 * MSS));
    // In flight: what went out after the two limited-transmit segments and the retransmission.
    assert_eq!(i.bytes_in_flight, (total as u32 - 3) * MSS);
    assert_eq!(i.cwnd, (5 * MSS).min(i.bytes_in_flight + MSS));
}

#[test]
fn established_rto_collapses_cwnd_to_one_segment() {
    let mut h = established(newreno(), false);
    send_initial_window(&mut h, 40);
    let rto = info(&h).rto;
    h.advance(rto);
    let out = h.recv();
    assert_eq!(indices(&h, &out), [0]);
    let i = info(&h);
    // RFC 5681 §3.1: the loss window; ssthresh = FlightSize / 2 = 5 segments.
    assert_eq!(i.cwnd, MSS);
    assert_eq!(i.ssthresh, Some(5 * MSS));
    assert_eq!(i.stats.timeouts, 1);
}

#[test]
fn established_go_back_n_after_rto_skips_sacked_segments() {
    let mut h = established(newreno_dupthresh(), true);
    send_initial_window(&mut h, 10);
    let rto = info(&h).rto;
    h.advance(rto);
    assert_eq!(sent(&mut h), [0]);
    // The retransmitted 0 arrived with 1 held; 2 is lost, 3 arrived before.
    h.send(ack(&h, 2, &[(3, 4)]));
    // Slow start from one segment: the ACK of two makes cwnd three. 2, then 4 and 5: 3 is
    // SACKed, neither resent nor counted in flight (RFC 6675 §5.1).
    assert_eq!(sent(&mut h), [2, 4, 5]);
}

#[test]
fn established_idle_longer_than_rto_restarts_from_initial_window() {
    let mut h = established(newreno(), false);
    send_initial_window(&mut h, 20);
    h.send(ack(&h, 10, &[]));
    assert_eq!(sent(&mut h).len(), 10);
    h.send(ack(&h, 20, &[]));
    // Slow start grew the window past IW.
    assert!(info(&h).cwnd > 10 * MSS);
    h.advance(ms(5_000));
    h.write(&vec![1; 30 * MSS as usize]);
    // RFC 5681 §4.1: no more than the restart window, min(IW, cwnd), after the idle period.
    assert_eq!(h.recv().len(), 10);
    assert_eq!(info(&h).cwnd, 10 * MSS);
}

#[test]
fn established_dsack_is_counted_and_is_no_duplicate_ack() {
    let mut h = established(newreno(), true);
    send_initial_window(&mut h, 10);
    h.send(ack(&h, 2, &[]));
    h.recv();
    // RFC 2883: a block below the cumulative ACK reports a duplicate.
    for _ in 0..3 {
        h.send(ack(&h, 2, &[(0, 1)]));
    }
    let i = info(&h);
    assert_eq!(i.stats.dsacks_received, 3);
    assert!(!i.in_recovery);
    assert_eq!(i.stats.fast_recoveries, 0);
}

#[test]
fn established_sack_block_past_snd_max_is_ignored() {
    let mut h = established(newreno(), true);
    send_initial_window(&mut h, 10);
    for _ in 0..3 {
        h.send(ack(&h, 0, &[(20, 30)]));
    }
    let i = info(&h);
    assert!(!i.in_recovery);
    assert_eq!(i.stats.retransmits, 0);
}

#[test]
fn established_no_new_recovery_before_the_timeout_recovery_point() {
    let mut h = established(newreno(), false);
    send_initial_window(&mut h, 40);
    let rto = info(&h).rto;
    h.advance(rto);
    h.recv();
    // Duplicate ACKs for data sent before the timeout do not start a fast recovery
    // (RFC 6582 §3.2 step 2: the ACK does not cover `recover`).
    for _ in 0..4 {
        h.send(ack(&h, 0, &[]));
        h.recv();
    }
    let i = info(&h);
    assert!(!i.in_recovery);
    assert_eq!(i.stats.fast_recoveries, 0);
}

#[test]
fn established_delivery_rate_is_bytes_acked_per_round_trip() {
    let mut h = established(newreno(), false);
    assert!(info(&h).delivery_rate.is_none());
    send_initial_window(&mut h, 10);
    h.advance(ms(100));
    h.send(ack(&h, 10, &[]));
    // Ten segments acknowledged 100 ms after they left (the first RTT sample): 146 000 B/s.
    assert_eq!(info(&h).delivery_rate, Some(146_000));
    // An idle period does not count: the next interval starts when data goes out again.
    h.advance(ms(5_000));
    h.write(&vec![1; 5 * MSS as usize]);
    assert_eq!(sent(&mut h).len(), 5);
    h.advance(ms(100));
    h.send(ack(&h, 15, &[]));
    assert_eq!(info(&h).delivery_rate, Some(73_000));
}

#[test]
fn established_sack_tail_marked_lost_by_rack_is_sent_once_not_rescued_again() {
    let mut h = established(newreno(), true);
    send_initial_window(&mut h, 10);
    h.send(ack(&h, 0, &[(1, 9)]));
    assert_eq!(sent(&mut h), [0]);
    // The retransmission of 0 was sent after 9 and is delivered first: RACK (RFC 8985 §6.3)
    // marks 9 lost; rule 1 sends it, and rule 4 does not send it a second time.
    h.send(ack(&h, 9, &[]));
    assert_eq!(sent(&mut h), [9]);
    assert_eq!(info(&h).stats.retransmits, 2);
}
