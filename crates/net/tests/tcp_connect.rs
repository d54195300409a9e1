//! `TcpStream::connect`: the handshake, the addresses it reports, and every way it fails.

#[path = "common/mem.rs"]
mod mem;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use fsm::{Config, State};
use mem::{CLIENT_V4, CLIENT_V6, Net, SERVER_V4, SERVER_V6};
use net::{Stack, TcpStream, device::MemDevice};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn connect_reports_both_addresses() {
    let net = Net::v4();
    let (client, server) = net.pair(80).await;
    let local = client.local_addr().unwrap();
    assert_eq!(local.ip(), CLIENT_V4);
    assert!(
        Config::default().ephemeral_ports.contains(&local.port()),
        "{local}"
    );
    assert_eq!(client.peer_addr().unwrap(), SocketAddr::new(SERVER_V4, 80));
    assert_eq!(server.local_addr().unwrap(), SocketAddr::new(SERVER_V4, 80));
    assert_eq!(server.peer_addr().unwrap(), local);
    assert_eq!(client.info().unwrap().state, State::Established);
    assert_eq!(server.info().unwrap().state, State::Established);
}

#[tokio::test(start_paused = true)]
async fn connects_to_one_server_use_distinct_ports() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    let mut ports = Vec::new();
    let mut streams = Vec::new();
    for _ in 0..16 {
        let (client, accepted) = tokio::join!(
            TcpStream::connect(&net.client, net.server_addr(80)),
            listener.accept()
        );
        let client = client.unwrap();
        let (server, peer) = accepted.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        ports.push(peer.port());
        streams.push((client, server));
    }
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 16);
    assert_eq!(net.client.connection_count(), 16);
    assert_eq!(net.server.connection_count(), 16);
}

#[tokio::test(start_paused = true)]
async fn connect_to_closed_port_is_refused() {
    let net = Net::v4();
    let err = TcpStream::connect(&net.client, net.server_addr(81))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    // The failed attempt leaves nothing behind once the driver has run.
    assert_eq!(net.client.counters().open_handles, 0);
    mem::wait_until(Duration::from_millis(20), || {
        net.client.connection_count() == 0
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn connect_to_silent_peer_times_out_after_syn_retries() {
    // The other end of the link exists but no stack drives it: every SYN is lost.
    let (device, _silent) = MemDevice::pair(mem::MTU);
    let config = Config {
        syn_retries: 2,
        ..mem::config()
    };
    let stack = Stack::builder()
        .address(CLIENT_V4)
        .config(config)
        .build(device)
        .unwrap();
    let start = Instant::now();
    let err = TcpStream::connect(&stack, SocketAddr::new(SERVER_V4, 80))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    // RFC 6298 backoff from a 1 s initial RTO: SYN at 0, 1 s and 3 s, given up at 7 s.
    assert_eq!(start.elapsed().as_secs(), 7);
    assert_eq!(stack.counters().open_handles, 0);
    mem::wait_until(Duration::from_millis(20), || stack.connection_count() == 0).await;
}

#[tokio::test(start_paused = true)]
async fn connect_to_ipv6_from_ipv4_only_stack_is_addr_not_available() {
    let net = Net::v4();
    let err = TcpStream::connect(&net.client, SocketAddr::new(SERVER_V6, 80))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrNotAvailable);
}

#[tokio::test(start_paused = true)]
async fn connect_to_port_zero_is_invalid_input() {
    let net = Net::v4();
    let err = TcpStream::connect(&net.client, net.server_addr(0))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test(start_paused = true)]
async fn connect_to_unspecified_address_is_invalid_input() {
    let net = Net::v4();
    let err = TcpStream::connect(&net.client, "0.0.0.0:80".parse().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test(start_paused = true)]
async fn ipv6_connection_carries_data_both_ways() {
    let net = Net::v6();
    let (mut client, mut server) = net.pair(443).await;
    assert_eq!(client.local_addr().unwrap().ip(), CLIENT_V6);
    assert_eq!(client.peer_addr().unwrap(), SocketAddr::new(SERVER_V6, 443));
    assert_eq!(server.peer_addr().unwrap().ip(), CLIENT_V6);
    // IPv6 headers are 20 bytes longer: the MSS on a 1500-byte MTU is 1440, and the
    // timestamps both ends agree to take 12 of it in every segment (RFC 7323 §3.2).
    assert_eq!(client.info().unwrap().mss, 1428);
    let data = mem::pattern(6, 100_000);
    let (sent, received) = tokio::join!(client.write_all(&data), async {
        let mut got = vec![0; data.len()];
        server.read_exact(&mut got).await.map(|_| got)
    });
    sent.unwrap();
    assert_eq!(received.unwrap(), data);
    server.write_all(b"v6 reply").await.unwrap();
    let mut reply = [0; 8];
    client.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"v6 reply");
}

#[tokio::test(start_paused = true)]
async fn dual_stack_picks_the_source_of_the_target_family() {
    let (a, b) = MemDevice::pair(mem::MTU);
    let server = Stack::builder()
        .address(SERVER_V4)
        .address(SERVER_V6)
        .config(mem::config())
        .build(a)
        .unwrap();
    let client = Stack::builder()
        .address(CLIENT_V4)
        .address(CLIENT_V6)
        .config(mem::config())
        .build(b)
        .unwrap();
    let v4 = net::TcpListener::bind(&server, "0.0.0.0:80".parse().unwrap())
        .await
        .unwrap();
    let v6 = net::TcpListener::bind(&server, "[::]:80".parse().unwrap())
        .await
        .unwrap();
    let (c4, a4) = tokio::join!(
        TcpStream::connect(&client, SocketAddr::new(SERVER_V4, 80)),
        v4.accept()
    );
    let (c6, a6) = tokio::join!(
        TcpStream::connect(&client, SocketAddr::new(SERVER_V6, 80)),
        v6.accept()
    );
    assert_eq!(c4.unwrap().local_addr().unwrap().ip(), CLIENT_V4);
    assert_eq!(a4.unwrap().1.ip(), CLIENT_V4);
    assert_eq!(c6.unwrap().local_addr().unwrap().ip(), CLIENT_V6);
    assert_eq!(a6.unwrap().1.ip(), CLIENT_V6);
}

#[tokio::test(start_paused = true)]
async fn cancelled_connect_leaves_nothing_behind() {
    let net = Net::v4();
    net.cut();
    // The SYN is lost; give up on the attempt after 100 ms.
    let attempt = tokio::time::timeout(
        Duration::from_millis(100),
        TcpStream::connect(&net.client, net.server_addr(80)),
    )
    .await;
    assert!(attempt.is_err(), "connect cannot succeed over a cut link");
    assert_eq!(net.client.counters().open_handles, 0);
    mem::wait_until(Duration::from_millis(20), || {
        net.client.connection_count() == 0
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn stack_without_address_is_invalid_input() {
    let (a, _b) = MemDevice::pair(mem::MTU);
    let err = Stack::builder().build(a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test(start_paused = true)]
async fn stack_on_tiny_mtu_is_invalid_input() {
    let (a, _b) = MemDevice::pair(80);
    let err = Stack::builder().address(CLIENT_V4).build(a).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
