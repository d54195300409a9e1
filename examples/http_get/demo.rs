//! The guided tour: `http_get` with no URL (or `--demo`).
//!
//! It needs nothing else. At the very start of `main`, before any thread exists, the process
//! moves into a private network namespace (`unshare(CLONE_NEWNET)` as root; a user namespace
//! too otherwise), so nothing it does touches the machine's network. There it creates its TUN
//! device and the stack, starts a small HTTP server on the kernel's side of the TUN (kernel
//! sockets: `tokio::net::TcpListener` on the `--host` address, port 80), fetches its page
//! through the stack with the ladder on, and then explains the ladder step by step, mapping
//! each part to the lesson the project began from (URL → DNS → three-way handshake → data →
//! four-way close; the flags; the states), with this run's numbers. The MSL is shortened to
//! one second so that TIME-WAIT, drawn to its end, takes two.

use std::fmt::Write as _;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use nix::sched::{CloneFlags, unshare};
use nix::unistd::{getegid, geteuid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::TunFlags;
use crate::explain;
use crate::trace::{Recorder, Sink, secs};
use crate::url::Url;
use crate::{Fetched, Mode, Options};

/// The demo's MSL: TIME-WAIT lasts twice this.
const MSL: Duration = Duration::from_secs(1);
/// The demo server's port.
const PORT: u16 = 80;
/// How long any step of the demo may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long the demo server waits between the client's FIN and its own: as a server finishing
/// its work would, and long enough for the kernel's ACK of our FIN to leave on its own, so the
/// ladder shows the lesson's four segments rather than three.
const SERVER_PAUSE: Duration = Duration::from_millis(200);

/// The page the demo server serves.
const PAGE: &str = "<!DOCTYPE html>\n<html><head><title>tcpstk demo</title></head>\n\
<body><h1>Hello through a userspace TCP stack</h1>\n\
<p>This page left a kernel socket, crossed a TUN device and was reassembled by tcpstk.</p>\n\
</body></html>\n";

/// Runs the tour; returns the exit status.
pub fn main(flags: &TunFlags, options: &Options) -> i32 {
    if options.msl.is_some() || options.trace {
        eprintln!("note: the demo always traces, with an MSL of {}", secs(MSL));
    }
    let root = geteuid().is_root();
    if let Err(message) = enter_namespace(root) {
        eprintln!("error: {message}");
        return 1;
    }
    let recorder = Recorder::new(flags.addr, Some(Sink::Stdout), MSL);
    crate::init_tracing(flags.verbose, Some(recorder.clone()));
    let result = crate::runtime().block_on(tour(flags, root, &recorder));
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}

/// Moves the process into a new network namespace; when not root, into a new user namespace
/// first, where it is root (RFC-free Linux: user_namespaces(7)). Must run while the process
/// has a single thread.
fn enter_namespace(root: bool) -> Result<(), String> {
    if root {
        return unshare(CloneFlags::CLONE_NEWNET).map_err(|e| {
            format!("cannot create a network namespace ({e}): the demo needs CAP_SYS_ADMIN")
        });
    }
    let (uid, gid) = (geteuid(), getegid());
    unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET).map_err(|e| {
        format!("cannot create a user and network namespace ({e}): run the demo with sudo")
    })?;
    let write = |path: &str, text: String| {
        std::fs::write(path, text).map_err(|e| format!("writing {path}: {e}; run with sudo"))
    };
    // setgroups must be denied before an unprivileged process may write gid_map.
    match std::fs::write("/proc/self/setgroups", "deny") {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(format!("writing /proc/self/setgroups: {e}; run with sudo"));
        }
        _ => {}
    }
    write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    write("/proc/self/gid_map", format!("0 {gid} 1"))
}

