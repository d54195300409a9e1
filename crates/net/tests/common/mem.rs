//! Shared setup of the tests on the in-memory device: two stacks joined by a `MemDevice` pair,
//! a way to connect them, a link that can be cut, and waits in virtual time.
//!
//! Each test binary includes this file with `#[path = "common/mem.rs"] mod mem;` and uses part
//! of it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use fsm::Config;
use net::device::{Batch, Device, MemDevice};
use net::{Stack, TcpListener, TcpStream};

pub const SERVER_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
pub const CLIENT_V4: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
pub const SERVER_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
pub const CLIENT_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
pub const MTU: usize = 1500;
/// A short MSL, so that TIME-WAIT (2 MSL) ends quickly in virtual time.
pub const MSL: Duration = Duration::from_secs(1);

/// The engine's defaults with a short MSL.
pub fn config() -> Config {
    Config {
        msl: MSL,
        ..Config::default()
    }
}

/// A server stack and a client stack on either end of an in-memory link.
pub struct Net {
    pub server: Stack,
    pub client: Stack,
    link: Link,
    client_broken: Arc<AtomicBool>,
}

impl Net {
    /// Two IPv4 stacks with [`config`].
    pub fn v4() -> Net {
        Net::with(config(), SERVER_V4, CLIENT_V4)
    }

    /// Two IPv6 stacks with [`config`].
    pub fn v6() -> Net {
        Net::with(config(), SERVER_V6, CLIENT_V6)
    }

    /// Two stacks with the given configuration and addresses.
    pub fn with(config: Config, server: IpAddr, client: IpAddr) -> Net {
        let (a, b) = MemDevice::pair(MTU);
        let link = Link::default();
        let client_broken = Arc::new(AtomicBool::new(false));
        let server = Stack::builder()
            .address(server)
            .config(config.clone())
            .seed([1; 32])
            .build(link.wrap(a, Arc::default()))
            .expect("server stack");
        let client = Stack::builder()
            .address(client)
            .config(config)
            .seed([2; 32])
            .build(link.wrap(b, client_broken.clone()))
            .expect("client stack");
        Net {
            server,
            client,
            link,
            client_broken,
        }
    }

    /// The server's address of the client's family with `port`.
    pub fn server_addr(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.server.addresses()[0], port)
    }

    /// A listener on the server at `port`.
    pub async fn listen(&self, port: u16) -> TcpListener {
        TcpListener::bind(&self.server, self.server_addr(port))
            .await
            .expect("bind")
    }

    /// A connected pair: (client's stream, server's stream).
    pub async fn pair(&self, port: u16) -> (TcpStream, TcpStream) {
        let listener = self.listen(port).await;
        let (client, accepted) = tokio::join!(
            TcpStream::connect(&self.client, self.server_addr(port)),
            listener.accept()
        );
        let client = client.expect("connect");
        let (server, peer) = accepted.expect("accept");
        assert_eq!(peer, client.local_addr().expect("local address"));
        (client, server)
    }

    /// From now on, every packet either way is lost.
    pub fn cut(&self) {
        self.link.cut.store(true, Ordering::Relaxed);
    }

    /// From now on, each end loses every `n`th packet it sends (0: none).
    pub fn lose_every(&self, n: usize) {
        self.link.lose_every.store(n, Ordering::Relaxed);
    }

    /// From now on, the client's device fails every send with an I/O error (which stops the
    /// client stack's driver).
    pub fn break_client_device(&self) {
        self.client_broken.store(true, Ordering::Relaxed);
    }

    /// Waits, in virtual time, until both stacks hold no connection, no TIME-WAIT entry and no
    /// handle; panics if that takes longer than `limit`.
    pub async fn settle(&self, limit: Duration) {
        let quiet = |s: &Stack| {
            s.connection_count() == 0 && s.time_wait_count() == 0 && s.counters().open_handles == 0
        };
        wait_until(limit, || quiet(&self.server) && quiet(&self.client)).await;
    }
}

/// Polls `done` every 10 ms of virtual time until it holds; panics after `limit`.
pub async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let step = Duration::from_millis(10);
    let mut waited = Duration::ZERO;
    while !done() {
        assert!(waited < limit, "condition not reached within {limit:?}");
        tokio::time::sleep(step).await;
        waited += step;
    }
}

/// Switches shared by both ends of a link: once cut, both drop everything they send; with
/// `lose_every` at n, each drops every nth packet it sends.
#[derive(Clone, Debug, Default)]
struct Link {
    cut: Arc<AtomicBool>,
    lose_every: Arc<AtomicUsize>,
}

impl Link {
    fn wrap(&self, inner: MemDevice, broken: Arc<AtomicBool>) -> TestDevice {
        TestDevice {
            inner,
            link: self.clone(),
            broken,
            sent: 0,
        }
    }
}

/// A `MemDevice` end whose sends can be lost (all, or every nth) or made to fail.
#[derive(Debug)]
struct TestDevice {
    inner: MemDevice,
    link: Link,
    broken: Arc<AtomicBool>,
    /// Packets handed to this end so far.
    sent: usize,
}

impl Device for TestDevice {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        self.inner.poll_recv(cx, batch)
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        if self.broken.load(Ordering::Relaxed) {
            return Poll::Ready(Err(io::Error::other("the test broke this device")));
        }
        if self.link.cut.load(Ordering::Relaxed) {
            let unsent = batch.unsent().count();
            batch.mark_sent(unsent);
            return Poll::Ready(Ok(()));
        }
        let every = self.link.lose_every.load(Ordering::Relaxed);
        if every == 0 {
            return self.inner.poll_send(cx, batch);
        }
        // Keep all but every nth packet, then send those (a `MemDevice` never waits).
        let mut kept = Batch::new(batch.len(), batch.packet_size());
        for (packet, meta) in batch.unsent() {
            self.sent += 1;
            if !self.sent.is_multiple_of(every) {
                kept.push(packet, meta);
            }
        }
        let all = batch.unsent().count();
        batch.mark_sent(all);
        self.inner.poll_send(cx, &mut kept)
    }
}

/// `len` bytes of a pattern that shows misordered or lost bytes: byte i is a hash of i and
/// `tag`.
pub fn pattern(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[0] ^ tag)
        .collect()
}
