//! Bulk transfers through the fault-injecting device: 5% loss, reordering and duplication
//! each way, 64 MiB, checked with a hash; afterwards nothing is left behind.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use fsm::{Config, Stats};
use net::device::{FaultDevice, Faults, MemDevice};
use net::{Stack, TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SERVER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
const MIB: usize = 1024 * 1024;

/// FNV-1a, 64-bit: a hash of every byte, in order.
fn fnv1a(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The byte at stream offset `i`: a pattern with period 251 (prime, so it never lines up with
/// segment sizes).
fn pattern_at(i: usize) -> u8 {
    (i % 251) as u8
}

fn faults(seed: u64) -> Faults {
    Faults {
        loss: 0.05,
        duplicate: 0.02,
        reorder: 0.05,
        reorder_delay: Duration::from_millis(20),
        delay: Duration::from_millis(5),
        seed,
        ..Faults::default()
    }
}

fn stack(addr: IpAddr, device: MemDevice, seed: u64) -> Stack {
    let device = FaultDevice::new(device, faults(seed));
    Stack::builder()
        .address(addr)
        .config(Config {
            msl: Duration::from_secs(1),
            ..Config::default()
        })
        .seed([seed as u8; 32])
        .build(device)
        .expect("stack")
}

#[tokio::test(start_paused = true)]
async fn sixty_four_mib_each_way_through_loss_reorder_and_duplication() {
    let (a, b) = MemDevice::pair(1500);
    let server = stack(SERVER, a, 1);
    let client = stack(CLIENT, b, 2);
    let addr = SocketAddr::new(SERVER, 9000);
    let listener = TcpListener::bind(&server, addr).await.expect("bind");
    let total = 64 * MIB;

    // Each side sends `total` pattern bytes and hashes what it receives, at the same time.
    let serve = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        exchange(stream, total).await
    });
    let stream = TcpStream::connect(&client, addr).await.expect("connect");
    let client_got = exchange(stream, total).await;
    let server_got = serve.await.expect("server task");

    let expected = (0..total).fold(FNV_OFFSET, |h, i| fnv1a(h, &[pattern_at(i)]));
    assert_eq!(client_got.0, (total, expected));
    assert_eq!(server_got.0, (total, expected));
    // The faults were real: both senders had to retransmit, mostly in fast recovery (SACK,
    // RACK), not after a timeout.
    for (side, stats) in [("client", client_got.1), ("server", server_got.1)] {
        assert!(stats.retransmits > 100, "{side}: {stats:?}");
        assert!(
            stats.fast_recoveries > 10 * stats.timeouts,
            "{side}: {stats:?}"
        );
    }

    // Both closed; after 2 MSL nothing is left: no connection, no TIME-WAIT, no handle.
    tokio::time::sleep(Duration::from_secs(5)).await;
    for stack in [&server, &client] {
        assert_eq!(stack.connection_count(), 0);
        assert_eq!(stack.time_wait_count(), 0);
        assert_eq!(stack.counters().open_handles, 0);
    }
}

/// Writes `total` pattern bytes then shuts down, while reading to EOF; returns the count and
/// hash of what was read, and this side's counters.
async fn exchange(stream: TcpStream, total: usize) -> ((usize, u64), Stats) {
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut sent = 0;
        while sent < total {
            let n = buf.len().min(total - sent);
            for (j, byte) in buf[..n].iter_mut().enumerate() {
                *byte = pattern_at(sent + j);
            }
            wr.write_all(&buf[..n]).await.expect("write");
            sent += n;
        }
        wr.shutdown().await.expect("shutdown");
        wr
    });
    let mut buf = vec![0u8; 64 * 1024];
    let (mut count, mut hash) = (0, FNV_OFFSET);
    loop {
        let n = rd.read(&mut buf).await.expect("read");
        if n == 0 {
            break;
        }
        hash = fnv1a(hash, &buf[..n]);
        count += n;
    }
    let wr = writer.await.expect("writer task");
    let stream = rd.reunite(wr).expect("halves of one stream");
    let stats = stream.info().expect("connection alive").stats;
    ((count, hash), stats)
}
