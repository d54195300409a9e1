//! The system-call layer: a file-descriptor table over one [`fsm::Endpoint`], with Linux's
//! semantics and errno values.
//!
//! Calls take Linux's raw numbers ([`crate::linux`]), as the C calls do, and return what Linux
//! returns: a value or an [`Errno`]. A call that Linux would block (a blocking `accept`,
//! `connect`, `read` or `write`) returns [`Progress::Blocked`]; the caller feeds the endpoint
//! (packets, timers) and then calls [`Sockets::resume`] until the call is done. Nothing here
//! reads a clock or sleeps, so a blocking call blocks in whatever time the caller runs: virtual
//! time for the script runner, packetdrill's clock for a shim.
//!
//! Packets go in and out through [`Sockets::handle_packet`], [`Sockets::handle_timeout`],
//! [`Sockets::poll_transmit`] and [`Sockets::poll_timeout`], which wrap the endpoint's.
//!
//! Deviations from Linux, all documented where they happen: `SO_RCVBUF`/`SO_SNDBUF` are
//! recorded but do not resize the engine's buffers (the engine takes them from its
//! [`fsm::Config`]); `close` with a non-zero `SO_LINGER` does not wait; the optlen of
//! `setsockopt` is not modelled; unsupported `MSG_*` flags are `EINVAL` rather than ignored.
//!
//! # Examples
//!
//! A listening socket, and a blocking `accept` that waits for a handshake:
//!
//! ```
//! use std::net::SocketAddr;
//! use fsm::{Config, Endpoint, Instant};
//! use tcpdrill::linux::{AF_INET, IPPROTO_TCP, SOCK_STREAM};
//! use tcpdrill::sockets::{Call, Progress, Ret, Sockets};
//!
//! let local: SocketAddr = "192.168.0.1:8080".parse()?;
//! let mut sockets = Sockets::new(Endpoint::new(Config::default(), [0; 32]), [local.ip()]);
//! let now = Instant::ZERO;
//! let call = |s: &mut Sockets, c| match s.call(now, c) {
//!     Progress::Done(result) => result,
//!     Progress::Blocked(_) => panic!("blocked"),
//! };
//! let fd = call(&mut sockets, Call::Socket { domain: AF_INET, ty: SOCK_STREAM, protocol: IPPROTO_TCP });
//! assert_eq!(fd, Ok(Ret::Value(3)));
//! assert_eq!(call(&mut sockets, Call::Bind { fd: 3, addr: local }), Ok(Ret::Value(0)));
//! assert_eq!(call(&mut sockets, Call::Listen { fd: 3, backlog: 1 }), Ok(Ret::Value(0)));
//! // No connection yet: a blocking accept blocks.
//! assert!(matches!(sockets.call(now, Call::Accept { fd: 3 }), Progress::Blocked(_)));
//! # Ok::<(), std::net::AddrParseError>(())
//! ```

mod calls;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};

use fsm::{ConnError, ConnId, Endpoint, Instant, ListenId, State};
use wire::{EmitError, Packet, ParseError};

pub use crate::linux::Errno;

/// A file descriptor, as the calls take and return them (3 and up, lowest free first).
pub type Fd = i32;

