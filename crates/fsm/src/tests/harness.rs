//! A test harness around one [`Endpoint`]: the tests play the remote peer, segment by segment,
//! in virtual time.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use wire::{IpRepr, SeqNum, TcpFlags, TcpOptions, TcpRepr, Timestamps};

use crate::{Config, ConnId, Endpoint, EndpointEvent, Event, Instant, ListenId, State};

/// Our address (packetdrill's default local address).
pub(crate) const LOCAL_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
/// The peer's address (packetdrill's default remote address).
pub(crate) const REMOTE_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub(crate) const LOCAL_PORT: u16 = 8080;
pub(crate) const REMOTE_PORT: u16 = 40000;
/// The peer's ISN in every test.
pub(crate) const REMOTE_ISS: u32 = 1_000_000;

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A segment with an owned payload, as the tests write and read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seg {
    pub(crate) flags: TcpFlags,
    pub(crate) seq: SeqNum,
    pub(crate) ack: SeqNum,
    pub(crate) window: u16,
    pub(crate) options: TcpOptions,
    pub(crate) payload: Vec<u8>,
}

impl Seg {
    pub(crate) fn new(flags: TcpFlags, seq: u32, ack: u32) -> Self {
        Seg {
            flags,
            seq: SeqNum::new(seq),
            ack: SeqNum::new(ack),
            window: 65535,
            options: TcpOptions::default(),
            payload: Vec::new(),
        }
    }

    pub(crate) fn payload(mut self, data: &[u8]) -> Self {
        self.payload = data.to_vec();
        self
    }

    pub(crate) fn window(mut self, window: u16) -> Self {
        self.window = window;
        self
    }

    pub(crate) fn mss(mut self, mss: u16) -> Self {
        self.options.mss = Some(mss);
        self
    }

    /// Offers or echoes timestamps (RFC 7323 §3).
    pub(crate) fn ts(mut self, tsval: u32, tsecr: u32) -> Self {
        self.options.timestamps = Some(Timestamps { tsval, tsecr });
        self
    }

    /// Offers window scaling with `shift` (RFC 7323 §2).
    pub(crate) fn wscale(mut self, shift: u8) -> Self {
        self.options.window_scale = Some(shift);
        self
    }

    /// Offers SACK (RFC 2018 §2).
    pub(crate) fn sack_ok(mut self) -> Self {
        self.options.sack_permitted = true;
        self
    }

    /// The segment with its TSval and TSecr zeroed, for comparing segments sent at different
    /// times.
    pub(crate) fn without_ts(mut self) -> Self {
        if let Some(ts) = self.options.timestamps.as_mut() {
            *ts = Timestamps::default();
        }
        self
    }

    fn from_repr(tcp: &TcpRepr<'_>) -> Self {
        Seg {
            flags: tcp.flags,
            seq: tcp.seq,
            ack: tcp.ack,
            window: tcp.window,
            options: tcp.options,
            payload: tcp.payload.to_vec(),
        }
    }
}

pub(crate) const SYN: TcpFlags = TcpFlags::SYN;
pub(crate) const ACK: TcpFlags = TcpFlags::ACK;
pub(crate) const FIN: TcpFlags = TcpFlags::FIN;
pub(crate) const RST: TcpFlags = TcpFlags::RST;
pub(crate) const PSH: TcpFlags = TcpFlags::PSH;

/// One endpoint at `LOCAL_IP`, the test as the peer at `REMOTE_IP:REMOTE_PORT`.
pub(crate) struct Harness {
    pub(crate) ep: Endpoint,
    pub(crate) now: Instant,
    pub(crate) listener: Option<ListenId>,
    pub(crate) conn: Option<ConnId>,
    /// Our ISS, learnt from the first SYN or SYN-ACK we sent.
    pub(crate) iss: u32,
    events: Vec<EndpointEvent>,
}

