//! The socket layer against a peer played by the test, in virtual time: blocking calls block
//! until a packet or a timer lets them finish, and errors are Linux's.

use core::time::Duration;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use fsm::{Config, Endpoint, Instant, State};
use wire::{IpRepr, Packet, SeqNum, TcpFlags, TcpOptions, TcpRepr};

use super::{Blocked, Call, Errno, OptVal, Progress, Ret, Sockets};
use crate::linux::*;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1));
const REMOTE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const REMOTE_PORT: u16 = 40000;
const SYN: TcpFlags = TcpFlags::SYN;
const ACK: TcpFlags = TcpFlags::ACK;
const RST: TcpFlags = TcpFlags::RST;

/// A segment the stack sent, without its borrow.
#[derive(Debug)]
struct Sent {
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    src_port: u16,
    len: usize,
}

/// The sockets, a virtual clock, and the test as the peer at `REMOTE:REMOTE_PORT`.
struct Net {
    sockets: Sockets,
    now: Instant,
    /// The peer's port: `REMOTE_PORT` as a client, 8080 as the server of a connect.
    peer_port: u16,
}

impl Net {
    fn new(config: Config) -> Self {
        Net {
            sockets: Sockets::new(Endpoint::new(config, [9; 32]), [LOCAL]),
            now: Instant::from_micros(1_000_000),
            peer_port: REMOTE_PORT,
        }
    }

    fn call(&mut self, call: Call) -> Progress {
        self.sockets.call(self.now, call)
    }

    /// A call that must return now.
    #[track_caller]
    fn done(&mut self, call: Call) -> Result<Ret, Errno> {
        match self.call(call) {
            Progress::Done(result) => result,
            Progress::Blocked(b) => panic!("blocked on fd {}", b.fd()),
        }
    }

    #[track_caller]
    fn value(&mut self, call: Call) -> Result<i64, Errno> {
        self.done(call).map(|r| r.value())
    }

    #[track_caller]
    fn blocked(&mut self, call: Call) -> Blocked {
        match self.call(call) {
            Progress::Blocked(b) => b,
            Progress::Done(r) => panic!("expected to block, returned {r:?}"),
        }
    }

    fn resume(&mut self, blocked: Blocked) -> Progress {
        self.sockets.resume(self.now, blocked)
    }

    /// The peer sends a segment to `port`.
    fn inject(&mut self, port: u16, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) {
        let packet = Packet {
            ip: IpRepr {
                src: REMOTE,
                dst: LOCAL,
                hop_limit: 64,
            },
            tcp: TcpRepr {
                src_port: self.peer_port,
                dst_port: port,
                seq: SeqNum::new(seq),
                ack: SeqNum::new(ack),
                flags,
                window: 65535,
                urgent: 0,
                options: TcpOptions::default(),
                payload,
            },
        };
        let mut buf = [0u8; 2000];
        let len = packet.emit(&mut buf).expect("fits");
        self.sockets
            .handle_packet(self.now, &buf[..len])
            .expect("valid packet");
    }

    /// Everything the stack sends now.
    fn sent(&mut self) -> Vec<Sent> {
        let mut out = Vec::new();
        while let Some(bytes) = self.sockets.poll_transmit(self.now) {
            let bytes = bytes.expect("encodable");
            let packet = Packet::parse(&bytes).expect("valid");
            out.push(Sent {
                flags: packet.tcp.flags,
                seq: packet.tcp.seq.get(),
                ack: packet.tcp.ack.get(),
                src_port: packet.tcp.src_port,
                len: packet.tcp.payload.len(),
            });
        }
        out
    }

    /// Moves to the next timer and fires it; false when none is set.
    fn next_timer(&mut self) -> bool {
        let Some(at) = self.sockets.poll_timeout() else {
            return false;
        };
        self.now = self.now.max(at);
        self.sockets.handle_timeout(self.now);
        true
    }

    fn socket(&mut self) -> i32 {
        let fd = self.value(Call::Socket {
            domain: AF_INET,
            ty: SOCK_STREAM,
            protocol: IPPROTO_TCP,
        });
        i32::try_from(fd.expect("socket")).expect("small fd")
    }

