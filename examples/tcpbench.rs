//! `tcpbench [flags] [--kernel] MODE`: bulk and request/response load, on the stack or (with
//! `--kernel`) on the kernel's sockets, so that one tool measures stack → kernel, kernel → stack
//! and, as a baseline, kernel → kernel.
//!
//! ```text
//! tcpbench [flags] [--kernel] sink [--port 5201]
//! tcpbench [flags] [--kernel] source --connect IP:PORT [--bytes 1Gi]
//! tcpbench [flags] [--kernel] rr --connect IP:PORT [--size 64] [--count 10000]
//! ```
//!
//! - `sink` accepts connections until Ctrl-C, each on its own task, and prints one line per
//!   connection on stdout: what it received, how fast, and its hash. A connection that starts
//!   with the 8 bytes `TBRR/1\r\n` (what `rr` sends first) is echoed back instead, hello
//!   excluded.
//! - `source` sends `--bytes` bytes of the fixed pattern (byte `i` = `(i % 251) as u8`, see
//!   `examples/pattern/mod.rs`), shuts its side down and waits for the peer to close, so the
//!   time covers delivery; it prints bytes, seconds, Gbit/s and the hash of what it sent, which
//!   equals the sink's.
//! - `rr` sends the hello, then `--count` requests of `--size` pattern bytes (the stream of
//!   requests continues the pattern), each waiting for its echo (checked byte for byte); it
//!   prints round trips per second, the latency (mean, median, 99th percentile, maximum) and
//!   the hash of the requests, which equals the hash the sink prints of what it echoed.
//!   `TCP_NODELAY` is on at both ends.
//!
//! Sizes take the suffixes `k`, `M`, `G`, `T` (powers of 10) and `Ki`, `Mi`, `Gi`, `Ti`
//! (powers of 2). Without `--kernel` the tool creates the TUN device from the TUN flags of every
//! example (`--tun`, `--addr`, `--host`, `--mtu`, `--pcap`, `-v`; see `examples/common/mod.rs`);
//! the sink listens on `--addr`. With `--kernel` they are ignored (but `-v`), and the sink
//! listens on 0.0.0.0.
//!
//! The hash is FNV-1a 64 taken a 64-bit word at a time instead of a byte at a time (eight
//! times faster, about 2 bytes per cycle, so it does not limit the measurement): the stream is
//! cut into 8-byte little-endian words, the last one zero-padded, each word `w` mixed as
//! `h = (h ^ w) * 0x100000001b3` from `h = 0xcbf29ce484222325`, and the length in bytes mixed
//! last the same way. In Python, for checking a capture:
//!
//! ```python
//! def tcpbench_hash(data):
//!     h, P, M = 0xcbf29ce484222325, 0x100000001b3, 2**64
//!     padded = data + bytes(-len(data) % 8)
//!     for i in range(0, len(padded), 8):
//!         h = ((h ^ int.from_bytes(padded[i:i+8], "little")) * P) % M
//!     return ((h ^ len(data)) * P) % M
//! ```
//!
//! ```sh
//! sudo ip netns add tcpstk-demo
//! sudo ip netns exec tcpstk-demo cargo run --release --example tcpbench -- sink
//! # in another shell: kernel → stack, then a request/response run
//! sudo ip netns exec tcpstk-demo target/release/examples/tcpbench --kernel source --connect 10.200.0.2:5201
//! sudo ip netns exec tcpstk-demo target/release/examples/tcpbench --kernel rr --connect 10.200.0.2:5201
//! ```

mod common;
mod pattern;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use net::Stack;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const USAGE: &str = "usage: tcpbench [--tun NAME --addr IP --host IP/PREFIX --mtu N --pcap FILE -v] \
                     [--kernel] (sink [--port P] | source --connect IP:PORT [--bytes N] \
                     | rr --connect IP:PORT [--size N] [--count M])";

/// What `rr` sends first, so that the sink echoes the rest.
const HELLO: &[u8; 8] = b"TBRR/1\r\n";

/// Bytes read at a time.
const READ_BUF: usize = 64 * 1024;

/// The sink's port unless told otherwise (iperf3's).
const DEFAULT_PORT: u16 = 5201;

/// The command line beyond the TUN flags.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    /// Kernel sockets instead of the stack.
    kernel: bool,
    mode: Mode,
}

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Sink {
        port: u16,
    },
    Source {
        connect: SocketAddr,
        bytes: u64,
    },
    Rr {
        connect: SocketAddr,
        size: usize,
        count: u64,
    },
}

