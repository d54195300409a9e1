//! `http_get [flags] [--trace] [--msl SECS] [--timeout SECS] URL`: a small HTTP/1.1 client
//! over the userspace stack. `http_get` alone (or `http_get --demo`): a guided tour of one
//! fetch, in a private network namespace, that needs nothing else.
//!
//! ```sh
//! cargo run --release --example http_get                       # the demo (as root)
//! sudo target/release/examples/http_get --trace http://10.200.0.1:8000/
//! ```
//!
//! The client parses the URL (`http://` only; host name, IPv4 literal or `[IPv6]`, port, path
//! and query), resolves the host with the system resolver (keeping an address of the stack's
//! family), creates the TUN device and the stack from the common flags (see
//! `examples/common/mod.rs`: `--tun --addr --host --mtu --pcap -v`), connects through the
//! stack, sends `GET` with `Host`, `User-Agent: tcpstk-http_get/0.1` and `Connection: close`,
//! and reads the response, framed by `Content-Length`, `chunked` or the end of the stream. The
//! body goes byte-exact to stdout; the status line and the headers to stderr. Then it closes
//! its side (FIN) and reads until the server's FIN.
//!
//! Own flags:
//!
//! - `--trace`: the TCP story on stderr as it happens: every segment on a ladder (direction,
//!   flags, relative and absolute seq/ack, window, length) and every state change of the
//!   connection, through TIME-WAIT to CLOSED. That means waiting 2×MSL at the end (60 s with
//!   the default MSL of 30 s); `--msl` shortens it.
//! - `--msl SECS`: the maximum segment lifetime (fractions allowed; TIME-WAIT lasts twice it).
//! - `--timeout SECS`: how long connecting, and each wait for the server, may take (default 30).
//! - `--demo`: the tour (the default without a URL); see `demo.rs`.
//!
//! Exit status: 0 for a 2xx response; 22 (as `curl --fail`) for any other final status, after
//! printing its body; 1 for every failure (bad flags or URL, name resolution, the TUN device,
//! connection refused, reset or timed out, a malformed or cut-short response), with one line
//! `error: ...` on stderr.

#[path = "../common/mod.rs"]
mod common;
mod demo;
mod explain;
mod http;
mod trace;
mod url;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use net::{Stack, TcpStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::common::TunFlags;
use crate::http::{Body, Head};
use crate::trace::{Recorder, Sink, StateLayer, TraceDevice};
use crate::url::{Host, Url};

/// Exit status for a final response that is not 2xx (`curl --fail` uses the same).
const EXIT_HTTP_STATUS: i32 = 22;
/// Bytes read from the stream at a time.
const READ_CHUNK: usize = 16 * 1024;
/// Without `--trace`, how long to wait after our FIN for the server's, and then for our last
/// ACK to leave.
const LINGER: Duration = Duration::from_secs(1);
/// Interim (1xx) responses accepted before the final one.
const MAX_INTERIM: usize = 16;

const USAGE: &str = "usage: http_get [--tun NAME --addr IP --host IP/PREFIX --mtu N --pcap FILE \
                     -v] [--trace] [--msl SECS] [--timeout SECS] URL   (no URL, or --demo: the \
                     guided tour)";

/// What the command line asks for, beyond the TUN flags.
#[derive(Clone, Debug)]
struct Options {
    /// `None`: the demo.
    url: Option<String>,
    trace: bool,
    msl: Option<Duration>,
    timeout: Duration,
}

/// How a fetch runs and where it prints.
#[derive(Clone, Copy, Debug)]
struct Mode {
    /// Where the status line and the headers go as they arrive (`None`: the demo shows them
    /// after the ladder).
    head: Option<Sink>,
    /// Keep the body in [`Fetched::body`] instead of writing it to stdout (the demo).
    capture_body: bool,
    /// Wait out TIME-WAIT before returning, so that the ladder ends with CLOSED.
    trace: bool,
    /// How long connecting, and each wait for the server, may take.
    timeout: Duration,
}

/// The final response, once its body has been read.
#[derive(Debug)]
struct Fetched {
    head: Head,
    /// Body bytes received.
    body_len: u64,
    /// The body, with [`Mode::capture_body`]; empty otherwise.
    body: Vec<u8>,
}

fn main() {
    let (flags, rest) = common::parse_args(std::env::args().skip(1));
    let options = parse_options(rest).unwrap_or_else(|e| common::fail(&e));
    let code = match &options.url {
        None => demo::main(&flags, &options),
        Some(url) => {
            let url = Url::parse(url).unwrap_or_else(|e| common::fail(&format!("{url}: {e}")));
            let mut config = fsm::Config::default();
            if let Some(msl) = options.msl {
                config.msl = msl;
            }
            let sink = options.trace.then_some(Sink::Stderr);
            let recorder = Recorder::new(flags.addr, sink, config.msl);
            init_tracing(flags.verbose, Some(recorder.clone()));
            runtime().block_on(cli(&flags, &options, &url, config, &recorder))
        }
    };
    std::process::exit(code);
}

/// Parses the example's own flags.
fn parse_options(args: Vec<String>) -> Result<Options, String> {
    let mut options = Options {
        url: None,
        trace: false,
        msl: None,
        timeout: Duration::from_secs(30),
    };
    let mut demo = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut seconds = |name: &str| -> Result<Duration, String> {
            let value = args.next().ok_or(format!("{name} needs a value"))?;
            value
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
                .map(Duration::from_secs_f64)
                .ok_or(format!(
                    "{name}: {value:?} is not a number of seconds (0 to 86400]"
                ))
        };
        match arg.as_str() {
            "--trace" => options.trace = true,
            "--demo" => demo = true,
            "--msl" => options.msl = Some(seconds("--msl")?),
            "--timeout" => options.timeout = seconds("--timeout")?,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            _ if arg.starts_with('-') => return Err(format!("unknown flag {arg}; {USAGE}")),
            _ if options.url.is_some() => return Err(format!("one URL only; {USAGE}")),
            _ => options.url = Some(arg),
        }
    }
    if demo && options.url.is_some() {
        return Err(format!("--demo takes no URL; {USAGE}"));
    }
    Ok(options)
}

