//! Bulk transfer against the Linux kernel's TCP: 256 MiB in each direction, checked by length
//! and XXH3-128 digest, and both sides see the FIN. In a network namespace of its own
//! (`common/ns.rs`); needs root, as CI has.

#[path = "common/data.rs"]
mod data;
#[path = "common/ns.rs"]
mod ns;

use std::time::{Duration, Instant};

use net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LEN: u64 = 256 * 1024 * 1024;
/// A hang guard: the dev profile moves 256 MiB in well under a minute.
const LIMIT: Duration = Duration::from_secs(600);

/// Reports the rate on stderr (`--nocapture` shows it); nothing asserts on it.
fn report(what: &str, start: Instant) {
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{what}: {LEN} bytes in {secs:.2} s ({:.0} Mbit/s)",
        LEN as f64 * 8.0 / secs / 1e6
    );
}

#[test]
fn stack_to_kernel_256mib() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let listener = tokio::net::TcpListener::bind(ns::kernel_addr(false, 0))
            .await
            .expect("the kernel listens");
        let addr = listener.local_addr().expect("listener address");
        let (client, accepted) = tokio::join!(TcpStream::connect(&stack, addr), listener.accept());
        let mut client = client.expect("the stack connects");
        let (mut server, _) = accepted.expect("the kernel accepts");
        let start = Instant::now();
        let (sent, received) = tokio::join!(
            async {
                let sent = data::send(&mut client, 7, LEN)
                    .await
                    .expect("the stack sends");
                client.shutdown().await.expect("the stack shuts down");
                sent
            },
            async {
                data::receive(&mut server)
                    .await
                    .expect("the kernel receives")
            }
        );
        report("stack -> kernel", start);
        assert_eq!(sent, data::expected(7, LEN));
        assert_eq!(received, sent, "the kernel received what the stack sent");
        eprintln!("stack side: {:?}", client.info().expect("info"));
        // The kernel closes too; the stack sees the end of the stream.
        server.shutdown().await.expect("the kernel shuts down");
        assert_eq!(client.read(&mut [0; 1]).await.expect("EOF"), 0);
    });
}

#[test]
fn kernel_to_stack_256mib() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let addr = ns::stack_addr(false, 5001);
        let listener = TcpListener::bind(&stack, addr)
            .await
            .expect("the stack listens");
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let mut client = client.expect("the kernel connects");
        let (mut server, _) = accepted.expect("the stack accepts");
        let start = Instant::now();
        let (sent, received) = tokio::join!(
            async {
                let sent = data::send(&mut client, 8, LEN)
                    .await
                    .expect("the kernel sends");
                client.shutdown().await.expect("the kernel shuts down");
                sent
            },
            async {
                data::receive(&mut server)
                    .await
                    .expect("the stack receives")
            }
        );
        report("kernel -> stack", start);
        assert_eq!(sent, data::expected(8, LEN));
        assert_eq!(received, sent, "the stack received what the kernel sent");
        eprintln!("stack side: {:?}", server.info().expect("info"));
        server.shutdown().await.expect("the stack shuts down");
        assert_eq!(client.read(&mut [0; 1]).await.expect("EOF"), 0);
    });
}
