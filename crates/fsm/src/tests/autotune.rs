//! Buffer autotuning: the receive buffer grows with the application's reading over a long
//! path, up to `recv_buffer_max` and not at all for a reader that stops; the window scale
//! offered covers the largest buffer; the send buffer grows with the congestion window up to
//! `send_buffer_max`.

use core::time::Duration;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use wire::Packet;

use super::harness::*;
use crate::{Config, ConnId, Connection, Endpoint, Event, Instant, ReadError, WriteError};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// One way delay of the long path: a 100 ms RTT.
const DELAY: Duration = Duration::from_millis(50);
/// Time to put one byte on the wire: 100 Mbit/s, so the path holds 1.25 MB per RTT.
const BYTE_TIME: Duration = Duration::from_nanos(80);

/// One direction of the long path: a bottleneck of `BYTE_TIME` per byte, then `DELAY`.
#[derive(Debug, Default)]
struct Path {
    /// When the bottleneck is free for the next packet.
    free_at: Option<Instant>,
    /// Packets in flight with their arrival times, in order.
    in_flight: VecDeque<(Instant, Vec<u8>)>,
}

impl Path {
    fn send(&mut self, now: Instant, bytes: &[u8]) {
        let start = self.free_at.map_or(now, |free| free.max(now));
        let sent = start + BYTE_TIME * bytes.len() as u32;
        self.free_at = Some(sent);
        self.in_flight.push_back((sent + DELAY, bytes.to_vec()));
    }

    fn next_arrival(&self) -> Option<Instant> {
        self.in_flight.front().map(|(at, _)| *at)
    }

    fn recv(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.next_arrival()? > now {
            return None;
        }
        self.in_flight.pop_front().map(|(_, bytes)| bytes)
    }
}

/// The byte at stream offset `offset` of the test stream.
fn pattern(offset: usize) -> u8 {
    (offset % 251) as u8
}

/// What the receiving side saw over a transfer.
#[derive(Debug, Default)]
struct Seen {
    /// Bytes read, all checked against the pattern.
    read: usize,
    /// Largest window the receiver advertised (RCV.WND).
    max_rcv_wnd: u32,
    /// Largest receive buffer.
    max_recv_buffer: usize,
    /// Largest send buffer, at the sender.
    max_send_buffer: usize,
    /// The send buffer never shrank.
    send_buffer_monotonic: bool,
}

/// A bulk transfer from a client (side 0, which writes an endless stream) to a server (side 1)
/// over the long path, in virtual time.
struct Transfer {
    eps: [Endpoint; 2],
    conns: [Option<ConnId>; 2],
    /// Path 0 carries side 0's packets.
    paths: [Path; 2],
    now: Instant,
    written: usize,
    /// The server's application reads everything as it arrives.
    reading: bool,
    seen: Seen,
}

