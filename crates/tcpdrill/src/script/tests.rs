//! The parser, construct by construct, and its errors with their lines.

use wire::TcpFlags;

use super::*;

fn events(text: &str) -> Vec<Event> {
    match parse(text) {
        Ok(script) => script.events,
        Err(e) => panic!("{e}"),
    }
}

fn packet(text: &str) -> PacketSpec {
    match events(text).remove(0).action {
        Action::Packet(p) => p,
        Action::Syscall(s) => panic!("not a packet: {s:?}"),
    }
}

fn syscall(text: &str) -> SyscallSpec {
    match events(text).remove(0).action {
        Action::Syscall(s) => s,
        Action::Packet(p) => panic!("not a system call: {p:?}"),
    }
}

/// The error of a script that must not parse.
fn error(text: &str) -> (usize, String) {
    match parse(text) {
        Ok(script) => panic!("parsed: {script:?}"),
        Err(e) => (e.line, e.message),
    }
}

#[test]
fn times() {
    let times: Vec<Time> = events(
        "0 close(3) = 0\n+0 close(3) = 0\n+.1 close(3) = 0\n1.25 close(3) = 0\n\
         +2 close(3) = 0\n* > . 1:1(0)\n1~1.5 > . 1:1(0)\n+0.2~+0.4 > . 1:1(0)\n\
         +0.0000019 close(3) = 0",
    )
    .iter()
    .map(|e| e.time)
    .collect();
    assert_eq!(
        times,
        [
            Time::Absolute(0),
            Time::Relative(0),
            Time::Relative(100_000),
            Time::Absolute(1_250_000),
            Time::Relative(2_000_000),
            Time::Any,
            Time::AbsoluteRange(1_000_000, 1_500_000),
            Time::RelativeRange(200_000, 400_000),
            Time::Relative(1),
        ]
    );
}

#[test]
fn packet_flags_and_sequence() {
    let cases = [
        ("S", TcpFlags::SYN),
        ("S.", TcpFlags::SYN | TcpFlags::ACK),
        (".", TcpFlags::ACK),
        ("P.", TcpFlags::PSH | TcpFlags::ACK),
        ("F.", TcpFlags::FIN | TcpFlags::ACK),
        ("FP.", TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK),
        ("R", TcpFlags::RST),
        ("R.", TcpFlags::RST | TcpFlags::ACK),
        ("-", TcpFlags::empty()),
    ];
    for (text, flags) in cases {
        let p = packet(&format!("0 > {text} 1:1001(1000) ack 7"));
        assert_eq!(p.flags, flags, "{text}");
        assert_eq!((p.seq, p.len, p.ack), (1, 1000, 7));
        assert_eq!(p.direction, Direction::Outbound);
        assert_eq!(p.window, None);
        assert_eq!(p.options, Some(Vec::new()));
    }
}

#[test]
fn packet_window_and_options() {
    let p = packet(
        "0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7,nop,nop,\
         TS val 100 ecr 0,nop,nop,sack 1:2,eol,eol,eol,eol>",
    );
    assert_eq!(p.direction, Direction::Inbound);
    assert_eq!(p.window, Some(32792));
    assert_eq!(
        p.options,
        Some(vec![
            TcpOpt::Mss(1000),
            TcpOpt::SackPermitted,
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::WindowScale(7),
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::Timestamp { val: 100, ecr: 0 },
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::Sack(vec![(1, 2)]),
            TcpOpt::Eol,
            TcpOpt::Eol,
            TcpOpt::Eol,
            TcpOpt::Eol,
        ])
    );
    assert_eq!(
        packet("0 > . 1:1(0) ack 1 <nop,nop,sack 1:2 3:4>").options,
        Some(vec![
            TcpOpt::Nop,
            TcpOpt::Nop,
            TcpOpt::Sack(vec![(1, 2), (3, 4)])
        ])
    );
    assert_eq!(packet("0 > S. 0:0(0) ack 1 <...>").options, None);
    assert_eq!(packet("0 > . 1:1(0) ack 1 win 0").window, Some(0));
}