/// The tour itself, in the namespace.
async fn tour(flags: &TunFlags, root: bool, recorder: &Arc<Recorder>) -> Result<(), String> {
    let server = SocketAddr::new(flags.host, PORT);
    let url = Url::parse(&format!("http://{server}/")).map_err(|e| e.to_string())?;
    let config = fsm::Config {
        msl: MSL,
        ..fsm::Config::default()
    };
    let stack = crate::open_stack(flags, config, recorder).map_err(|e| {
        if root {
            e
        } else {
            "cannot create the TUN device as a regular user (/dev/net/tun is usually mode 0600): \
             run the demo with sudo"
                .to_owned()
        }
    })?;
    let listener = TcpListener::bind(server)
        .await
        .map_err(|e| format!("demo server: cannot listen on {server}: {e}"))?;
    let serving = tokio::spawn(serve(listener));
    print!("{}", intro(flags, &url));
    let mode = Mode {
        head: None,
        capture_body: true,
        trace: true,
        timeout: TIMEOUT,
    };
    let fetched = crate::fetch(&stack, server, &url, recorder, mode).await?;
    match tokio::time::timeout(TIMEOUT, serving).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(format!("demo server: {e}")),
        Ok(Err(e)) => return Err(format!("demo server: {e}")),
        Err(_) => return Err("demo server: did not finish".to_owned()),
    }
    print!("{}", response(&fetched));
    print!(
        "{}",
        explain::explain(&recorder.seen(), &url, &fetched, MSL)
    );
    Ok(())
}

/// The demo server: one connection, one response, then it waits for the client's FIN before
/// sending its own, so that the client performs the active close.
async fn serve(listener: TcpListener) -> io::Result<()> {
    let (mut socket, _) = listener.accept().await?;
    let mut request = Vec::new();
    let mut buf = [0u8; 4096];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 64 * 1024 {
        match socket.read(&mut buf).await? {
            0 => return Ok(()),
            n => request.extend_from_slice(&buf[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 200 OK\r\nServer: tcpstk-demo (kernel sockets)\r\n\
         Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{PAGE}",
        PAGE.len()
    );
    socket.write_all(response.as_bytes()).await?;
    // Read until the client's FIN (end of stream), pause, then close: our FIN.
    while socket.read(&mut buf).await? > 0 {}
    tokio::time::sleep(SERVER_PAUSE).await;
    drop(socket);
    Ok(())
}

/// What the demo is about to do.
fn intro(flags: &TunFlags, url: &Url) -> String {
    let paragraphs = [
        "tcpstk demo: one HTTP GET through a userspace TCP stack, told as the TCP lesson tells \
         it."
        .to_owned(),
        format!(
            "This process runs in a network namespace of its own. In it, the TUN device {tun} \
             joins two worlds: on one side the Linux kernel ({host}), which runs a small HTTP \
             server on port {PORT} with ordinary kernel sockets; on the other our userspace \
             stack ({addr}), the client. Every segment the client sends or receives is built \
             and parsed by tcpstk, not by the kernel.",
            tun = flags.tun,
            host = flags.host,
            addr = flags.addr,
        ),
        format!(
            "We now fetch {url} through our stack. Each line of the ladder below is one real \
             segment (client → server arrows point right, server → client arrows left) or one \
             state change of our connection (├─). The numbers on an arrow are relative, counted \
             from each side's initial sequence number as Wireshark shows them; the absolute \
             ones follow the ladder. The MSL is shortened to {msl} for the demo, so TIME-WAIT \
             lasts {tw}.",
            msl = secs(MSL),
            tw = secs(2 * MSL),
        ),
    ];
    let mut text = String::new();
    for paragraph in &paragraphs {
        text.push_str(&explain::wrap(paragraph, "", ""));
        text.push('\n');
    }
    text
}

/// The response, shown after the ladder so that the two do not interleave.
fn response(fetched: &Fetched) -> String {
    let mut text = String::from("\nThe response (status line and headers, then the body):\n\n");
    let _ = writeln!(text, "    {}", fetched.head.status_line());
    for (name, value) in &fetched.head.fields {
        let _ = writeln!(text, "    {name}: {value}");
    }
    text.push('\n');
    for line in String::from_utf8_lossy(&fetched.body).lines() {
        let _ = writeln!(text, "    {line}");
    }
    text
}
