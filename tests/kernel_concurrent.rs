//! 500 connections open at once against the Linux kernel's TCP, each echoing a few KB of its
//! own bytes exactly: the stack as the clients of a kernel echo server, and the kernel as the
//! clients of a stack echo server. In a network namespace of its own (`common/ns.rs`); needs
//! root, as CI has.

#[path = "common/data.rs"]
mod data;
#[path = "common/ns.rs"]
mod ns;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use net::{Stack, TcpListener, TcpStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

const CONNECTIONS: usize = 500;
const LIMIT: Duration = Duration::from_secs(120);

/// Bytes connection `i` sends: 2–6 KB, a different length and content for each.
fn payload(i: usize) -> Vec<u8> {
    data::bytes(1000 + i as u64, 2000 + (i * 37) % 4000)
}

/// Echoes until the peer's FIN, then closes; returns the bytes echoed.
async fn echo(stream: impl AsyncRead + AsyncWrite) -> io::Result<u64> {
    let (mut rd, mut wr) = tokio::io::split(stream);
    let n = tokio::io::copy(&mut rd, &mut wr).await?;
    wr.shutdown().await?;
    Ok(n)
}

/// Waits until all the clients are connected, then sends its payload, reads the echo, closes
/// its side and reads the peer's FIN. Fails unless the echo is exact.
async fn client(mut stream: impl AsyncRead + AsyncWrite + Unpin, i: usize, start: Arc<Barrier>) {
    start.wait().await;
    let sent = payload(i);
    let (mut rd, mut wr) = tokio::io::split(&mut stream);
    let (written, echoed) = tokio::join!(
        async {
            wr.write_all(&sent).await?;
            wr.shutdown().await
        },
        async {
            let mut got = Vec::new();
            rd.read_to_end(&mut got).await.map(|_| got)
        }
    );
    written.unwrap_or_else(|e| panic!("connection {i}: write: {e}"));
    let echoed = echoed.unwrap_or_else(|e| panic!("connection {i}: read: {e}"));
    assert!(
        echoed == sent,
        "connection {i}: {} bytes echoed of {} sent, or different bytes",
        echoed.len(),
        sent.len()
    );
}

#[test]
fn stack_opens_500_connections_to_kernel() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        // A backlog for them all: tokio's `bind` listens with 128, and past that the kernel's
        // accept queue overflows, the final ACKs of the handshakes are dropped and SYN cookies
        // then fail with RSTs (Linux clients see the same).
        let socket = tokio::net::TcpSocket::new_v4().expect("a kernel socket");
        socket
            .bind(ns::kernel_addr(false, 0))
            .expect("the kernel binds");
        let listener = socket
            .listen(CONNECTIONS as u32 * 2)
            .expect("the kernel listens");
        let addr = listener.local_addr().expect("listener address");
        let server = tokio::spawn(async move {
            let mut echoes = JoinSet::new();
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await.expect("the kernel accepts");
                echoes.spawn(echo(stream));
            }
            echoes.join_all().await
        });

        let start = Arc::new(Barrier::new(CONNECTIONS + 1));
        let mut clients = JoinSet::new();
        for i in 0..CONNECTIONS {
            let (stack, start) = (stack.clone(), start.clone());
            clients.spawn(async move {
                let stream = TcpStream::connect(&stack, addr)
                    .await
                    .unwrap_or_else(|e| panic!("connection {i}: connect: {e}"));
                client(stream, i, start).await;
            });
        }
        start.wait().await;
        assert!(
            stack.connection_count() >= CONNECTIONS,
            "all {CONNECTIONS} are open at once"
        );
        clients.join_all().await;
        check_echoes(server.await.expect("echo server"));
        assert_eq!(stack.counters().open_handles, 0);
    });
}

#[test]
fn kernel_opens_500_connections_to_stack() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let addr = ns::stack_addr(false, 7);
        let listener = TcpListener::bind(&stack, addr)
            .await
            .expect("the stack listens");
        let server = tokio::spawn(async move {
            let mut echoes = JoinSet::new();
            for _ in 0..CONNECTIONS {
                let (stream, _) = listener.accept().await.expect("the stack accepts");
                echoes.spawn(echo(stream));
            }
            echoes.join_all().await
        });

        let start = Arc::new(Barrier::new(CONNECTIONS + 1));
        let mut clients = JoinSet::new();
        for i in 0..CONNECTIONS {
            let start = start.clone();
            clients.spawn(async move {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .unwrap_or_else(|e| panic!("connection {i}: connect: {e}"));
                client(stream, i, start).await;
            });
        }
        start.wait().await;
        clients.join_all().await;
        check_echoes(server.await.expect("echo server"));
        assert_eq!(stack.counters().open_handles, 0);
        wait_for_no_connections(&stack).await;
    });
}

/// Every echo ended cleanly, and together they echoed every payload's bytes.
fn check_echoes(echoed: Vec<io::Result<u64>>) {
    let total: u64 = echoed
        .into_iter()
        .map(|n| n.expect("an echo ended in error"))
        .sum();
    let expected: usize = (0..CONNECTIONS).map(|i| payload(i).len()).sum();
    assert_eq!(total, expected as u64);
}

/// The stack's side closed second (the kernel's clients closed first), so after the last
/// ACK nothing is left: no connection, no TIME-WAIT.
async fn wait_for_no_connections(stack: &Stack) {
    ns::wait_until(
        "the stack's connections are gone",
        Duration::from_secs(10),
        || stack.connection_count() == 0,
    )
    .await;
    assert_eq!(stack.time_wait_count(), 0);
}
