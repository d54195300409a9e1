//! The kernel aborts a connection mid-stream (`SO_LINGER` 0, then close: RST, as a crashing or
//! impatient peer does): the stack reports `ConnectionReset`, whether it was reading or
//! writing, and delivers nothing but a prefix of the kernel's bytes before the error. In a
//! network namespace of its own (`common/ns.rs`); needs root, as CI has.

#[path = "common/data.rs"]
mod data;
#[path = "common/ns.rs"]
mod ns;

use std::io;
use std::time::Duration;

use net::{Stack, TcpStream};
use tokio::io::AsyncReadExt;

const LIMIT: Duration = Duration::from_secs(60);

/// A stack connected to a kernel listener: (stack stream, kernel stream).
async fn connected(stack: &Stack) -> (TcpStream, tokio::net::TcpStream) {
    let listener = tokio::net::TcpListener::bind(ns::kernel_addr(false, 0))
        .await
        .expect("the kernel listens");
    let addr = listener.local_addr().expect("listener address");
    let (client, accepted) = tokio::join!(TcpStream::connect(stack, addr), listener.accept());
    let client = client.expect("the stack connects");
    let (server, _) = accepted.expect("the kernel accepts");
    (client, server)
}

/// Closes the kernel's socket with `SO_LINGER` 0: the kernel sends RST and drops what it had
/// not sent.
fn abort(stream: tokio::net::TcpStream) {
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

#[test]
fn kernel_abort_while_stack_reads_is_connection_reset() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let (mut stack_side, kernel_side) = connected(&stack).await;
        // The kernel writes until the stack's receive buffer is full (the stack does not read)
        // and its own send buffer too, so that data is still queued when it aborts: its
        // writes stall, with no room for 200 ms (this only decides when to abort; the
        // assertions below do not depend on it).
        let mut pattern = data::Pattern::new(5);
        let mut written = 0usize;
        let mut chunk = vec![0; 16 * 1024];
        let mut pending = 0..0;
        loop {
            if pending.is_empty() {
                pattern.fill(&mut chunk);
                pending = 0..chunk.len();
            }
            match kernel_side.try_write(&chunk[pending.clone()]) {
                Ok(n) => {
                    written += n;
                    pending.start += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    let room = kernel_side.writable();
                    if tokio::time::timeout(Duration::from_millis(200), room)
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Err(e) => panic!("kernel write: {e}"),
            }
        }
        stack_side.readable().await.expect("the first bytes arrive");
        abort(kernel_side);

        let mut got = Vec::new();
        let err = stack_side
            .read_to_end(&mut got)
            .await
            .expect_err("an abort is not an end of stream");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        assert!(got.len() < written, "the abort came mid-stream");
        assert!(
            got == data::bytes(5, got.len()),
            "the {} bytes read before the reset are the kernel's first bytes",
            got.len()
        );
        drop(stack_side);
        ns::wait_until(
            "the reset connection is released",
            Duration::from_secs(5),
            || stack.connection_count() == 0,
        )
        .await;
    });
}

#[test]
fn kernel_abort_while_stack_writes_is_connection_reset() {
    ns::run(LIMIT, || async {
        let stack = ns::stack();
        let (mut stack_side, mut kernel_side) = connected(&stack).await;
        let kernel_task = async {
            // Read 1 MiB of the stack's endless stream, then abort with the rest unread.
            let mut buf = vec![0; 1024 * 1024];
            kernel_side
                .read_exact(&mut buf)
                .await
                .expect("the kernel reads");
            assert!(buf == data::bytes(6, buf.len()), "the stack's first bytes");
            abort(kernel_side);
        };
        let stack_task = async {
            // Far more than the kernel reads: the stack is writing when the RST arrives.
            data::send(&mut stack_side, 6, 1 << 40)
                .await
                .expect_err("the kernel aborts")
        };
        let ((), err) = tokio::join!(kernel_task, stack_task);
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        drop(stack_side);
        ns::wait_until(
            "the reset connection is released",
            Duration::from_secs(5),
            || stack.connection_count() == 0,
        )
        .await;
    });
}
