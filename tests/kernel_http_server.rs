//! The `http_server` example end to end: it creates its TUN and stack in the test's namespace,
//! and `curl`, on the kernel's side, downloads from it through the stack: the pattern of
//! `/bytes/N` (byte `i` is `i % 251`), up to 64 MiB, and files under `--root`, byte for byte;
//! a missing file is a 404; keep-alive requests share one connection; IPv6 works the same.
//! Needs root and curl, as CI has; the example is built by the test (`common/examples.rs`).

#[path = "common/data.rs"]
mod data;
#[path = "common/examples.rs"]
mod examples;
#[path = "common/ns.rs"]
mod ns;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

const LIMIT: Duration = Duration::from_secs(300);
const PORT: u16 = 8080;
/// The file served from `--root`.
const FILE_LEN: usize = 3 * 1024 * 1024 + 17;
const FILE_SEED: u64 = 31;

/// The example running in the test's namespace, killed (by its PID) when dropped.
struct HttpServer {
    child: Child,
    /// Its stderr so far, for the failure messages.
    log: Arc<Mutex<String>>,
    addr: SocketAddr,
}

impl HttpServer {
    /// Starts `http_server --port 8080 --root ROOT` with the stack at `addr` (and the kernel at
    /// `host`, as `--host` takes it), and waits until it accepts connections.
    async fn start(bin: &Path, root: &Path, addr: SocketAddr, host: &str) -> HttpServer {
        let mut child = Command::new(bin)
            .args(["--addr", &addr.ip().to_string(), "--host", host])
            .args(["--port", &addr.port().to_string()])
            .arg("--root")
            .arg(root)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start http_server");
        let log = Arc::new(Mutex::new(String::new()));
        let mut lines = tokio::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
        let sink = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().expect("log");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut server = HttpServer { child, log, addr };
        server.wait_until_listening().await;
        server
    }

    /// Connects until the stack accepts: before the example has created its TUN the kernel has
    /// no route (an error at once), before it listens the stack answers RST.
    async fn wait_until_listening(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("http_server exited ({status}):\n{}", self.log());
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "http_server did not listen within a minute:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Runs `curl` in the test's namespace with `args` and returns its stdout; fails unless
/// curl succeeds (`--fail`: an HTTP error is a failure too, unless the caller asks otherwise).
async fn curl(server: &HttpServer, args: &[&str]) -> Vec<u8> {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--globoff", "--max-time", "120"])
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .unwrap_or_else(|e| panic!("running curl (install curl): {e}"));
    assert!(
        output.status.success(),
        "curl {args:?} failed ({}): {}\nhttp_server's log:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    output.stdout
}

/// The digest of the first `len` bytes of http_server's pattern.
fn pattern_digest(len: u64) -> data::Digest {
    let period: Vec<u8> = (0..=250u8).collect();
    let mut hasher = data::Hasher::default();
    let mut left = len;
    while left > 0 {
        let n = left.min(period.len() as u64) as usize;
        hasher.update(&period[..n]);
        left -= n as u64;
    }
    hasher.digest()
}

/// A directory for `--root`, removed when dropped.
struct Root(PathBuf);

impl Root {
    fn new() -> Root {
        let dir = std::env::temp_dir().join(format!(
            "tcpstk-kernel-http-server-{}-{}",
            std::process::id(),
            nix::unistd::gettid()
        ));
        std::fs::create_dir_all(&dir).expect("create the --root directory");
        std::fs::write(dir.join("file.bin"), data::bytes(FILE_SEED, FILE_LEN)).expect("file");
        std::fs::write(dir.join("index.html"), "<h1>tcpstk</h1>\n").expect("index.html");
        Root(dir)
    }
}

impl Drop for Root {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `test` with http_server started in the test's namespace, at the stack address `addr`.
fn with_server<F: Future<Output = ()>>(
    addr: SocketAddr,
    host: &'static str,
    test: impl FnOnce(HttpServer) -> F + Send,
) {
    ns::run(LIMIT, || {
        let bin = examples::build("http_server");
        async move {
            let root = Root::new();
            let server = HttpServer::start(&bin, &root.0, addr, host).await;
            test(server).await;
        }
    });
}

#[test]
fn curl_downloads_the_pattern_from_http_server() {
    with_server(
        ns::stack_addr(false, PORT),
        "10.200.0.1/24",
        |server| async move {
            let small = curl(&server, &["--fail", &server.url("/bytes/1000")]).await;
            assert_eq!(data::digest(&small), pattern_digest(1000));
            let len = 64 * 1024 * 1024;
            let big = curl(&server, &["--fail", &server.url(&format!("/bytes/{len}"))]).await;
            assert_eq!(
                data::digest(&big),
                pattern_digest(len),
                "64 MiB, byte for byte"
            );
        },
    );
}

#[test]
fn curl_downloads_a_file_and_gets_404_for_a_missing_one() {
    with_server(
        ns::stack_addr(false, PORT),
        "10.200.0.1/24",
        |server| async move {
            let file = curl(&server, &["--fail", &server.url("/file.bin")]).await;
            assert!(
                file == data::bytes(FILE_SEED, FILE_LEN),
                "the file, byte for byte ({} bytes)",
                file.len()
            );
            let index = curl(&server, &["--fail", &server.url("/")]).await;
            assert_eq!(index, b"<h1>tcpstk</h1>\n");
            let status = curl(
                &server,
                &[
                    "--output",
                    "/dev/null",
                    "--write-out",
                    "%{http_code}",
                    &server.url("/missing"),
                ],
            )
            .await;
            assert_eq!(status, b"404");
        },
    );
}

#[test]
fn curl_reuses_one_connection_for_several_requests() {
    with_server(
        ns::stack_addr(false, PORT),
        "10.200.0.1/24",
        |server| async move {
            // Three URLs in one curl: HTTP/1.1 keep-alive, one connection (curl's `%{num_connects}`
            // counts the new connections each transfer needed: 1, then 0, 0).
            let urls = [
                server.url("/bytes/100000"),
                server.url("/bytes/7"),
                server.url("/file.bin"),
            ];
            let out = curl(
                &server,
                &[
                    "--fail",
                    "--write-out",
                    "[%{num_connects}]",
                    &urls[0],
                    &urls[1],
                    &urls[2],
                ],
            )
            .await;
            let mut expected = Vec::new();
            expected.extend((0..100_000u32).map(|i| (i % 251) as u8));
            expected.extend_from_slice(b"[1]");
            expected.extend((0..7u8).map(|i| i % 251));
            expected.extend_from_slice(b"[0]");
            expected.extend(data::bytes(FILE_SEED, FILE_LEN));
            expected.extend_from_slice(b"[0]");
            assert!(
                out == expected,
                "three bodies over one connection, byte for byte"
            );
        },
    );
}

#[test]
fn curl_downloads_over_ipv6() {
    with_server(
        ns::stack_addr(true, PORT),
        "fd00:200::1/64",
        |server| async move {
            let len = 8 * 1024 * 1024;
            let body = curl(&server, &["--fail", &server.url(&format!("/bytes/{len}"))]).await;
            assert_eq!(data::digest(&body), pattern_digest(len));
        },
    );
}
