//! The exhaustive state × event test (s2n-quic's idea): every state a connection can be in,
//! against every kind of arriving segment, user call and timeout, checking the next state and
//! the exact segment sent (or that nothing is), from a table written by reading RFC 9293 §3.10
//! and RFC 5961, not the engine.
//!
//! A row names the fixtures it covers (grouped as the RFC groups states), a stimulus, the next
//! state and the reply. `RCV.NXT`, `SND.UNA`, `SND.NXT`, `ISS` and `IRS` are the fixture's values
//! before the stimulus; in CLOSED and LISTEN, where no TCB exists, `RCV.NXT` and `IRS` are the
//! peer's ISN and `SND.*` what the peer believes of us. `MAX.SND.WND` is the peer's window,
//! 65535 in every segment. A row marked `DEVIATION` is where the engine departs from the RFC's
//! letter on purpose, and says why; `n/a` rows are pairs that cannot happen (no user handle, no
//! timer), so that [`table_has_one_row_per_state_and_event`] can demand every pair exactly once.

use core::fmt;
use core::time::Duration;

use wire::TcpFlags;

use super::harness::*;
use crate::{Config, State};

use Fixture::*;
use Reply::*;
use Stimulus::*;

/// Where a fresh harness is brought before the stimulus. The passive fixtures go through
/// `Harness::established` (a listener stays on the port); sequence offsets are in
/// [`Fixture::offsets`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fixture {
    /// No socket at all on the port (§3.10.7.1).
    Closed,
    /// A listener, and nothing yet on the peer's four-tuple (§3.10.7.2).
    Listen,
    /// Our SYN sent (§3.10.7.3).
    SynSent,
    /// Passive open: the peer's SYN in, our SYN-ACK out; the listener's until accepted, so the
    /// user holds no handle.
    SynRcvd,
    /// Simultaneous open (figure 8): our SYN and the peer's crossed; the user's connection.
    SynRcvdActive,
    Estab,
    /// ESTABLISHED with three bytes sent and unacknowledged.
    EstabUnacked,
    /// The user shut the write side down: our FIN sent.
    FinWait1,
    /// The user let go of the connection (`release`) in ESTABLISHED: our FIN sent, an orphan.
    FinWait1Orphan,
    /// FIN-WAIT-1, then the peer acknowledged our FIN.
    FinWait2,
    FinWait2Orphan,
    /// The peer's FIN in and acknowledged.
    CloseWait,
    /// Simultaneous close (figure 13): our FIN out, the peer's FIN in before the ACK of ours.
    Closing,
    /// CLOSE-WAIT, then the user shut down: our FIN sent.
    LastAck,
    /// FIN-WAIT-2, then the peer's FIN; the user still holds the connection.
    TimeWait,
    /// TIME-WAIT after the user let go: the endpoint's compact entry, no connection left.
    TimeWaitEntry,
}

impl Fixture {
    const ALL: [Fixture; 16] = [
        Closed,
        Listen,
        SynSent,
        SynRcvd,
        SynRcvdActive,
        Estab,
        EstabUnacked,
        FinWait1,
        FinWait1Orphan,
        FinWait2,
        FinWait2Orphan,
        CloseWait,
        Closing,
        LastAck,
        TimeWait,
        TimeWaitEntry,
    ];

    fn state(self) -> State {
        match self {
            Closed => State::Closed,
            Listen => State::Listen,
            SynSent => State::SynSent,
            SynRcvd | SynRcvdActive => State::SynReceived,
            Estab | EstabUnacked => State::Established,
            FinWait1 | FinWait1Orphan => State::FinWait1,
            FinWait2 | FinWait2Orphan => State::FinWait2,
            CloseWait => State::CloseWait,
            Closing => State::Closing,
            LastAck => State::LastAck,
            TimeWait | TimeWaitEntry => State::TimeWait,
        }
    }

    /// `(SND.UNA − ISS, SND.NXT − ISS, RCV.NXT − IRS)`.
    fn offsets(self) -> (u32, u32, u32) {
        match self {
            Closed | Listen => (1, 1, 0),
            SynSent => (0, 1, 0),
            SynRcvd | SynRcvdActive => (0, 1, 1),
            Estab => (1, 1, 1),
            EstabUnacked => (1, 1 + OUT.len() as u32, 1),
            FinWait1 | FinWait1Orphan => (1, 2, 1),
            FinWait2 | FinWait2Orphan => (2, 2, 1),
            CloseWait => (1, 1, 2),
            Closing | LastAck => (1, 2, 2),
            TimeWait | TimeWaitEntry => (2, 2, 2),
        }
    }

    /// A harness in this state, every segment of the way checked.
    fn build(self) -> Harness {
        match self {
            Closed => Harness::new(Config::default()),
            Listen => Harness::listening(),
            SynSent => Harness::syn_sent(),
            SynRcvd => Harness::syn_received(),
            SynRcvdActive => {
                let mut h = Harness::syn_sent();
                h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1460));
                expect_one(&mut h, SYN | ACK, 0, 1);
                h
            }
            Estab => Harness::established(),
            EstabUnacked => {
                let mut h = Harness::established();
                h.write(OUT);
                let seg = h.recv_one();
                assert_eq!((seg.seq.get(), seg.payload.as_slice()), (h.our(1), OUT));
                h
            }
            FinWait1 | FinWait1Orphan => {
                let mut h = Harness::established();
                if self == FinWait1 {
                    h.shutdown();
                } else {
                    h.release();
                }
                expect_one(&mut h, FIN | ACK, 1, 1);
                h
            }
            FinWait2 | FinWait2Orphan => {
                let from = if self == FinWait2 {
                    FinWait1
                } else {
                    FinWait1Orphan
                };
                let mut h = from.build();
                h.send(Seg::new(ACK, Harness::their(1), h.our(2)));
                h.recv_nothing();
                h
            }
            CloseWait => {
                let mut h = Harness::established();
                h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(1)));
                expect_one(&mut h, ACK, 1, 2);
                h
            }
            Closing => {
                let mut h = FinWait1.build();
                h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(1)));
                expect_one(&mut h, ACK, 2, 2);
                h
            }
            LastAck => {
                let mut h = CloseWait.build();
                h.shutdown();
                expect_one(&mut h, FIN | ACK, 1, 2);
                h
            }
            TimeWait | TimeWaitEntry => {
                let mut h = FinWait2.build();
                h.send(Seg::new(FIN | ACK, Harness::their(1), h.our(2)));
                expect_one(&mut h, ACK, 2, 2);
                if self == TimeWaitEntry {
                    h.release();
                    h.recv_nothing();
                    assert_eq!(
                        h.ep.time_wait_count(),
                        1,
                        "released TIME-WAIT kept as an entry"
                    );
                }
                h
            }
        }
    }
}

