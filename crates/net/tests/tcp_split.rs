//! `split` and `into_split`: halves used at once, moved to tasks, reunited, and what dropping
//! the owned write half does.

#[path = "common/mem.rs"]
mod mem;

use std::io::ErrorKind;
use std::time::Duration;

use mem::Net;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(start_paused = true)]
async fn borrowed_halves_read_and_write_at_once() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    let up = mem::pattern(1, 500_000);
    let down = mem::pattern(2, 500_000);
    let (mut crd, mut cwr) = client.split();
    let (mut srd, mut swr) = server.split();
    let mut from_server = vec![0; down.len()];
    let mut from_client = vec![0; up.len()];
    let (a, b, c, d) = tokio::join!(
        cwr.write_all(&up),
        swr.write_all(&down),
        crd.read_exact(&mut from_server),
        srd.read_exact(&mut from_client),
    );
    a.unwrap();
    b.unwrap();
    c.unwrap();
    d.unwrap();
    assert!(from_server == down);
    assert!(from_client == up);
}

#[tokio::test(start_paused = true)]
async fn borrowed_write_half_shutdown_sends_fin() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    let (mut rd, mut wr) = client.split();
    wr.write_all(b"last words").await.unwrap();
    wr.shutdown().await.unwrap();
    let mut got = String::new();
    server.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "last words");
    server.write_all(b"reply").await.unwrap();
    let mut reply = [0; 5];
    rd.read_exact(&mut reply).await.unwrap();
    assert_eq!(&reply, b"reply");
}

#[tokio::test(start_paused = true)]
async fn owned_halves_work_from_separate_tasks_and_reunite() {
    let net = Net::v4();
    let (client, mut server) = net.pair(7).await;
    let local = client.local_addr().unwrap();
    let peer = client.peer_addr().unwrap();
    let (mut rd, mut wr) = client.into_split();
    assert_eq!(rd.local_addr().unwrap(), local);
    assert_eq!(rd.peer_addr().unwrap(), peer);
    assert_eq!(wr.local_addr().unwrap(), local);
    assert_eq!(wr.peer_addr().unwrap(), peer);
    let writer = tokio::spawn(async move {
        wr.write_all(b"from a task").await.unwrap();
        wr
    });
    let reader = tokio::spawn(async move {
        let mut buf = [0; 4];
        rd.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");
        rd
    });
    server.write_all(b"pong").await.unwrap();
    let mut got = [0; 11];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"from a task");
    let (rd, wr) = (reader.await.unwrap(), writer.await.unwrap());
    let mut client = rd.reunite(wr).expect("halves of one stream");
    // Reuniting does not shut the write side down: the stream still writes.
    client.write_all(b"whole again").await.unwrap();
    let mut got = [0; 11];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"whole again");
    assert_eq!(client.local_addr().unwrap(), local);
}

#[tokio::test(start_paused = true)]
async fn reunite_halves_of_two_streams_fails_and_returns_them() {
    let net = Net::v4();
    let listener = net.listen(7).await;
    let mut pairs = Vec::new();
    for _ in 0..2 {
        let (c, a) = tokio::join!(
            net::TcpStream::connect(&net.client, net.server_addr(7)),
            listener.accept()
        );
        pairs.push((c.unwrap(), a.unwrap().0));
    }
    let (second_client, _) = pairs.pop().unwrap();
    let (first_client, _) = pairs.pop().unwrap();
    let first_local = first_client.local_addr().unwrap();
    let second_local = second_client.local_addr().unwrap();
    let (rd1, wr1) = first_client.into_split();
    let (rd2, wr2) = second_client.into_split();
    let err = rd1.reunite(wr2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "tried to reunite halves that are not from the same socket"
    );
    let net::ReuniteError(rd1, wr2) = err;
    assert_eq!(rd1.local_addr().unwrap(), first_local);
    assert_eq!(wr2.local_addr().unwrap(), second_local);
    // The halves given back still pair with their own partners.
    rd1.reunite(wr1).expect("first stream");
    rd2.reunite(wr2).expect("second stream");
}

#[tokio::test(start_paused = true)]
async fn dropping_owned_write_half_sends_fin_and_reading_goes_on() {
    let net = Net::v4();
    let (client, mut server) = net.pair(7).await;
    let (mut rd, mut wr) = client.into_split();
    wr.write_all(b"bye").await.unwrap();
    drop(wr);
    let mut got = String::new();
    server.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "bye");
    server.write_all(b"still here").await.unwrap();
    server.shutdown().await.unwrap();
    let mut got = String::new();
    rd.read_to_string(&mut got).await.unwrap();
    assert_eq!(got, "still here");
    drop(rd);
    drop(server);
    net.settle(4 * mem::MSL).await;
}

#[tokio::test(start_paused = true)]
async fn forgotten_write_half_keeps_the_write_side_open() {
    let net = Net::v4();
    let (client, mut server) = net.pair(7).await;
    let (rd, wr) = client.into_split();
    wr.forget();
    // No FIN: the server's read keeps waiting.
    let mut buf = [0; 1];
    let pending = tokio::time::timeout(Duration::from_millis(200), server.read(&mut buf)).await;
    assert!(pending.is_err(), "no FIN expected");
    // Dropping the read half, the last handle, closes the stream.
    drop(rd);
    assert_eq!(server.read(&mut buf).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn write_through_owned_half_after_its_shutdown_is_broken_pipe() {
    let net = Net::v4();
    let (client, _server) = net.pair(7).await;
    let (_rd, mut wr) = client.into_split();
    wr.shutdown().await.unwrap();
    let err = wr.write_all(b"late").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::BrokenPipe);
}