    /// fd 3 listening on 8080.
    fn listener() -> Self {
        let mut net = Net::new(Config::default());
        assert_eq!(net.socket(), 3);
        let addr = SocketAddr::new(LOCAL, 8080);
        assert_eq!(net.value(Call::Bind { fd: 3, addr }), Ok(0));
        assert_eq!(net.value(Call::Listen { fd: 3, backlog: 1 }), Ok(0));
        net
    }

    /// The peer's handshake with the listener; returns our ISS.
    fn handshake(&mut self) -> u32 {
        self.inject(8080, SYN, 100, 0, &[]);
        let syn_ack = self.sent();
        assert_eq!(syn_ack.len(), 1);
        assert_eq!(syn_ack[0].flags, SYN | ACK);
        let iss = syn_ack[0].seq;
        self.inject(8080, ACK, 101, iss + 1, &[]);
        iss
    }

    /// A listener with connection fd 4 accepted; returns our ISS.
    fn accepted() -> (Self, u32) {
        let mut net = Net::listener();
        let iss = net.handshake();
        let accepted = net.done(Call::Accept { fd: 3 });
        assert!(matches!(accepted, Ok(Ret::Accepted { fd: 4, .. })));
        (net, iss)
    }

    /// A client: the peer is a server on 8080.
    fn client() -> Self {
        let mut net = Net::new(Config::default());
        net.peer_port = 8080;
        net
    }

    fn remote() -> SocketAddr {
        SocketAddr::new(REMOTE, 8080)
    }
}

