//! The runner's rules, each on a short script: timing, relative times, blocking calls, field
//! comparison, and the failure messages.

use super::{Failure, run};
use crate::script;

/// A listener with connection 4 accepted at 0.1 s.
const PASSIVE: &str = "
    0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
   +0 bind(3, ..., ...) = 0
   +0 listen(3, 1) = 0
   +0 < S 0:0(0) win 65535 <mss 1460>
   +0 > S. 0:0(0) ack 1 win 65535 <mss 1460>
  +.1 < . 1:1(0) ack 1 win 65535
   +0 accept(3, ..., ...) = 4
";

fn outcome(text: &str) -> Result<(), Failure> {
    let script = script::parse(text).unwrap_or_else(|e| panic!("{e}"));
    run(&script)
}

#[track_caller]
fn pass(tail: &str) {
    if let Err(f) = outcome(&format!("{PASSIVE}{tail}")) {
        panic!("{f}");
    }
}

/// The failure of `PASSIVE` + `tail`: its line counted within `tail` (1-based), and message.
#[track_caller]
fn fail(tail: &str) -> (usize, String) {
    let base = PASSIVE.lines().count();
    match outcome(&format!("{PASSIVE}{tail}")) {
        Ok(()) => panic!("passed:\n{tail}"),
        Err(f) => (f.line - base, f.message),
    }
}

#[test]
fn the_passive_preamble_passes() {
    pass("");
}

#[test]
fn outbound_fields_are_compared_in_order() {
    let data = "+0 write(4, ..., 100) = 100\n";
    let cases = [
        (
            "+0 > P. 1:201(200) ack 1",
            "payload bytes: expected 200, actual 100",
        ),
        ("+0 > . 1:101(100) ack 1", "flags: expected ., actual P."),
        ("+0 > P. 2:102(100) ack 1", "seq: expected 2, actual 1"),
        ("+0 > P. 1:101(100) ack 9", "ack: expected 9, actual 1"),
        (
            "+0 > P. 1:101(100) ack 1 win 9",
            "win: expected 9, actual 65535",
        ),
        (
            "+0 > P. 1:101(100) ack 1 <nop,nop,sackOK>",
            "options: expected <nop,nop,sackOK>, actual <>",
        ),
    ];
    for (line, message) in cases {
        let (at, got) = fail(&format!("{data}{line}\n"));
        assert_eq!(at, 2, "{line}");
        assert!(got.starts_with(message), "{line}: {got}");
        assert!(got.contains("\n  script: 0.100000 > "), "{got}");
        assert!(
            got.contains("\n  actual: 0.100000 > P. 1:101(100) ack 1 win 65535"),
            "{got}"
        );
    }
    pass(&format!("{data}+0 > P. 1:101(100) ack 1 win 65535 <...>\n"));
}

#[test]
fn outbound_timing_uses_the_tolerance() {
    // The delayed ACK comes 40 ms after the data; 4 ms of tolerance either way.
    let data = "+0 < P. 1:11(10) ack 1 win 65535\n";
    pass(&format!("{data}+.043 > . 1:1(0) ack 11\n"));
    let (line, message) = fail(&format!("{data}+.05 > . 1:1(0) ack 11\n"));
    assert_eq!(line, 2);
    assert!(
        message.starts_with(
            "timing error: expected the outbound packet at 0.150000 s, but it happened at \
             0.140000 s (tolerance 0.006250 s)"
        ),
        "{message}"
    );
    // Ranges and `*`.
    pass(&format!("{data}+.03~+.05 > . 1:1(0) ack 11\n"));
    pass(&format!("{data}* > . 1:1(0) ack 11\n"));
    let (_, message) = fail(&format!("{data}+.01~+.02 > . 1:1(0) ack 11\n"));
    assert!(
        message.contains("between 0.110000 and 0.120000 s"),
        "{message}"
    );
}

#[test]
fn a_packet_that_never_comes_is_reported() {
    let (line, message) = fail("+1 > P. 1:11(10) ack 1\n");
    assert_eq!(line, 1);
    assert_eq!(
        message,
        "expected a packet, but the stack sent none (waited until 3.100000 s; the connection \
         is in ESTABLISHED)\n  script: 1.100000 > P. 1:11(10) ack 1"
    );
}

