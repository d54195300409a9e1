//! Moving data: read/write, read_exact/write_all, vectored writes, peek, readiness, the
//! non-blocking calls, `TCP_NODELAY` and `info`.

#[path = "common/mem.rs"]
mod mem;

use std::future::{Future, poll_fn};
use std::io::{ErrorKind, IoSlice};
use std::pin::{Pin, pin};
use std::task::Poll;
use std::time::Duration;

use fsm::{Config, State};
use mem::{CLIENT_V4, Net, SERVER_V4};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

#[tokio::test(start_paused = true)]
async fn echo_small_messages() {
    let net = Net::v4();
    let (mut client, server) = net.pair(7).await;
    let echo = tokio::spawn(async move {
        let mut server = server;
        let (mut rd, mut wr) = server.split();
        tokio::io::copy(&mut rd, &mut wr).await
    });
    for i in 0..20u8 {
        let msg = [i; 17];
        client.write_all(&msg).await.unwrap();
        let mut got = [0; 17];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, msg);
    }
    client.shutdown().await.unwrap();
    assert_eq!(echo.await.unwrap().unwrap(), 20 * 17);
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
}

#[tokio::test(start_paused = true)]
async fn bulk_transfer_both_ways_is_exact() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(9).await;
    let up = mem::pattern(1, 3 << 20);
    let down = mem::pattern(2, 2 << 20);
    let (client_side, server_side) = tokio::join!(
        async {
            let (mut rd, mut wr) = client.split();
            let (w, r) = tokio::join!(
                async {
                    wr.write_all(&up).await?;
                    wr.shutdown().await
                },
                async {
                    let mut got = Vec::new();
                    rd.read_to_end(&mut got).await.map(|_| got)
                }
            );
            w.and(r)
        },
        async {
            let (mut rd, mut wr) = server.split();
            let (w, r) = tokio::join!(
                async {
                    wr.write_all(&down).await?;
                    wr.shutdown().await
                },
                async {
                    let mut got = Vec::new();
                    rd.read_to_end(&mut got).await.map(|_| got)
                }
            );
            w.and(r)
        }
    );
    assert!(client_side.unwrap() == down, "server → client corrupted");
    assert!(server_side.unwrap() == up, "client → server corrupted");
    let info = client.info().unwrap();
    assert_eq!(info.stats.bytes_sent, up.len() as u64);
    assert_eq!(info.stats.bytes_acked, up.len() as u64);
    assert_eq!(info.stats.bytes_received, down.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn read_into_empty_buffer_returns_zero_at_once() {
    let net = Net::v4();
    let (mut client, _server) = net.pair(7).await;
    assert_eq!(client.read(&mut []).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn vectored_write_sends_the_slices_in_order() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    assert!(client.is_write_vectored());
    let slices = [
        IoSlice::new(b"head "),
        IoSlice::new(b""),
        IoSlice::new(b"body "),
        IoSlice::new(b"tail"),
    ];
    let n = client.write_vectored(&slices).await.unwrap();
    assert_eq!(n, 14);
    let mut got = [0; 14];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"head body tail");
}

#[tokio::test(start_paused = true)]
async fn vectored_write_stops_at_a_full_send_buffer() {
    let config = Config {
        send_buffer: 4096,
        send_buffer_max: 4096,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (mut client, mut server) = net.pair(7).await;
    let first = vec![1u8; 3000];
    let second = vec![2u8; 3000];
    // The buffer takes all of the first slice and part of the second.
    let n = client
        .write_vectored(&[IoSlice::new(&first), IoSlice::new(&second)])
        .await
        .unwrap();
    assert_eq!(n, 4096);
    let mut got = vec![0; n];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(got[..3000], first[..]);
    assert_eq!(got[3000..], second[..1096]);
}

#[tokio::test(start_paused = true)]
async fn peek_does_not_consume() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    client.write_all(b"peekaboo").await.unwrap();
    let mut buf = [0; 4];
    assert_eq!(server.peek(&mut buf).await.unwrap(), 4);
    assert_eq!(&buf, b"peek");
    let mut all = [0; 8];
    assert_eq!(server.peek(&mut all).await.unwrap(), 8);
    server.read_exact(&mut all).await.unwrap();
    assert_eq!(&all, b"peekaboo");
    // Nothing left: peek waits, like read.
    let pending = tokio::time::timeout(Duration::from_millis(100), server.peek(&mut buf)).await;
    assert!(pending.is_err());
    client.shutdown().await.unwrap();
    assert_eq!(server.peek(&mut buf).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn readable_wakes_when_data_arrives() {
    let net = Net::v4();
    let (mut client, server) = net.pair(7).await;
    let mut buf = [0; 16];
    let err = server.try_read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    let pending = tokio::time::timeout(Duration::from_millis(100), server.readable()).await;
    assert!(pending.is_err(), "readable before any data");
    let (ready, written) = tokio::join!(server.readable(), client.write_all(b"ping"));
    ready.unwrap();
    written.unwrap();
    assert_eq!(server.try_read(&mut buf).unwrap(), 4);
    assert_eq!(&buf[..4], b"ping");
    assert_eq!(
        server.try_read(&mut buf).unwrap_err().kind(),
        ErrorKind::WouldBlock
    );
    // End of stream is readable too, and try_read then returns 0.
    client.shutdown().await.unwrap();
    server.readable().await.unwrap();
    assert_eq!(server.try_read(&mut buf).unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn try_write_fills_the_send_buffer_then_writable_waits_for_room() {
    let config = Config {
        send_buffer: 16 * 1024,
        send_buffer_max: 16 * 1024,
        recv_buffer: 16 * 1024,
        recv_buffer_max: 16 * 1024,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (client, mut server) = net.pair(7).await;
    client.writable().await.unwrap();
    // The server does not read: its window and our send buffer fill, then writes block.
    let chunk = [7u8; 1000];
    let mut written = 0;
    loop {
        match client.try_write(&chunk) {
            Ok(n) => written += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                // Let the driver send what it can, then try again until nothing moves.
                let more = tokio::time::timeout(Duration::from_millis(100), client.writable());
                if more.await.is_err() {
                    break;
                }
            }
            Err(e) => panic!("try_write: {e}"),
        }
    }
    // Both buffers are full: 16 KiB in flight or received, 16 KiB queued.
    assert_eq!(written, 32 * 1024);
    // Reading on the server opens the window: the client becomes writable again.
    let (ready, drained) = tokio::join!(client.writable(), async {
        let mut buf = vec![0; 8 * 1024];
        server.read_exact(&mut buf).await
    });
    ready.unwrap();
    drained.unwrap();
    assert!(client.try_write(&chunk).unwrap() > 0);
}

#[tokio::test(start_paused = true)]
async fn write_waits_for_room_and_wakes_when_the_peer_reads() {
    let config = Config {
        send_buffer: 8 * 1024,
        send_buffer_max: 8 * 1024,
        recv_buffer: 8 * 1024,
        recv_buffer_max: 8 * 1024,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (mut client, mut server) = net.pair(7).await;
    let data = mem::pattern(3, 100_000);
    let write = async {
        client.write_all(&data).await.unwrap();
        client.shutdown().await.unwrap();
    };
    let read = async {
        // A slow reader: a little at a time with pauses.
        let mut got = Vec::new();
        let mut buf = [0; 3000];
        loop {
            tokio::time::sleep(Duration::from_millis(5)).await;
            match server.read(&mut buf).await.unwrap() {
                0 => break got,
                n => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    let ((), got) = tokio::join!(write, read);
    assert!(got == data);
}

#[tokio::test(start_paused = true)]
async fn nodelay_round_trips_and_follows_the_config() {
    let net = Net::v4();
    let (client, server) = net.pair(7).await;
    assert!(!client.nodelay().unwrap());
    client.set_nodelay(true).unwrap();
    assert!(client.nodelay().unwrap());
    assert!(!server.nodelay().unwrap());
    client.set_nodelay(false).unwrap();
    assert!(!client.nodelay().unwrap());

    let config = Config {
        nodelay: true,
        ..mem::config()
    };
    let net = Net::with(config, SERVER_V4, CLIENT_V4);
    let (client, server) = net.pair(7).await;
    assert!(client.nodelay().unwrap());
    assert!(server.nodelay().unwrap());
}

/// With Nagle's algorithm a small write waits while an earlier small segment is unacknowledged
/// (the peer delays its ACK); with `TCP_NODELAY` it goes at once.
#[tokio::test(start_paused = true)]
async fn nodelay_sends_small_writes_without_waiting_for_acks() {
    for nodelay in [false, true] {
        let net = Net::v4();
        let (mut client, mut server) = net.pair(7).await;
        client.set_nodelay(nodelay).unwrap();
        let mut byte = [0; 1];
        // Reading the first byte opens the server's window from the 64 KB a SYN-ACK can offer
        // to its scaled 256 KB (RFC 7323 §2.2): that window update acknowledges at once.
        client.write_all(b"0").await.unwrap();
        server.read_exact(&mut byte).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.write_all(b"a").await.unwrap();
        server.read_exact(&mut byte).await.unwrap();
        // The byte arrived; its ACK is delayed. Send the next and time its arrival.
        let start = tokio::time::Instant::now();
        client.write_all(b"b").await.unwrap();
        server.read_exact(&mut byte).await.unwrap();
        let waited = start.elapsed();
        if nodelay {
            assert!(waited < Duration::from_millis(5), "{waited:?}");
        } else {
            assert!(waited >= Duration::from_millis(20), "{waited:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn info_reports_state_mss_rtt_and_counters() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    client.write_all(&[0; 5000]).await.unwrap();
    let mut buf = vec![0; 5000];
    server.read_exact(&mut buf).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let info = client.info().unwrap();
    assert_eq!(info.state, State::Established);
    // 1460 less the 12 bytes of the timestamps both ends agreed to (RFC 7323 §3.2).
    assert_eq!(info.mss, 1448);
    // The in-memory link has no delay: RTT samples are (near) zero, and the RTO sits at its
    // floor.
    assert!(info.srtt.is_some());
    assert!(info.srtt.unwrap() < Duration::from_millis(50));
    assert_eq!(info.rto, Config::default().rto_min);
    assert_eq!(info.stats.bytes_sent, 5000);
    assert_eq!(info.stats.bytes_acked, 5000);
    assert_eq!(info.stats.retransmits, 0);
    assert!(info.stats.segments_sent >= 4, "{:?}", info.stats);
    // Congestion control as `ss -ti` shows it: CUBIC by default, no loss so no ssthresh, the
    // initial window of 10 segments (RFC 6928) not grown by an application-limited sender,
    // nothing left in flight. (No delivery rate: paused time makes every RTT zero.)
    assert_eq!(info.congestion_control, fsm::CongestionAlgorithm::Cubic);
    assert_eq!(info.ssthresh, None);
    assert!(!info.in_recovery);
    assert_eq!(info.cwnd, 10 * 1448);
    assert_eq!(info.bytes_in_flight, 0);
    assert_eq!(info.recv_buffer, Config::default().recv_buffer);
    let info = server.info().unwrap();
    assert_eq!(info.stats.bytes_received, 5000);
    assert_eq!(info.stats.bytes_sent, 0);
}

#[tokio::test(start_paused = true)]
async fn counters_count_packets() {
    let net = Net::v4();
    let before = net.client.counters();
    assert_eq!(before.packets_in, 0);
    assert_eq!(before.packets_out, 0);
    let (mut client, mut server) = net.pair(7).await;
    client.write_all(b"x").await.unwrap();
    server.read_exact(&mut [0; 1]).await.unwrap();
    let c = net.client.counters();
    let s = net.server.counters();
    // SYN, ACK, data out; SYN-ACK in at least.
    assert!(c.packets_out >= 3, "{c:?}");
    assert!(c.packets_in >= 1, "{c:?}");
    assert!(s.packets_in >= 3, "{s:?}");
    assert_eq!(c.malformed + s.malformed, 0);
    assert_eq!(c.open_handles, 1);
    assert_eq!(s.open_handles, 1);
}

/// A read registered through `poll_read` is woken by data that arrives later, and a
/// second reader's poll does not lose the first's data.
#[tokio::test(start_paused = true)]
async fn poll_read_pending_then_woken() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    let mut storage = [0; 8];
    let mut read = pin!(async {
        let mut buf = ReadBuf::new(&mut storage);
        poll_fn(|cx| Pin::new(&mut server).poll_read(cx, &mut buf)).await?;
        Ok::<_, std::io::Error>(buf.filled().to_vec())
    });
    assert!(poll_fn(|cx| Poll::Ready(read.as_mut().poll(cx).is_pending())).await);
    poll_fn(|cx| Pin::new(&mut client).poll_write(cx, b"wake"))
        .await
        .unwrap();
    assert_eq!(read.await.unwrap(), b"wake");
    poll_fn(|cx| Pin::new(&mut client).poll_flush(cx))
        .await
        .unwrap();
}

/// The readiness methods take `&self`: tasks sharing a stream may wait at once, and all are
/// woken.
#[tokio::test(start_paused = true)]
async fn readable_wakes_every_waiting_task() {
    let net = Net::v4();
    let (mut client, server) = net.pair(7).await;
    let server = std::sync::Arc::new(server);
    let mut waiting = tokio::task::JoinSet::new();
    for _ in 0..3 {
        let server = server.clone();
        waiting.spawn(async move { server.readable().await });
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    client.write_all(b"for all").await.unwrap();
    let woken = tokio::time::timeout(Duration::from_secs(1), waiting.join_all())
        .await
        .expect("every waiting task is woken");
    assert_eq!(woken.len(), 3);
    assert_eq!(server.try_read(&mut [0; 16]).unwrap(), 7);
}

/// Every 10th packet either way is lost: the driver's timers retransmit, and the data still
/// arrives exact and in order.
#[tokio::test(start_paused = true)]
async fn transfer_over_a_lossy_link_is_exact() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    net.lose_every(10);
    let up = mem::pattern(11, 300_000);
    let down = mem::pattern(12, 200_000);
    let (c, s) = tokio::join!(
        async {
            let (mut rd, mut wr) = client.split();
            let (w, r) = tokio::join!(
                async {
                    wr.write_all(&up).await?;
                    wr.shutdown().await
                },
                async {
                    let mut got = Vec::new();
                    rd.read_to_end(&mut got).await.map(|_| got)
                }
            );
            w.and(r)
        },
        async {
            let (mut rd, mut wr) = server.split();
            let (w, r) = tokio::join!(
                async {
                    wr.write_all(&down).await?;
                    wr.shutdown().await
                },
                async {
                    let mut got = Vec::new();
                    rd.read_to_end(&mut got).await.map(|_| got)
                }
            );
            w.and(r)
        }
    );
    assert!(c.unwrap() == down);
    assert!(s.unwrap() == up);
    assert!(client.info().unwrap().stats.retransmits > 0);
}

/// A reader that stops for ten minutes: the sender fills the window, probes it while it is
/// zero, and resumes when the reader does.
#[tokio::test(start_paused = true)]
async fn stalled_reader_resumes_after_a_long_pause() {
    let net = Net::v4();
    let (mut client, mut server) = net.pair(7).await;
    let data = mem::pattern(13, 2 << 20);
    let write = async {
        client.write_all(&data).await.unwrap();
        client.shutdown().await.unwrap();
    };
    let read = async {
        let mut first = vec![0; 1000];
        server.read_exact(&mut first).await.unwrap();
        tokio::time::sleep(Duration::from_secs(600)).await;
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.unwrap();
        first.extend_from_slice(&rest);
        first
    };
    let ((), got) = tokio::join!(write, read);
    assert!(got == data);
    assert_eq!(client.info().unwrap().stats.timeouts, 0);
}