impl fmt::Display for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        match self {
            SynRcvd => write!(f, "{state} (passive)"),
            SynRcvdActive => write!(f, "{state} (simultaneous open)"),
            EstabUnacked => write!(f, "{state} (3 bytes in flight)"),
            FinWait1Orphan | FinWait2Orphan => write!(f, "{state} (orphan)"),
            TimeWaitEntry => write!(f, "{state} (endpoint entry)"),
            _ => write!(f, "{state}"),
        }
    }
}

/// Checks the one segment a fixture step sends: `flags`, SEQ = ISS + `seq`, ACK = IRS + `ack`.
#[track_caller]
fn expect_one(h: &mut Harness, flags: TcpFlags, seq: u32, ack: u32) {
    let seg = h.recv_one();
    let want = (flags, h.our(seq), Harness::their(ack));
    assert_eq!(
        (seg.flags, seg.seq.get(), seg.ack.get()),
        want,
        "fixture step"
    );
}

/// Bytes the `EstabUnacked` fixture has in flight.
const OUT: &[u8] = b"xyz";
/// Bytes of the data stimuli.
const DATA: &[u8] = b"abc";
/// What the peer believes our ISS is when we have no TCB (CLOSED, LISTEN).
const FAKE_ISS: u32 = 0x4000_0000;
/// The peer's window in every segment, hence MAX.SND.WND.
const MAX_SND_WND: u32 = 65535;
/// Far outside any window, yet "after" in modular order.
const FAR: u32 = 1 << 30;

/// What happens to the fixture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stimulus {
    /// `<SEQ=RCV.NXT><CTL=SYN>`
    Syn,
    /// `<SEQ=IRS><CTL=SYN>`: the peer's first SYN again.
    SynRepeat,
    /// `<SEQ=RCV.NXT+2^30><CTL=SYN>`: beyond the window (a new incarnation, in TIME-WAIT).
    SynAbove,
    /// `<SEQ=RCV.NXT><ACK=SND.NXT><CTL=SYN,ACK>`
    SynAck,
    /// `<SEQ=RCV.NXT><ACK=SND.NXT><CTL=ACK>`: acknowledges everything sent.
    AckAll,
    /// `<SEQ=RCV.NXT><ACK=SND.UNA><CTL=ACK>`: acknowledges nothing new.
    AckDup,
    /// `<SEQ=RCV.NXT><ACK=SND.NXT+1><CTL=ACK>`: acknowledges data not yet sent.
    AckUnsent,
    /// `<SEQ=RCV.NXT><ACK=SND.UNA-MAX.SND.WND-1><CTL=ACK>` (RFC 5961 §5.2).
    AckTooOld,
    /// `<SEQ=RCV.NXT><ACK=SND.UNA><CTL=PSH,ACK>` and 3 bytes: data in the window.
    Data,
    /// `<SEQ=RCV.NXT+2^30><ACK=SND.UNA><CTL=PSH,ACK>` and 3 bytes: beyond the window.
    DataAbove,
    /// `<SEQ=RCV.NXT-3><ACK=SND.UNA><CTL=PSH,ACK>` and 3 bytes: an old duplicate.
    DataBelow,
    /// `<SEQ=RCV.NXT><CTL=PSH>` and 3 bytes: no ACK bit.
    DataNoAck,
    /// `<SEQ=RCV.NXT><ACK=SND.UNA><CTL=FIN,ACK>`: a FIN in order, our FIN (if any) not acked.
    Fin,
    /// `<SEQ=RCV.NXT><ACK=SND.NXT><CTL=FIN,ACK>`: a FIN in order acknowledging everything.
    FinAckAll,
    /// `<SEQ=RCV.NXT-1><ACK=SND.UNA><CTL=FIN,ACK>`: the peer's FIN again, or an old one.
    FinRepeat,
    /// `<SEQ=RCV.NXT><CTL=RST>`
    RstAtNxt,
    /// `<SEQ=RCV.NXT+100><CTL=RST>`: in the window, not at RCV.NXT.
    RstInWindow,
    /// `<SEQ=RCV.NXT+2^30><CTL=RST>`
    RstOutside,
    /// `<SEQ=RCV.NXT><ACK=SND.NXT><CTL=RST,ACK>`
    RstAck,
    /// User CLOSE as "no more to send" (`shutdown`).
    Shutdown,
    /// User CLOSE for good (`Endpoint::release`, Linux's `close`; `unlisten` for a listener).
    Release,
    /// User ABORT (`abort`; `unlisten` for a listener).
    Abort,
    /// The retransmission timeout in force elapses.
    Rto,
    /// 2 MSL elapse (60 s).
    TwoMsl,
}

impl Stimulus {
    const ALL: [Stimulus; 24] = [
        Syn,
        SynRepeat,
        SynAbove,
        SynAck,
        AckAll,
        AckDup,
        AckUnsent,
        AckTooOld,
        Data,
        DataAbove,
        DataBelow,
        DataNoAck,
        Fin,
        FinAckAll,
        FinRepeat,
        RstAtNxt,
        RstInWindow,
        RstOutside,
        RstAck,
        Shutdown,
        Release,
        Abort,
        Rto,
        TwoMsl,
    ];

