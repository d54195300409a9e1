//! The calls, one function each, with Linux's checks in Linux's order.

use std::net::SocketAddr;

use fsm::{ConnectError, Instant, ListenError, ReadError, State, WriteError};

use super::{Errno, Fd, OptVal, Progress, Ret, SOMAXCONN, SockState, Socket, Sockets, Wait};
use crate::linux::{
    AF_INET, AF_INET6, F_GETFL, F_SETFL, IPPROTO_TCP, MSG_DONTWAIT, MSG_NOSIGNAL, MSG_PEEK,
    O_NONBLOCK, O_RDWR, SHUT_RD, SHUT_RDWR, SHUT_WR, SO_ERROR, SO_LINGER, SO_RCVBUF, SO_REUSEADDR,
    SO_SNDBUF, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, TCP_MAXSEG, TCP_NODELAY,
};

/// Linux's `TCP_MSS_DEFAULT`: what `TCP_MAXSEG` reports before a connection exists.
const TCP_MSS_DEFAULT: i32 = 536;

impl Sockets {
    pub(super) fn socket(&mut self, domain: i32, ty: i32, protocol: i32) -> Result<Fd, Errno> {
        let v6 = match domain {
            AF_INET => false,
            AF_INET6 => true,
            _ => return Err(Errno::EAFNOSUPPORT),
        };
        if ty & !(SOCK_NONBLOCK | SOCK_CLOEXEC) != SOCK_STREAM {
            return Err(Errno::ESOCKTNOSUPPORT);
        }
        if protocol != 0 && protocol != IPPROTO_TCP {
            return Err(Errno::EPROTONOSUPPORT);
        }
        let fd = self.alloc_fd()?;
        let sock = Socket {
            v6,
            nonblocking: ty & SOCK_NONBLOCK != 0,
            reuse_addr: false,
            nodelay: self.ep.config().nodelay,
            rcvbuf: None,
            sndbuf: None,
            linger: None,
            bound: None,
            state: SockState::Unconnected,
            rd_shut: false,
            error_taken: false,
        };
        self.fds.insert(fd, sock);
        Ok(fd)
    }

