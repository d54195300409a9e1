//! How a connection fails: resets from the peer (linger zero, `abort`), local aborts, a peer
//! that disappears, and tasks blocked in read or write when it happens.

#[path = "common/mem.rs"]
mod mem;

use std::io::ErrorKind;
use std::time::Duration;

use fsm::{Config, State};
use mem::{CLIENT_V4, Net, SERVER_V4};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(start_paused = true)]
async fn read_after_peer_drops_with_linger_zero_is_reset() {
    let net = Net::v4();
    let (mut client, server) = net.pair(80).await;
    server.set_linger(Some(Duration::ZERO)).unwrap();
    drop(server);
    let err = client.read(&mut [0; 8]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    assert_eq!(client.info().unwrap().state, State::Closed);
    // Writes fail too, and there is nothing left to shut down.
    let err = client.write_all(b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    let err = client.shutdown().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected);
    drop(client);
    net.settle(Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn linger_other_than_zero_closes_gracefully() {
    let net = Net::v4();
    let (mut client, server) = net.pair(80).await;
    server.set_linger(Some(Duration::ZERO)).unwrap();
    server.set_linger(Some(Duration::from_secs(5))).unwrap();
    drop(server);
    assert_eq!(client.read(&mut [0; 8]).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn read_after_peer_abort_is_reset_and_local_calls_are_aborted() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    client.write_all(b"unread").await.unwrap();
    server.abort().unwrap();
    assert_eq!(server.info().unwrap().state, State::Closed);
    let err = server.read(&mut [0; 8]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionAborted);
    let err = server.write_all(b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionAborted);
    let err = client.read(&mut [0; 8]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[tokio::test(start_paused = true)]
async fn blocked_reader_is_woken_by_reset() {
    let net = Net::v4();
    let (client, server) = net.pair(80).await;
    let reader = tokio::spawn(async move {
        let mut client = client;
        client.read(&mut [0; 8]).await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!reader.is_finished());
    server.abort().unwrap();
    let err = reader.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[tokio::test(start_paused = true)]
async fn blocked_writer_is_woken_by_reset() {
    let config = Config {
        send_buffer: 8 * 1024,
        send_buffer_max: 8 * 1024,
        recv_buffer: 8 * 1024,
        recv_buffer_max: 8 * 1024,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (client, server) = net.pair(80).await;
    let writer = tokio::spawn(async move {
        let mut client = client;
        // The server never reads: this blocks once both buffers are full.
        client.write_all(&[0; 100_000]).await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!writer.is_finished());
    server.set_linger(Some(Duration::ZERO)).unwrap();
    drop(server);
    let err = writer.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[tokio::test(start_paused = true)]
async fn readable_and_writable_wake_on_reset() {
    let net = Net::v4();
    let (client, server) = net.pair(80).await;
    let (ready, ()) = tokio::join!(client.readable(), async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        server.abort().unwrap();
    });
    ready.unwrap();
    // The reset is reported by the next call, not by readiness.
    let err = client.try_read(&mut [0; 1]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    client.writable().await.unwrap();
    let err = client.try_write(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    let err = client.peek(&mut [0; 1]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
}

#[tokio::test(start_paused = true)]
async fn writes_to_a_vanished_peer_time_out() {
    let config = Config {
        data_retries: 3,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (mut client, _server) = net.pair(80).await;
    net.cut();
    client.write_all(b"into the void").await.unwrap();
    let start = tokio::time::Instant::now();
    let err = client.read(&mut [0; 1]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    // Four RTOs doubling from the 200 ms floor: 0.2 + 0.4 + 0.8 + 1.6 s.
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(3000) && waited <= Duration::from_millis(3200),
        "{waited:?}"
    );
    assert_eq!(client.info().unwrap().stats.timeouts, 4);
    let err = client.write_all(b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
}

#[tokio::test(start_paused = true)]
async fn calls_after_the_driver_stopped_fail_instead_of_hanging() {
    let net = Net::v4();
    let (mut client, _server) = net.pair(80).await;
    let reader = tokio::spawn({
        let stack = net.client.clone();
        async move {
            let listener = net::TcpListener::bind(&stack, "0.0.0.0:9".parse().unwrap()).await?;
            listener.accept().await.map(|_| ())
        }
    });
    // The client's device fails on its next send: its driver stops.
    net.break_client_device();
    client.write_all(b"lost").await.unwrap();
    let err = client.read(&mut [0; 1]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.to_string(), "the stack's driver task has stopped");
    // A blocked accept is woken with the same error; writes fail rather than queue data that
    // can never be sent.
    let err = reader.await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    let err = client.write(b"more").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    let err = client.try_write(b"more").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
    let err = net::TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Other);
}