    /// The segment the peer sends, for the segment stimuli.
    fn segment(self, v: &Vars) -> Option<Seg> {
        let (p, una, nxt) = (v.rcv_nxt, v.una, v.nxt);
        let data = |seq: u32, flags| Seg::new(flags, seq, una).payload(DATA);
        Some(match self {
            Syn => Seg::new(SYN, p, 0),
            SynRepeat => Seg::new(SYN, v.irs, 0),
            SynAbove => Seg::new(SYN, p.wrapping_add(FAR), 0),
            SynAck => Seg::new(SYN | ACK, p, nxt),
            AckAll => Seg::new(ACK, p, nxt),
            AckDup => Seg::new(ACK, p, una),
            AckUnsent => Seg::new(ACK, p, nxt.wrapping_add(1)),
            AckTooOld => Seg::new(ACK, p, una.wrapping_sub(MAX_SND_WND + 1)),
            Data => data(p, ACK | PSH),
            DataAbove => data(p.wrapping_add(FAR), ACK | PSH),
            DataBelow => data(p.wrapping_sub(DATA.len() as u32), ACK | PSH),
            DataNoAck => Seg::new(PSH, p, 0).payload(DATA),
            Fin => Seg::new(FIN | ACK, p, una),
            FinAckAll => Seg::new(FIN | ACK, p, nxt),
            FinRepeat => Seg::new(FIN | ACK, p.wrapping_sub(1), una),
            RstAtNxt => Seg::new(RST, p, 0),
            RstInWindow => Seg::new(RST, p.wrapping_add(100), 0),
            RstOutside => Seg::new(RST, p.wrapping_add(FAR), 0),
            RstAck => Seg::new(RST | ACK, p, nxt),
            Shutdown | Release | Abort | Rto | TwoMsl => return None,
        })
    }

    /// Applies the stimulus; returns the segment sent, if it is one.
    fn apply(self, h: &mut Harness, at: Fixture, v: &Vars) -> Option<Seg> {
        if let Some(seg) = self.segment(v) {
            h.send(seg.clone());
            return Some(seg);
        }
        match self {
            Release | Abort if at == Listen => {
                let listener = h.listener.expect("listening");
                h.ep.unlisten(h.now, listener);
            }
            Shutdown => h.shutdown(),
            Release => h.release(),
            Abort => h.abort(),
            Rto => h.advance(v.rto),
            TwoMsl => h.advance(2 * Config::default().msl),
            _ => {}
        }
        None
    }
}

impl fmt::Display for Stimulus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Syn => "<SEQ=RCV.NXT><CTL=SYN>",
            SynRepeat => "<SEQ=IRS><CTL=SYN>",
            SynAbove => "<SEQ=RCV.NXT+2^30><CTL=SYN>",
            SynAck => "<SEQ=RCV.NXT><ACK=SND.NXT><CTL=SYN,ACK>",
            AckAll => "<SEQ=RCV.NXT><ACK=SND.NXT><CTL=ACK>",
            AckDup => "<SEQ=RCV.NXT><ACK=SND.UNA><CTL=ACK>",
            AckUnsent => "<SEQ=RCV.NXT><ACK=SND.NXT+1><CTL=ACK>",
            AckTooOld => "<SEQ=RCV.NXT><ACK=SND.UNA-MAX.SND.WND-1><CTL=ACK>",
            Data => "<SEQ=RCV.NXT><ACK=SND.UNA><CTL=PSH,ACK><DATA=3>",
            DataAbove => "<SEQ=RCV.NXT+2^30><ACK=SND.UNA><CTL=PSH,ACK><DATA=3>",
            DataBelow => "<SEQ=RCV.NXT-3><ACK=SND.UNA><CTL=PSH,ACK><DATA=3>",
            DataNoAck => "<SEQ=RCV.NXT><CTL=PSH><DATA=3>",
            Fin => "<SEQ=RCV.NXT><ACK=SND.UNA><CTL=FIN,ACK>",
            FinAckAll => "<SEQ=RCV.NXT><ACK=SND.NXT><CTL=FIN,ACK>",
            FinRepeat => "<SEQ=RCV.NXT-1><ACK=SND.UNA><CTL=FIN,ACK>",
            RstAtNxt => "<SEQ=RCV.NXT><CTL=RST>",
            RstInWindow => "<SEQ=RCV.NXT+100><CTL=RST>",
            RstOutside => "<SEQ=RCV.NXT+2^30><CTL=RST>",
            RstAck => "<SEQ=RCV.NXT><ACK=SND.NXT><CTL=RST,ACK>",
            Shutdown => "CLOSE (shutdown)",
            Release => "CLOSE (release)",
            Abort => "ABORT",
            Rto => "retransmission timeout",
            TwoMsl => "2 MSL elapse",
        })
    }
}

/// The state after the stimulus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    /// The fixture's state.
    Stay,
    To(State),
    /// The pair cannot happen; the row says why.
    Na,
}

const STAY: Next = Next::Stay;
const NA: Next = Next::Na;
const CLOSED: Next = Next::To(State::Closed);
const LISTEN: Next = Next::To(State::Listen);
const SYN_RCVD: Next = Next::To(State::SynReceived);
const ESTAB: Next = Next::To(State::Established);
const FIN_WAIT_1: Next = Next::To(State::FinWait1);
const FIN_WAIT_2: Next = Next::To(State::FinWait2);
const CLOSE_WAIT: Next = Next::To(State::CloseWait);
const CLOSING: Next = Next::To(State::Closing);
const LAST_ACK: Next = Next::To(State::LastAck);
const TIME_WAIT: Next = Next::To(State::TimeWait);

/// The one segment sent in reply (window and options are not checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    Nothing,
    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, RCV.NXT unchanged: the ACK of an unacceptable
    /// segment, a challenge ACK, the answer to an ACK of unsent data.
    Ack,
    /// `<SEQ=SND.NXT><ACK=SEG.SEQ+SEG.LEN><CTL=ACK>` at once: the SYN or FIN taken.
    AckSeg,
    /// Nothing at once; after the delayed-ACK timeout (§3.8.6.3)
    /// `<SEQ=SND.NXT><ACK=SEG.SEQ+SEG.LEN><CTL=ACK>`.
    AckDelayed,
    /// `<SEQ=ISS><CTL=SYN>`: our SYN again.
    SynAgain,
    /// `<SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>`: our SYN-ACK again.
    SynAckAgain,
    /// `<SEQ=ISS><ACK=SEG.SEQ+1><CTL=SYN,ACK>`: answering this SYN.
    SynAckSeg,
    /// `<SEQ=ISS'><ACK=SEG.SEQ+1><CTL=SYN,ACK>`: a new connection, its ISS not checked.
    SynAckNew,
    /// `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK>`: our FIN.
    OurFin,
    /// `<SEQ=SND.UNA><ACK=RCV.NXT><CTL=FIN,ACK>`: our FIN again.
    OurFinAgain,
    /// `<SEQ=SND.UNA><ACK=RCV.NXT><CTL=PSH,ACK>` and the bytes in flight, again.
    DataAgain,
    /// `<SEQ=SND.NXT><CTL=RST>`
    Rst,
    /// `<SEQ=SEG.ACK><CTL=RST>`: the answer to a bad segment with the ACK bit on.
    RstForAck,
    /// `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`: the answer with the ACK bit off.
    RstForNoAck,
}

