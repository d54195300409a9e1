//! The TCP options the kernel negotiated with the stack, read back from the kernel's side with
//! `ss -tino` in the test's namespace: the MSS the kernel uses is the one the stack
//! advertised, in the stack's SYN and in its SYN-ACK, less the 12 bytes of the timestamps both
//! agreed to (RFC 7323 §3.2); window scaling is on, with the stack's shift for its 256 KB
//! receive buffer (RFC 7323 §2.2); SACK-permitted is exchanged both ways (RFC 2018 §2).
//!
//! `ss` prints `ts` and `sack` only with `-o` (iproute2 6.1 reads the option bits under
//! `--options`); without it their absence proves nothing. So a kernel-to-kernel connection in
//! the same namespace is read first, as a control: there the kernel shows all three. In a
//! network namespace of its own (`common/ns.rs`); needs root and iproute2, as CI has.

#[path = "common/ns.rs"]
mod ns;

use std::net::SocketAddr;
use std::time::Duration;

use net::{Stack, TcpListener, TcpStream};

const LIMIT: Duration = Duration::from_secs(60);

/// What `ss -tino` says a kernel socket negotiated.
#[derive(Debug, PartialEq, Eq)]
struct Negotiated {
    /// `mss:`: the kernel's sending MSS (the peer's MSS option, less the timestamp option's 12
    /// bytes when timestamps are on).
    mss: u32,
    /// `wscale:SND,RCV`, present only when both sides sent the window scale option.
    wscale: Option<(u8, u8)>,
    /// `ts`: timestamps negotiated.
    ts: bool,
    /// `sack`: SACK-permitted exchanged.
    sack: bool,
}

/// The kernel's established sockets whose peer is `peer`, as `ss -tino` describes them.
fn kernel_sockets_to(peer: SocketAddr) -> Vec<Negotiated> {
    let output = ns::tool("ss", "iproute2", &["-tinoH", "state", "established"]);
    let mut sockets = Vec::new();
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        // "Recv-Q Send-Q Local:Port Peer:Port [timer]" (no state column with a state filter),
        // then the details on the next, indented, line.
        let words: Vec<&str> = line.split_whitespace().collect();
        let details = lines
            .next()
            .unwrap_or_else(|| panic!("no details after {line:?}"));
        if words.get(3).and_then(|w| w.parse::<SocketAddr>().ok()) == Some(peer) {
            sockets.push(parse(details));
        }
    }
    sockets
}

/// Parses the details line of one socket.
fn parse(details: &str) -> Negotiated {
    let words: Vec<&str> = details.split_whitespace().collect();
    let value = |key: &str| words.iter().find_map(|w| w.strip_prefix(key));
    Negotiated {
        mss: value("mss:")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no mss in {details:?}")),
        wscale: value("wscale:").map(|v| {
            let (snd, rcv) = v.split_once(',').expect("wscale:SND,RCV");
            (
                snd.parse().expect("snd_wscale"),
                rcv.parse().expect("rcv_wscale"),
            )
        }),
        ts: words.contains(&"ts"),
        sack: words.contains(&"sack"),
    }
}

/// The control: two kernel sockets in this namespace negotiate everything, and `ss` shows it.
async fn kernel_to_kernel_shows_every_option() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen on loopback");
    let addr = listener.local_addr().expect("address");
    let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let client = client.expect("connect");
    let _server = accepted.expect("accept");
    let [seen] = &kernel_sockets_to(addr)[..] else {
        panic!("one kernel socket to {addr}");
    };
    assert!(
        seen.ts && seen.sack && seen.wscale.is_some(),
        "the kernel negotiates ts, sack and wscale with itself, and ss shows them: {seen:?}"
    );
    drop(client);
}

