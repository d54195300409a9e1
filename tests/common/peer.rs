//! A second network namespace behind the test's: a remote host for the kernel side, reached
//! through the test's namespace acting as a router, as a server on the internet is reached.
//!
//! ```text
//!  stack ──TUN── [ test namespace: 10.200.0.1 | router | 10.201.0.1 ] ──veth── [ peer: 10.201.0.2 ]
//! ```
//!
//! The peer is held by a thread of its own, which moves into a fresh namespace
//! (`unshare(CLONE_NEWNET)`) and runs a current-thread Tokio runtime; [`Peer::run`] and
//! [`Peer::spawn`] run code on it, so the sockets and processes they create live in the peer's
//! namespace. [`Peer::behind_router`] creates the veth pair from the test's namespace with the
//! far end put straight into the peer's (`ip link add ... peer name veth-b netns <thread id>`:
//! the kernel takes the namespace of the task with that id, which may be a thread), then
//! addresses both ends and turns forwarding on in the test's namespace only. Nothing is named
//! or mounted (unlike `ip netns add`), so nothing can be left behind: when the [`Peer`] is
//! dropped its thread ends, the namespace goes, and the veth pair with it.
//!
//! Include it with `#[path = "common/peer.rs"] mod peer;` beside `ns` (which it uses).
#![allow(
    dead_code,
    reason = "each test file uses the part of this module it needs"
)]

use std::future::Future;
use std::net::Ipv4Addr;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::thread::JoinHandle;

use nix::sched::{CloneFlags, unshare};
use tokio::sync::mpsc;

use crate::ns;

/// The router's address on the link to the peer (the test's namespace).
pub const ROUTER_V4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 1);
/// The peer's address.
pub const PEER_V4: Ipv4Addr = Ipv4Addr::new(10, 201, 0, 2);
/// The router's end of the veth pair, in the test's namespace.
pub const ROUTER_IF: &str = "veth-a";
/// The peer's end of the veth pair, in the peer's namespace.
pub const PEER_IF: &str = "veth-b";

type Job = Box<dyn FnOnce() + Send>;

/// A thread in a network namespace of its own, running the jobs it is given.
pub struct Peer {
    tid: i32,
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

/// How the peer routes back to the stack's subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Routing {
    /// The peer has a route to 10.200.0.0/24 through the router and sees the stack's address.
    RouteBack,
    /// The peer knows nothing beyond its link; the router masquerades the stack's connections
    /// behind 10.201.0.1 (nftables), as a home router does toward the internet.
    Masquerade,
}

impl Peer {
    /// Starts the peer's thread in a fresh network namespace whose loopback is up.
    ///
    /// # Panics
    ///
    /// When the namespace cannot be created (not root).
    pub fn new() -> Peer {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (jobs_tx, mut jobs_rx) = mpsc::unbounded_channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("peer-netns".into())
            .spawn(move || {
                if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
                    panic!("unshare(CLONE_NEWNET) failed ({e}): the test needs root");
                }
                ns::ip(&["link", "set", "lo", "up"]);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("the peer's runtime");
                tid_tx
                    .send(nix::unistd::gettid().as_raw())
                    .expect("report the thread id");
                runtime.block_on(async {
                    while let Some(job) = jobs_rx.recv().await {
                        job();
                    }
                });
            })
            .expect("spawn the peer's thread");
        let tid = tid_rx
            .recv()
            .expect("the peer's thread failed to start (its panic is above)");
        Peer {
            tid,
            jobs: Some(jobs_tx),
            thread: Some(thread),
        }
    }

    /// Runs `f` on the peer's thread, in its namespace and inside its runtime (so `f` may
    /// `tokio::spawn` tasks that outlive it), and returns its result. Blocks the caller: keep
    /// `f` short.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        self.jobs
            .as_ref()
            .expect("the peer is running")
            .send(Box::new(move || {
                let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
            }))
            .unwrap_or_else(|_| panic!("the peer's thread is gone"));
        match rx.recv().expect("the peer's thread is gone") {
            Ok(value) => value,
            Err(panic) => resume_unwind(panic),
        }
    }

    /// Spawns the future `f` makes on the peer's runtime; `f` runs on the peer's thread, so
    /// the sockets the future opens are in the peer's namespace. The handle can be awaited
    /// from the test's runtime.
    pub fn spawn<F, Fut>(&self, f: F) -> tokio::task::JoinHandle<Fut::Output>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.run(move || tokio::spawn(f()))
    }

    /// Joins the calling thread's namespace (the test's, as the router) to the peer's: a veth
    /// pair `veth-a` 10.201.0.1/24 (here) — `veth-b` 10.201.0.2/24 (there), IPv4 forwarding on
    /// here, and the peer's way back to the stack's subnet as `routing` says.
    ///
    /// # Panics
    ///
    /// When a command fails (iproute2, and nftables for masquerading, must be installed).
    pub fn behind_router(&self, routing: Routing) {
        let tid = self.tid.to_string();
        ns::ip(&[
            "link", "add", ROUTER_IF, "type", "veth", "peer", "name", PEER_IF, "netns", &tid,
        ]);
        ns::ip(&["addr", "add", &format!("{ROUTER_V4}/24"), "dev", ROUTER_IF]);
        ns::ip(&["link", "set", ROUTER_IF, "up"]);
        self.run(move || {
            ns::ip(&["addr", "add", &format!("{PEER_V4}/24"), "dev", PEER_IF]);
            ns::ip(&["link", "set", PEER_IF, "up"]);
            if routing == Routing::RouteBack {
                ns::ip(&[
                    "route",
                    "add",
                    "10.200.0.0/24",
                    "via",
                    &ROUTER_V4.to_string(),
                ]);
            }
        });
        // /proc/sys/net resolves to the namespace of the thread that opens it: this writes the
        // test namespace's setting, not the machine's.
        std::fs::write("/proc/sys/net/ipv4/ip_forward", "1").expect("turn IPv4 forwarding on");
        if routing == Routing::Masquerade {
            ns::nft(&format!(
                "table ip tcpstk_nat {{
                    chain postrouting {{
                        type nat hook postrouting priority srcnat; policy accept;
                        oifname \"{ROUTER_IF}\" masquerade
                    }}
                }}"
            ));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Closing the job queue ends the thread's loop; its runtime, tasks and sockets go, and
        // the namespace with its last thread.
        self.jobs.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
            && !std::thread::panicking()
        {
            panic!("the peer's thread panicked");
        }
    }
}