/// A segment as the table expects it: `seq` unchecked when `None`, `ack` only with ACK set.
struct Want {
    flags: TcpFlags,
    seq: Option<u32>,
    ack: u32,
    payload: &'static [u8],
}

impl Reply {
    fn want(self, v: &Vars, seg: Option<&Seg>) -> Option<Want> {
        let seg_end = seg.map_or(0, |s| {
            let len = s.payload.len() as u32 + u32::from(s.flags.syn()) + u32::from(s.flags.fin());
            s.seq.get().wrapping_add(len)
        });
        let seg_ack = seg.map_or(0, |s| s.ack.get());
        let w = |flags, seq, ack| Want {
            flags,
            seq,
            ack,
            payload: &[],
        };
        Some(match self {
            Nothing => return None,
            Ack => w(ACK, Some(v.nxt), v.rcv_nxt),
            AckSeg | AckDelayed => w(ACK, Some(v.nxt), seg_end),
            SynAgain => w(SYN, Some(v.iss), 0),
            SynAckAgain => w(SYN | ACK, Some(v.iss), v.rcv_nxt),
            SynAckSeg => w(SYN | ACK, Some(v.iss), seg_end),
            SynAckNew => w(SYN | ACK, None, seg_end),
            OurFin => w(FIN | ACK, Some(v.nxt), v.rcv_nxt),
            OurFinAgain => w(FIN | ACK, Some(v.una), v.rcv_nxt),
            DataAgain => Want {
                payload: OUT,
                ..w(PSH | ACK, Some(v.una), v.rcv_nxt)
            },
            Rst => w(RST, Some(v.nxt), 0),
            RstForAck => w(RST, Some(seg_ack), 0),
            RstForNoAck => w(RST | ACK, Some(0), seg_end),
        })
    }
}

impl Want {
    fn matches(&self, seg: &Seg) -> bool {
        seg.flags == self.flags
            && self.seq.is_none_or(|seq| seg.seq.get() == seq)
            && (!self.flags.ack() || seg.ack.get() == self.ack)
            && seg.payload == self.payload
    }
}

/// The fixture's sequence variables before the stimulus, and the RTO in force.
#[derive(Clone, Copy, Debug)]
struct Vars {
    iss: u32,
    irs: u32,
    una: u32,
    nxt: u32,
    rcv_nxt: u32,
    rto: Duration,
}

fn setup(at: Fixture) -> (Harness, Vars) {
    let mut h = at.build();
    h.drain_events();
    let iss = match at {
        Closed | Listen => FAKE_ISS,
        _ => h.iss,
    };
    let (una, nxt, rcv) = at.offsets();
    let conn = h.conn.and_then(|id| h.ep.conn(id));
    let v = Vars {
        iss,
        irs: REMOTE_ISS,
        una: iss.wrapping_add(una),
        nxt: iss.wrapping_add(nxt),
        rcv_nxt: REMOTE_ISS.wrapping_add(rcv),
        rto: conn.map_or(Config::default().rto_initial, |c| c.rto()),
    };
    // The fixture is what the table says it is (SYN-SENT has no RCV.NXT yet).
    if let Some(c) = conn {
        assert_eq!(c.state(), at.state(), "fixture {at}");
        assert_eq!(c.snd().una.get(), v.una, "fixture {at}: SND.UNA");
        assert_eq!(c.snd().nxt.get(), v.nxt, "fixture {at}: SND.NXT");
        if at != SynSent {
            assert_eq!(c.rcv().nxt.get(), v.rcv_nxt, "fixture {at}: RCV.NXT");
        }
    }
    (h, v)
}

/// The state of the peer's four-tuple as the endpoint has it: the connection's, else the
/// TIME-WAIT entry's, else LISTEN where a listener would take the next SYN for a passive
/// connection that was never accepted (RFC 9293's "return to LISTEN"), else CLOSED.
fn observe(h: &mut Harness, at: Fixture) -> State {
    if let Some(conn) = h.conn.and_then(|id| h.ep.conn(id)) {
        return conn.state();
    }
    // A passive connection is the listener's until accepted: accepting shows it.
    if let Some(id) = h.listener.and_then(|l| h.ep.accept(l)) {
        h.conn = Some(id);
        return h.state();
    }
    let listening = h.listener.and_then(|l| h.ep.listener_addr(l)).is_some();
    if h.ep.time_wait_count() > 0 {
        State::TimeWait
    } else if h.ep.connection_count() > 0 {
        // Not accepted, not closed: a passive connection still in its handshake.
        State::SynReceived
    } else if listening && matches!(at, Listen | SynRcvd) {
        State::Listen
    } else {
        State::Closed
    }
}

/// One row: fixtures, stimulus, next state, reply, and the RFC section (or deviation) behind it.
struct Row(&'static [Fixture], Stimulus, Next, Reply, &'static str);

