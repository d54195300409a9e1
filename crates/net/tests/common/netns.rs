//! Network namespaces for the tests that run against the Linux kernel.
//!
//! [`in_new_netns`] runs a closure on a thread of its own that it first moves into a fresh
//! network namespace with `unshare(CLONE_NEWNET)`. Only that thread moves: the machine's own
//! namespace is never configured, the other tests are not disturbed, and two tests may create
//! interfaces of the same name at once. Everything the kernel side of a test does must happen
//! on that thread: sockets and interfaces belong to the namespace of the thread that creates
//! them (a socket, once created, can be used from any thread). So build a current-thread Tokio
//! runtime inside the closure; a multi-thread runtime's workers, and `spawn_blocking` threads,
//! stay in the original namespace.
//!
//! What sees the namespace from that thread: sockets and ioctls on them, netlink, and child
//! processes (`std::process::Command` forks from the calling thread, so `ip` run from it shows
//! the new namespace), and `/proc/thread-self/net/`. What does not: `/sys/class/net`
//! (sysfs shows the namespace of whoever mounted it) and `/proc/self/net` or `/proc/net`
//! (those follow the process's main thread).
//!
//! Include it with `#[path = "common/netns.rs"] mod netns;`.

use std::process::Command;

use nix::sched::{CloneFlags, unshare};
use nix::unistd::geteuid;

/// Runs `f` on a new thread in a fresh network namespace whose loopback is up, and returns
/// its result (a panic in `f` fails the caller the same way).
///
/// # Panics
///
/// Unless the effective user is root (in the machine's or a user namespace), or when the
/// namespace cannot be created: these tests need to create interfaces, and they fail rather
/// than pass without running.
pub fn in_new_netns<F: FnOnce() -> T + Send, T: Send>(f: F) -> T {
    assert!(
        geteuid().is_root(),
        "this test creates network interfaces in a network namespace: run as root (CI does) \
         or in a user+network namespace: unshare -rn cargo test -p tcpstk-net (a TUN then \
         also needs /dev/net/tun to be mode 0666, as most distributions ship it)"
    );
    std::thread::scope(|scope| {
        let thread = scope.spawn(|| {
            if let Err(e) = unshare(CloneFlags::CLONE_NEWNET) {
                panic!("unshare(CLONE_NEWNET) failed ({e}): the test needs CAP_SYS_ADMIN");
            }
            ip(&["link", "set", "lo", "up"]);
            f()
        });
        thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Runs iproute2's `ip` with `args` in the calling thread's network namespace and returns what
/// it printed.
///
/// # Panics
///
/// When `ip` is missing (install iproute2) or fails.
pub fn ip(args: &[&str]) -> String {
    let output = Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running `ip` (install iproute2): {e}"));
    assert!(
        output.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