/// A system call with its arguments, in Linux's numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `socket(domain, type, protocol)`: `AF_INET`/`AF_INET6`, `SOCK_STREAM` (optionally with
    /// `SOCK_NONBLOCK`), 0 or `IPPROTO_TCP`. Returns the new fd.
    Socket {
        /// `AF_INET` or `AF_INET6`.
        domain: i32,
        /// `SOCK_STREAM`, optionally `| SOCK_NONBLOCK | SOCK_CLOEXEC`.
        ty: i32,
        /// 0 or `IPPROTO_TCP`.
        protocol: i32,
    },
    /// `bind(fd, addr)`; port 0 picks a free port.
    Bind {
        /// The socket.
        fd: Fd,
        /// The local address (unspecified IP: every local address).
        addr: SocketAddr,
    },
    /// `listen(fd, backlog)`; an unbound socket gets a free port first.
    Listen {
        /// The socket.
        fd: Fd,
        /// Linux's backlog: how many established connections may wait for `accept`, minus one.
        backlog: i32,
    },
    /// `accept(fd)`: returns [`Ret::Accepted`].
    Accept {
        /// The listening socket.
        fd: Fd,
    },
    /// `connect(fd, addr)`.
    Connect {
        /// The socket.
        fd: Fd,
        /// The peer.
        addr: SocketAddr,
    },
    /// `recv(fd, buf, len, flags)`; `read` is `flags == 0`. Returns [`Ret::Data`].
    Recv {
        /// The socket.
        fd: Fd,
        /// Most bytes to read.
        len: usize,
        /// 0, or `MSG_PEEK`, `MSG_DONTWAIT`, `MSG_NOSIGNAL`.
        flags: i32,
    },
    /// `send(fd, data, flags)`; `write` is `flags == 0`. Returns the bytes queued.
    Send {
        /// The socket.
        fd: Fd,
        /// The bytes to send.
        data: Vec<u8>,
        /// 0, or `MSG_DONTWAIT`, `MSG_NOSIGNAL`.
        flags: i32,
    },
    /// `shutdown(fd, how)`: `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    Shutdown {
        /// The socket.
        fd: Fd,
        /// `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
        how: i32,
    },
    /// `close(fd)`.
    Close {
        /// The socket.
        fd: Fd,
    },
    /// `setsockopt(fd, level, name, value)`: `SO_REUSEADDR`, `SO_RCVBUF`, `SO_SNDBUF`,
    /// `SO_LINGER`, `TCP_NODELAY`.
    SetSockOpt {
        /// The socket.
        fd: Fd,
        /// `SOL_SOCKET` or `IPPROTO_TCP`.
        level: i32,
        /// The option.
        name: i32,
        /// Its new value.
        value: OptVal,
    },
    /// `getsockopt(fd, level, name)`: the options above plus `SO_ERROR` and `TCP_MAXSEG`.
    /// Returns [`Ret::Opt`].
    GetSockOpt {
        /// The socket.
        fd: Fd,
        /// `SOL_SOCKET` or `IPPROTO_TCP`.
        level: i32,
        /// The option.
        name: i32,
    },
    /// `fcntl(fd, cmd, arg)`: `F_GETFL` (returns the flags) or `F_SETFL` (only `O_NONBLOCK`
    /// matters).
    Fcntl {
        /// The socket.
        fd: Fd,
        /// `F_GETFL` or `F_SETFL`.
        cmd: i32,
        /// The flags for `F_SETFL`; ignored by `F_GETFL`.
        arg: i32,
    },
}

/// A socket option's value: an `int`, or a `struct linger`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptVal {
    /// An `int` option (flags are 0 or 1).
    Int(i32),
    /// `struct linger { l_onoff, l_linger }`.
    Linger {
        /// Non-zero: linger on close.
        onoff: i32,
        /// Seconds to linger; 0 makes `close` send RST.
        linger: i32,
    },
}

impl OptVal {
    /// Bytes the C value takes (`socklen_t` of the option): 4 for an `int`, 8 for a linger.
    pub fn optlen(&self) -> u32 {
        match self {
            OptVal::Int(_) => 4,
            OptVal::Linger { .. } => 8,
        }
    }
}

/// What a successful call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ret {
    /// A plain value: 0, an fd, a byte count, or `F_GETFL`'s flags.
    Value(i64),
    /// `accept`: the new fd and the peer's address.
    Accepted {
        /// The connection's fd.
        fd: Fd,
        /// The peer.
        peer: SocketAddr,
    },
    /// `recv`: the bytes read (empty at end of stream).
    Data(Vec<u8>),
    /// `getsockopt`: the option's value (the call itself returns 0).
    Opt(OptVal),
}

impl Ret {
    /// What the C call returns: the fd, the byte count, 0 for `getsockopt`.
    pub fn value(&self) -> i64 {
        match self {
            Ret::Value(v) => *v,
            Ret::Accepted { fd, .. } => i64::from(*fd),
            Ret::Data(data) => data.len() as i64,
            Ret::Opt(_) => 0,
        }
    }
}

/// The outcome of [`Sockets::call`] and [`Sockets::resume`].
#[derive(Debug)]
#[must_use]
pub enum Progress {
    /// The call returned.
    Done(Result<Ret, Errno>),
    /// The call blocks: feed the endpoint, then [`Sockets::resume`] it.
    Blocked(Blocked),
}

/// A call that is blocked, waiting for the network or a timer. Resume it with
/// [`Sockets::resume`] after every input until it is done.
#[derive(Debug)]
pub struct Blocked(Wait);

impl Blocked {
    /// The fd the call waits on.
    pub fn fd(&self) -> Fd {
        match &self.0 {
            Wait::Accept { fd } | Wait::Connect { fd } => *fd,
            Wait::Recv { fd, .. } | Wait::Send { fd, .. } => *fd,
        }
    }
}

