//! Opening connections against the Linux kernel's TCP, over IPv4 and IPv6: the stack connects
//! to a kernel listener, the kernel connects to a stack listener, and a connection to a port
//! nobody listens on is refused. Each test runs in a network namespace of its own
//! (`common/ns.rs`); they need root, as CI has.

#[path = "common/data.rs"]
mod data;
#[path = "common/ns.rs"]
mod ns;

use std::io;
use std::time::Duration;

use net::{TcpListener, TcpStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(60);

/// `client` sends a request and closes its side; `server` checks it, answers and closes: both
/// directions carry distinct bytes, and both see the other's FIN.
async fn request_response(
    mut client: impl AsyncRead + AsyncWrite + Unpin,
    mut server: impl AsyncRead + AsyncWrite + Unpin,
) {
    let (request, response) = (data::bytes(1, 100_000), data::bytes(2, 70_000));
    let client_side = async {
        client.write_all(&request).await.expect("client writes");
        client.shutdown().await.expect("client shuts down");
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.expect("client reads");
        assert!(
            got == response,
            "the client got {} bytes, not the response",
            got.len()
        );
    };
    let server_side = async {
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.expect("server reads");
        assert!(
            got == request,
            "the server got {} bytes, not the request",
            got.len()
        );
        server.write_all(&response).await.expect("server writes");
        server.shutdown().await.expect("server shuts down");
    };
    tokio::join!(client_side, server_side);
}

async fn stack_connects_to_kernel(v6: bool) {
    let stack = ns::stack();
    let listener = tokio::net::TcpListener::bind(ns::kernel_addr(v6, 0))
        .await
        .expect("the kernel listens");
    let addr = listener.local_addr().expect("listener address");
    let (client, accepted) = tokio::join!(TcpStream::connect(&stack, addr), listener.accept());
    let client = client.expect("the stack connects");
    let (server, peer) = accepted.expect("the kernel accepts");
    assert_eq!(peer, client.local_addr().expect("the stack's address"));
    assert_eq!(client.peer_addr().expect("peer address"), addr);
    request_response(client, server).await;
}

async fn kernel_connects_to_stack(v6: bool) {
    let stack = ns::stack();
    let addr = ns::stack_addr(v6, 8080);
    let listener = TcpListener::bind(&stack, addr)
        .await
        .expect("the stack listens");
    let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let client = client.expect("the kernel connects");
    let (server, peer) = accepted.expect("the stack accepts");
    assert_eq!(peer, client.local_addr().expect("the kernel's address"));
    assert_eq!(server.local_addr().expect("local address"), addr);
    request_response(client, server).await;
}

/// The kernel answers a SYN to a closed port with RST: `ConnectionRefused`, promptly (not
/// after SYN retransmissions, which the failure guard would catch).
async fn closed_port_is_refused(v6: bool) {
    let stack = ns::stack();
    // A port the kernel was listening on a moment ago, so certainly closed now.
    let addr = {
        let listener = std::net::TcpListener::bind(ns::kernel_addr(v6, 0)).expect("bind");
        listener.local_addr().expect("address")
    };
    let err = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&stack, addr))
        .await
        .expect("the refusal is immediate, not a timeout")
        .expect_err("nobody listens there");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
    // The failed attempt leaves nothing behind once the driver has run.
    assert_eq!(stack.counters().open_handles, 0);
    ns::wait_until(
        "the refused connection is released",
        Duration::from_secs(1),
        || stack.connection_count() == 0,
    )
    .await;
}

#[test]
fn stack_connects_to_kernel_v4() {
    ns::run(LIMIT, || stack_connects_to_kernel(false));
}

#[test]
fn stack_connects_to_kernel_v6() {
    ns::run(LIMIT, || stack_connects_to_kernel(true));
}

#[test]
fn kernel_connects_to_stack_v4() {
    ns::run(LIMIT, || kernel_connects_to_stack(false));
}

#[test]
fn kernel_connects_to_stack_v6() {
    ns::run(LIMIT, || kernel_connects_to_stack(true));
}

#[test]
fn closed_port_is_refused_v4() {
    ns::run(LIMIT, || closed_port_is_refused(false));
}

#[test]
fn closed_port_is_refused_v6() {
    ns::run(LIMIT, || closed_port_is_refused(true));
}
