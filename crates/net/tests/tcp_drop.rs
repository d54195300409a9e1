//! Dropping handles, as Linux closes sockets: RST when received data was never read,
//! otherwise a graceful close finished by the stack in the background; and in every case no
//! connection, TIME-WAIT entry, handle or task left behind.

#[path = "common/mem.rs"]
mod mem;

use std::io::ErrorKind;
use std::time::Duration;

use fsm::{Config, State};
use mem::{CLIENT_V4, Net, SERVER_V4};
use net::TcpStream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(start_paused = true)]
async fn drop_with_unread_data_sends_rst() {
    let net = Net::v4();
    let (client, mut server) = net.pair(80).await;
    server.write_all(b"never read").await.unwrap();
    client.readable().await.unwrap();
    drop(client);
    let err = server.read(&mut [0; 1]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    drop(server);
    // A reset leaves no TIME-WAIT behind.
    net.settle(Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn drop_after_reading_everything_closes_gracefully() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(80).await;
    server.write_all(b"all of it").await.unwrap();
    let mut got = [0; 9];
    client.read_exact(&mut got).await.unwrap();
    drop(client);
    // The server sees EOF, not a reset, and can finish its side.
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
    server.shutdown().await.unwrap();
    drop(server);
    // The client side, which closed first, waits in TIME-WAIT as a compact entry.
    mem::wait_until(Duration::from_millis(100), || {
        net.client.connection_count() == 0 && net.client.time_wait_count() == 1
    })
    .await;
    assert_eq!(net.client.counters().open_handles, 0);
    assert_eq!(net.server.counters().open_handles, 0);
    // 2 MSL later, nothing is left on either side.
    net.settle(2 * mem::MSL + Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn drop_with_unsent_data_delivers_it_then_fin() {
    let config = Config {
        send_buffer: 1 << 20,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (mut client, mut server) = net.pair(80).await;
    let data = mem::pattern(4, 1 << 20);
    // The whole megabyte fits in the send buffer: write_all returns before much is sent.
    client.write_all(&data).await.unwrap();
    drop(client);
    let mut got = Vec::new();
    server.read_to_end(&mut got).await.unwrap();
    assert!(got == data, "{} of {} bytes", got.len(), data.len());
    drop(server);
    net.settle(3 * mem::MSL).await;
}

#[tokio::test(start_paused = true)]
async fn data_arriving_after_drop_is_answered_with_rst() {
    let net = Net::v4();
    let (client, mut server) = net.pair(80).await;
    drop(client);
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
    // The server writes into a half-closed connection whose other end has no reader.
    server.write_all(b"anyone there?").await.unwrap();
    // Until the RST arrives, reads still report EOF (as on Linux).
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(10)).await;
    let err = server.read(&mut [0; 1]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset);
    drop(server);
    net.settle(Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn orphan_in_fin_wait_2_gives_up_after_the_timeout() {
    let config = Config {
        fin_wait_2_timeout: Duration::from_secs(5),
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (client, mut server) = net.pair(80).await;
    drop(client);
    assert_eq!(server.read(&mut [0; 1]).await.unwrap(), 0);
    // The server never closes: the client's orphan waits in FIN-WAIT-2, then goes.
    assert_eq!(net.client.connection_count(), 1);
    let start = tokio::time::Instant::now();
    mem::wait_until(Duration::from_secs(10), || {
        net.client.connection_count() == 0
    })
    .await;
    assert!(
        start.elapsed() >= Duration::from_secs(4),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(net.client.time_wait_count(), 0);
    // The server's late FIN finds nothing: it is reset.
    server.shutdown().await.unwrap();
    mem::wait_until(Duration::from_secs(1), || {
        server.info().is_ok_and(|i| i.state == State::Closed)
    })
    .await;
    drop(server);
    net.settle(Duration::from_millis(100)).await;
}

#[tokio::test(start_paused = true)]
async fn dropped_accepted_stream_closes_gracefully() {
    let net = Net::v4();
    let (mut client, server) = net.pair(80).await;
    drop(server);
    let mut got = Vec::new();
    client.read_to_end(&mut got).await.unwrap();
    assert!(got.is_empty());
    drop(client);
    net.settle(3 * mem::MSL).await;
}

#[tokio::test(start_paused = true)]
async fn owned_halves_release_the_connection_when_both_are_dropped() {
    let net = Net::v4();
    let (client, mut server) = net.pair(80).await;
    let (rd, wr) = client.into_split();
    drop(rd);
    // The write half alone keeps the connection open.
    assert_eq!(net.client.counters().open_handles, 1);
    let mut wr = wr;
    wr.write_all(b"half").await.unwrap();
    drop(wr);
    let mut got = String::new();
    server.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "half");
    drop(server);
    net.settle(3 * mem::MSL).await;
}

#[tokio::test(start_paused = true)]
async fn stack_handle_may_go_before_its_sockets() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    let mut client = TcpStream::connect(&net.client, net.server_addr(80))
        .await
        .unwrap();
    let (mut server, _) = listener.accept().await.unwrap();
    // Only the sockets keep the stacks (and their drivers) alive now.
    let mem::Net {
        server: s,
        client: c,
        ..
    } = net;
    drop((s, c));
    server.write_all(b"still running").await.unwrap();
    let mut got = [0; 13];
    client.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"still running");
}

#[tokio::test(start_paused = true)]
async fn dropping_every_handle_stops_the_drivers() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let net = Net::v4();
    assert_eq!(
        metrics.num_alive_tasks(),
        baseline + 2,
        "one driver per stack"
    );
    let (mut client, mut server) = net.pair(80).await;
    client.write_all(b"x").await.unwrap();
    server.read_exact(&mut [0; 1]).await.unwrap();
    drop((client, server));
    net.settle(3 * mem::MSL).await;
    drop(net);
    mem::wait_until(Duration::from_millis(100), || {
        metrics.num_alive_tasks() == baseline
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn many_connections_closed_every_way_leave_nothing() {
    let net = Net::v4();
    let listener = net.listen(80).await;
    for i in 0..40 {
        let (client, accepted) = tokio::join!(
            TcpStream::connect(&net.client, net.server_addr(80)),
            listener.accept()
        );
        let (mut client, (mut server, _)) = (client.unwrap(), accepted.unwrap());
        client.write_all(b"hello").await.unwrap();
        server.readable().await.unwrap();
        match i % 4 {
            // The server never reads: its drop resets.
            0 => drop(server),
            // The server reads, then drops first: graceful.
            1 => {
                server.read_exact(&mut [0; 5]).await.unwrap();
                drop(server);
            }
            // Linger zero on the client.
            2 => {
                client.set_linger(Some(Duration::ZERO)).unwrap();
                drop(client);
                continue;
            }
            // Explicit abort.
            _ => {
                server.abort().unwrap();
                drop(server);
            }
        }
        drop(client);
    }
    drop(listener);
    net.settle(3 * mem::MSL).await;
}

/// Dropping the last stream and then the stack itself: the driver stops, but first sends the
/// FIN the drop queued, so the peer is not left waiting on a connection nobody will close.
#[tokio::test(start_paused = true)]
async fn dropping_the_stack_after_its_last_stream_still_sends_fin() {
    let net = Net::v4();
    let (client, mut server) = net.pair(80).await;
    let mem::Net { client: stack, .. } = net;
    drop(client);
    drop(stack);
    let eof = tokio::time::timeout(Duration::from_secs(5), server.read(&mut [0; 1])).await;
    assert_eq!(eof.expect("FIN within 5 s").unwrap(), 0);
}
