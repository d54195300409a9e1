//! Half-close: `shutdown` sends FIN and reading goes on; the peer reads EOF and still writes;
//! writing after shutdown fails; the states both sides pass through.

#[path = "common/mem.rs"]
mod mem;

use std::io::ErrorKind;
use std::time::Duration;

use fsm::State;
use mem::Net;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(start_paused = true)]
async fn shutdown_then_keep_reading() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    client.write_all(b"request").await.unwrap();
    client.shutdown().await.unwrap();
    // The server reads the request to EOF, then answers on its still-open write side.
    let mut request = String::new();
    server.read_to_string(&mut request).await.unwrap();
    assert_eq!(request, "request");
    let response = mem::pattern(9, 200_000);
    server.write_all(&response).await.unwrap();
    server.shutdown().await.unwrap();
    let mut got = Vec::new();
    client.read_to_end(&mut got).await.unwrap();
    assert!(got == response);
}

#[tokio::test(start_paused = true)]
async fn peer_reads_eof_then_still_writes() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    client.shutdown().await.unwrap();
    let mut buf = [0; 8];
    assert_eq!(server.read(&mut buf).await.unwrap(), 0);
    // EOF is sticky.
    assert_eq!(server.read(&mut buf).await.unwrap(), 0);
    server.write_all(b"after eof").await.unwrap();
    let mut got = [0; 9];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"after eof");
}

#[tokio::test(start_paused = true)]
async fn write_after_shutdown_is_broken_pipe() {
    let net = Net::v4();
    let (mut client, _server) = net.pair(80).await;
    client.shutdown().await.unwrap();
    let err = client.write_all(b"too late").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    let err = client.try_write(b"too late").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
    // Writable reports ready so that the failing write is made, rather than waiting forever.
    client.writable().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn shutdown_twice_is_harmless() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    client.shutdown().await.unwrap();
    client.shutdown().await.unwrap();
    let mut buf = Vec::new();
    server.read_to_end(&mut buf).await.unwrap();
    assert!(buf.is_empty());
}

#[tokio::test(start_paused = true)]
async fn close_passes_through_the_rfc_states() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    client.shutdown().await.unwrap();
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.info().unwrap().state, State::FinWait2);
    assert_eq!(server.info().unwrap().state, State::CloseWait);
    server.shutdown().await.unwrap();
    assert_eq!(client.read(&mut [0; 1]).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.info().unwrap().state, State::TimeWait);
    // LAST-ACK ended with our ACK; the server's handle keeps its connection, now CLOSED.
    assert_eq!(server.info().unwrap().state, State::Closed);
    tokio::time::sleep(2 * mem::MSL).await;
    assert_eq!(client.info().unwrap().state, State::Closed);
    // A closed connection still reads EOF; writes fail, and so does another shutdown.
    assert_eq!(client.read(&mut [0; 1]).await.unwrap(), 0);
    assert_eq!(
        server.write_all(b"x").await.unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
    assert_eq!(
        client.shutdown().await.unwrap_err().kind(),
        ErrorKind::NotConnected
    );
    drop((client, server));
    net.settle(Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn simultaneous_shutdown_ends_in_time_wait_on_both_sides() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    let (a, b) = tokio::join!(client.shutdown(), server.shutdown());
    a.unwrap();
    b.unwrap();
    let mut buf = [0; 1];
    assert_eq!(client.read(&mut buf).await.unwrap(), 0);
    assert_eq!(server.read(&mut buf).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(client.info().unwrap().state, State::TimeWait);
    assert_eq!(server.info().unwrap().state, State::TimeWait);
    drop((client, server));
    // Released in TIME-WAIT: each side keeps a compact entry, not a connection.
    mem::wait_until(Duration::from_millis(20), || {
        net.client.connection_count() + net.server.connection_count() == 0
    })
    .await;
    assert_eq!(net.client.time_wait_count(), 1);
    assert_eq!(net.server.time_wait_count(), 1);
    net.settle(3 * mem::MSL).await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_before_any_write_sends_only_fin() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    client.shutdown().await.unwrap();
    let mut got = Vec::new();
    server.read_to_end(&mut got).await.unwrap();
    assert!(got.is_empty());
    assert_eq!(client.info().unwrap().stats.bytes_sent, 0);
}
