//! `TcpListener`: bind, accept, poll_accept, local_addr, and what dropping it does.

#[path = "common/mem.rs"]
mod mem;

use std::future::{Future, poll_fn};
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use fsm::Config;
use mem::{CLIENT_V4, Net, SERVER_V4};
use net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(start_paused = true)]
async fn bind_port_zero_picks_a_free_port() {
    let net = Net::v4();
    let first = TcpListener::bind(&net.server, net.server_addr(0))
        .await
        .unwrap();
    let second = TcpListener::bind(&net.server, net.server_addr(0))
        .await
        .unwrap();
    let (a, b) = (first.local_addr().unwrap(), second.local_addr().unwrap());
    assert_eq!(a.ip(), SERVER_V4);
    assert_ne!(a.port(), 0);
    assert_ne!(b.port(), 0);
    assert_ne!(a.port(), b.port());
    assert!(Config::default().ephemeral_ports.contains(&a.port()));
    // The chosen port accepts connections.
    let (client, accepted) = tokio::join!(TcpStream::connect(&net.client, a), first.accept());
    assert_eq!(client.unwrap().peer_addr().unwrap(), a);
    assert_eq!(accepted.unwrap().0.local_addr().unwrap(), a);
}

#[tokio::test(start_paused = true)]
async fn second_bind_is_addr_in_use() {
    let net = Net::v4();
    let _first = net.listen(80).await;
    let err = TcpListener::bind(&net.server, net.server_addr(80))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrInUse);
}

#[tokio::test(start_paused = true)]
async fn bind_after_listener_dropped_succeeds() {
    let net = Net::v4();
    drop(net.listen(80).await);
    let again = TcpListener::bind(&net.server, net.server_addr(80))
        .await
        .unwrap();
    assert_eq!(again.local_addr().unwrap(), net.server_addr(80));
}

#[tokio::test(start_paused = true)]
async fn bind_to_foreign_address_is_addr_not_available() {
    let net = Net::v4();
    let foreign = SocketAddr::new(CLIENT_V4, 80);
    let err = TcpListener::bind(&net.server, foreign).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AddrNotAvailable);
}

#[tokio::test(start_paused = true)]
async fn bind_unspecified_accepts_on_the_stack_address() {
    let net = Net::v4();
    let listener = TcpListener::bind(&net.server, "0.0.0.0:8080".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        listener.local_addr().unwrap(),
        "0.0.0.0:8080".parse().unwrap()
    );
    let (client, accepted) = tokio::join!(
        TcpStream::connect(&net.client, net.server_addr(8080)),
        listener.accept()
    );
    let client = client.unwrap();
    let (server, peer) = accepted.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    // The accepted stream names the address the SYN was sent to, not the wildcard.
    assert_eq!(server.local_addr().unwrap(), net.server_addr(8080));
}

#[tokio::test(start_paused = true)]
async fn accept_reports_the_peer_address() {
    let net = Net::v4();
    let (client, server) = net.pair(80).await;
    let peer = server.peer_addr().unwrap();
    assert_eq!(peer.ip(), CLIENT_V4);
    assert_eq!(peer, client.local_addr().unwrap());
}

#[tokio::test(start_paused = true)]
async fn connections_queue_until_accepted() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    // Three clients connect before anyone calls accept: the backlog holds them.
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(
            TcpStream::connect(&net.client, net.server_addr(80))
                .await
                .unwrap(),
        );
    }
    for client in &clients {
        let (_, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
    }
}

#[tokio::test(start_paused = true)]
async fn cancelled_accept_loses_no_connection() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    // An accept that gives up before any client came.
    let timed_out = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await;
    assert!(timed_out.is_err());
    // An accept polled once (registering its waker), woken by a completed handshake, then
    // dropped without being polled again.
    let client = {
        let mut accept = pin!(listener.accept());
        assert!(poll_fn(|cx| Poll::Ready(accept.as_mut().poll(cx).is_pending())).await);
        TcpStream::connect(&net.client, net.server_addr(80))
            .await
            .unwrap()
    };
    // The connection is still there for the next accept.
    let (mut server, peer) = tokio::time::timeout(Duration::from_secs(1), listener.accept())
        .await
        .expect("the connection stayed queued")
        .unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    server.write_all(b"kept").await.unwrap();
    let mut client = client;
    let mut got = [0; 4];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"kept");
}

#[tokio::test(start_paused = true)]
async fn poll_accept_is_pending_then_ready() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    assert!(poll_fn(|cx| Poll::Ready(listener.poll_accept(cx).is_pending())).await);
    let client = TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap();
    let (server, peer) = poll_fn(|cx| listener.poll_accept(cx)).await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    assert_eq!(server.peer_addr().unwrap(), peer);
}

#[tokio::test(start_paused = true)]
async fn dropped_listener_resets_queued_connections_and_refuses_new_ones() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    let mut queued = TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap();
    drop(listener);
    let mut buf = [0; 1];
    let err = queued.read(&mut buf).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    let err = TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    drop(queued);
    net.settle(Duration::from_secs(1)).await;
}

#[tokio::test(start_paused = true)]
async fn data_sent_before_accept_is_read_after_it() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    let mut client = TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap();
    client.write_all(b"early bird").await.unwrap();
    client.shutdown().await.unwrap();
    // Let the data and the FIN arrive before the accept.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (mut server, _) = listener.accept().await.unwrap();
    let mut got = String::new();
    server.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "early bird");
}

/// `accept` takes `&self`: several tasks may wait on one listener, and each gets a connection.
#[tokio::test(start_paused = true)]
async fn concurrent_accepts_on_one_listener_all_complete() {
    let net = Net::v4();
    let listener = std::sync::Arc::new(net.listen(80).await);
    let mut acceptors = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let listener = listener.clone();
        acceptors.spawn(async move { listener.accept().await.map(|(_, peer)| peer) });
    }
    // Every acceptor is waiting before the first client comes.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(
            TcpStream::connect(&net.client, net.server_addr(80))
                .await
                .unwrap(),
        );
    }
    let mut peers = Vec::new();
    while let Some(peer) = tokio::time::timeout(Duration::from_secs(1), acceptors.join_next())
        .await
        .expect("every acceptor gets a connection")
    {
        peers.push(peer.unwrap().unwrap());
    }
    let mut expected: Vec<_> = clients.iter().map(|c| c.local_addr().unwrap()).collect();
    expected.sort();
    peers.sort();
    assert_eq!(peers, expected);
}