/// The table, stimulus by stimulus in the order of §3.10.7.4's steps (SYN, ACK, text, FIN,
/// RST), then user calls (§3.10.4-5) and timeouts (§3.10.8). Section numbers are RFC 9293's
/// unless said otherwise; "step N" is §3.10.7.4's.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    // ---- SYN at RCV.NXT ----
    Row(&[Closed], Syn, STAY, RstForNoAck,
        "§3.10.7.1: no TCB, ACK bit off: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>"),
    Row(&[Listen], Syn, SYN_RCVD, SynAckNew,
        "§3.10.7.2 third: new TCB, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"),
    Row(&[SynSent], Syn, SYN_RCVD, SynAckSeg,
        "§3.10.7.3 fourth: SYN without ACK: simultaneous open, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>"),
    Row(&[SynRcvd], Syn, LISTEN, Nothing,
        "step 4: SYN in SYN-RECEIVED of a passive open: return to LISTEN"),
    Row(&[SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan,
          CloseWait, Closing, LastAck, TimeWait], Syn, STAY, Ack,
        "step 4, RFC 5961 §4.2: SYN in a synchronized state: challenge ACK"),
    Row(&[TimeWaitEntry], Syn, STAY, Ack,
        "step 1: not above RCV.NXT, so no new incarnation (RFC 6191's rule): ACK"),

    // ---- the peer's first SYN again ----
    Row(&[Closed], SynRepeat, STAY, RstForNoAck, "§3.10.7.1"),
    Row(&[Listen], SynRepeat, SYN_RCVD, SynAckNew, "§3.10.7.2 third"),
    Row(&[SynSent], SynRepeat, SYN_RCVD, SynAckSeg, "§3.10.7.3 fourth (IRS is not known yet)"),
    Row(&[SynRcvd, SynRcvdActive], SynRepeat, STAY, SynAckAgain,
        "DEVIATION: step 1 would send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, which a peer in \
         SYN-SENT drops; the repeated SYN means our SYN-ACK was lost, so send it again (Linux)"),
    Row(&[Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan, CloseWait,
          Closing, LastAck, TimeWait, TimeWaitEntry], SynRepeat, STAY, Ack,
        "step 1: below the window: ACK (RFC 5961 §4.2 answers the same)"),

    // ---- SYN beyond the window ----
    Row(&[Closed], SynAbove, STAY, RstForNoAck, "§3.10.7.1"),
    Row(&[Listen], SynAbove, SYN_RCVD, SynAckNew, "§3.10.7.2 third"),
    Row(&[SynSent], SynAbove, SYN_RCVD, SynAckSeg, "§3.10.7.3 fourth"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan, CloseWait, Closing, LastAck, TimeWait], SynAbove, STAY, Ack,
        "step 1: outside the window: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"),
    Row(&[TimeWaitEntry], SynAbove, SYN_RCVD, SynAckNew,
        "DEVIATION: a SYN above RCV.NXT reopens the four-tuple from TIME-WAIT (RFC 1122 \
         §4.2.2.13; RFC 9293 step 1 would ACK it, reopening only with RFC 6191 timestamps); a \
         TIME-WAIT the user still holds does not"),

    // ---- SYN-ACK ----
    Row(&[Closed], SynAck, STAY, RstForAck,
        "§3.10.7.1: no TCB, ACK bit on: <SEQ=SEG.ACK><CTL=RST>"),
    Row(&[Listen], SynAck, STAY, RstForAck, "§3.10.7.2 second: any ACK is bad: <SEQ=SEG.ACK><CTL=RST>"),
    Row(&[SynSent], SynAck, ESTAB, AckSeg,
        "§3.10.7.3 fourth: our SYN acked: ESTABLISHED, <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>"),
    Row(&[SynRcvd], SynAck, LISTEN, Nothing, "step 4 (before step 5's ACK): return to LISTEN"),
    Row(&[SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan,
          CloseWait, Closing, LastAck, TimeWait, TimeWaitEntry], SynAck, STAY, Ack,
        "step 4, RFC 5961 §4.2: challenge ACK"),

    // ---- ACK of everything sent ----
    Row(&[Closed], AckAll, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], AckAll, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], AckAll, STAY, Nothing, "§3.10.7.3 fifth: neither SYN nor RST: drop"),
    Row(&[SynRcvd, SynRcvdActive], AckAll, ESTAB, Nothing,
        "step 5 SYN-RECEIVED: SND.UNA < SEG.ACK =< SND.NXT: ESTABLISHED"),
    Row(&[Estab, EstabUnacked, FinWait2, FinWait2Orphan, CloseWait, TimeWait], AckAll, STAY, Nothing,
        "step 5: the ACK is taken; an ACK is not acknowledged"),
    Row(&[FinWait1, FinWait1Orphan], AckAll, FIN_WAIT_2, Nothing, "step 5 FIN-WAIT-1: our FIN acked"),
    Row(&[Closing], AckAll, TIME_WAIT, Nothing, "step 5 CLOSING: our FIN acked: TIME-WAIT"),
    Row(&[LastAck], AckAll, CLOSED, Nothing, "step 5 LAST-ACK: our FIN acked: delete the TCB"),
    Row(&[TimeWaitEntry], AckAll, STAY, Nothing,
        "step 5 TIME-WAIT: only a FIN is answered (an answered ACK would ping-pong between two \
         TIME-WAITs)"),

    // ---- duplicate ACK ----
    Row(&[Closed], AckDup, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], AckDup, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], AckDup, STAY, RstForAck, "§3.10.7.3 first: SEG.ACK =< ISS: <SEQ=SEG.ACK><CTL=RST>"),
    Row(&[SynRcvd, SynRcvdActive], AckDup, STAY, RstForAck,
        "step 5 SYN-RECEIVED: not SND.UNA < SEG.ACK: <SEQ=SEG.ACK><CTL=RST>"),
    Row(&[Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan, CloseWait,
          Closing, LastAck, TimeWait, TimeWaitEntry], AckDup, STAY, Nothing,
        "step 5: a duplicate ACK is ignored"),

    // ---- ACK of data not yet sent ----
    Row(&[Closed], AckUnsent, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], AckUnsent, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], AckUnsent, STAY, RstForAck, "§3.10.7.3 first: SEG.ACK > SND.NXT"),
    Row(&[SynRcvd, SynRcvdActive], AckUnsent, STAY, RstForAck, "step 5 SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>"),
    Row(&[Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan, CloseWait,
          Closing, LastAck, TimeWait, TimeWaitEntry], AckUnsent, STAY, Ack,
        "step 5: SEG.ACK > SND.NXT: send an ACK, drop"),

    // ---- ACK below SND.UNA - MAX.SND.WND ----
    Row(&[Closed], AckTooOld, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], AckTooOld, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], AckTooOld, STAY, RstForAck, "§3.10.7.3 first: SEG.ACK =< ISS"),
    Row(&[SynRcvd, SynRcvdActive], AckTooOld, STAY, RstForAck,
        "step 5 SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST> (RFC 5961 §5.2 guards the synchronized \
         states)"),
    Row(&[Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan, CloseWait,
          Closing, LastAck, TimeWait], AckTooOld, STAY, Ack,
        "step 5, RFC 5961 §5.2: outside (SND.UNA-MAX.SND.WND) =< SEG.ACK =< SND.NXT: ACK, drop"),
    Row(&[TimeWaitEntry], AckTooOld, STAY, Nothing,
        "DEVIATION: the entry keeps no MAX.SND.WND; an ACK-only segment at RCV.NXT not past \
         SND.NXT is taken for a duplicate (as Linux's timewait sockets)"),

    // ---- data in the window ----
    Row(&[Closed], Data, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], Data, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], Data, STAY, RstForAck, "§3.10.7.3 first: SEG.ACK =< ISS"),
    Row(&[SynRcvd, SynRcvdActive], Data, STAY, RstForAck,
        "step 5 SYN-RECEIVED: SEG.ACK = SND.UNA is not acceptable"),
    Row(&[Estab, EstabUnacked, FinWait1, FinWait2], Data, STAY, AckDelayed,
        "step 7: take the text, ACK it (delayed, §3.8.6.3)"),
    Row(&[FinWait1Orphan, FinWait2Orphan], Data, CLOSED, Rst,
        "DEVIATION: step 7 would take it; nobody can read it after close, so RST as §3.6.1 \
         (SHLD-2) asks of a half-duplex close, and as Linux does"),
    Row(&[CloseWait, Closing, LastAck, TimeWait], Data, STAY, Nothing,
        "step 7: text after the peer's FIN is ignored"),
    Row(&[TimeWaitEntry], Data, STAY, Ack,
        "DEVIATION: the entry ACKs any segment but a duplicate ACK, as Linux's timewait sockets \
         (the text is ignored either way)"),

    // ---- data beyond the window ----
    Row(&[Closed], DataAbove, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], DataAbove, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], DataAbove, STAY, RstForAck, "§3.10.7.3 first"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan, CloseWait, Closing, LastAck, TimeWait, TimeWaitEntry], DataAbove, STAY, Ack,
        "step 1: unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop"),

    // ---- old duplicate data ----
    Row(&[Closed], DataBelow, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], DataBelow, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], DataBelow, STAY, RstForAck, "§3.10.7.3 first"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan, CloseWait, Closing, LastAck, TimeWait, TimeWaitEntry], DataBelow, STAY, Ack,
        "step 1: unacceptable: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, drop"),

    // ---- data without the ACK bit ----
    Row(&[Closed], DataNoAck, STAY, RstForNoAck, "§3.10.7.1: ACK bit off"),
    Row(&[Listen], DataNoAck, STAY, Nothing, "§3.10.7.2 fourth: drop"),
    Row(&[SynSent], DataNoAck, STAY, Nothing, "§3.10.7.3 fifth: drop"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan, CloseWait, Closing, LastAck, TimeWait], DataNoAck, STAY, Nothing,
        "step 5: ACK bit off: drop (before the text, so an orphan sends no RST)"),
    Row(&[TimeWaitEntry], DataNoAck, STAY, Ack, "DEVIATION: as data in the window"),

    // ---- FIN in order, our FIN not acked ----
    Row(&[Closed], Fin, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], Fin, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], Fin, STAY, RstForAck, "§3.10.7.3 first: SEG.ACK =< ISS"),
    Row(&[SynRcvd, SynRcvdActive], Fin, STAY, RstForAck, "step 5 SYN-RECEIVED: unacceptable ACK"),
    Row(&[Estab, EstabUnacked], Fin, CLOSE_WAIT, AckSeg,
        "step 8: advance RCV.NXT over the FIN, ACK it: CLOSE-WAIT"),
    Row(&[FinWait1, FinWait1Orphan], Fin, CLOSING, AckSeg,
        "step 8 FIN-WAIT-1: our FIN not acked: CLOSING"),
    Row(&[FinWait2, FinWait2Orphan], Fin, TIME_WAIT, AckSeg, "step 8 FIN-WAIT-2: TIME-WAIT"),
    Row(&[CloseWait, Closing, LastAck], Fin, STAY, Nothing,
        "DEVIATION: step 8 would ACK; a FIN past the peer's own FIN is no retransmission (see \
         the FIN-again rows) and takes no sequence space: ignored, as Linux"),
    Row(&[TimeWait, TimeWaitEntry], Fin, STAY, Ack, "step 8 TIME-WAIT: ACK, restart 2 MSL"),

    // ---- FIN in order, everything acked ----
    Row(&[Closed], FinAckAll, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], FinAckAll, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], FinAckAll, STAY, Nothing, "§3.10.7.3 fifth: no SYN: drop"),
    Row(&[SynRcvd, SynRcvdActive], FinAckAll, CLOSE_WAIT, AckSeg,
        "step 5: ESTABLISHED, then step 8: CLOSE-WAIT"),
    Row(&[Estab, EstabUnacked], FinAckAll, CLOSE_WAIT, AckSeg, "step 8"),
    Row(&[FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan], FinAckAll, TIME_WAIT, AckSeg,
        "step 5 FIN-WAIT-1: our FIN acked: FIN-WAIT-2; step 8: TIME-WAIT"),
    Row(&[CloseWait], FinAckAll, STAY, Nothing, "DEVIATION: as the FIN in order above"),
    Row(&[Closing], FinAckAll, TIME_WAIT, Nothing,
        "step 5 CLOSING: our FIN acked: TIME-WAIT; the peer's FIN was acked already"),
    Row(&[LastAck], FinAckAll, CLOSED, Nothing, "step 5 LAST-ACK: delete the TCB"),
    Row(&[TimeWait, TimeWaitEntry], FinAckAll, STAY, Ack, "step 8 TIME-WAIT: ACK, restart 2 MSL"),

    // ---- the peer's FIN again (an old FIN before the peer's FIN) ----
    Row(&[Closed], FinRepeat, STAY, RstForAck, "§3.10.7.1"),
    Row(&[Listen], FinRepeat, STAY, RstForAck, "§3.10.7.2 second"),
    Row(&[SynSent], FinRepeat, STAY, RstForAck, "§3.10.7.3 first"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan], FinRepeat, STAY, Ack,
        "step 1: below the window: ACK"),
    Row(&[CloseWait, Closing, LastAck], FinRepeat, STAY, Ack,
        "step 1: the peer's FIN again: ACK it"),
    Row(&[TimeWait, TimeWaitEntry], FinRepeat, STAY, Ack,
        "step 5 TIME-WAIT: the remote FIN again: ACK it, restart 2 MSL"),

    // ---- RST at RCV.NXT ----
    Row(&[Closed], RstAtNxt, STAY, Nothing, "§3.10.7.1: a RST is discarded"),
    Row(&[Listen], RstAtNxt, STAY, Nothing, "§3.10.7.2 first: a RST is ignored"),
    Row(&[SynSent], RstAtNxt, STAY, Nothing, "§3.10.7.3 second: no ACK: drop"),
    Row(&[SynRcvd], RstAtNxt, LISTEN, Nothing, "step 2 SYN-RECEIVED: passive open: back to LISTEN"),
    Row(&[SynRcvdActive], RstAtNxt, CLOSED, Nothing,
        "step 2 SYN-RECEIVED: active open: connection refused, CLOSED"),
    Row(&[Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan, CloseWait],
        RstAtNxt, CLOSED, Nothing,
        "step 2, RFC 5961 §3.2: SEG.SEQ = RCV.NXT: connection reset, CLOSED"),
    Row(&[Closing, LastAck, TimeWait, TimeWaitEntry], RstAtNxt, CLOSED, Nothing,
        "step 2 CLOSING, LAST-ACK, TIME-WAIT: CLOSED (RFC 9293, not RFC 1337's choice)"),

    // ---- RST in the window, not at RCV.NXT ----
    Row(&[Closed], RstInWindow, STAY, Nothing, "§3.10.7.1"),
    Row(&[Listen], RstInWindow, STAY, Nothing, "§3.10.7.2 first"),
    Row(&[SynSent], RstInWindow, STAY, Nothing, "§3.10.7.3 second: no ACK: drop"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan, CloseWait, Closing, LastAck, TimeWait], RstInWindow, STAY, Ack,
        "step 2, RFC 5961 §3.2: in the window, not RCV.NXT: challenge ACK"),
    Row(&[TimeWaitEntry], RstInWindow, STAY, Nothing,
        "DEVIATION: the entry keeps no challenge-ACK rate limit, so it drops the RST silently \
         (as Linux's timewait sockets)"),

    // ---- RST outside the window ----
    Row(&[Closed], RstOutside, STAY, Nothing, "§3.10.7.1"),
    Row(&[Listen], RstOutside, STAY, Nothing, "§3.10.7.2 first"),
    Row(&[SynSent], RstOutside, STAY, Nothing, "§3.10.7.3 second: no ACK: drop"),
    Row(&[SynRcvd, SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2,
          FinWait2Orphan, CloseWait, Closing, LastAck, TimeWait, TimeWaitEntry], RstOutside, STAY,
        Nothing, "step 1 and step 2, RFC 5961 §3.2: outside the window: drop silently"),

    // ---- RST,ACK at RCV.NXT acknowledging everything ----
    Row(&[Closed], RstAck, STAY, Nothing, "§3.10.7.1"),
    Row(&[Listen], RstAck, STAY, Nothing, "§3.10.7.2 first"),
    Row(&[SynSent], RstAck, CLOSED, Nothing,
        "§3.10.7.3 second: acceptable ACK: connection refused, CLOSED"),
    Row(&[SynRcvd], RstAck, LISTEN, Nothing, "step 2 SYN-RECEIVED: passive open: back to LISTEN"),
    Row(&[SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait1Orphan, FinWait2, FinWait2Orphan,
          CloseWait, Closing, LastAck, TimeWait, TimeWaitEntry], RstAck, CLOSED, Nothing,
        "step 2: SEG.SEQ = RCV.NXT: CLOSED"),

    // ---- CLOSE: "no more to send" (shutdown) ----
    Row(&[Closed, SynRcvd, FinWait1Orphan, FinWait2Orphan, TimeWaitEntry], Shutdown, NA, Nothing,
        "n/a: the user holds no handle"),
    Row(&[Listen], Shutdown, NA, Nothing, "n/a: a listener has no write side (see release)"),
    Row(&[SynSent, SynRcvdActive], Shutdown, STAY, Nothing,
        "DEVIATION: §3.10.4 deletes the TCB in SYN-SENT and sends FIN in SYN-RECEIVED; shutdown \
         queues the FIN until ESTABLISHED (data written before it still goes first)"),
    Row(&[Estab, EstabUnacked], Shutdown, FIN_WAIT_1, OurFin,
        "§3.10.4 ESTABLISHED: FIN after the data queued: FIN-WAIT-1"),
    Row(&[FinWait1, FinWait2], Shutdown, STAY, Nothing, "§3.10.4 FIN-WAIT-1/2: no second FIN"),
    Row(&[CloseWait], Shutdown, LAST_ACK, OurFin, "§3.10.4 CLOSE-WAIT: FIN: LAST-ACK"),
    Row(&[Closing, LastAck, TimeWait], Shutdown, STAY, Nothing,
        "§3.10.4: \"connection closing\""),

    // ---- CLOSE for good (release; unlisten) ----
    Row(&[Closed, SynRcvd, FinWait1Orphan, FinWait2Orphan, TimeWaitEntry], Release, NA, Nothing,
        "n/a: the user holds no handle"),
    Row(&[Listen], Release, CLOSED, Nothing, "§3.10.4 LISTEN: delete the TCB"),
    Row(&[SynSent], Release, CLOSED, Nothing, "§3.10.4 SYN-SENT: delete the TCB"),
    Row(&[SynRcvdActive], Release, STAY, Nothing, "DEVIATION: as shutdown in SYN-RECEIVED"),
    Row(&[Estab, EstabUnacked], Release, FIN_WAIT_1, OurFin, "§3.10.4 ESTABLISHED"),
    Row(&[FinWait1, FinWait2], Release, STAY, Nothing, "§3.10.4: no second FIN (now an orphan)"),
    Row(&[CloseWait], Release, LAST_ACK, OurFin, "§3.10.4 CLOSE-WAIT"),
    Row(&[Closing, LastAck], Release, STAY, Nothing, "§3.10.4: \"connection closing\""),
    Row(&[TimeWait], Release, STAY, Nothing,
        "§3.10.4: \"connection closing\"; kept as the endpoint's TIME-WAIT entry"),

    // ---- ABORT ----
    Row(&[Closed, SynRcvd, FinWait1Orphan, FinWait2Orphan, TimeWaitEntry], Abort, NA, Nothing,
        "n/a: the user holds no handle"),
    Row(&[Listen], Abort, CLOSED, Nothing, "§3.10.5 LISTEN: delete the TCB"),
    Row(&[SynSent], Abort, CLOSED, Nothing, "§3.10.5 SYN-SENT: delete the TCB, no RST"),
    Row(&[SynRcvdActive, Estab, EstabUnacked, FinWait1, FinWait2, CloseWait], Abort, CLOSED, Rst,
        "§3.10.5: <SEQ=SND.NXT><CTL=RST>, delete the TCB"),
    Row(&[Closing, LastAck, TimeWait], Abort, CLOSED, Nothing,
        "§3.10.5 CLOSING, LAST-ACK, TIME-WAIT: delete the TCB, no RST"),

    // ---- retransmission timeout ----
    Row(&[Closed, Listen, TimeWaitEntry], Rto, NA, Nothing, "n/a: no connection timer"),
    Row(&[SynSent], Rto, STAY, SynAgain, "§3.10.8, RFC 6298 §5.4: our SYN again"),
    Row(&[SynRcvd, SynRcvdActive], Rto, STAY, SynAckAgain, "§3.10.8: our SYN-ACK again"),
    Row(&[EstabUnacked], Rto, STAY, DataAgain, "§3.10.8: the first unacked segment again"),
    Row(&[FinWait1, FinWait1Orphan, Closing, LastAck], Rto, STAY, OurFinAgain, "§3.10.8: our FIN again"),
    Row(&[Estab, FinWait2, FinWait2Orphan, CloseWait, TimeWait], Rto, STAY, Nothing,
        "§3.10.8: nothing on the retransmission queue"),

    // ---- 2 MSL ----
    Row(&[Closed, Listen], TwoMsl, NA, Nothing, "n/a: no connection"),
    Row(&[SynSent, SynRcvd, SynRcvdActive, EstabUnacked, FinWait1, FinWait1Orphan, Closing,
          LastAck], TwoMsl, NA, Nothing,
        "n/a: the retransmission timer fires first (see the timeout rows)"),
    Row(&[Estab, FinWait2, CloseWait], TwoMsl, STAY, Nothing,
        "no timer runs (no keep-alive; FIN-WAIT-2 waits while the user holds the connection)"),
    Row(&[FinWait2Orphan], TwoMsl, CLOSED, Nothing,
        "DEVIATION: RFC 9293 has no FIN-WAIT-2 timer; an orphan's is bounded by \
         fin_wait_2_timeout (60 s by default, 2 MSL), like Linux's tcp_fin_timeout"),
    Row(&[TimeWait, TimeWaitEntry], TwoMsl, CLOSED, Nothing,
        "§3.10.8 TIME-WAIT TIMEOUT: delete the TCB"),
];