/// Connects both ways between the kernel and `stack` over the family of `v6`, and returns what
/// the kernel negotiated: (the stack's SYN, the stack's SYN-ACK).
async fn negotiated_with(stack: &Stack, v6: bool) -> (Negotiated, Negotiated) {
    // The stack connects: the kernel read the options of the stack's SYN.
    let listener = tokio::net::TcpListener::bind(ns::kernel_addr(v6, 0))
        .await
        .expect("the kernel listens");
    let (client, accepted) = tokio::join!(
        TcpStream::connect(stack, listener.local_addr().expect("address")),
        listener.accept()
    );
    let client = client.expect("the stack connects");
    let _server = accepted.expect("the kernel accepts");
    let [from_syn] = <[Negotiated; 1]>::try_from(kernel_sockets_to(
        client.local_addr().expect("the stack's address"),
    ))
    .expect("one kernel socket to the stack's client");

    // The kernel connects: it read the options of the stack's SYN-ACK.
    let addr = ns::stack_addr(v6, 8080);
    let listener = TcpListener::bind(stack, addr)
        .await
        .expect("the stack listens");
    let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), listener.accept());
    let _client = client.expect("the kernel connects");
    let _server = accepted.expect("the stack accepts");
    let [from_syn_ack] = <[Negotiated; 1]>::try_from(kernel_sockets_to(addr))
        .expect("one kernel socket to the stack's listener");
    (from_syn, from_syn_ack)
}

/// The stack's shift for the 4 MiB its receive buffer may grow to by default: 65535 << 7 is the
/// first to cover it (RFC 7323 §2.3).
const STACK_WSCALE: u8 = 7;

/// The options the stack offers (RFC 7323 window scaling and timestamps, RFC 2018
/// SACK-permitted), agreed to by the kernel.
fn assert_negotiated(negotiated: &Negotiated, mss: u32, what: &str) {
    assert_eq!(
        negotiated.mss,
        mss - 12,
        "{what}: the kernel uses the stack's MSS, less the timestamp option's 12 bytes"
    );
    // `wscale:SND,RCV` from the kernel's side: SND is the stack's shift.
    assert_eq!(
        negotiated.wscale.map(|(snd, _)| snd),
        Some(STACK_WSCALE),
        "{what}: window scaling with the stack's shift"
    );
    assert!(negotiated.ts, "{what}: timestamps");
    assert!(negotiated.sack, "{what}: SACK-permitted in both SYNs");
}

#[test]
fn kernel_negotiates_wscale_ts_and_sack_with_stack_v4() {
    ns::run(LIMIT, || async {
        kernel_to_kernel_shows_every_option().await;
        let stack = ns::stack();
        let (syn, syn_ack) = negotiated_with(&stack, false).await;
        // MTU 1500 less 20 bytes of IPv4 header and 20 of TCP header.
        assert_negotiated(&syn, 1460, "the stack's SYN");
        assert_negotiated(&syn_ack, 1460, "the stack's SYN-ACK");
    });
}

#[test]
fn kernel_negotiates_wscale_ts_and_sack_with_stack_v6() {
    ns::run(LIMIT, || async {
        kernel_to_kernel_shows_every_option().await;
        let stack = ns::stack();
        let (syn, syn_ack) = negotiated_with(&stack, true).await;
        // IPv6's header is 20 bytes longer.
        assert_negotiated(&syn, 1440, "the stack's SYN");
        assert_negotiated(&syn_ack, 1440, "the stack's SYN-ACK");
    });
}

/// 1460 is also what the kernel would derive from its own MTU; a smaller configured MSS shows
/// that the kernel takes the value from the stack's option.
#[test]
fn kernel_uses_the_stack_configured_mss() {
    ns::run(LIMIT, || async {
        let stack = ns::stack_with(fsm::Config {
            mss: 1000,
            ..fsm::Config::default()
        });
        let (syn, syn_ack) = negotiated_with(&stack, false).await;
        assert_negotiated(&syn, 1000, "the stack's SYN");
        assert_negotiated(&syn_ack, 1000, "the stack's SYN-ACK");
    });
}

/// With every option off in the stack's configuration, the kernel negotiates none: only the
/// MSS, whole.
#[test]
fn kernel_negotiates_only_mss_with_options_off() {
    ns::run(LIMIT, || async {
        let stack = ns::stack_with(fsm::Config {
            window_scaling: false,
            timestamps: false,
            sack: false,
            ..fsm::Config::default()
        });
        let (syn, syn_ack) = negotiated_with(&stack, false).await;
        for (seen, what) in [(syn, "the stack's SYN"), (syn_ack, "the stack's SYN-ACK")] {
            assert_eq!(seen.mss, 1460, "{what}: the stack's MSS");
            assert_eq!(seen.wscale, None, "{what}: no window scaling");
            assert!(!seen.ts && !seen.sack, "{what}: no timestamps, no SACK");
        }
    });
}