impl Transfer {
    fn new(client: Config, server: Config, reading: bool) -> Self {
        let addr = |host| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, host)), 80);
        let now = Instant::from_micros(1_000_000);
        let mut eps = [
            Endpoint::new(client, [1; 32]),
            Endpoint::new(server, [2; 32]),
        ];
        let listener = eps[1].listen(addr(2), 4).expect("free port");
        let client = eps[0].connect(now, addr(1), addr(2)).expect("free tuple");
        let mut t = Transfer {
            eps,
            conns: [Some(client), None],
            paths: [Path::default(), Path::default()],
            now,
            written: 0,
            reading,
            seen: Seen {
                send_buffer_monotonic: true,
                ..Seen::default()
            },
        };
        while t.conns[1].is_none() {
            t.step();
            t.conns[1] = t.eps[1].accept(listener);
            t.advance();
        }
        t
    }

    fn conn(&self, side: usize) -> &Connection {
        self.conns[side]
            .and_then(|id| self.eps[side].conn(id))
            .expect("connection")
    }

    /// Runs until `until`, event by event.
    fn run_until(&mut self, until: Instant) {
        while self.now <= until {
            self.step();
            self.advance();
        }
    }

    /// Moves time to the next arrival or timer.
    fn advance(&mut self) {
        let next = [
            self.paths[0].next_arrival(),
            self.paths[1].next_arrival(),
            self.eps[0].poll_timeout(),
            self.eps[1].poll_timeout(),
        ];
        self.now = next.into_iter().flatten().min().expect("something pending");
    }

    /// Everything that happens at `now`: arrivals, timers, the applications, transmissions.
    fn step(&mut self) {
        for dir in 0..2 {
            while let Some(bytes) = self.paths[dir].recv(self.now) {
                let packet = Packet::parse(&bytes).expect("a clean link");
                self.eps[1 - dir].handle_segment(self.now, &packet.ip, &packet.tcp);
            }
        }
        for ep in &mut self.eps {
            ep.handle_timeout(self.now);
        }
        self.run_apps();
        let mut buf = [0u8; 2048];
        for (side, ep) in self.eps.iter_mut().enumerate() {
            while let Some(packet) = ep.poll_transmit(self.now) {
                let len = packet.emit(&mut buf).expect("room for a packet");
                self.paths[side].send(self.now, &buf[..len]);
            }
            while ep.poll_event().is_some() {}
        }
        if self.conns[1].is_some() {
            let rcv_wnd = self.conn(1).info().rcv_wnd;
            let recv_buffer = self.conn(1).info().recv_buffer;
            let send_buffer = self.conn(0).info().send_buffer;
            let seen = &mut self.seen;
            seen.max_rcv_wnd = seen.max_rcv_wnd.max(rcv_wnd);
            seen.max_recv_buffer = seen.max_recv_buffer.max(recv_buffer);
            seen.send_buffer_monotonic &= send_buffer >= seen.max_send_buffer;
            seen.max_send_buffer = seen.max_send_buffer.max(send_buffer);
        }
    }

    /// The client writes as much of the stream as its send buffer takes; the server reads all
    /// it can, if it reads.
    fn run_apps(&mut self) {
        let [client, server] = &mut self.eps;
        if let Some(conn) = self.conns[0].and_then(|id| client.conn_mut(id)) {
            loop {
                let chunk: Vec<u8> = (self.written..self.written + 64 * KIB)
                    .map(pattern)
                    .collect();
                match conn.write(&chunk) {
                    Ok(n) if n == chunk.len() => self.written += n,
                    Ok(n) => {
                        self.written += n;
                        break;
                    }
                    Err(WriteError::Blocked) => break,
                    Err(e) => panic!("write: {e:?}"),
                }
            }
        }
        let Some(conn) = self.conns[1]
            .and_then(|id| server.conn_mut(id))
            .filter(|_| self.reading)
        else {
            return;
        };
        let mut buf = vec![0u8; 64 * KIB];
        loop {
            match conn.read(&mut buf) {
                Ok(0) | Err(ReadError::Blocked) => break,
                Ok(n) => {
                    let expected = (self.seen.read..self.seen.read + n).map(pattern);
                    assert!(buf[..n].iter().copied().eq(expected), "stream corrupted");
                    self.seen.read += n;
                }
                Err(e) => panic!("read: {e:?}"),
            }
        }
    }
}

/// A server whose receive buffer starts at 64 KiB and may grow to `max`.
fn server(max: usize) -> Config {
    Config {
        recv_buffer: 64 * KIB,
        recv_buffer_max: max,
        ..Config::default()
    }
}

/// Bytes delivered in 3 s over the long path, and what the receiver saw.
fn three_seconds(server: Config, reading: bool) -> (Transfer, Seen) {
    let mut t = Transfer::new(Config::default(), server, reading);
    let end = t.now + Duration::from_secs(3);
    t.run_until(end);
    let seen = core::mem::take(&mut t.seen);
    (t, seen)
}

#[test]
fn established_fast_reader_on_long_path_grows_receive_buffer_and_window() {
    let (t, tuned) = three_seconds(server(4 * MIB), true);
    let (_, fixed) = three_seconds(server(64 * KIB), true);
    // Without autotuning the window caps the transfer at 64 KiB per 100 ms RTT.
    assert!(fixed.max_rcv_wnd <= 64 * KIB as u32, "{fixed:?}");
    assert!(fixed.read <= 31 * 64 * KIB, "{fixed:?}");
    // With it the buffer and the window grow past 64 KiB, and so does the throughput.
    assert!(tuned.max_recv_buffer > 1024 * KIB, "{tuned:?}");
    assert!(tuned.max_rcv_wnd > 1024 * KIB as u32, "{tuned:?}");
    assert!(tuned.read > 4 * fixed.read, "{tuned:?} vs {fixed:?}");
    // About twice the path's 1.25 MB bandwidth-delay product, short of the 4 MiB maximum.
    assert!(tuned.max_recv_buffer < 3 * MIB, "{tuned:?}");
    assert_eq!(t.conn(1).info().recv_buffer, tuned.max_recv_buffer);
}

#[test]
fn established_receive_buffer_stops_at_recv_buffer_max() {
    let max = 200_000;
    let (t, seen) = three_seconds(server(max), true);
    assert_eq!(seen.max_recv_buffer, max, "{seen:?}");
    assert_eq!(t.conn(1).info().recv_buffer, max);
    assert!(seen.max_rcv_wnd <= max as u32, "{seen:?}");
}