#[test]
fn syscalls_and_expressions() {
    let s = syscall("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
    assert_eq!(s.name, "socket");
    assert_eq!(
        s.args,
        [
            Expr::Ellipsis,
            Expr::Symbol("SOCK_STREAM".into()),
            Expr::Symbol("IPPROTO_TCP".into())
        ]
    );
    assert_eq!((s.result, s.errno, s.end), (Expr::Int(3), None, None));

    let s = syscall("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
    assert_eq!(s.result, Expr::Int(-1));
    assert_eq!(s.errno.as_deref(), Some("EINPROGRESS"));

    let s = syscall("+0...0.200 accept(3, ..., ...) = 4");
    assert_eq!(s.end, Some(200_000));

    let s = syscall("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
    assert_eq!(
        s.args[2],
        Expr::Or(
            Box::new(Expr::Symbol("O_RDWR".into())),
            Box::new(Expr::Symbol("O_NONBLOCK".into()))
        )
    );
    assert_eq!(s.args[2].to_string(), "O_RDWR|O_NONBLOCK");

    let s = syscall("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0");
    assert_eq!(s.args[3], Expr::List(vec![Expr::Int(0)]));
    assert_eq!(s.args[4], Expr::List(vec![Expr::Int(4)]));

    let s = syscall("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
    assert_eq!(
        s.args[3],
        Expr::Linger {
            onoff: 1,
            linger: 0
        }
    );
    assert_eq!(
        syscall("0 fcntl(3, F_GETFL) = 0x802 (flags)").result,
        Expr::Int(0x802)
    );
    assert_eq!(syscall("0 close(3) = 0").args, [Expr::Int(3)]);
}

#[test]
fn options_lines_comments_and_lines() {
    let script = parse(
        "// A comment.\n--tolerance_usecs=10000\n--tolerance_percent=2.5\n\
         --ip_version=ipv6\n/* a\n block */ 0 close(3) = 0 // trailing\n\n+1 close(4) = 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        script.options,
        Options {
            tolerance_usecs: 10_000,
            tolerance_percent: 2.5,
            ipv6: true
        }
    );
    let lines: Vec<usize> = script.events.iter().map(|e| e.line).collect();
    assert_eq!(lines, [6, 8]);
    assert_eq!(parse("").map(|s| s.events.len()), Ok(0));
}

#[test]
fn errors_name_the_line_and_token() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "0 close(3) = 0\n+0 < Q 1:1(0) win 9",
            2,
            "unknown TCP flag `Q` in `Q`",
        ),
        (
            "0 close(3) = 0\n+0 < U. 1:1(0) win 9",
            2,
            "TCP flag `U` is not supported (only S . P F R)",
        ),
        (
            "0 < . 1:1(0) ack 1",
            1,
            "an inbound packet needs a window (`win N`)",
        ),
        (
            "0 < . 1:1(0) win 1 <...>",
            1,
            "`<...>` (do not check options) is only for outbound packets",
        ),
        (
            "0 > S 0:0(0) <sackOK>",
            1,
            "TCP options take 2 bytes, not a multiple of 4: pad them with `nop`s (2 excess bytes)",
        ),
        (
            "0 > S 0:0(0) <md5 abc>",
            1,
            "TCP option `md5` is not supported",
        ),
        ("0 > S 0:0(0) <foo>", 1, "unknown TCP option `foo`"),
        (
            "0 > . 1:10(5)",
            1,
            "inconsistent sequence numbers `1:10(5)`: end is not start + length",
        ),
        ("0 > . 1:1(0) win 70000", 1, "a window 70000 out of range"),
        (
            "0 close(3) = 0\n\n+0 poll(3) = 0",
            3,
            "unsupported system call `poll`",
        ),
        (
            "0 setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, [1], 4) = 0",
            1,
            "unknown symbol `SO_KEEPALIVE`",
        ),
        (
            "0 connect(3, ..., ...) = -1 EFOO (Foo)",
            1,
            "unknown errno `EFOO`",
        ),
        (
            "0 connect(3, ..., ...) = -1 EAGAIN",
            1,
            "unexpected end of script, expected the errno's text, `(...)`",
        ),
        (
            "0 close(3) = 0\n* close(3) = 0",
            2,
            "`*` can only be used with outbound packets",
        ),
        (
            "0 close(3) = 0\n+1~+2 < . 1:1(0) win 1",
            2,
            "a time range can only be used with outbound packets",
        ),
        (
            "0 close(3) = 0\n2~1 > . 1:1(0)",
            2,
            "the time range is backwards",
        ),
        ("1 close(3) = 0", 1, "the first event should be at time 0"),
        (
            "0 close(3) = 0\n`../common/defaults.sh`",
            2,
            "shell commands (`...`) are not supported",
        ),
        (
            "--mtu=1500\n0 close(3) = 0",
            1,
            "unsupported option `--mtu`",
        ),
        (
            "0 close(3) = 0\n--tolerance_usecs=1",
            2,
            "option `--tolerance_usecs` after the first event: options come first",
        ),
        (
            "0 close(3) = 0\n+0 < S 0:0(0) win 1 urg 5",
            2,
            "the urgent pointer (`urg`) is not supported",
        ),
        (
            "0 close(3) = 0\n+0 hello()",
            2,
            "unsupported system call `hello`",
        ),
        (
            "0 close(3) = 0\n+0 ]",
            2,
            "unexpected `]`, expected a packet (`<` or `>`) or a system call",
        ),
        (
            "0 close(3) = 0 /* never\nclosed",
            1,
            "unterminated /* comment",
        ),
        (
            "0 close(3) = 0\n+x",
            2,
            "unexpected `x`, expected a time in seconds",
        ),
        (
            "0 close(3) = 0\n+0 close(12ab) = 0",
            2,
            "malformed number `12ab`",
        ),
        (
            "0 close(3) = 0\n+0 < S 0:0(0) win 1 <sack>",
            2,
            "unexpected `>`, expected a SACK block `left:right`",
        ),
    ];
    for &(text, line, message) in cases {
        assert_eq!(error(text), (line, message.to_string()), "{text}");
    }
}

mod never_panics {
    use proptest::prelude::*;

    use super::parse;
    use crate::runner;

    /// Whole events, in any order: most such scripts fail, none may panic.
    const ACTIONS: &[&str] = &[
        "socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
        "fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
        "bind(3, ..., ...) = 0",
        "listen(3, 1) = 0",
        "accept(3, ..., ...) = 4",
        "connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)",
        "...2 read(4, ..., 100) = 100",
        "read(3, ..., 100) = -1 EAGAIN (Resource temporarily unavailable)",
        "write(4, ..., 3000) = 3000",
        "shutdown(4, SHUT_WR) = 0",
        "close(4) = 0",
        "getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0",
        "< S 0:0(0) win 65535 <mss 1460>",
        "< S. 0:0(0) ack 1 win 65535 <mss 1460>",
        "< . 1:1(0) ack 1 win 65535",
        "< P. 1:101(100) ack 1 win 0",
        "< F. 1:1(0) ack 2 win 65535",
        "< R. 1:1(0) ack 1 win 65535",
        "< . 1:1(0) ack 1 win 65535 <TS val 1 ecr 2,nop,nop>",
        "> S 0:0(0) <...>",
        "> S. 0:0(0) ack 1 <mss 1460>",
        "> . 1:1(0) ack 1",
        "> P. 1:1001(1000) ack 1",
        "> R 1:1(0)",
    ];
    const TIMES: &[&str] = &["+0", "+.01", "+.3", "+2", "*", "+0~+1", "0.5"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn parse_never_panics(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        #[test]
        fn runs_never_panic(
            events in prop::collection::vec(
                (prop::sample::select(TIMES), prop::sample::select(ACTIONS)),
                0..12,
            )
        ) {
            let mut text = String::from("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n");
            for (time, action) in events {
                text.push_str(&format!("{time} {action}\n"));
            }
            if let Ok(script) = parse(&text) {
                let _ = runner::run(&script);
            }
        }
    }
}
