//! Half-close against the Linux kernel's TCP, both ways: one side shuts down its write side
//! (FIN), and the other goes on sending, for megabytes, long after that FIN, until it closes
//! too. Every byte is checked by digest. In a network namespace of its own (`common/ns.rs`);
//! needs root, as CI has.

#[path = "common/data.rs"]
mod data;
#[path = "common/ns.rs"]
mod ns;

use std::io;
use std::time::Duration;

use fsm::State;
use net::{TcpListener, TcpStream};
use tokio::io::AsyncWriteExt;

const LIMIT: Duration = Duration::from_secs(120);
const BEFORE_FIN: u64 = 1024 * 1024;
const AFTER_FIN: u64 = 3 * 1024 * 1024;

/// The stack (the client) sends 1 MiB and shuts down; the kernel reads it to the FIN while
/// it is sending, then sends 3 MiB more into the half-closed connection and closes.
#[test]
fn stack_shuts_down_write_kernel_keeps_sending() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let listener = tokio::net::TcpListener::bind(ns::kernel_addr(false, 0))
            .await
            .expect("the kernel listens");
        let addr = listener.local_addr().expect("listener address");
        let (client, accepted) = tokio::join!(TcpStream::connect(&stack, addr), listener.accept());
        let mut stack_side = client.expect("the stack connects");
        let (kernel_side, _) = accepted.expect("the kernel accepts");

        let (mut stack_rd, mut stack_wr) = stack_side.split();
        let (mut kernel_rd, mut kernel_wr) = kernel_side.into_split();
        let stack_task = async {
            let sent = data::send(&mut stack_wr, 1, BEFORE_FIN)
                .await
                .expect("stack sends");
            stack_wr.shutdown().await.expect("stack shuts down");
            let err = stack_wr
                .write(b"x")
                .await
                .expect_err("writing after shutdown");
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
            let received = data::receive(&mut stack_rd).await.expect("stack receives");
            (sent, received)
        };
        let kernel_task = async {
            // The kernel sends the stream of seed 2 in one piece, half before the stack's FIN
            // reaches it (concurrently) and the rest after.
            let mut stream = data::Pattern::new(2);
            let mut hasher = data::Hasher::default();
            let mut chunk = vec![0; BEFORE_FIN as usize];
            stream.fill(&mut chunk);
            let (wrote, received) = tokio::join!(kernel_wr.write_all(&chunk), async {
                data::receive(&mut kernel_rd).await
            });
            wrote.expect("kernel sends");
            hasher.update(&chunk);
            let received = received.expect("kernel receives up to the stack's FIN");
            let mut rest = vec![0; AFTER_FIN as usize];
            stream.fill(&mut rest);
            kernel_wr
                .write_all(&rest)
                .await
                .expect("kernel sends after the FIN");
            hasher.update(&rest);
            kernel_wr.shutdown().await.expect("kernel shuts down");
            (hasher.digest(), received)
        };
        let ((stack_sent, stack_received), (kernel_sent, kernel_received)) =
            tokio::join!(stack_task, kernel_task);
        assert_eq!(
            kernel_received, stack_sent,
            "the kernel got the stack's bytes"
        );
        assert_eq!(
            stack_received, kernel_sent,
            "the stack got the kernel's bytes"
        );
        assert_eq!(kernel_sent, data::expected(2, BEFORE_FIN + AFTER_FIN));
        // Both FINs exchanged: the stack, which closed first, is in TIME-WAIT, held by the
        // connection or already as a compact entry.
        match stack_side.info() {
            Ok(info) => assert_eq!(info.state, State::TimeWait),
            Err(_) => assert_eq!(stack.time_wait_count(), 1, "a compact TIME-WAIT entry"),
        }
    });
}

/// The kernel (the client) sends 1 MiB and shuts down; the stack reads it to the FIN while it
/// is sending, then sends 3 MiB more into the half-closed connection and closes.
#[test]
fn kernel_shuts_down_write_stack_keeps_sending() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let addr = ns::stack_addr(false, 8000);
        let listener = TcpListener::bind(&stack, addr)
            .await
            .expect("the stack listens");
        let (client, accepted) =
            tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
        let mut kernel_side = client.expect("the kernel connects");
        let (stack_side, _) = accepted.expect("the stack accepts");

        let (mut kernel_rd, mut kernel_wr) = kernel_side.split();
        let kernel_task = async {
            let sent = data::send(&mut kernel_wr, 3, BEFORE_FIN)
                .await
                .expect("kernel sends");
            kernel_wr.shutdown().await.expect("kernel shuts down");
            let received = data::receive(&mut kernel_rd)
                .await
                .expect("kernel receives");
            (sent, received)
        };
        let stack_task = async {
            let mut stack_side = stack_side;
            let mut stream = data::Pattern::new(4);
            let mut hasher = data::Hasher::default();
            let mut chunk = vec![0; BEFORE_FIN as usize];
            stream.fill(&mut chunk);
            let (mut stack_rd, mut stack_wr) = stack_side.split();
            let (wrote, received) = tokio::join!(stack_wr.write_all(&chunk), async {
                data::receive(&mut stack_rd).await
            });
            wrote.expect("stack sends");
            hasher.update(&chunk);
            let received = received.expect("stack receives up to the kernel's FIN");
            let state = stack_side.info().expect("info").state;
            assert_eq!(
                state,
                State::CloseWait,
                "the stack got the FIN and may still send"
            );
            let mut rest = vec![0; AFTER_FIN as usize];
            stream.fill(&mut rest);
            stack_side
                .write_all(&rest)
                .await
                .expect("stack sends after the FIN");
            hasher.update(&rest);
            stack_side.shutdown().await.expect("stack shuts down");
            (hasher.digest(), received)
        };
        let ((kernel_sent, kernel_received), (stack_sent, stack_received)) =
            tokio::join!(kernel_task, stack_task);
        assert_eq!(
            stack_received, kernel_sent,
            "the stack got the kernel's bytes"
        );
        assert_eq!(
            kernel_received, stack_sent,
            "the kernel got the stack's bytes"
        );
        assert_eq!(stack_sent, data::expected(4, BEFORE_FIN + AFTER_FIN));
    });
}