/// The runtime: built by hand, so that the demo can enter its namespaces before any thread
/// starts.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| common::fail(&format!("cannot start the Tokio runtime: {e}")))
}

/// Tracing: `-v` output to stderr (as `common::init_tracing`), plus the recorder's layer
/// for the driver's state changes when there is one.
fn init_tracing(verbose: u8, recorder: Option<Arc<Recorder>>) {
    use tracing_subscriber::filter::{EnvFilter, LevelFilter, Targets};
    let level = match verbose {
        0 => "warn",
        1 => "net=debug,fsm=debug",
        _ => "net=trace,fsm=trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_filter(filter);
    let states = recorder.map(|r| {
        StateLayer(r).with_filter(Targets::new().with_target("net::driver", LevelFilter::DEBUG))
    });
    tracing_subscriber::registry().with(fmt).with(states).init();
}

/// The command-line client: resolve, open the stack, fetch. Returns the exit status.
async fn cli(
    flags: &TunFlags,
    options: &Options,
    url: &Url,
    config: fsm::Config,
    recorder: &Arc<Recorder>,
) -> i32 {
    let mode = Mode {
        head: Some(Sink::Stderr),
        capture_body: false,
        trace: options.trace,
        timeout: options.timeout,
    };
    let result = async {
        let addr = resolve(url, flags.addr, mode).await?;
        if options.trace {
            let wait = trace::secs(2 * config.msl);
            eprintln!(
                "--trace: if we close first, the ladder ends after TIME-WAIT, 2×MSL = {wait} \
                 (--msl SECS shortens it)"
            );
        }
        let stack = open_stack(flags, config, recorder)?;
        fetch(&stack, addr, url, recorder, mode).await
    }
    .await;
    match result {
        Ok(fetched) => exit_status(&fetched),
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

/// 0 for 2xx, [`EXIT_HTTP_STATUS`] (with a line saying why) for any other status.
fn exit_status(fetched: &Fetched) -> i32 {
    if (200..300).contains(&fetched.head.status) {
        0
    } else {
        eprintln!(
            "error: the server answered {} ({} body bytes printed)",
            fetched.head.status_line(),
            fetched.body_len
        );
        EXIT_HTTP_STATUS
    }
}

/// The address to connect to: the literal, or the first address of the stack's family the
/// system resolver gives for the name.
async fn resolve(url: &Url, ours: IpAddr, mode: Mode) -> Result<SocketAddr, String> {
    let family = |ip: &IpAddr| if ip.is_ipv4() { "IPv4" } else { "IPv6" };
    match &url.host {
        Host::Ip(ip) if ip.is_ipv4() == ours.is_ipv4() => Ok(SocketAddr::new(*ip, url.port)),
        Host::Ip(ip) => Err(format!(
            "{ip} is {} but the stack's address {ours} is {} (set --addr and --host)",
            family(ip),
            family(&ours)
        )),
        Host::Name(name) => {
            let lookup = tokio::net::lookup_host((name.as_str(), url.port));
            let addrs = tokio::time::timeout(mode.timeout, lookup)
                .await
                .map_err(|_| format!("timed out resolving {name}"))?
                .map_err(|e| format!("cannot resolve {name}: {e}"))?;
            let addr = addrs
                .into_iter()
                .find(|a| a.is_ipv4() == ours.is_ipv4())
                .ok_or_else(|| format!("{name} has no {} address", family(&ours)))?;
            if mode.trace {
                eprintln!("dns: {name} → {}", addr.ip());
            }
            Ok(addr)
        }
    }
}

/// The TUN device of the flags, traced into `recorder`, and the stack on it.
fn open_stack(
    flags: &TunFlags,
    config: fsm::Config,
    recorder: &Arc<Recorder>,
) -> Result<Stack, String> {
    let device = common::tun_device(flags).map_err(|e| e.to_string())?;
    let device = Box::new(TraceDevice::new(device, recorder.clone()));
    common::stack(flags, device, config).map_err(|e| format!("cannot start the stack: {e}"))
}

/// Connects, sends the request, writes the body to stdout and closes. The response's status
/// is the caller's to judge.
async fn fetch(
    stack: &Stack,
    addr: SocketAddr,
    url: &Url,
    recorder: &Recorder,
    mode: Mode,
) -> Result<Fetched, String> {
    let mut stream = connect(stack, addr, mode.timeout).await?;
    let request = http::request(&url.target, &url.host_header());
    stream
        .write_all(&request)
        .await
        .map_err(|e| io_failure(&e, addr, "sending the request to"))?;
    let fetched = read_response(&mut stream, addr, mode).await?;
    close(stream, recorder, mode).await;
    Ok(fetched)
}

/// Opens the connection, within `timeout`.
async fn connect(stack: &Stack, addr: SocketAddr, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect(stack, addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => Err(match e.kind() {
            io::ErrorKind::ConnectionRefused => format!("connection refused by {addr}"),
            io::ErrorKind::TimedOut => format!("timed out connecting to {addr} (SYN unanswered)"),
            io::ErrorKind::ConnectionReset => format!("connection reset by {addr}"),
            _ => format!("cannot connect to {addr}: {e}"),
        }),
        Err(_) => Err(format!(
            "timed out connecting to {addr} after {}",
            trace::secs(timeout)
        )),
    }
}

/// One line for an I/O error while talking to `addr`.
fn io_failure(e: &io::Error, addr: SocketAddr, doing: &str) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => format!("connection reset by {addr}"),
        io::ErrorKind::TimedOut => format!("connection to {addr} timed out (no ACK)"),
        io::ErrorKind::ConnectionAborted => format!("connection to {addr} aborted"),
        _ => format!("{doing} {addr}: {e}"),
    }
}

/// Reads once, within the timeout; `Ok(0)` at the end of the stream.
async fn read_some(
    stream: &mut TcpStream,
    buf: &mut [u8],
    addr: SocketAddr,
    timeout: Duration,
) -> Result<usize, String> {
    match tokio::time::timeout(timeout, stream.read(buf)).await {
        Ok(Ok(n)) => Ok(n),
        Ok(Err(e)) => Err(io_failure(&e, addr, "reading the response from")),
        Err(_) => Err(format!(
            "timed out after {} waiting for {addr}",
            trace::secs(timeout)
        )),
    }
}

/// Reads the response: heads until the final one (printed to [`Mode::head`]), then the body
/// (written to stdout as it is decoded, or kept).
async fn read_response(
    stream: &mut TcpStream,
    addr: SocketAddr,
    mode: Mode,
) -> Result<Fetched, String> {
    let malformed = |e: http::HttpError| format!("malformed response from {addr}: {e}");
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; READ_CHUNK];
    let mut interim = 0;
    let (head, mut body) = loop {
        if let Some((head, len)) = http::parse_head(&buf).map_err(malformed)? {
            buf.drain(..len);
            if let Some(sink) = mode.head {
                print_head(&head, sink);
            }
            if head.is_interim() && head.status != 101 {
                // 1xx: the final response follows (RFC 9110 §15.2).
                interim += 1;
                if interim > MAX_INTERIM {
                    return Err(format!("{addr} sent more than {MAX_INTERIM} 1xx responses"));
                }
                continue;
            }
            let body = Body::for_response(&head).map_err(malformed)?;
            break (head, body);
        }
        match read_some(stream, &mut chunk, addr, mode.timeout).await? {
            0 if buf.is_empty() => {
                return Err(format!("{addr} closed the connection without a response"));
            }
            0 => {
                return Err(format!(
                    "malformed response from {addr}: the connection closed inside the head"
                ));
            }
            n => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let mut out = BodyOut::new(mode.capture_body);
    body.feed(&buf, &mut out.pending).map_err(malformed)?;
    while !body.is_done() {
        out.write().await?;
        match read_some(stream, &mut chunk, addr, mode.timeout).await? {
            0 => body.finish().map_err(malformed)?,
            n => {
                body.feed(&chunk[..n], &mut out.pending)
                    .map_err(malformed)?;
            }
        }
    }
    out.write().await?;
    if let Some(sink) = mode.head {
        for (name, value) in body.trailers() {
            sink.line(&format!("{name}: {value}"));
        }
    }
    Ok(Fetched {
        head,
        body_len: body.received(),
        body: out.finish().await?,
    })
}

/// Where decoded body bytes go: stdout, or a buffer.
struct BodyOut {
    /// Decoded bytes not yet written.
    pending: Vec<u8>,
    /// `None` when capturing.
    stdout: Option<tokio::io::Stdout>,
    kept: Vec<u8>,
}

impl BodyOut {
    fn new(capture: bool) -> Self {
        BodyOut {
            pending: Vec::new(),
            stdout: (!capture).then(tokio::io::stdout),
            kept: Vec::new(),
        }
    }

    /// Moves the pending bytes out.
    async fn write(&mut self) -> Result<(), String> {
        match &mut self.stdout {
            Some(stdout) if !self.pending.is_empty() => stdout
                .write_all(&self.pending)
                .await
                .map_err(|e| format!("writing to stdout: {e}"))?,
            Some(_) => {}
            None => self.kept.extend_from_slice(&self.pending),
        }
        self.pending.clear();
        Ok(())
    }

    /// Flushes stdout; returns the kept body.
    async fn finish(mut self) -> Result<Vec<u8>, String> {
        if let Some(stdout) = &mut self.stdout {
            stdout
                .flush()
                .await
                .map_err(|e| format!("writing to stdout: {e}"))?;
        }
        Ok(self.kept)
    }
}

/// The status line and the header fields, as received.
fn print_head(head: &Head, sink: Sink) {
    sink.line(&head.status_line());
    for (name, value) in &head.fields {
        sink.line(&format!("{name}: {value}"));
    }
    sink.line("");
}

/// Our side of the close: FIN, then read (and discard) until the server's FIN; then, with
/// `--trace`, wait until the connection is CLOSED (TIME-WAIT done), otherwise only until our
/// last ACK has left. Problems here do not fail the fetch: the response is already complete.
async fn close(mut stream: TcpStream, recorder: &Recorder, mode: Mode) {
    let _ = stream.shutdown().await;
    let mut discard = [0u8; 4096];
    let drain = async { while let Ok(1..) = stream.read(&mut discard).await {} };
    // Without --trace, a server that keeps the connection open does not hold us long.
    let patience = if mode.trace { mode.timeout } else { LINGER };
    let _ = tokio::time::timeout(patience, drain).await;
    let mut progress = recorder.progress();
    let done = if mode.trace {
        // 2×MSL passes in the engine; the stream must stay open for its state events.
        tokio::time::timeout(
            mode.timeout + 2 * recorder.msl(),
            progress.wait_for(|p| p.state == Some(fsm::State::Closed)),
        )
        .await
        .is_ok()
    } else {
        tokio::time::timeout(LINGER, progress.wait_for(|p| p.closed_enough()))
            .await
            .is_ok()
    };
    if !done && mode.trace {
        eprintln!("(the connection did not reach CLOSED in time)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_options(args.iter().map(|a| (*a).to_owned()).collect())
    }

    #[test]
    fn no_url_is_the_demo() {
        assert_eq!(parse(&[]).unwrap().url, None);
        assert_eq!(parse(&["--demo"]).unwrap().url, None);
    }

    #[test]
    fn url_and_flags() {
        let options = parse(&["--trace", "--msl", "0.5", "http://h/", "--timeout", "3"]).unwrap();
        assert_eq!(options.url.as_deref(), Some("http://h/"));
        assert!(options.trace);
        assert_eq!(options.msl, Some(Duration::from_millis(500)));
        assert_eq!(options.timeout, Duration::from_secs(3));
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for args in [
            &["--demo", "http://h/"][..],
            &["http://a/", "http://b/"],
            &["--msl"],
            &["--msl", "-1"],
            &["--msl", "nan"],
            &["--timeout", "0"],
            &["--frobnicate"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