#[tokio::main]
async fn main() {
    let (flags, rest) = common::parse_args(std::env::args().skip(1));
    let args = parse_args(&rest).unwrap_or_else(|e| common::fail(&e));
    common::init_tracing(flags.verbose);
    let sockets = if args.kernel {
        Sockets::Kernel
    } else {
        let device = common::tun_device(&flags).unwrap_or_else(|e| common::fail(&e.to_string()));
        let stack = common::stack(&flags, device, fsm::Config::default())
            .unwrap_or_else(|e| common::fail(&e.to_string()));
        Sockets::Stack(stack, flags.addr)
    };
    let result = match args.mode {
        Mode::Sink { port } => run_sink(&sockets, port).await,
        Mode::Source { connect, bytes } => run_source(&sockets, connect, bytes).await,
        Mode::Rr {
            connect,
            size,
            count,
        } => run_rr(&sockets, connect, size, count).await,
    };
    if let Err(e) = result {
        common::fail(&e);
    }
}

// ---------------------------------------------------------------------------------------------
// Arguments

/// Parses the arguments left after the TUN flags.
fn parse_args(rest: &[String]) -> Result<Args, String> {
    let kernel = rest.iter().any(|a| a == "--kernel");
    let words: Vec<&str> = rest
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--kernel")
        .collect();
    let Some((mode, options)) = words.split_first() else {
        return Err(USAGE.to_owned());
    };
    let options = Options::parse(options)?;
    let mode = match *mode {
        "sink" => {
            options.only(&["--port"])?;
            let port = options.get("--port").map_or(Ok(DEFAULT_PORT), |p| {
                p.parse().map_err(|e| format!("--port: {e}"))
            })?;
            Mode::Sink { port }
        }
        "source" => {
            options.only(&["--connect", "--bytes"])?;
            Mode::Source {
                connect: options.connect()?,
                bytes: options.get("--bytes").map_or(Ok(1 << 30), parse_size)?,
            }
        }
        "rr" => {
            options.only(&["--connect", "--size", "--count"])?;
            let size = options.get("--size").map_or(Ok(64), parse_size)?;
            let count = options.get("--count").map_or(Ok(10_000), parse_size)?;
            if size == 0 || count == 0 {
                return Err("rr: --size and --count must be at least 1".into());
            }
            Mode::Rr {
                connect: options.connect()?,
                size: usize::try_from(size).map_err(|_| "rr: --size too large")?,
                count,
            }
        }
        _ => return Err(USAGE.to_owned()),
    };
    Ok(Args { kernel, mode })
}

/// `--name value` pairs.
struct Options<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Options<'a> {
    fn parse(words: &[&'a str]) -> Result<Self, String> {
        let mut pairs = Vec::new();
        for pair in words.chunks(2) {
            match pair {
                [name, value] if name.starts_with("--") => pairs.push((*name, *value)),
                [name] if name.starts_with("--") => return Err(format!("{name} needs a value")),
                _ => return Err(USAGE.to_owned()),
            }
        }
        Ok(Options(pairs))
    }

    /// Fails on any option not in `allowed`.
    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(name, _)| !allowed.contains(name)) {
            Some((name, _)) => Err(format!("unknown option {name} for this mode; {USAGE}")),
            None => Ok(()),
        }
    }

    /// The last value given for `name`.
    fn get(&self, name: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }

    fn connect(&self) -> Result<SocketAddr, String> {
        let addr = self
            .get("--connect")
            .ok_or("--connect IP:PORT is required")?;
        addr.parse().map_err(|e| format!("--connect {addr}: {e}"))
    }
}

/// A count with an optional suffix: `k`, `M`, `G`, `T` (10^3...) or `Ki`, `Mi`, `Gi`, `Ti`
/// (2^10...).
fn parse_size(text: &str) -> Result<u64, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let unit: u64 = match suffix {
        "" => 1,
        "k" | "K" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return Err(format!("{text}: unknown size suffix")),
    };
    let value: u64 = digits.parse().map_err(|e| format!("{text}: {e}"))?;
    value
        .checked_mul(unit)
        .ok_or_else(|| format!("{text}: too large"))
}

// ---------------------------------------------------------------------------------------------
// Sockets from the stack or the kernel

/// A connection, from either side.
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()>;
}

impl Conn for net::TcpStream {
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        net::TcpStream::set_nodelay(self, nodelay)
    }
}