    pub(super) fn bind(&mut self, fd: Fd, addr: SocketAddr) -> Result<(), Errno> {
        let sock = self.sock(fd)?;
        if sock.bound.is_some() || sock.state != SockState::Unconnected {
            return Err(Errno::EINVAL);
        }
        if addr.is_ipv6() != sock.v6 {
            return Err(Errno::EAFNOSUPPORT);
        }
        if !addr.ip().is_unspecified() && !self.local_ips.contains(&addr.ip()) {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let port = if addr.port() == 0 {
            self.free_port()?
        } else {
            let reuse = sock.reuse_addr;
            // Two sockets may share a port when both set SO_REUSEADDR and neither listens.
            let clash = self.fds.values().any(|other| {
                other.bound.is_some_and(|b| {
                    b.port() == addr.port()
                        && (b.ip() == addr.ip()
                            || b.ip().is_unspecified()
                            || addr.ip().is_unspecified())
                        && !(reuse
                            && other.reuse_addr
                            && !matches!(other.state, SockState::Listening(_)))
                })
            });
            if clash {
                return Err(Errno::EADDRINUSE);
            }
            addr.port()
        };
        self.sock_mut(fd)?.bound = Some(SocketAddr::new(addr.ip(), port));
        Ok(())
    }

    pub(super) fn listen(&mut self, fd: Fd, backlog: i32) -> Result<(), Errno> {
        let sock = self.sock(fd)?;
        match sock.state {
            // Linux only adjusts the backlog of a listener.
            SockState::Listening(_) => return Ok(()),
            SockState::Connecting(_) | SockState::Connected(_) => return Err(Errno::EINVAL),
            SockState::Unconnected => {}
        }
        let addr = match sock.bound {
            Some(addr) => addr,
            None => {
                let any = if sock.v6 {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv4Addr::UNSPECIFIED.into()
                };
                SocketAddr::new(any, self.free_port()?)
            }
        };
        // Linux caps the backlog at somaxconn (a negative one too, read as unsigned) and
        // queues up to backlog + 1 established connections; the engine counts half-open
        // connections in its backlog as well.
        let backlog = if (0..=SOMAXCONN).contains(&backlog) {
            backlog
        } else {
            SOMAXCONN
        };
        let id = self
            .ep
            .listen(addr, backlog as usize + 1)
            .map_err(|e| match e {
                ListenError::AddrInUse => Errno::EADDRINUSE,
                ListenError::InvalidInput => Errno::EINVAL,
            })?;
        let sock = self.sock_mut(fd)?;
        sock.bound = Some(addr);
        sock.state = SockState::Listening(id);
        Ok(())
    }

    pub(super) fn accept(&mut self, fd: Fd) -> Progress {
        let sock = match self.sock(fd) {
            Ok(sock) => sock,
            Err(e) => return Progress::Done(Err(e)),
        };
        let SockState::Listening(listener) = sock.state else {
            return Progress::Done(Err(Errno::EINVAL));
        };
        let (blocking, nodelay, v6) = (Self::blocking(sock, 0), sock.nodelay, sock.v6);
        let Some(id) = self.ep.accept(listener) else {
            return if blocking {
                Progress::Blocked(super::Blocked(Wait::Accept { fd }))
            } else {
                Progress::Done(Err(Errno::EAGAIN))
            };
        };
        let new_fd = match self.alloc_fd() {
            Ok(new_fd) => new_fd,
            Err(e) => return Progress::Done(Err(e)),
        };
        // The accepted socket inherits TCP_NODELAY (Linux clones the listener's), not
        // O_NONBLOCK.
        let Some(conn) = self.ep.conn_mut(id) else {
            return Progress::Done(Err(Errno::ECONNABORTED));
        };
        conn.set_nodelay(nodelay);
        let (local, peer) = (conn.local(), conn.remote());
        self.fds.insert(
            new_fd,
            Socket {
                v6,
                nonblocking: false,
                reuse_addr: false,
                nodelay,
                rcvbuf: None,
                sndbuf: None,
                linger: None,
                bound: Some(local),
                state: SockState::Connected(id),
                rd_shut: false,
                error_taken: false,
            },
        );
        Progress::Done(Ok(Ret::Accepted { fd: new_fd, peer }))
    }

    pub(super) fn connect(&mut self, now: Instant, fd: Fd, addr: SocketAddr) -> Progress {
        let sock = match self.sock(fd) {
            Ok(sock) => sock,
            Err(e) => return Progress::Done(Err(e)),
        };
        match sock.state {
            // Linux says EISCONN for a listener too.
            SockState::Listening(_) | SockState::Connected(_) => {
                return Progress::Done(Err(Errno::EISCONN));
            }
            SockState::Connecting(_) => {
                let blocking = Self::blocking(sock, 0);
                return self.connect_status(now, fd, blocking);
            }
            SockState::Unconnected => {}
        }
        if addr.is_ipv6() != sock.v6 {
            return Progress::Done(Err(Errno::EAFNOSUPPORT));
        }
        let Some(ip) = sock
            .bound
            .map(|b| b.ip())
            .filter(|ip| !ip.is_unspecified())
            .or_else(|| self.local_ip(sock.v6))
        else {
            return Progress::Done(Err(Errno::ENETUNREACH));
        };
        let local = SocketAddr::new(ip, sock.bound.map_or(0, |b| b.port()));
        let (nodelay, blocking) = (sock.nodelay, Self::blocking(sock, 0));
        let id = match self.ep.connect(now, local, addr) {
            Ok(id) => id,
            Err(e) => {
                return Progress::Done(Err(match e {
                    ConnectError::NoPortAvailable | ConnectError::AddrInUse => Errno::EADDRNOTAVAIL,
                    ConnectError::InvalidInput => Errno::EINVAL,
                    ConnectError::TooManyConnections => Errno::ENOBUFS,
                }));
            }
        };
        if let Some(conn) = self.ep.conn_mut(id) {
            conn.set_nodelay(nodelay);
        }
        if let Some(sock) = self.fds.get_mut(&fd) {
            sock.state = SockState::Connecting(id);
            sock.error_taken = false;
        }
        if blocking {
            Progress::Blocked(super::Blocked(Wait::Connect { fd }))
        } else {
            Progress::Done(Err(Errno::EINPROGRESS))
        }
    }

    /// A socket in `Connecting`: still shaking hands (block, or EALREADY), failed (the error,
    /// back to unconnected), or established (connected, 0). Linux's `__inet_stream_connect`
    /// after its state switch.
    pub(super) fn connect_status(&mut self, now: Instant, fd: Fd, blocking: bool) -> Progress {
        let id = match self.sock(fd).map(|s| s.state) {
            Ok(SockState::Connecting(id)) => id,
            Ok(SockState::Connected(_)) => return Progress::Done(Ok(Ret::Value(0))),
            Ok(_) => return Progress::Done(Err(Errno::ECONNABORTED)),
            Err(e) => return Progress::Done(Err(e)),
        };
        match self.ep.conn(id).map(|c| c.state()) {
            Some(State::SynSent | State::SynReceived) if blocking => {
                Progress::Blocked(super::Blocked(Wait::Connect { fd }))
            }
            Some(State::SynSent | State::SynReceived) => Progress::Done(Err(Errno::EALREADY)),
            Some(State::Closed) | None => {
                let errno = self.take_error(fd).unwrap_or(Errno::ECONNABORTED);
                self.ep.release(now, id);
                if let Some(sock) = self.fds.get_mut(&fd) {
                    sock.state = SockState::Unconnected;
                }
                Progress::Done(Err(errno))
            }
            Some(_) => {
                if let Some(sock) = self.fds.get_mut(&fd) {
                    sock.state = SockState::Connected(id);
                }
                Progress::Done(Ok(Ret::Value(0)))
            }
        }
    }

    pub(super) fn recv(&mut self, fd: Fd, len: usize, flags: i32) -> Progress {
        let sock = match self.sock(fd) {
            Ok(sock) => sock,
            Err(e) => return Progress::Done(Err(e)),
        };
        if flags & !(MSG_PEEK | MSG_DONTWAIT | MSG_NOSIGNAL) != 0 {
            return Progress::Done(Err(Errno::EINVAL));
        }
        let Some(id) = sock.state.conn() else {
            return Progress::Done(Err(Errno::ENOTCONN));
        };
        let (blocking, rd_shut) = (Self::blocking(sock, flags), sock.rd_shut);
        let empty = || Progress::Done(Ok(Ret::Data(Vec::new())));
        if len == 0 {
            return empty();
        }
        let Some(conn) = self.ep.conn_mut(id) else {
            return empty();
        };
        // Only what is there can be read: the buffer need not be larger (but not empty,
        // which reads as end of stream).
        let mut buf = vec![0; len.min(conn.readable().max(1))];
        let read = if flags & MSG_PEEK != 0 {
            conn.peek(&mut buf)
        } else {
            conn.read(&mut buf)
        };
        match read {
            Ok(n) => {
                buf.truncate(n);
                Progress::Done(Ok(Ret::Data(buf)))
            }
            Err(ReadError::Blocked) if rd_shut => empty(),
            Err(ReadError::Blocked) if blocking => {
                Progress::Blocked(super::Blocked(Wait::Recv { fd, len, flags }))
            }
            Err(ReadError::Blocked) => Progress::Done(Err(Errno::EAGAIN)),
            // Closed without the peer's FIN or an error: end of stream, as Linux's SOCK_DONE.
            Err(ReadError::NotConnected) => empty(),
            // The error once, then end of stream.
            Err(ReadError::Failed(_)) => match self.take_error(fd) {
                Some(errno) => Progress::Done(Err(errno)),
                None => empty(),
            },
        }
    }

    pub(super) fn send(&mut self, fd: Fd, data: Vec<u8>, flags: i32, sent: usize) -> Progress {
        let sock = match self.sock(fd) {
            Ok(sock) => sock,
            Err(e) => return Progress::Done(Err(e)),
        };
        if flags & !(MSG_DONTWAIT | MSG_NOSIGNAL) != 0 {
            return Progress::Done(Err(Errno::EINVAL));
        }
        let blocking = Self::blocking(sock, flags);
        // Linux's tcp_sendmsg: without a connection, EPIPE (or the pending error).
        let Some(id) = sock.state.conn() else {
            return Progress::Done(Err(self.take_error(fd).unwrap_or(Errno::EPIPE)));
        };
        if data.is_empty() {
            return Progress::Done(Ok(Ret::Value(0)));
        }
        let wait = |data, sent| {
            Progress::Blocked(super::Blocked(Wait::Send {
                fd,
                data,
                flags,
                sent,
            }))
        };
        let handshaking = self
            .ep
            .conn(id)
            .is_some_and(|c| matches!(c.state(), State::SynSent | State::SynReceived));
        if handshaking {
            // Linux waits for the handshake before queueing anything.
            return if blocking {
                wait(data, sent)
            } else {
                Progress::Done(Err(Errno::EAGAIN))
            };
        }
        let written = match self.ep.conn_mut(id) {
            Some(conn) => conn.write(&data[sent..]),
            None => Err(WriteError::Closed),
        };
        match written {
            Ok(n) if blocking && sent + n < data.len() => wait(data, sent + n),
            Ok(n) => Progress::Done(Ok(Ret::Value((sent + n) as i64))),
            Err(WriteError::Blocked) if blocking => wait(data, sent),
            Err(_) if sent > 0 => Progress::Done(Ok(Ret::Value(sent as i64))),
            Err(WriteError::Blocked) => Progress::Done(Err(Errno::EAGAIN)),
            Err(WriteError::Closed | WriteError::Failed(_)) => {
                Progress::Done(Err(self.take_error(fd).unwrap_or(Errno::EPIPE)))
            }
        }
    }

    pub(super) fn shutdown(&mut self, now: Instant, fd: Fd, how: i32) -> Result<(), Errno> {
        let sock = self.sock(fd)?;
        if !matches!(how, SHUT_RD | SHUT_WR | SHUT_RDWR) {
            return Err(Errno::EINVAL);
        }
        let (rd, wr) = (how != SHUT_WR, how != SHUT_RD);
        match sock.state {
            SockState::Unconnected => Err(Errno::ENOTCONN),
            // Linux: SHUT_RD on a listener stops it; SHUT_WR alone does nothing.
            SockState::Listening(id) => {
                if rd {
                    self.ep.unlisten(now, id);
                    self.sock_mut(fd)?.state = SockState::Unconnected;
                }
                Ok(())
            }
            SockState::Connecting(id) | SockState::Connected(id) => {
                match self.ep.conn(id).map(|c| c.state()) {
                    Some(State::Closed) | None => Err(Errno::ENOTCONN),
                    // Linux disconnects a connection still in SYN-SENT (no RST is due there).
                    Some(State::SynSent) => {
                        if let Some(conn) = self.ep.conn_mut(id) {
                            conn.abort(now);
                        }
                        self.ep.release(now, id);
                        self.sock_mut(fd)?.state = SockState::Unconnected;
                        Ok(())
                    }
                    Some(_) => {
                        if wr && let Some(conn) = self.ep.conn_mut(id) {
                            conn.shutdown(now);
                        }
                        self.sock_mut(fd)?.rd_shut |= rd;
                        Ok(())
                    }
                }
            }
        }
    }

    pub(super) fn close(&mut self, now: Instant, fd: Fd) -> Result<(), Errno> {
        let sock = self.fds.remove(&fd).ok_or(Errno::EBADF)?;
        match sock.state {
            SockState::Unconnected => {}
            SockState::Listening(id) => self.ep.unlisten(now, id),
            SockState::Connecting(id) | SockState::Connected(id) => {
                // SO_LINGER with a zero timeout: close aborts (RST), as Linux's tcp_disconnect.
                // A non-zero timeout does not make close wait here.
                if sock.linger == Some(0)
                    && let Some(conn) = self.ep.conn_mut(id)
                {
                    conn.abort(now);
                }
                self.ep.release(now, id);
            }
        }
        Ok(())
    }

    pub(super) fn setsockopt(
        &mut self,
        fd: Fd,
        level: i32,
        name: i32,
        value: OptVal,
    ) -> Result<(), Errno> {
        let sock = self.sock_mut(fd)?;
        match (level, name, value) {
            (SOL_SOCKET, SO_REUSEADDR, OptVal::Int(v)) => sock.reuse_addr = v != 0,
            // Recorded for getsockopt only: the engine's buffers come from its Config.
            (SOL_SOCKET, SO_RCVBUF, OptVal::Int(v)) => sock.rcvbuf = Some(v),
            (SOL_SOCKET, SO_SNDBUF, OptVal::Int(v)) => sock.sndbuf = Some(v),
            (SOL_SOCKET, SO_LINGER, OptVal::Linger { onoff, linger }) => {
                sock.linger = (onoff != 0).then_some(linger.max(0));
            }
            (IPPROTO_TCP, TCP_NODELAY, OptVal::Int(v)) => {
                sock.nodelay = v != 0;
                let (nodelay, conn) = (sock.nodelay, sock.state.conn());
                if let Some(conn) = conn.and_then(|id| self.ep.conn_mut(id)) {
                    conn.set_nodelay(nodelay);
                }
            }
            (SOL_SOCKET, SO_REUSEADDR | SO_RCVBUF | SO_SNDBUF | SO_LINGER, _)
            | (IPPROTO_TCP, TCP_NODELAY, _) => return Err(Errno::EINVAL),
            _ => return Err(Errno::ENOPROTOOPT),
        }
        Ok(())
    }

    pub(super) fn getsockopt(&mut self, fd: Fd, level: i32, name: i32) -> Result<OptVal, Errno> {
        let sock = self.sock(fd)?;
        let config = self.ep.config();
        // Linux reports twice what was set (the kernel's bookkeeping overhead).
        let buffer = |set: Option<i32>, default: usize| {
            set.map_or(i32::try_from(default).unwrap_or(i32::MAX), |v| {
                v.saturating_mul(2)
            })
        };
        let value = match (level, name) {
            (SOL_SOCKET, SO_REUSEADDR) => OptVal::Int(sock.reuse_addr.into()),
            (SOL_SOCKET, SO_RCVBUF) => OptVal::Int(buffer(sock.rcvbuf, config.recv_buffer)),
            (SOL_SOCKET, SO_SNDBUF) => OptVal::Int(buffer(sock.sndbuf, config.send_buffer)),
            (SOL_SOCKET, SO_LINGER) => OptVal::Linger {
                onoff: sock.linger.is_some().into(),
                linger: sock.linger.unwrap_or(0),
            },
            (SOL_SOCKET, SO_ERROR) => {
                OptVal::Int(self.take_error(fd).map_or(0, |errno| errno.code()))
            }
            (IPPROTO_TCP, TCP_NODELAY) => OptVal::Int(sock.nodelay.into()),
            (IPPROTO_TCP, TCP_MAXSEG) => {
                let mss = sock.state.conn().and_then(|id| self.ep.conn(id));
                OptVal::Int(mss.map_or(TCP_MSS_DEFAULT, |c| {
                    i32::try_from(c.mss()).unwrap_or(i32::MAX)
                }))
            }
            _ => return Err(Errno::ENOPROTOOPT),
        };
        Ok(value)
    }

    pub(super) fn fcntl(&mut self, fd: Fd, cmd: i32, arg: i32) -> Result<i32, Errno> {
        let sock = self.sock_mut(fd)?;
        match cmd {
            F_GETFL => Ok(O_RDWR | if sock.nonblocking { O_NONBLOCK } else { 0 }),
            F_SETFL => {
                sock.nonblocking = arg & O_NONBLOCK != 0;
                Ok(0)
            }
            _ => Err(Errno::EINVAL),
        }
    }
}
