//! The `http_get` example end to end: it creates its TUN and stack in the test's namespace
//! and fetches from an HTTP server on kernel sockets at 10.200.0.1 (`common/http.rs`). The body
//! on its stdout is compared byte for byte; its exit status and stderr follow what its docs
//! promise (0 for 2xx; 22 after printing the body of any other status; 1 and one `error:` line
//! for a failure). Needs root, as CI has; the example is built by the test
//! (`common/examples.rs`).

#[path = "common/data.rs"]
mod data;
#[path = "common/examples.rs"]
mod examples;
#[path = "common/http.rs"]
mod http;
#[path = "common/ns.rs"]
mod ns;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);
const PORT: u16 = 8000;

/// Runs `http_get URL` in the test's namespace (it creates the TUN `tcpstk0` with the kernel at
/// 10.200.0.1/24 and the stack at 10.200.0.2, its defaults) and returns what it did.
async fn http_get(bin: &Path, url: &str) -> Output {
    tokio::process::Command::new(bin)
        .args(["--timeout", "60", url])
        .kill_on_drop(true)
        .output()
        .await
        .expect("run http_get")
}

/// Starts the test server on every address of the namespace (10.200.0.1 appears only when
/// http_get creates its TUN), then runs `test` with http_get's path.
fn with_server<F: Future<Output = ()>>(test: impl FnOnce(PathBuf) -> F + Send) {
    ns::run(LIMIT, || {
        let bin = examples::build("http_get");
        async move {
            let listener = tokio::net::TcpListener::bind(("0.0.0.0", PORT))
                .await
                .expect("the kernel's HTTP server listens");
            let server = tokio::spawn(http::serve(listener));
            test(bin).await;
            server.abort();
        }
    });
}

fn url(path: &str) -> String {
    format!("http://{}:{PORT}{path}", ns::KERNEL_V4)
}

/// The exit status, with stderr to explain a surprise.
fn exit_code(output: &Output) -> i32 {
    output.status.code().unwrap_or_else(|| {
        panic!(
            "http_get died: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn http_get_fetches_a_few_bytes() {
    with_server(|bin| async move {
        let output = http_get(&bin, &url("/small")).await;
        assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
        assert_eq!(output.stdout, http::SMALL, "the body, byte for byte");
        assert!(
            stderr(&output).contains("200 OK"),
            "the status line on stderr: {}",
            stderr(&output)
        );
    });
}

#[test]
fn http_get_fetches_64mib() {
    with_server(|bin| async move {
        let output = http_get(&bin, &url("/big")).await;
        assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
        assert_eq!(
            data::digest(&output.stdout),
            data::expected(http::BIG_SEED, http::BIG_LEN),
            "the 64 MiB body, byte for byte"
        );
    });
}

#[test]
fn http_get_decodes_a_chunked_body() {
    with_server(|bin| async move {
        let output = http_get(&bin, &url("/chunked")).await;
        assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
        assert!(
            output.stdout == http::chunked_body(),
            "the de-chunked body, byte for byte ({} bytes)",
            output.stdout.len()
        );
    });
}

#[test]
fn http_get_prints_a_404_body_and_exits_22() {
    with_server(|bin| async move {
        let output = http_get(&bin, &url("/missing")).await;
        assert_eq!(exit_code(&output), 22, "{}", stderr(&output));
        assert_eq!(output.stdout, http::not_found_body("/missing"));
        assert!(stderr(&output).contains("404"), "{}", stderr(&output));
    });
}

#[test]
fn http_get_refused_port_exits_1_with_one_line() {
    with_server(|bin| async move {
        // Nothing listens on PORT + 1: the kernel answers the SYN with RST.
        let output = http_get(&bin, &format!("http://{}:{}/", ns::KERNEL_V4, PORT + 1)).await;
        assert_eq!(exit_code(&output), 1, "{}", stderr(&output));
        assert!(output.stdout.is_empty());
        let stderr = stderr(&output);
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            matches!(&lines[..], [line] if line.starts_with("error:") && line.contains("refused")),
            "one clear line: {stderr:?}"
        );
    });
}