#[test]
fn blocking_accept_waits_for_the_handshake() {
    let mut net = Net::listener();
    let blocked = net.blocked(Call::Accept { fd: 3 });
    assert_eq!(blocked.fd(), 3);
    // Still blocked after the SYN alone.
    net.inject(8080, SYN, 100, 0, &[]);
    let iss = net.sent()[0].seq;
    let Progress::Blocked(blocked) = net.resume(blocked) else {
        panic!("accept returned before the handshake completed");
    };
    net.now += Duration::from_millis(100);
    net.inject(8080, ACK, 101, iss + 1, &[]);
    match net.resume(blocked) {
        Progress::Done(Ok(Ret::Accepted { fd, peer })) => {
            assert_eq!(fd, 4);
            assert_eq!(peer, SocketAddr::new(REMOTE, REMOTE_PORT));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(net.sockets.tcp_state(4), Some(State::Established));
    assert_eq!(net.sockets.tcp_state(3), Some(State::Listen));
}

#[test]
fn non_blocking_accept_and_read_say_eagain() {
    let mut net = Net::listener();
    let set = Call::Fcntl {
        fd: 3,
        cmd: F_SETFL,
        arg: O_RDWR | O_NONBLOCK,
    };
    assert_eq!(net.value(set), Ok(0));
    let get = Call::Fcntl {
        fd: 3,
        cmd: F_GETFL,
        arg: 0,
    };
    assert_eq!(net.value(get), Ok(i64::from(O_RDWR | O_NONBLOCK)));
    assert_eq!(net.value(Call::Accept { fd: 3 }), Err(Errno::EAGAIN));
    net.handshake();
    assert_eq!(net.value(Call::Accept { fd: 3 }), Ok(4));
    // The accepted socket does not inherit O_NONBLOCK; MSG_DONTWAIT makes one call
    // non-blocking.
    let read = |flags| Call::Recv {
        fd: 4,
        len: 100,
        flags,
    };
    assert!(matches!(net.call(read(0)), Progress::Blocked(_)));
    assert_eq!(net.value(read(MSG_DONTWAIT)), Err(Errno::EAGAIN));
}

#[test]
fn blocking_read_waits_for_data_and_returns_zero_at_fin() {
    let (mut net, iss) = Net::accepted();
    let blocked = net.blocked(Call::Recv {
        fd: 4,
        len: 1000,
        flags: 0,
    });
    net.now += Duration::from_millis(250);
    net.inject(8080, ACK | TcpFlags::PSH, 101, iss + 1, &[7; 300]);
    match net.resume(blocked) {
        Progress::Done(Ok(Ret::Data(data))) => assert_eq!(data, vec![7; 300]),
        other => panic!("{other:?}"),
    }
    let peek = Call::Recv {
        fd: 4,
        len: 10,
        flags: MSG_PEEK | MSG_DONTWAIT,
    };
    assert_eq!(net.value(peek), Err(Errno::EAGAIN));
    net.inject(8080, ACK | TcpFlags::FIN, 401, iss + 1, &[]);
    let read = Call::Recv {
        fd: 4,
        len: 1000,
        flags: 0,
    };
    assert_eq!(net.value(read.clone()), Ok(0));
    assert_eq!(net.value(read), Ok(0));
    assert_eq!(net.sockets.tcp_state(4), Some(State::CloseWait));
}

#[test]
fn non_blocking_connect_in_progress_then_refused() {
    let mut net = Net::client();
    let fd = net.socket();
    let set = Call::Fcntl {
        fd,
        cmd: F_SETFL,
        arg: O_NONBLOCK,
    };
    assert_eq!(net.value(set), Ok(0));
    let connect = Call::Connect {
        fd,
        addr: Net::remote(),
    };
    assert_eq!(net.value(connect.clone()), Err(Errno::EINPROGRESS));
    assert_eq!(net.value(connect.clone()), Err(Errno::EALREADY));
    let syn = &net.sent()[0];
    assert_eq!(syn.flags, SYN);
    let so_error = Call::GetSockOpt {
        fd,
        level: SOL_SOCKET,
        name: SO_ERROR,
    };
    assert_eq!(net.done(so_error.clone()), Ok(Ret::Opt(OptVal::Int(0))));
    let (port, seq) = (syn.src_port, syn.seq);
    net.inject(port, RST | ACK, 0, seq + 1, &[]);
    let refused = OptVal::Int(Errno::ECONNREFUSED.code());
    assert_eq!(net.done(so_error.clone()), Ok(Ret::Opt(refused)));
    // Reported once, as Linux clears sk_err.
    assert_eq!(net.done(so_error), Ok(Ret::Opt(OptVal::Int(0))));
    assert_eq!(net.value(connect), Err(Errno::ECONNABORTED));
    assert_eq!(net.sockets.tcp_state(fd), Some(State::Closed));
}

#[test]
fn non_blocking_connect_completes_on_the_next_connect() {
    let mut net = Net::client();
    let fd = net.socket();
    let set = Call::Fcntl {
        fd,
        cmd: F_SETFL,
        arg: O_NONBLOCK,
    };
    assert_eq!(net.value(set), Ok(0));
    let connect = Call::Connect {
        fd,
        addr: Net::remote(),
    };
    assert_eq!(net.value(connect.clone()), Err(Errno::EINPROGRESS));
    let syn = &net.sent()[0];
    let (port, seq) = (syn.src_port, syn.seq);
    let write = Call::Send {
        fd,
        data: vec![1; 10],
        flags: 0,
    };
    assert_eq!(net.value(write.clone()), Err(Errno::EAGAIN));
    net.inject(port, SYN | ACK, 5000, seq + 1, &[]);
    assert_eq!(net.value(connect.clone()), Ok(0));
    assert_eq!(net.value(connect), Err(Errno::EISCONN));
    assert_eq!(net.value(write), Ok(10));
}

#[test]
fn blocking_connect_refused_and_timed_out() {
    let mut net = Net::client();
    let fd = net.socket();
    let connect = Call::Connect {
        fd,
        addr: Net::remote(),
    };
    let blocked = net.blocked(connect.clone());
    let syn = &net.sent()[0];
    let (port, seq) = (syn.src_port, syn.seq);
    net.inject(port, RST | ACK, 0, seq + 1, &[]);
    assert!(matches!(
        net.resume(blocked),
        Progress::Done(Err(Errno::ECONNREFUSED))
    ));

    // Connect again, to a peer that never answers: ETIMEDOUT once the SYN retries run out
    // (1 + 2 + 4 + ... + 64 s with the default six retries).
    let start = net.now;
    let mut blocked = net.blocked(connect);
    let result = loop {
        // Sending the SYN arms its retransmission timer.
        assert_eq!(net.sent().len(), 1, "one SYN each time");
        assert!(net.next_timer(), "no timer while connecting");
        match net.resume(blocked) {
            Progress::Blocked(b) => blocked = b,
            Progress::Done(result) => break result,
        }
    };
    assert_eq!(result, Err(Errno::ETIMEDOUT));
    assert_eq!(net.now - start, Duration::from_secs(127));
}

#[test]
fn reset_connection_reports_econnreset_once_then_eof_and_epipe() {
    let (mut net, iss) = Net::accepted();
    net.inject(8080, RST, 101, 0, &[]);
    let read = Call::Recv {
        fd: 4,
        len: 10,
        flags: 0,
    };
    assert_eq!(net.value(read.clone()), Err(Errno::ECONNRESET));
    assert_eq!(net.value(read), Ok(0));
    let write = Call::Send {
        fd: 4,
        data: vec![0; 10],
        flags: 0,
    };
    assert_eq!(net.value(write), Err(Errno::EPIPE));
    assert_eq!(
        net.value(Call::Shutdown {
            fd: 4,
            how: SHUT_WR
        }),
        Err(Errno::ENOTCONN)
    );
    assert_eq!(net.value(Call::Close { fd: 4 }), Ok(0));
    let _ = iss;
}

#[test]
fn reset_in_close_wait_reports_epipe() {
    let (mut net, iss) = Net::accepted();
    net.inject(8080, ACK | TcpFlags::FIN, 101, iss + 1, &[]);
    net.inject(8080, RST, 102, 0, &[]);
    let write = Call::Send {
        fd: 4,
        data: vec![0; 10],
        flags: 0,
    };
    assert_eq!(net.value(write.clone()), Err(Errno::EPIPE));
    assert_eq!(net.value(write), Err(Errno::EPIPE));
}

#[test]
fn blocking_write_queues_everything_as_acks_free_the_buffer() {
    let config = Config {
        send_buffer: 1000,
        send_buffer_max: 1000,
        ..Config::default()
    };
    let mut net = Net::new(config);
    assert_eq!(net.socket(), 3);
    let addr = SocketAddr::new(LOCAL, 8080);
    assert_eq!(net.value(Call::Bind { fd: 3, addr }), Ok(0));
    assert_eq!(net.value(Call::Listen { fd: 3, backlog: 4 }), Ok(0));
    let iss = net.handshake();
    assert_eq!(net.value(Call::Accept { fd: 3 }), Ok(4));
    let mut blocked = net.blocked(Call::Send {
        fd: 4,
        data: vec![3; 2500],
        flags: 0,
    });
    let mut acked = 0;
    let result = loop {
        let sent: usize = net.sent().iter().map(|s| s.len).sum();
        assert!(sent > 0, "nothing sent while the write is blocked");
        acked += sent as u32;
        net.now += Duration::from_millis(10);
        net.inject(8080, ACK, 101, iss + 1 + acked, &[]);
        match net.resume(blocked) {
            Progress::Blocked(b) => blocked = b,
            Progress::Done(result) => break result,
        }
    };
    assert_eq!(result.map(|r| r.value()), Ok(2500));
}

#[test]
fn unconnected_and_bad_fds() {
    let mut net = Net::new(Config::default());
    assert_eq!(net.value(Call::Close { fd: 3 }), Err(Errno::EBADF));
    let fd = net.socket();
    let read = Call::Recv {
        fd,
        len: 10,
        flags: 0,
    };
    assert_eq!(net.value(read), Err(Errno::ENOTCONN));
    let write = Call::Send {
        fd,
        data: vec![0; 1],
        flags: 0,
    };
    assert_eq!(net.value(write), Err(Errno::EPIPE));
    let shutdown = Call::Shutdown { fd, how: SHUT_RDWR };
    assert_eq!(net.value(shutdown), Err(Errno::ENOTCONN));
    assert_eq!(net.value(Call::Shutdown { fd, how: 7 }), Err(Errno::EINVAL));
    assert_eq!(net.value(Call::Accept { fd }), Err(Errno::EINVAL));
    let v6 = Call::Connect {
        fd,
        addr: "[2001:db8::1]:80".parse().expect("address"),
    };
    assert_eq!(net.value(v6), Err(Errno::EAFNOSUPPORT));
    let udp = Call::Socket {
        domain: AF_INET,
        ty: 2,
        protocol: 0,
    };
    assert_eq!(net.value(udp), Err(Errno::ESOCKTNOSUPPORT));
    let unix = Call::Socket {
        domain: 1,
        ty: SOCK_STREAM,
        protocol: 0,
    };
    assert_eq!(net.value(unix), Err(Errno::EAFNOSUPPORT));
}

#[test]
fn bind_rules_and_fd_reuse() {
    let mut net = Net::new(Config::default());
    let (a, b) = (net.socket(), net.socket());
    assert_eq!((a, b), (3, 4));
    let addr = SocketAddr::new(LOCAL, 8080);
    assert_eq!(net.value(Call::Bind { fd: a, addr }), Ok(0));
    assert_eq!(net.value(Call::Bind { fd: a, addr }), Err(Errno::EINVAL));
    assert_eq!(
        net.value(Call::Bind { fd: b, addr }),
        Err(Errno::EADDRINUSE)
    );
    let elsewhere = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 80);
    let bind_elsewhere = Call::Bind {
        fd: b,
        addr: elsewhere,
    };
    assert_eq!(net.value(bind_elsewhere), Err(Errno::EADDRNOTAVAIL));
    // Both with SO_REUSEADDR and neither listening: the port may be shared.
    for fd in [a, b] {
        let reuse = Call::SetSockOpt {
            fd,
            level: SOL_SOCKET,
            name: SO_REUSEADDR,
            value: OptVal::Int(1),
        };
        assert_eq!(net.value(reuse), Ok(0));
    }
    assert_eq!(net.value(Call::Bind { fd: b, addr }), Ok(0));
    assert_eq!(net.value(Call::Close { fd: a }), Ok(0));
    assert_eq!(net.socket(), 3, "the lowest free fd is reused");
}

#[test]
fn socket_options() {
    let (mut net, _) = Net::accepted();
    let get = |level, name| Call::GetSockOpt { fd: 4, level, name };
    let set = |level, name, value| Call::SetSockOpt {
        fd: 4,
        level,
        name,
        value,
    };
    assert_eq!(
        net.done(get(IPPROTO_TCP, TCP_NODELAY)),
        Ok(Ret::Opt(OptVal::Int(0)))
    );
    assert_eq!(
        net.value(set(IPPROTO_TCP, TCP_NODELAY, OptVal::Int(1))),
        Ok(0)
    );
    assert_eq!(
        net.done(get(IPPROTO_TCP, TCP_NODELAY)),
        Ok(Ret::Opt(OptVal::Int(1)))
    );
    // The peer's SYN had no MSS option: 536 (RFC 9293 §3.7.1).
    assert_eq!(
        net.done(get(IPPROTO_TCP, TCP_MAXSEG)),
        Ok(Ret::Opt(OptVal::Int(536)))
    );
    assert_eq!(
        net.value(set(SOL_SOCKET, SO_RCVBUF, OptVal::Int(10_000))),
        Ok(0)
    );
    assert_eq!(
        net.done(get(SOL_SOCKET, SO_RCVBUF)),
        Ok(Ret::Opt(OptVal::Int(20_000)))
    );
    let linger = OptVal::Linger {
        onoff: 1,
        linger: 0,
    };
    assert_eq!(linger.optlen(), 8);
    assert_eq!(net.value(set(SOL_SOCKET, SO_LINGER, linger)), Ok(0));
    assert_eq!(net.done(get(SOL_SOCKET, SO_LINGER)), Ok(Ret::Opt(linger)));
    assert_eq!(
        net.value(set(SOL_SOCKET, SO_LINGER, OptVal::Int(1))),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        net.value(set(SOL_SOCKET, 9999, OptVal::Int(1))),
        Err(Errno::ENOPROTOOPT)
    );
    // SO_LINGER 0: close sends RST.
    assert_eq!(net.value(Call::Close { fd: 4 }), Ok(0));
    let rst = net.sent();
    assert_eq!(rst.len(), 1);
    assert_eq!(rst[0].flags, RST);
    assert_eq!(rst[0].ack, 0);
}