impl Harness {
    pub(crate) fn new(config: Config) -> Self {
        Harness {
            ep: Endpoint::new(config, [7; 32]),
            now: Instant::from_micros(1_000_000),
            listener: None,
            conn: None,
            iss: 0,
            events: Vec::new(),
        }
    }

    /// An endpoint listening on `LOCAL_PORT`.
    pub(crate) fn listening() -> Self {
        let mut h = Harness::new(Config::default());
        let local = SocketAddr::new(LOCAL_IP, LOCAL_PORT);
        h.listener = Some(h.ep.listen(local, 8).expect("free port"));
        h
    }

    /// Passive open through the handshake: SYN in, SYN-ACK out, ACK in, accepted.
    pub(crate) fn established() -> Self {
        let mut h = Harness::listening();
        h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1460));
        let syn_ack = h.recv_one();
        h.iss = syn_ack.seq.get();
        h.send(Seg::new(ACK, REMOTE_ISS + 1, h.iss + 1));
        h.recv_nothing();
        let listener = h.listener.expect("listening");
        h.conn = Some(h.ep.accept(listener).expect("handshake complete"));
        h.drain_events();
        h
    }

    /// Passive open with `syn` from the peer, whose ACK echoes our TSval when the SYN-ACK
    /// carries one. Returns the harness and the SYN-ACK.
    pub(crate) fn established_with(syn: Seg) -> (Self, Seg) {
        let mut h = Harness::listening();
        let tsval = syn.options.timestamps.map(|ts| ts.tsval);
        h.send(syn);
        let syn_ack = h.recv_one();
        h.iss = syn_ack.seq.get();
        let mut ack = Seg::new(ACK, Harness::their(1), h.our(1));
        if let (Some(tsval), Some(ts)) = (tsval, syn_ack.options.timestamps) {
            ack = ack.ts(tsval, ts.tsval);
        }
        h.send(ack);
        h.recv_nothing();
        let listener = h.listener.expect("listening");
        h.conn = Some(h.ep.accept(listener).expect("handshake complete"));
        h.drain_events();
        (h, syn_ack)
    }

    /// Established by a passive open in which the peer offered SACK (and no RFC 7323 option).
    pub(crate) fn established_sack() -> Self {
        Harness::established_with(Seg::new(SYN, REMOTE_ISS, 0).mss(1460).sack_ok()).0
    }

    /// Active open: SYN out, SYN-ACK in, ACK out.
    pub(crate) fn connected() -> Self {
        let mut h = Harness::new(Config::default());
        h.connect();
        let syn = h.recv_one();
        h.iss = syn.seq.get();
        h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.iss + 1).mss(1460));
        let ack = h.recv_one();
        assert_eq!(ack.flags, ACK);
        h.drain_events();
        h
    }

    pub(crate) fn connect(&mut self) {
        let local = SocketAddr::new(LOCAL_IP, LOCAL_PORT);
        let remote = SocketAddr::new(REMOTE_IP, REMOTE_PORT);
        self.conn = Some(
            self.ep
                .connect(self.now, local, remote)
                .expect("free tuple"),
        );
    }

    /// Our sequence number `n` octets after the ISS.
    pub(crate) fn our(&self, n: u32) -> u32 {
        self.iss.wrapping_add(n)
    }

    /// The peer's sequence number `n` octets after its ISS.
    pub(crate) fn their(n: u32) -> u32 {
        REMOTE_ISS.wrapping_add(n)
    }

    /// Delivers `seg` from the peer.
    pub(crate) fn send(&mut self, seg: Seg) {
        let ip = IpRepr {
            src: REMOTE_IP,
            dst: LOCAL_IP,
            hop_limit: 64,
        };
        let tcp = TcpRepr {
            src_port: REMOTE_PORT,
            dst_port: LOCAL_PORT,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            urgent: 0,
            options: seg.options,
            payload: &seg.payload,
        };
        self.ep.handle_segment(self.now, &ip, &tcp);
    }

    /// Every segment the endpoint sends now.
    pub(crate) fn recv(&mut self) -> Vec<Seg> {
        let mut out = Vec::new();
        while let Some(packet) = self.ep.poll_transmit(self.now) {
            assert_eq!(packet.ip.src, LOCAL_IP);
            assert_eq!(packet.ip.dst, REMOTE_IP);
            assert_eq!(packet.tcp.dst_port, REMOTE_PORT);
            out.push(Seg::from_repr(&packet.tcp));
        }
        while let Some(event) = self.ep.poll_event() {
            self.events.push(event);
        }
        out
    }

    /// Exactly one segment.
    #[track_caller]
    pub(crate) fn recv_one(&mut self) -> Seg {
        let mut segs = self.recv();
        assert_eq!(segs.len(), 1, "expected one segment, got {segs:#?}");
        segs.remove(0)
    }

    #[track_caller]
    pub(crate) fn recv_nothing(&mut self) {
        let segs = self.recv();
        assert!(segs.is_empty(), "expected nothing, got {segs:#?}");
    }

    /// Moves virtual time forward and fires what is due.
    pub(crate) fn advance(&mut self, by: Duration) {
        self.now += by;
        self.ep.handle_timeout(self.now);
    }

    pub(crate) fn id(&self) -> ConnId {
        self.conn.expect("a connection")
    }

    pub(crate) fn state(&self) -> State {
        self.ep.conn(self.id()).map_or(State::Closed, |c| c.state())
    }

    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        let id = self.id();
        self.ep
            .conn_mut(id)
            .expect("connection exists")
            .write(data)
            .expect("room in the send buffer")
    }

    pub(crate) fn read_all(&mut self) -> Vec<u8> {
        let id = self.id();
        let conn = self.ep.conn_mut(id).expect("connection exists");
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = conn.read(&mut buf) {
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    pub(crate) fn shutdown(&mut self) {
        let (id, now) = (self.id(), self.now);
        self.ep
            .conn_mut(id)
            .expect("connection exists")
            .shutdown(now);
    }

    /// The user aborts (RFC 9293 §3.10.5 ABORT).
    pub(crate) fn abort(&mut self) {
        let (id, now) = (self.id(), self.now);
        self.ep.conn_mut(id).expect("connection exists").abort(now);
    }

    /// The user drops its handle: `close` for good, as Linux's `close(2)`.
    pub(crate) fn release(&mut self) {
        let (id, now) = (self.id(), self.now);
        self.ep.release(now, id);
    }

    /// Active open up to SYN-SENT: our SYN is out and its ISS learnt.
    pub(crate) fn syn_sent() -> Self {
        let mut h = Harness::new(Config::default());
        h.connect();
        let syn = h.recv_one();
        assert_eq!(syn.flags, SYN);
        h.iss = syn.seq.get();
        h.drain_events();
        h
    }

    /// Passive open up to SYN-RECEIVED: the peer's SYN in, our SYN-ACK out. The connection is
    /// the listener's until its handshake completes, so `conn` stays `None`.
    pub(crate) fn syn_received() -> Self {
        let mut h = Harness::listening();
        h.send(Seg::new(SYN, REMOTE_ISS, 0).mss(1460));
        let syn_ack = h.recv_one();
        assert_eq!(syn_ack.flags, SYN | ACK);
        h.iss = syn_ack.seq.get();
        h
    }

    /// Events seen so far for our connection, drained.
    pub(crate) fn drain_events(&mut self) -> Vec<Event> {
        self.recv_pending_events();
        let id = self.conn;
        self.events
            .drain(..)
            .filter_map(|e| match e {
                EndpointEvent::Conn(c, ev) if Some(c) == id => Some(ev),
                _ => None,
            })
            .collect()
    }

    fn recv_pending_events(&mut self) {
        while let Some(event) = self.ep.poll_event() {
            self.events.push(event);
        }
    }
}
