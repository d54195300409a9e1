//! A server on another host, reached as the internet would be: the kernel's server sits in a
//! second namespace (`common/peer.rs`), the test's namespace forwards between the TUN and a
//! veth pair and masquerades the stack's connections (nftables), and the server knows no route
//! to the stack's subnet, so every reply depends on the translation. First the library, then
//! the `http_get` example (built by the test, `common/examples.rs`). Needs root and nftables,
//! as CI has.

#[path = "common/data.rs"]
mod data;
#[path = "common/examples.rs"]
mod examples;
#[path = "common/http.rs"]
mod http;
#[path = "common/ns.rs"]
mod ns;
#[path = "common/peer.rs"]
mod peer;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use net::TcpStream;
use peer::{Peer, Routing};
use tokio::io::AsyncWriteExt;

const LIMIT: Duration = Duration::from_secs(300);
const PORT: u16 = 80;
const LEN: u64 = 8 * 1024 * 1024;

/// The machine's own `net.ipv4.ip_forward`, read from the test's main thread (which stays in
/// the machine's namespace).
fn machine_ip_forward() -> String {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("read ip_forward")
}

/// A kernel listener in the peer's namespace, bound before this returns.
fn listen_in(peer: &Peer, port: u16) -> std::net::TcpListener {
    peer.run(move || {
        let listener = std::net::TcpListener::bind(SocketAddr::new(peer::PEER_V4.into(), port))
            .expect("the peer listens");
        listener.set_nonblocking(true).expect("non-blocking");
        listener
    })
}

#[test]
fn stack_reaches_a_server_behind_masquerade() {
    let before = machine_ip_forward();
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let peer = Peer::new();
        peer.behind_router(Routing::Masquerade);
        // Forwarding is on in the test's namespace: read back by a child of its thread.
        assert_eq!(
            ns::tool("cat", "coreutils", &["/proc/sys/net/ipv4/ip_forward"]),
            "1\n"
        );

        let listener = listen_in(&peer, PORT);
        let server = peer.spawn(move || async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("register");
            let (mut stream, from) = listener.accept().await.expect("the peer accepts");
            // A request to the end of the stream, then a response of the same size.
            let (mut rd, mut wr) = stream.split();
            let request = data::receive(&mut rd).await.expect("the peer receives");
            let response = data::send(&mut wr, 22, LEN)
                .await
                .expect("the peer answers");
            wr.shutdown().await.expect("the peer shuts down");
            (from, request, response)
        });

        let addr = SocketAddr::new(peer::PEER_V4.into(), PORT);
        let mut client = TcpStream::connect(&stack, addr)
            .await
            .expect("the stack connects through the router");
        let sent = data::send(&mut client, 21, LEN)
            .await
            .expect("the stack sends");
        client.shutdown().await.expect("the stack shuts down");
        let received = data::receive(&mut client)
            .await
            .expect("the stack receives");
        let (from, request, response) = server.await.expect("the peer's task");

        assert_eq!(
            from.ip(),
            IpAddr::from(peer::ROUTER_V4),
            "the peer sees the router's address, not the stack's"
        );
        assert_eq!(request, sent, "the request, byte for byte");
        assert_eq!(received, response, "the response, byte for byte");
        assert_eq!(sent, data::expected(21, LEN));
        assert_eq!(received, data::expected(22, LEN));
    });
    assert_eq!(
        machine_ip_forward(),
        before,
        "the machine's namespace is untouched"
    );
}

#[test]
fn http_get_fetches_through_masquerade() {
    ns::run(LIMIT, || {
        let bin = examples::build("http_get");
        async move {
            let peer = Peer::new();
            peer.behind_router(Routing::Masquerade);
            let listener = listen_in(&peer, PORT);
            let server = peer.spawn(move || {
                http::serve(tokio::net::TcpListener::from_std(listener).expect("register"))
            });
            for (path, expected) in [
                ("/small", data::digest(http::SMALL)),
                ("/chunked", data::digest(&http::chunked_body())),
                ("/big", data::expected(http::BIG_SEED, http::BIG_LEN)),
            ] {
                // http_get creates its TUN (kernel 10.200.0.1/24, stack 10.200.0.2) each time.
                let url = format!("http://{}{path}", peer::PEER_V4);
                let output = tokio::process::Command::new(&bin)
                    .args(["--timeout", "60", &url])
                    .kill_on_drop(true)
                    .output()
                    .await
                    .expect("run http_get");
                let stderr = String::from_utf8_lossy(&output.stderr);
                assert!(
                    output.status.success(),
                    "{url}: {}: {stderr}",
                    output.status
                );
                assert_eq!(
                    data::digest(&output.stdout),
                    expected,
                    "{url}: the body, byte for byte"
                );
            }
            server.abort();
        }
    });
}
