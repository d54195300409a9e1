//! Many connections at once: every byte exact, and nothing left afterwards (no connection, no
//! TIME-WAIT entry, no handle, no task).

#[path = "common/mem.rs"]
mod mem;

use std::sync::Arc;
use std::time::Duration;

use mem::Net;
use net::{TcpListener, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

/// Bytes each connection echoes.
const ECHO_BYTES: usize = 4096;

/// Accepts `count` connections and echoes each on its own task until the client's EOF.
fn spawn_echo_server(listener: TcpListener, count: usize) -> tokio::task::JoinHandle<JoinSet<u64>> {
    tokio::spawn(async move {
        let mut echoes = JoinSet::new();
        for _ in 0..count {
            let (mut stream, _) = listener.accept().await.expect("accept");
            echoes.spawn(async move {
                let (mut rd, mut wr) = stream.split();
                let n = tokio::io::copy(&mut rd, &mut wr).await.expect("echo");
                wr.shutdown().await.expect("shutdown");
                n
            });
        }
        echoes
    })
}

/// Connects, waits until every client is connected, then sends a distinct pattern, reads the
/// echo back and closes; returns whether the echo was exact and ended in EOF.
async fn client(
    net_client: net::Stack,
    server: std::net::SocketAddr,
    i: usize,
    start: Arc<Barrier>,
) -> bool {
    let mut stream = TcpStream::connect(&net_client, server)
        .await
        .expect("connect");
    start.wait().await;
    let data = mem::pattern(i as u8, ECHO_BYTES + i);
    let (mut rd, mut wr) = stream.split();
    let (sent, echoed) = tokio::join!(wr.write_all(&data), async {
        let mut got = vec![0; data.len()];
        rd.read_exact(&mut got).await.map(|_| got)
    });
    sent.expect("write");
    let echoed = echoed.expect("read");
    stream.shutdown().await.expect("shutdown");
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.expect("EOF");
    echoed == data && rest.is_empty()
}

async fn run(net: &Net, connections: usize) {
    let listener = net.listen(7).await;
    let server = spawn_echo_server(listener, connections);
    let start = Arc::new(Barrier::new(connections));
    let mut clients = JoinSet::new();
    for i in 0..connections {
        clients.spawn(client(
            net.client.clone(),
            net.server_addr(7),
            i,
            start.clone(),
        ));
    }
    let mut exact = 0;
    while let Some(ok) = clients.join_next().await {
        exact += usize::from(ok.expect("client task"));
    }
    assert_eq!(exact, connections, "every echo exact");
    let mut echoes = server.await.expect("server task");
    let mut echoed = 0;
    while let Some(n) = echoes.join_next().await {
        echoed += n.expect("echo task");
    }
    let expected: usize = (0..connections).map(|i| ECHO_BYTES + i).sum();
    assert_eq!(echoed, expected as u64);
    assert!(clients.is_empty() && echoes.is_empty());
}

#[tokio::test(start_paused = true)]
async fn thousand_concurrent_echoes_then_nothing_left() {
    const CONNECTIONS: usize = 1000;
    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let net = Net::v4();
    run(&net, CONNECTIONS).await;
    // The clients closed first: their side holds the TIME-WAIT entries, compactly.
    assert_eq!(net.server.counters().open_handles, 0);
    assert_eq!(net.client.counters().open_handles, 0);
    mem::wait_until(Duration::from_millis(500), || {
        net.server.connection_count() == 0 && net.client.connection_count() == 0
    })
    .await;
    assert_eq!(net.client.time_wait_count(), CONNECTIONS);
    net.settle(2 * mem::MSL + Duration::from_millis(100)).await;
    // Only the two drivers are left, and they stop with the stacks.
    assert_eq!(metrics.num_alive_tasks(), baseline + 2);
    drop(net);
    mem::wait_until(Duration::from_millis(100), || {
        metrics.num_alive_tasks() == baseline
    })
    .await;
}

/// The same on a multi-threaded runtime in real time: handles and drivers on different
/// threads, so wakeups cross threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_echoes_across_threads() {
    let net = Net::v4();
    tokio::time::timeout(Duration::from_secs(20), run(&net, 200))
        .await
        .expect("no stall");
    assert_eq!(net.client.counters().open_handles, 0);
    assert_eq!(net.server.counters().open_handles, 0);
}