impl Conn for tokio::net::TcpStream {
    fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        tokio::net::TcpStream::set_nodelay(self, nodelay)
    }
}

type BoxConn = Box<dyn Conn>;

/// Where sockets come from: the stack (with its address) or the kernel.
enum Sockets {
    Stack(Stack, IpAddr),
    Kernel,
}

enum Listener {
    Stack(net::TcpListener),
    Kernel(tokio::net::TcpListener),
}

impl Sockets {
    fn name(&self) -> &'static str {
        match self {
            Sockets::Stack(..) => "tcpstk",
            Sockets::Kernel => "kernel",
        }
    }

    async fn connect(&self, addr: SocketAddr) -> io::Result<BoxConn> {
        Ok(match self {
            Sockets::Stack(stack, _) => Box::new(net::TcpStream::connect(stack, addr).await?),
            Sockets::Kernel => Box::new(tokio::net::TcpStream::connect(addr).await?),
        })
    }

    async fn listen(&self, port: u16) -> io::Result<Listener> {
        Ok(match self {
            Sockets::Stack(stack, ip) => {
                let addr = SocketAddr::new(*ip, port);
                Listener::Stack(net::TcpListener::bind(stack, addr).await?)
            }
            Sockets::Kernel => {
                let addr = SocketAddr::from(([0, 0, 0, 0], port));
                Listener::Kernel(tokio::net::TcpListener::bind(addr).await?)
            }
        })
    }
}