/// What a blocked call waits for, with its progress.
#[derive(Debug)]
enum Wait {
    Accept {
        fd: Fd,
    },
    Connect {
        fd: Fd,
    },
    Recv {
        fd: Fd,
        len: usize,
        flags: i32,
    },
    /// A blocking `send` queues everything before it returns; `sent` bytes are queued so far.
    Send {
        fd: Fd,
        data: Vec<u8>,
        flags: i32,
        sent: usize,
    },
}

/// One socket of the table.
#[derive(Debug)]
struct Socket {
    v6: bool,
    nonblocking: bool,
    reuse_addr: bool,
    nodelay: bool,
    /// `SO_RCVBUF` and `SO_SNDBUF` as set (recorded only, see the module docs).
    rcvbuf: Option<i32>,
    sndbuf: Option<i32>,
    /// `SO_LINGER` seconds when on.
    linger: Option<i32>,
    /// The address of an explicit `bind` (or the autobind of `listen`).
    bound: Option<SocketAddr>,
    state: SockState,
    /// `shutdown(SHUT_RD)`: reads return 0 instead of blocking.
    rd_shut: bool,
    /// The connection's error was reported once (Linux clears `sk_err` when it reports it).
    error_taken: bool,
}

/// The socket-level state (Linux's `SS_*`), apart from the TCP state of its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SockState {
    Unconnected,
    Listening(ListenId),
    /// `connect` started; the connection may be established already (a non-blocking connect
    /// becomes `Connected` when `connect` is called again, as on Linux).
    Connecting(ConnId),
    Connected(ConnId),
}

impl SockState {
    fn conn(self) -> Option<ConnId> {
        match self {
            SockState::Connecting(id) | SockState::Connected(id) => Some(id),
            _ => None,
        }
    }
}

/// The lowest fd handed out (0-2 are stdin, stdout and stderr).
const FIRST_FD: Fd = 3;
/// `RLIMIT_NOFILE`'s usual soft limit.
const MAX_FDS: Fd = 1024;
/// Linux's `net.core.somaxconn`, the ceiling of a listen backlog.
const SOMAXCONN: i32 = 4096;

/// Sockets over one endpoint: what a process sees of a TCP stack.
#[derive(Debug)]
pub struct Sockets {
    ep: Endpoint,
    /// The local addresses: the source of unbound connects, and what `bind` accepts.
    local_ips: Vec<IpAddr>,
    fds: BTreeMap<Fd, Socket>,
}

impl Sockets {
    /// Sockets over `endpoint`, on a host with the addresses `local_ips`.
    pub fn new(endpoint: Endpoint, local_ips: impl IntoIterator<Item = IpAddr>) -> Self {
        Sockets {
            ep: endpoint,
            local_ips: local_ips.into_iter().collect(),
            fds: BTreeMap::new(),
        }
    }

    /// The endpoint, for inspection.
    pub fn endpoint(&self) -> &Endpoint {
        &self.ep
    }

    /// The TCP state behind `fd`: `LISTEN` for a listener, its connection's state, `CLOSED`
    /// for a socket without either, `None` for a free fd.
    pub fn tcp_state(&self, fd: Fd) -> Option<State> {
        let sock = self.fds.get(&fd)?;
        Some(match sock.state {
            SockState::Unconnected => State::Closed,
            SockState::Listening(_) => State::Listen,
            SockState::Connecting(id) | SockState::Connected(id) => {
                self.ep.conn(id).map_or(State::Closed, |c| c.state())
            }
        })
    }

    /// Makes a system call at `now`.
    pub fn call(&mut self, now: Instant, call: Call) -> Progress {
        let value = |r: Result<i64, Errno>| Progress::Done(r.map(Ret::Value));
        match call {
            Call::Socket {
                domain,
                ty,
                protocol,
            } => value(self.socket(domain, ty, protocol).map(i64::from)),
            Call::Bind { fd, addr } => value(self.bind(fd, addr).map(|()| 0)),
            Call::Listen { fd, backlog } => value(self.listen(fd, backlog).map(|()| 0)),
            Call::Accept { fd } => self.accept(fd),
            Call::Connect { fd, addr } => self.connect(now, fd, addr),
            Call::Recv { fd, len, flags } => self.recv(fd, len, flags),
            Call::Send { fd, data, flags } => self.send(fd, data, flags, 0),
            Call::Shutdown { fd, how } => value(self.shutdown(now, fd, how).map(|()| 0)),
            Call::Close { fd } => value(self.close(now, fd).map(|()| 0)),
            Call::SetSockOpt {
                fd,
                level,
                name,
                value: v,
            } => value(self.setsockopt(fd, level, name, v).map(|()| 0)),
            Call::GetSockOpt { fd, level, name } => {
                Progress::Done(self.getsockopt(fd, level, name).map(Ret::Opt))
            }
            Call::Fcntl { fd, cmd, arg } => value(self.fcntl(fd, cmd, arg).map(i64::from)),
        }
    }