#[test]
fn established_reader_that_does_not_read_keeps_receive_buffer() {
    let (t, seen) = three_seconds(server(4 * MIB), false);
    assert_eq!(seen.max_recv_buffer, 64 * KIB, "{seen:?}");
    let conn = t.conn(1);
    // The buffer is full, less than the one 2^7-byte unit of a scaled window (RFC 7323 §2.3)
    // the sender's SWS avoidance leaves unsent: memory stays bounded by the buffer.
    assert!((64 * KIB - 128..=64 * KIB).contains(&conn.readable()));
    assert!(conn.info().rcv_wnd < 128);
}

#[test]
fn established_send_buffer_grows_with_cwnd_up_to_send_buffer_max() {
    let client = Config {
        send_buffer: 16 * KIB,
        send_buffer_max: 300_000,
        ..Config::default()
    };
    let mut t = Transfer::new(client, Config::default(), true);
    // Twice the initial window (10 segments, RFC 6928) from the handshake on, or twice the
    // configured buffer when that is more: growth at least doubles.
    let initial = t.conn(0).info().send_buffer;
    assert_eq!(initial, (2 * 10 * 1448).max(2 * 16 * KIB));
    let end = t.now + Duration::from_secs(3);
    t.run_until(end);
    let info = t.conn(0).info();
    assert!(t.seen.send_buffer_monotonic, "{:?}", t.seen);
    assert_eq!(t.seen.max_send_buffer, 300_000);
    assert_eq!(info.send_buffer, 300_000);
    assert!(2 * info.cwnd as usize > 300_000, "{info:?}");
}

#[test]
fn closed_connect_offers_wscale_for_recv_buffer_max() {
    let syn_wscale = |config: Config| {
        let mut h = Harness::new(config);
        h.connect();
        h.recv_one().options.window_scale
    };
    // RFC 7323 §2.3: 65535 << 7 is the first to cover 4 MiB, the default maximum.
    assert_eq!(syn_wscale(server(4 * MIB)), Some(7));
    // Autotuning off: the shift covers the buffer itself (65535 << 1 ≥ 64 KiB).
    assert_eq!(syn_wscale(server(64 * KIB)), Some(1));
    assert_eq!(syn_wscale(server(0)), Some(1));
}

#[test]
fn established_ack_growing_cwnd_grows_send_buffer_and_signals_writable() {
    let mut h = Harness::new(Config {
        send_buffer: 4000,
        send_buffer_max: 100_000,
        ..Config::default()
    });
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(1460));
    h.recv_one();
    h.drain_events();
    let id = h.id();
    let cwnd = |h: &Harness| h.ep.conn(id).map_or(0, |c| c.info().cwnd) as usize;
    // The handshake set cwnd to the initial window, 10 segments: the buffer is twice that.
    let capacity = 2 * cwnd(&h);
    assert_eq!(h.ep.conn(id).map(|c| c.send_capacity()), Some(capacity));
    assert_eq!(h.write(&vec![7; capacity]), capacity);
    assert_eq!(h.recv().len(), 10);
    assert_eq!(capacity, 2 * 10 * 1460);
    // Two segments acknowledged: slow start grows cwnd by two segments (RFC 3465, L = 2);
    // twice that is past the buffer, which doubles rather than grow by four segments.
    h.send(Seg::new(ACK, Harness::their(1), h.our(1 + 2 * 1460)));
    assert_eq!(2 * cwnd(&h), capacity + 4 * 1460);
    assert_eq!(
        h.ep.conn(id)
            .map(|c| (c.info().send_buffer, c.send_capacity())),
        Some((2 * capacity, capacity + 2 * 1460))
    );
    assert!(h.drain_events().contains(&Event::Writable));
}

#[test]
fn established_send_buffer_max_not_above_send_buffer_keeps_send_buffer() {
    let mut h = Harness::new(Config {
        send_buffer: 4000,
        send_buffer_max: 4000,
        ..Config::default()
    });
    h.connect();
    h.iss = h.recv_one().seq.get();
    h.send(Seg::new(SYN | ACK, REMOTE_ISS, h.our(1)).mss(1460));
    h.recv_one();
    assert_eq!(h.write(&[7; 5000]), 4000);
    h.recv();
    h.send(Seg::new(ACK, Harness::their(1), h.our(4001)));
    let info = h.ep.conn(h.id()).map(|c| c.info());
    assert_eq!(info.map(|i| i.send_buffer), Some(4000));
}