/// Runs one (fixture, row) case: `Err` says state, stimulus, expected and actual.
fn run(at: Fixture, row: &Row) -> Result<(), String> {
    let Row(_, stimulus, next, reply, why) = *row;
    let want_state = match next {
        Next::Stay => at.state(),
        Next::To(state) => state,
        Next::Na => return Ok(()),
    };
    let (mut h, v) = setup(at);
    let seg = stimulus.apply(&mut h, at, &v);
    let want = reply.want(&v, seg.as_ref());
    let mut got = h.recv();
    let mut early = Vec::new();
    if reply == AckDelayed {
        early = got;
        h.advance(Config::default().delayed_ack);
        got = h.recv();
    }
    let state = observe(&mut h, at);
    let seg_ok = early.is_empty()
        && match (&want, got.as_slice()) {
            (None, []) => true,
            (Some(want), [seg]) => want.matches(seg),
            _ => false,
        };
    if seg_ok && state == want_state {
        return Ok(());
    }
    let want_text = want.map_or("nothing".to_string(), |w| show_want(&w, &v));
    let mut got_text = show(&got, &v);
    if reply == AckDelayed {
        got_text = format!("{} at once, then {got_text}", show(&early, &v));
    }
    Err(format!(
        "{at} × {stimulus}: expected {want_state} and {want_text}; got {state} and {got_text} \
         [{why}]"
    ))
}