    /// Tries a blocked call again at `now`.
    pub fn resume(&mut self, now: Instant, blocked: Blocked) -> Progress {
        match blocked.0 {
            Wait::Accept { fd } => self.accept(fd),
            Wait::Connect { fd } => self.connect_status(now, fd, true),
            Wait::Recv { fd, len, flags } => self.recv(fd, len, flags),
            Wait::Send {
                fd,
                data,
                flags,
                sent,
            } => self.send(fd, data, flags, sent),
        }
    }

    // ---- packets and timers ----

    /// A packet arrives from the network (an IP packet carrying TCP).
    ///
    /// # Errors
    ///
    /// The packet does not parse (bad checksum, not TCP...): it is dropped, as a stack does.
    pub fn handle_packet(&mut self, now: Instant, bytes: &[u8]) -> Result<(), ParseError> {
        let packet = Packet::parse(bytes)?;
        self.ep.handle_segment(now, &packet.ip, &packet.tcp);
        self.discard_events();
        Ok(())
    }

    /// Fires the timers due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
        self.discard_events();
    }

    /// When [`Sockets::handle_timeout`] next has work (possibly early: a hint).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ep.poll_timeout()
    }

    /// The next packet to send, as bytes; call until `None` after every input and call.
    ///
    /// # Errors
    ///
    /// The engine produced a packet that cannot be encoded (a bug in the engine).
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Result<Vec<u8>, EmitError>> {
        let Some(packet) = self.ep.poll_transmit(now) else {
            self.discard_events();
            return None;
        };
        let mut buf = vec![0; packet.buffer_len()];
        Some(packet.emit(&mut buf).map(|len| {
            buf.truncate(len);
            buf
        }))
    }

    /// Readiness is read from the connections themselves on every call, so the endpoint's
    /// events carry nothing this layer needs; they are drained so they do not pile up.
    fn discard_events(&mut self) {
        while self.ep.poll_event().is_some() {}
    }

    // ---- helpers shared with calls.rs ----

    fn sock(&self, fd: Fd) -> Result<&Socket, Errno> {
        self.fds.get(&fd).ok_or(Errno::EBADF)
    }

    fn sock_mut(&mut self, fd: Fd) -> Result<&mut Socket, Errno> {
        self.fds.get_mut(&fd).ok_or(Errno::EBADF)
    }

    /// The connection's error, once: Linux reports `sk_err` to the first call that looks
    /// and clears it.
    fn take_error(&mut self, fd: Fd) -> Option<Errno> {
        let sock = self.fds.get_mut(&fd)?;
        if sock.error_taken {
            return None;
        }
        let conn = self.ep.conn(sock.state.conn()?)?;
        let errno = match conn.error()? {
            ConnError::Refused => Errno::ECONNREFUSED,
            // Linux's tcp_reset: EPIPE once the peer's FIN was in (CLOSE-WAIT).
            ConnError::Reset if conn.is_read_closed() => Errno::EPIPE,
            ConnError::Reset => Errno::ECONNRESET,
            ConnError::TimedOut => Errno::ETIMEDOUT,
            ConnError::Aborted => Errno::ECONNABORTED,
        };
        sock.error_taken = true;
        Some(errno)
    }

    /// Whether a call on `sock` with `flags` may block.
    fn blocking(sock: &Socket, flags: i32) -> bool {
        !sock.nonblocking && flags & crate::linux::MSG_DONTWAIT == 0
    }

    /// The first local address of a family, the source of an unbound connect.
    fn local_ip(&self, v6: bool) -> Option<IpAddr> {
        self.local_ips.iter().copied().find(|ip| ip.is_ipv6() == v6)
    }

    /// The lowest ephemeral port no socket is bound to (Linux's autobind).
    fn free_port(&self) -> Result<u16, Errno> {
        self.ep
            .config()
            .ephemeral_ports
            .clone()
            .find(|&port| {
                !self
                    .fds
                    .values()
                    .any(|s| s.bound.is_some_and(|b| b.port() == port))
            })
            .ok_or(Errno::EADDRINUSE)
    }

    /// The lowest free fd.
    fn alloc_fd(&self) -> Result<Fd, Errno> {
        (FIRST_FD..MAX_FDS)
            .find(|fd| !self.fds.contains_key(fd))
            .ok_or(Errno::EMFILE)
    }
}
