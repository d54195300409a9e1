//! The driver logs each connection's state changes at debug level inside a span that names the
//! connection (`conn{id local peer}`) while a handle holds it, and outside any span once the
//! user dropped it and it closes in the background.

#[path = "common/mem.rs"]
mod mem;

use std::io::Write;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;

/// A `MakeWriter` that appends everything to one shared buffer.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

#[tokio::test(start_paused = true)]
async fn state_changes_are_logged_in_a_span_per_connection() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let net = mem::Net::v4();
    let (mut client, server) = net.pair(80).await;
    let local = client.local_addr().expect("address");
    client.shutdown().await.expect("shutdown");
    // Let the driver process the shutdown before the handles go.
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    drop((client, server));
    net.settle(std::time::Duration::from_secs(10)).await;

    let log = String::from_utf8(capture.0.lock().expect("not poisoned").clone()).expect("utf-8");
    let span = format!("local={local} peer=10.0.0.1:80");
    for (from, to) in [("SYN-SENT", "ESTABLISHED"), ("ESTABLISHED", "FIN-WAIT-1")] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("from={from} to={to}")))
            .unwrap_or_else(|| panic!("no {from} → {to} line in:\n{log}"));
        assert!(
            line.contains("conn{") && line.contains(&span),
            "not in the span: {line}"
        );
    }
    // After the drop: FIN-WAIT-2 → TIME-WAIT → CLOSED are still logged.
    assert!(
        log.contains("from=TIME-WAIT to=CLOSED"),
        "no TIME-WAIT → CLOSED in:\n{log}"
    );
}