/// A sequence number relative to `base` (ISS or IRS) when near it.
fn rel(name: &str, base: u32, x: u32) -> String {
    match x.wrapping_sub(base) as i32 {
        0 => name.to_string(),
        d if d.unsigned_abs() < 1 << 24 => format!("{name}{d:+}"),
        _ => x.to_string(),
    }
}

fn ctl(flags: TcpFlags) -> String {
    let names = [
        (SYN, "SYN"),
        (FIN, "FIN"),
        (RST, "RST"),
        (PSH, "PSH"),
        (ACK, "ACK"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| *n)
        .collect();
    set.join(",")
}

fn show_want(w: &Want, v: &Vars) -> String {
    show_seg(w.flags, w.seq, w.ack, w.payload.len(), v)
}

fn show(segs: &[Seg], v: &Vars) -> String {
    if segs.is_empty() {
        return "nothing".to_string();
    }
    let each: Vec<String> = segs
        .iter()
        .map(|s| show_seg(s.flags, Some(s.seq.get()), s.ack.get(), s.payload.len(), v))
        .collect();
    each.join(" ")
}

/// A segment in the RFC's notation, numbers relative to ISS and IRS.
fn show_seg(flags: TcpFlags, seq: Option<u32>, ack: u32, len: usize, v: &Vars) -> String {
    let seq = seq.map_or("ISS'".to_string(), |s| rel("ISS", v.iss, s));
    let ack = if flags.ack() {
        format!("<ACK={}>", rel("IRS", v.irs, ack))
    } else {
        String::new()
    };
    format!("<SEQ={seq}>{ack}<CTL={}><DATA={len}>", ctl(flags))
}

#[test]
fn table_has_one_row_per_state_and_event() {
    let mut wrong = Vec::new();
    for at in Fixture::ALL {
        for stimulus in Stimulus::ALL {
            let rows = TABLE
                .iter()
                .filter(|r| r.1 == stimulus && r.0.contains(&at))
                .count();
            if rows != 1 {
                wrong.push(format!("{at} × {stimulus}: {rows} rows"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_state_and_event_follows_rfc_9293() {
    let failures: Vec<String> = TABLE
        .iter()
        .flat_map(|row| row.0.iter().map(move |&at| run(at, row)))
        .filter_map(Result::err)
        .collect();
    assert!(
        failures.is_empty(),
        "{} cases differ from the table:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