impl Listener {
    async fn accept(&self) -> io::Result<(BoxConn, SocketAddr)> {
        Ok(match self {
            Listener::Stack(l) => l.accept().await.map(|(s, p)| (Box::new(s) as BoxConn, p))?,
            Listener::Kernel(l) => l.accept().await.map(|(s, p)| (Box::new(s) as BoxConn, p))?,
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Listener::Stack(l) => l.local_addr(),
            Listener::Kernel(l) => l.local_addr(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sink

async fn run_sink(sockets: &Sockets, port: u16) -> Result<(), String> {
    let listener = sockets
        .listen(port)
        .await
        .map_err(|e| format!("listen on port {port}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!("tcpbench: sink listening on {local} ({})", sockets.name());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (conn, peer) = accepted.map_err(|e| format!("accept: {e}"))?;
                tokio::spawn(async move {
                    match sink_connection(conn).await {
                        Ok(report) => println!("sink {peer}: {report}"),
                        Err(e) => eprintln!("tcpbench: sink {peer}: {e}"),
                    }
                });
            }
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Drains (or, after the hello, echoes) one connection until the peer's EOF; returns its
/// report line.
async fn sink_connection(mut conn: BoxConn) -> io::Result<String> {
    let start = Instant::now();
    let mut buf = vec![0u8; READ_BUF];
    let head = read_head(&mut conn, &mut buf).await?;
    if greeting(&buf[..head]) == Greeting::Rr {
        conn.set_nodelay(true)?;
        let (bytes, hash) = echo(&mut conn, &mut buf, HELLO.len()..head).await?;
        let secs = start.elapsed().as_secs_f64();
        return Ok(format!(
            "rr: echoed {bytes} bytes in {secs:.3} s, hash {hash:016x}"
        ));
    }
    let (bytes, hash) = drain(&mut conn, &mut buf, head).await?;
    Ok(bulk_report("received", bytes, start.elapsed(), hash))
}

#[derive(Debug, PartialEq, Eq)]
enum Greeting {
    /// Could still be the hello.
    Undecided,
    /// The hello: echo what follows.
    Rr,
    /// Anything else: every byte is data.
    Bulk,
}

fn greeting(prefix: &[u8]) -> Greeting {
    if prefix.len() >= HELLO.len() {
        if prefix.starts_with(HELLO) {
            Greeting::Rr
        } else {
            Greeting::Bulk
        }
    } else if HELLO.starts_with(prefix) {
        Greeting::Undecided
    } else {
        Greeting::Bulk
    }
}

/// Reads until the first bytes tell a hello from data (or EOF); returns how many are in `buf`.
async fn read_head(conn: &mut BoxConn, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = 0;
    while greeting(&buf[..len]) == Greeting::Undecided {
        match conn.read(&mut buf[len..]).await? {
            0 => break,
            n => len += n,
        }
    }
    Ok(len)
}

/// Hashes the `head` bytes already in `buf` and everything after them until EOF.
async fn drain(conn: &mut BoxConn, buf: &mut [u8], head: usize) -> io::Result<(u64, u64)> {
    let mut hash = StreamHash::new();
    hash.update(&buf[..head]);
    loop {
        match conn.read(buf).await? {
            0 => return Ok((hash.len(), hash.finish())),
            n => hash.update(&buf[..n]),
        }
    }
}

/// Writes back `buf[pending]`, then everything read until EOF; returns the bytes echoed and
/// their hash.
async fn echo(
    conn: &mut BoxConn,
    buf: &mut [u8],
    pending: std::ops::Range<usize>,
) -> io::Result<(u64, u64)> {
    let mut hash = StreamHash::new();
    let mut data = pending;
    loop {
        hash.update(&buf[data.clone()]);
        conn.write_all(&buf[data]).await?;
        match conn.read(buf).await? {
            0 => break,
            n => data = 0..n,
        }
    }
    conn.shutdown().await?;
    Ok((hash.len(), hash.finish()))
}

// ---------------------------------------------------------------------------------------------
// Source

async fn run_source(sockets: &Sockets, addr: SocketAddr, bytes: u64) -> Result<(), String> {
    let mut conn = sockets
        .connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let start = Instant::now();
    let hash = send_pattern(&mut conn, bytes)
        .await
        .map_err(|e| format!("send to {addr}: {e}"))?;
    finish(&mut conn)
        .await
        .map_err(|e| format!("close with {addr}: {e}"))?;
    println!(
        "source {addr}: {}",
        bulk_report("sent", bytes, start.elapsed(), hash)
    );
    Ok(())
}

/// Writes the pattern's first `bytes` bytes; returns their hash.
async fn send_pattern(conn: &mut BoxConn, bytes: u64) -> io::Result<u64> {
    let mut hash = StreamHash::new();
    while hash.len() < bytes {
        let left = usize::try_from(bytes - hash.len()).unwrap_or(usize::MAX);
        let data = pattern::chunk(hash.len(), left);
        let n = conn.write(data).await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        hash.update(&data[..n]);
    }
    Ok(hash.finish())
}

/// Shuts our side down and waits for the peer to close its own (discarding anything it sends):
/// once it has, every byte was delivered.
async fn finish(conn: &mut BoxConn) -> io::Result<()> {
    conn.shutdown().await?;
    let mut buf = vec![0u8; READ_BUF];
    while conn.read(&mut buf).await? > 0 {}
    Ok(())
}

/// One line about a bulk transfer.
fn bulk_report(verb: &str, bytes: u64, elapsed: Duration, hash: u64) -> String {
    let secs = elapsed.as_secs_f64();
    format!(
        "{verb} {bytes} bytes in {secs:.3} s: {:.3} Gbit/s, hash {hash:016x}",
        gbit_per_s(bytes, elapsed)
    )
}

fn gbit_per_s(bytes: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        bytes as f64 * 8.0 / secs / 1e9
    } else {
        0.0
    }
}

// ---------------------------------------------------------------------------------------------
// Request/response

async fn run_rr(
    sockets: &Sockets,
    addr: SocketAddr,
    size: usize,
    count: u64,
) -> Result<(), String> {
    let mut conn = sockets
        .connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    conn.set_nodelay(true).map_err(|e| e.to_string())?;
    conn.write_all(HELLO)
        .await
        .map_err(|e| format!("send to {addr}: {e}"))?;
    let start = Instant::now();
    let (latencies, hash) = round_trips(&mut conn, size, count)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    let elapsed = start.elapsed();
    finish(&mut conn)
        .await
        .map_err(|e| format!("close with {addr}: {e}"))?;
    println!("rr {addr}: {}", rr_report(size, latencies, elapsed, hash));
    Ok(())
}

/// Sends `count` requests of `size` bytes, each after the previous one's echo; returns each
/// round trip's time in nanoseconds and the requests' hash. Writing and reading overlap, so a
/// request larger than the buffers on the way cannot deadlock.
async fn round_trips(conn: &mut BoxConn, size: usize, count: u64) -> io::Result<(Vec<u64>, u64)> {
    let (mut rd, mut wr) = tokio::io::split(conn);
    let mut request = vec![0u8; size];
    let mut reply = vec![0u8; size];
    let mut hash = StreamHash::new();
    let mut latencies = Vec::with_capacity(usize::try_from(count).unwrap_or(0).min(1 << 24));
    for i in 0..count {
        pattern::fill(&mut request, hash.len());
        let sent = Instant::now();
        tokio::try_join!(wr.write_all(&request), rd.read_exact(&mut reply))?;
        latencies.push(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
        if reply != request {
            let e = format!("round trip {i}: the echo differs from the request");
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        hash.update(&request);
    }
    Ok((latencies, hash.finish()))
}

/// One line about a request/response run.
fn rr_report(size: usize, mut latencies: Vec<u64>, elapsed: Duration, hash: u64) -> String {
    latencies.sort_unstable();
    let count = latencies.len();
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { count as f64 / secs } else { 0.0 };
    let mean = latencies.iter().map(|&n| n as f64).sum::<f64>() / count.max(1) as f64;
    let micros = |nanos: f64| nanos / 1e3;
    format!(
        "{count} round trips of {size} bytes in {secs:.3} s: {rate:.0} round trips/s, \
         latency mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, hash {hash:016x}",
        micros(mean),
        micros(percentile(&latencies, 0.50) as f64),
        micros(percentile(&latencies, 0.99) as f64),
        micros(latencies.last().copied().unwrap_or(0) as f64),
    )
}

/// The `q` quantile (0 to 1) of sorted values, by the nearest rank; 0 when there are none.
fn percentile(sorted: &[u64], q: f64) -> u64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return 0;
    };
    let rank = (last as f64 * q).round() as usize;
    sorted[rank.min(last)]
}

// ---------------------------------------------------------------------------------------------
// The hash

/// FNV-1a 64 over 64-bit little-endian words, streaming (see the module docs for the exact
/// definition): any split of the same bytes gives the same hash.
#[derive(Clone, Debug)]
struct StreamHash {
    h: u64,
    /// Bytes of an incomplete word, waiting for the rest.
    tail: [u8; 8],
    tail_len: usize,
    len: u64,
}

impl StreamHash {
    const BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Self {
        StreamHash {
            h: Self::BASIS,
            tail: [0; 8],
            tail_len: 0,
            len: 0,
        }
    }

    /// Bytes hashed so far.
    fn len(&self) -> u64 {
        self.len
    }

    fn mix(h: u64, word: [u8; 8]) -> u64 {
        (h ^ u64::from_le_bytes(word)).wrapping_mul(Self::PRIME)
    }

    fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < 8 {
                return;
            }
            self.h = Self::mix(self.h, self.tail);
            self.tail_len = 0;
        }
        let (words, rest) = data.as_chunks::<8>();
        self.h = words.iter().fold(self.h, |h, &w| Self::mix(h, w));
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    fn finish(&self) -> u64 {
        let mut h = self.h;
        if self.tail_len > 0 {
            let mut last = [0u8; 8];
            last[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
            h = Self::mix(h, last);
        }
        Self::mix(h, self.len.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse_args(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    fn hash(data: &[u8]) -> u64 {
        let mut h = StreamHash::new();
        h.update(data);
        h.finish()
    }

    #[test]
    fn modes_parse_with_defaults() {
        assert_eq!(
            args(&["sink"]),
            Ok(Args {
                kernel: false,
                mode: Mode::Sink { port: 5201 }
            })
        );
        assert_eq!(
            args(&[
                "--kernel",
                "source",
                "--connect",
                "10.200.0.2:9",
                "--bytes",
                "10Mi"
            ]),
            Ok(Args {
                kernel: true,
                mode: Mode::Source {
                    connect: "10.200.0.2:9".parse().unwrap(),
                    bytes: 10 << 20
                }
            })
        );
        assert_eq!(
            args(&[
                "rr",
                "--connect",
                "[fd00::2]:80",
                "--kernel",
                "--count",
                "1k"
            ]),
            Ok(Args {
                kernel: true,
                mode: Mode::Rr {
                    connect: "[fd00::2]:80".parse().unwrap(),
                    size: 64,
                    count: 1000
                }
            })
        );
    }

    #[test]
    fn bad_arguments_are_refused() {
        for bad in [
            &[][..],
            &["bogus"],
            &["sink", "--port"],
            &["sink", "--port", "70000"],
            &["sink", "--bytes", "1"],
            &["sink", "stray"],
            &["source"],
            &["source", "--connect", "10.200.0.2"],
            &["source", "--connect", "10.200.0.2:1", "--bytes", "1X"],
            &["rr", "--connect", "10.200.0.2:1", "--size", "0"],
            &["rr", "--connect", "10.200.0.2:1", "--count", "0"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sizes_take_decimal_and_binary_suffixes() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("1500"), Ok(1500));
        assert_eq!(parse_size("10k"), Ok(10_000));
        assert_eq!(parse_size("2G"), Ok(2_000_000_000));
        assert_eq!(parse_size("1Gi"), Ok(1 << 30));
        assert_eq!(parse_size("3Ti"), Ok(3 << 40));
        for bad in ["", "k", "-1", "1.5G", "1 G", "1g", "99999999999T", "1Gib"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_matches_the_python_reference() {
        // Values from the Python function in the module docs.
        assert_eq!(hash(b""), 0xaf63_bd4c_8601_b7df);
        assert_eq!(hash(b"a"), 0x089b_e307_b544_f397);
        assert_eq!(hash(b"tcpbench"), 0x0800_20ad_52d6_2d91);
        let mut data = vec![0u8; 1000];
        pattern::fill(&mut data, 0);
        assert_eq!(hash(&data), 0xb139_2ea2_4e08_5ccc);
    }

    #[test]
    fn hash_does_not_depend_on_how_the_stream_is_split() {
        let mut data = vec![0u8; 4099];
        pattern::fill(&mut data, 17);
        let whole = hash(&data);
        for step in [1, 3, 7, 8, 9, 64, 1000] {
            let mut h = StreamHash::new();
            data.chunks(step).for_each(|c| h.update(c));
            assert_eq!(h.finish(), whole, "pieces of {step}");
            assert_eq!(h.len(), data.len() as u64);
        }
    }

    #[test]
    fn hash_tells_trailing_zeros_and_reordering_apart() {
        assert_ne!(hash(b"ab"), hash(b"ab\0"));
        assert_ne!(hash(b"abcdefgh12345678"), hash(b"12345678abcdefgh"));
    }

    #[test]
    fn the_hello_is_told_from_data() {
        assert_eq!(greeting(b""), Greeting::Undecided);
        assert_eq!(greeting(b"TBRR"), Greeting::Undecided);
        assert_eq!(greeting(HELLO), Greeting::Rr);
        assert_eq!(greeting(b"TBRR/1\r\nmore"), Greeting::Rr);
        assert_eq!(greeting(b"TBRX"), Greeting::Bulk);
        assert_eq!(greeting(&[0, 1, 2]), Greeting::Bulk);
        assert_eq!(greeting(b"TBRR/1\r\r"), Greeting::Bulk);
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        assert_eq!(percentile(&[], 0.5), 0);
        assert_eq!(percentile(&[7], 0.99), 7);
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 51);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&values, 1.0), 100);
    }

    #[test]
    fn throughput_in_gbit_per_s() {
        let g = gbit_per_s(1_250_000_000, Duration::from_secs(1));
        assert!((g - 10.0).abs() < 1e-9);
        assert_eq!(gbit_per_s(5, Duration::ZERO), 0.0);
    }

    /// A sink and a source over the kernel's loopback: the hashes agree, and the hello turns
    /// the sink into an echo.
    #[tokio::test]
    async fn sink_source_and_rr_over_loopback() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sink = tokio::spawn(async move {
            let mut reports = Vec::new();
            for _ in 0..2 {
                let (conn, _) = listener.accept().await.unwrap();
                reports.push(sink_connection(Box::new(conn)).await.unwrap());
            }
            reports
        });
        let mut conn: BoxConn = Box::new(tokio::net::TcpStream::connect(addr).await.unwrap());
        let sent = send_pattern(&mut conn, 1_000_003).await.unwrap();
        finish(&mut conn).await.unwrap();
        let mut conn: BoxConn = Box::new(tokio::net::TcpStream::connect(addr).await.unwrap());
        conn.write_all(HELLO).await.unwrap();
        let (latencies, echoed) = round_trips(&mut conn, 300_000, 3).await.unwrap();
        finish(&mut conn).await.unwrap();
        let reports = sink.await.unwrap();

        assert!(reports[0].contains("received 1000003 bytes"));
        assert!(
            reports[0].ends_with(&format!("hash {sent:016x}")),
            "{}",
            reports[0]
        );
        assert_eq!(latencies.len(), 3);
        assert!(reports[1].contains("echoed 900000 bytes"), "{}", reports[1]);
        assert!(
            reports[1].ends_with(&format!("hash {echoed:016x}")),
            "{}",
            reports[1]
        );
    }
}
