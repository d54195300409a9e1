//! A fresh network namespace per kernel test, with the stack on a TUN device inside it.
//!
//! [`run`] moves a new thread into a new network namespace (`unshare(CLONE_NEWNET)`, through
//! `crates/net/tests/common/netns.rs`) and runs the test there on a current-thread Tokio runtime.
//! Everything the test creates lives in that namespace: the TUN device ([`stack`]), the kernel's
//! sockets (`tokio::net`, created on that thread), and the processes it spawns (`nft`, `ss`,
//! `curl`, the example binaries: a child forks from the calling thread and inherits its
//! namespace). The machine's namespace is never configured, two tests may use the same addresses
//! and interface names at once, and the namespace, its interfaces and its nftables rules vanish
//! when the thread ends.
//!
//! Without root the tests fail, with a message saying how to run them; they never pass without
//! having run.
//!
//! Include it with `#[path = "common/ns.rs"] mod ns;`.
#![allow(
    dead_code,
    reason = "each test file uses the part of this module it needs"
)]

#[path = "../../crates/net/tests/common/netns.rs"]
mod netns;

use std::future::Future;
use std::io::Write;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Command, Stdio};
use std::time::Duration;

use net::Stack;
use net::device::{PcapTap, TunConfig, TunDevice};

/// The kernel's side of the TUN.
pub const KERNEL_V4: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 1);
/// The stack's address.
pub const STACK_V4: Ipv4Addr = Ipv4Addr::new(10, 200, 0, 2);
/// The kernel's side of the TUN, IPv6.
pub const KERNEL_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x200, 0, 0, 0, 0, 0, 1);
/// The stack's IPv6 address.
pub const STACK_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x200, 0, 0, 0, 0, 0, 2);
/// The TUN's name: the same in every test, each in its own namespace (and the examples' default).
pub const TUN: &str = "tcpstk0";
/// The TUN's MTU: the stack advertises an MSS of 1460 over IPv4, 1440 over IPv6.
pub const MTU: usize = 1500;

/// How to run these tests, for the failure without privileges.
const HOW_TO_RUN: &str = "the kernel tests (tests/kernel_*.rs) create network namespaces, TUN \
    devices and nftables rules, which needs root: run them as root, as CI does (for example \
    `sudo -E env PATH=\"$PATH\" cargo test --test 'kernel_*'`); they need iproute2, nftables \
    and curl installed";

/// Fails the test, saying how to run it, unless it runs as root.
pub fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "{HOW_TO_RUN}");
}

/// Runs `test` in a fresh network namespace on a current-thread runtime, and fails it when the
/// future it returns takes longer than `limit` (a guard against hangs, not a speed
/// requirement). The closure itself runs first, on the namespace's thread and before the limit
/// starts: slow synchronous setup (building an example) goes there.
///
/// # Panics
///
/// Without root, when the namespace cannot be made, and when `test` fails or times out.
pub fn run<F: Future<Output = ()>>(limit: Duration, test: impl FnOnce() -> F + Send) {
    require_root();
    netns::in_new_netns(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        runtime.block_on(async {
            if tokio::time::timeout(limit, test()).await.is_err() {
                panic!("the test did not finish within {limit:?} (a hang guard)");
            }
        });
    });
}

/// The TUN's configuration: the kernel at 10.200.0.1/24 and fd00:200::1/64.
pub fn tun_config() -> TunConfig {
    TunConfig::new()
        .name(TUN)
        .ipv4(KERNEL_V4, 24)
        .ipv6(KERNEL_V6, 64)
        .mtu(MTU)
}

/// Creates the TUN in the calling thread's namespace and starts a stack on it, at 10.200.0.2
/// and fd00:200::2, with the engine's default configuration.
///
/// With `TCPSTK_TEST_PCAP=DIR` in the environment, the stack's packets are also recorded to
/// `DIR/<test thread's id>.pcap` (for debugging a failure; the recording slows the stack).
pub fn stack() -> Stack {
    stack_with(fsm::Config::default())
}

/// As [`stack`], with the engine's configuration `config`.
pub fn stack_with(config: fsm::Config) -> Stack {
    let tun = TunDevice::new(&tun_config()).expect("create the TUN device");
    let builder = Stack::builder()
        .address(STACK_V4.into())
        .address(STACK_V6.into())
        .config(config);
    match std::env::var_os("TCPSTK_TEST_PCAP") {
        Some(dir) => {
            let path = std::path::Path::new(&dir).join(format!("{}.pcap", nix::unistd::gettid()));
            eprintln!("recording the stack's packets to {}", path.display());
            let tap = PcapTap::create(tun, &path).expect("create the pcap file");
            builder.build(tap)
        }
        None => builder.build(tun),
    }
    .expect("start the stack")
}

/// The kernel's address of a family, on `port`.
pub fn kernel_addr(v6: bool, port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(KERNEL_V6.into(), port)
    } else {
        SocketAddr::new(KERNEL_V4.into(), port)
    }
}

/// The stack's address of a family, on `port`.
pub fn stack_addr(v6: bool, port: u16) -> SocketAddr {
    if v6 {
        SocketAddr::new(STACK_V6.into(), port)
    } else {
        SocketAddr::new(STACK_V4.into(), port)
    }
}

/// Runs `program` with `args` in the calling thread's namespace and returns its standard
/// output.
///
/// # Panics
///
/// When the program is missing (the message names `package`, which provides it) or fails.
pub fn tool(program: &str, package: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running `{program}` (install {package}): {e}"));
    assert!(
        output.status.success(),
        "`{program} {}` failed ({}): {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs iproute2's `ip` in the calling thread's namespace.
pub fn ip(args: &[&str]) -> String {
    netns::ip(args)
}

/// Loads an nftables ruleset (`nft -f -`) in the calling thread's namespace.
///
/// # Panics
///
/// When `nft` is missing (install nftables) or refuses the ruleset.
pub fn nft(ruleset: &str) {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running `nft` (install nftables): {e}"));
    child
        .stdin
        .take()
        .expect("nft's stdin")
        .write_all(ruleset.as_bytes())
        .expect("write the ruleset to nft");
    let output = child.wait_with_output().expect("wait for nft");
    assert!(
        output.status.success(),
        "nft refused the ruleset ({}): {}\n{ruleset}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Polls `condition` every millisecond until it holds; fails after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
