//! The packetdrill language, the subset tcpdrill runs: parsed into an AST whose events carry
//! their line numbers.
//!
//! A script is option lines (`--tolerance_usecs=10000`) followed by events. Each event is a time
//! and an action:
//!
//! ```text
//! 0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3       // a system call at 0 s
//! +0    bind(3, ..., ...) = 0                           // right after the previous event
//! +0    listen(3, 1) = 0
//! +0    < S 0:0(0) win 65535 <mss 1460>                 // inject a SYN
//! +0    > S. 0:0(0) ack 1 <...>                         // expect a SYN-ACK, options unchecked
//! +.1   < . 1:1(0) ack 1 win 65535
//! +0    accept(3, ..., ...) = 4
//! +0...0.3 read(4, ..., 1000) = 1000                    // blocks until 0.3 s after the start
//! *     > . 1:1(0) ack 1001                             // any time
//! +1~+2 > F. 1:1(0) ack 1001                            // between 1 and 2 s later
//! ```
//!
//! Times: `N` (absolute seconds), `+N` (after the previous event), `*` (outbound packets only),
//! `a~b` and `+a~+b` (ranges, outbound packets only); seconds with up to six decimals.
//!
//! Packets: direction `<` (inbound) or `>` (outbound); flags from `S . P F R` (`S.`, `P.`,
//! `F.`, `R.`, `-` for none); `start:end(len)`; `ack N`; `win N` (required inbound, optional
//! outbound); options `<mss N, sackOK, sack a:b c:d, TS val x ecr y, nop, eol, wscale N>`, or
//! `<...>` for "do not check" (outbound only). The option list must fill whole 32-bit words.
//!
//! System calls: `[...end_time] name(args) = result [ERRNO (text)]`; arguments are integers,
//! symbols (`SOL_SOCKET`), `...`, `A|B`, `[N]`, `{onoff=N, linger=N}`. The calls are those
//! [`SYSCALLS`] lists.
//!
//! Anything else (shell commands, code blocks, IP or port headers, UDP and ICMP, other TCP
//! options) is a parse error naming its line and token.

mod lex;
mod parse;
#[cfg(test)]
mod tests;

use core::fmt;

use wire::TcpFlags;

/// The system calls a script may make.
pub const SYSCALLS: &[&str] = &[
    "socket",
    "bind",
    "listen",
    "accept",
    "connect",
    "read",
    "recv",
    "write",
    "send",
    "shutdown",
    "close",
    "setsockopt",
    "getsockopt",
    "fcntl",
];

/// A parsed script.
#[derive(Clone, Debug, PartialEq)]
pub struct Script {
    /// The option lines.
    pub options: Options,
    /// The events, in order.
    pub events: Vec<Event>,
}

/// The options a script may set with `--name=value` lines, with packetdrill's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// `--tolerance_usecs`: how far from its time an event may happen (4000).
    pub tolerance_usecs: u64,
    /// `--tolerance_percent`: the tolerance as a share of the time since the previous event,
    /// when that is larger (12.5).
    pub tolerance_percent: f64,
    /// `--ip_version=ipv6`: IPv6 addresses and `AF_INET6` sockets (default `ipv4`).
    pub ipv6: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tolerance_usecs: 4000,
            tolerance_percent: 12.5,
            ipv6: false,
        }
    }
}

/// One event: a time, an action, and the line it is on.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// The line of the event's time.
    pub line: usize,
    /// When it happens.
    pub time: Time,
    /// What happens.
    pub action: Action,
}

/// When an event happens, in microseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Time {
    /// `N`: since the script started.
    Absolute(u64),
    /// `+N`: since the previous event.
    Relative(u64),
    /// `*`: any time (outbound packets only).
    Any,
    /// `a~b`: within this range since the start (outbound packets only).
    AbsoluteRange(u64, u64),
    /// `+a~+b`: within this range since the previous event (outbound packets only).
    RelativeRange(u64, u64),
}

/// What an event does.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Inject or expect a TCP segment.
    Packet(PacketSpec),
    /// Make a system call.
    Syscall(SyscallSpec),
}

/// Which way a packet goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// `<`: from the remote peer to the stack (injected).
    Inbound,
    /// `>`: from the stack (expected).
    Outbound,
}