#[test]
fn relative_times_count_from_the_previous_event() {
    let script = script::parse(&format!(
        "{PASSIVE}+.1 < . 1:1(0) ack 1 win 65535\n+.5 close(4) = 0"
    ))
    .unwrap_or_else(|e| panic!("{e}"));
    let mut runner = super::Runner::new(&script);
    let (inbound, call) = (&script.events[7], &script.events[8]);
    // After an inbound packet that was injected late (at 0.203 for 0.2), the next inbound
    // packet counts from the packet's time, anything else from now.
    runner.now = 203_000;
    runner.last = Some(super::Last {
        time: 200_000,
        inbound_packet: true,
    });
    assert_eq!(runner.resolve(inbound), (300_000, 300_000));
    assert_eq!(runner.resolve(call), (703_000, 703_000));
    runner.last = Some(super::Last {
        time: 200_000,
        inbound_packet: false,
    });
    assert_eq!(runner.resolve(inbound), (303_000, 303_000));
    // The tolerance: 4 ms, or 12.5% of the time since the previous event.
    assert_eq!(runner.tolerance(210_000), 4_000);
    assert_eq!(runner.tolerance(1_200_000), 125_000);
}

#[test]
fn blocking_calls_are_checked_when_they_return() {
    // Returns at 0.2, not 0.5.
    let (line, message) =
        fail("+0...0.5 read(4, ..., 10) = 10\n+.1 < P. 1:11(10) ack 1 win 65535\n");
    assert_eq!(line, 1);
    assert!(
        message.starts_with(
            "timing error: expected the call to return at 0.600000 s, but it happened at 0.200000 s"
        ),
        "{message}"
    );
    // Still blocked when the script ends.
    let (line, message) = fail("+0...1 read(4, ..., 10) = 10\n");
    assert_eq!(line, 1);
    assert_eq!(
        message,
        "the script ended while read(4, ..., 10) was still blocked"
    );
    // Blocking without `...`: nothing but the script could wake it.
    let (line, message) = fail("+0 read(4, ..., 10) = 10\n");
    assert_eq!(line, 1);
    assert!(
        message.starts_with("read(4, ..., 10) blocks and no timer can end it"),
        "{message}"
    );
}

#[test]
fn results_and_errnos_are_compared() {
    let (line, message) = fail("+0 fcntl(4, F_SETFL, O_NONBLOCK) = 0\n+0 read(4, ..., 10) = 10\n");
    assert_eq!(line, 2);
    assert_eq!(
        message,
        "read(4, ..., 10): expected 10, returned -1 EAGAIN (Resource temporarily unavailable)"
    );
    let (_, message) = fail("+0 close(4) = -1 EBADF (Bad file descriptor)\n");
    assert_eq!(message, "close(4): expected -1 EBADF, returned 0");
    let (_, message) = fail("+0 close(4) = 0\n+0 close(4) = -1 EPIPE (Broken pipe)\n");
    assert_eq!(
        message,
        "close(4): expected -1 EPIPE, returned -1 EBADF (Bad file descriptor)"
    );
    let (_, message) = fail("+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [1], [4]) = 0\n");
    assert_eq!(
        message,
        "getsockopt(4, SOL_SOCKET, SO_ERROR, [1], [4]): expected the option to be Some(Int(1)), \
         it is Int(0)"
    );
    let (_, message) = fail("+0 close(9) = 0\n");
    assert_eq!(
        message,
        "close(9): fd 9 was not returned by socket() or accept()"
    );
    let (_, message) = fail("+0 bind(4, 5, 6) = 0\n");
    assert_eq!(
        message,
        "bind(4, 5, 6): the address must be `...` (the runner fills it in), not `5`"
    );
}

#[test]
fn an_early_or_late_inbound_packet_or_call() {
    // The second inbound packet is due at 0.15 s but the script waited until 1.1 s for the
    // read: it is late.
    let (line, message) = fail("+1 read(4, ..., 0) = 0\n0.15 < . 1:1(0) ack 1 win 65535\n");
    assert_eq!(line, 2);
    assert!(
        message.starts_with("timing error: expected the inbound packet at 0.150000 s"),
        "{message}"
    );
}

#[test]
fn packets_of_other_connections_are_skipped() {
    // A second socket connects; its SYN goes out while the script expects fd 4's data.
    pass(
        "+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5
         +0 fcntl(5, F_SETFL, O_NONBLOCK) = 0
         +0 connect(5, ..., ...) = -1 EINPROGRESS (Operation now in progress)
         +0 > S 0:0(0) <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 7>\n",
    );
}

#[test]
fn inbound_before_our_syn_is_an_error() {
    let (line, message) = match outcome(
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
         +0 fcntl(3, F_SETFL, O_NONBLOCK) = 0
         +0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)
         +0 < S. 0:0(0) ack 1 win 65535",
    ) {
        Err(f) => (f.line, f.message),
        Ok(()) => panic!("passed"),
    };
    assert_eq!(line, 4);
    assert_eq!(
        message,
        "the connection's ports are not known yet: expect the stack's SYN first"
    );
}