/// A TCP segment as the script writes it, sequence numbers still relative.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSpec {
    /// `<` or `>`.
    pub direction: Direction,
    /// The control bits.
    pub flags: TcpFlags,
    /// The first sequence number.
    pub seq: u32,
    /// Payload bytes (the payload is zeros).
    pub len: u16,
    /// The acknowledgment number (0 when not written).
    pub ack: u32,
    /// The window; `None` outbound means "do not check".
    pub window: Option<u16>,
    /// The options in order; `None` is `<...>`, "do not check".
    pub options: Option<Vec<TcpOpt>>,
}

/// A TCP option as the script writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOpt {
    /// `eol`.
    Eol,
    /// `nop`.
    Nop,
    /// `mss N`.
    Mss(u16),
    /// `wscale N`.
    WindowScale(u8),
    /// `sackOK`.
    SackPermitted,
    /// `sack a:b c:d`: blocks, relative like ACK numbers.
    Sack(Vec<(u32, u32)>),
    /// `TS val x ecr y`.
    Timestamp {
        /// TSval.
        val: u32,
        /// TSecr.
        ecr: u32,
    },
}

impl TcpOpt {
    /// Bytes the option takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            TcpOpt::Eol | TcpOpt::Nop => 1,
            TcpOpt::Mss(_) => 4,
            TcpOpt::WindowScale(_) => 3,
            TcpOpt::SackPermitted => 2,
            TcpOpt::Sack(blocks) => 2 + 8 * blocks.len(),
            TcpOpt::Timestamp { .. } => 10,
        }
    }
}

/// A system call line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyscallSpec {
    /// The call, one of [`SYSCALLS`].
    pub name: String,
    /// Its arguments.
    pub args: Vec<Expr>,
    /// `...end`: the call blocks and returns at this time (same base as the event's time).
    pub end: Option<u64>,
    /// The expected return value.
    pub result: Expr,
    /// The expected errno's name, with `= -1`.
    pub errno: Option<String>,
}

/// A system-call argument or result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `...`: whatever the runner chooses (a buffer, the default address).
    Ellipsis,
    /// An integer.
    Int(i64),
    /// A symbol such as `SOL_SOCKET`.
    Symbol(String),
    /// `a|b`.
    Or(Box<Expr>, Box<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{onoff=N, linger=N}`.
    Linger {
        /// `l_onoff`.
        onoff: i64,
        /// `l_linger`.
        linger: i64,
    },
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Ellipsis => f.write_str("..."),
            Expr::Int(n) => write!(f, "{n}"),
            Expr::Symbol(s) => f.write_str(s),
            Expr::Or(a, b) => write!(f, "{a}|{b}"),
            Expr::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Expr::Linger { onoff, linger } => write!(f, "{{onoff={onoff}, linger={linger}}}"),
        }
    }
}

/// A script that does not parse: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong, naming the offending token.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl core::error::Error for ParseError {}

/// Parses a script.
///
/// # Errors
///
/// The first construct outside the subset, or malformed, with its line.
///
/// # Examples
///
/// ```
/// use tcpdrill::script::{self, Action, Direction, Time};
///
/// let script = script::parse("0 < S 0:0(0) win 1000 <mss 1460>\n+.2 > S. 0:0(0) ack 1 <...>\n")?;
/// assert_eq!(script.events.len(), 2);
/// assert_eq!(script.events[1].line, 2);
/// assert_eq!(script.events[1].time, Time::Relative(200_000));
/// let Action::Packet(syn_ack) = &script.events[1].action else { unreachable!() };
/// assert_eq!(syn_ack.direction, Direction::Outbound);
/// assert_eq!(syn_ack.options, None);
///
/// let error = script::parse("0 < S 0:0(0) win 1000\n+0 < Q 1:1(0) win 1000\n").unwrap_err();
/// assert_eq!(error.to_string(), "line 2: unknown TCP flag `Q` in `Q`");
/// # Ok::<(), script::ParseError>(())
/// ```
pub fn parse(text: &str) -> Result<Script, ParseError> {
    parse::Parser::new(lex::tokenize(text)?).script()
}
