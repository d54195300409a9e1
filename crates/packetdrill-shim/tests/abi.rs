//! The shim through its C interface, as packetdrill drives it: init and flags, a passive open
//! with data both ways, the virtual clock and retransmission, blocking calls from a second
//! thread, errnos, and `fcntl`/`ioctl` through the C variadic wrappers.

mod support;

use std::ffi::c_int;
use std::net::SocketAddr;
use std::ptr;
use std::thread;
use std::time::Duration;

use support::{LOCAL, PEER, Peer, Stack};
use wire::{Packet, SeqNum, TcpFlags};

/// Parses a packet the stack sent.
fn parse(bytes: &[u8]) -> Packet<'_> {
    Packet::parse(bytes).expect("a valid TCP packet")
}

/// Real time for a second thread to reach its blocking call before the main thread acts.
/// The assertions hold whichever thread gets there first.
fn let_the_other_thread_block() {
    thread::sleep(Duration::from_millis(10));
}

#[test]
fn init_takes_local_ip_from_so_flags() {
    let stack = Stack::new(c"local_ip=10.0.0.2");
    let fd = stack.socket().expect("socket");
    assert_eq!(fd, 3);
    assert_eq!(
        stack.bind(fd, LOCAL.parse().expect("valid")),
        Err(libc::EADDRNOTAVAIL)
    );
    assert_eq!(stack.bind(fd, "10.0.0.2:80".parse().expect("valid")), Ok(0));
}

#[test]
fn init_with_bad_flags_leaves_every_call_failing() {
    let stack = Stack::new(c"local_ip=nonsense");
    assert!(stack.ud().is_null());
    assert_eq!(stack.socket(), Err(libc::EINVAL));
    let f = stack.ifc().gettimeofday.expect("filled");
    // SAFETY: a null timeval is allowed; the call fails before looking.
    let ret = unsafe { f(stack.ud(), std::ptr::null_mut(), std::ptr::null_mut()) };
    assert_eq!(ret, -1);
}

#[test]
fn passive_open_then_data_both_ways_then_close() {
    let stack = Stack::new(c"local_ip=192.168.0.1");
    let listener = stack.listener();
    assert_eq!(listener, 3);
    let peer = Peer::default();
    let snd = peer.handshake(&stack);
    let (fd, addr) = stack.accept(listener).expect("established");
    assert_eq!((fd, addr), (4, PEER.parse::<SocketAddr>().expect("valid")));

    // Our data goes out as one segment.
    assert_eq!(stack.write(fd, b"hello"), Ok(5));
    let (bytes, _) = stack.sniff().expect("data");
    let data = parse(&bytes);
    assert_eq!(data.tcp.seq, SeqNum::new(snd));
    assert_eq!(data.tcp.payload, b"hello");
    assert_eq!(data.ip.dst, peer.addr.ip());

    // The peer's data is read back.
    let ack = snd.wrapping_add(5);
    stack.inject(&peer.packet(TcpFlags::ACK | TcpFlags::PSH, 1, ack, b"world"));
    assert_eq!(stack.read(fd, 100).as_deref(), Ok(&b"world"[..]));

    // close sends our FIN.
    assert_eq!(stack.close(fd), Ok(0));
    let fin = stack.sniff().expect("FIN");
    let fin = parse(&fin.0);
    assert!(fin.tcp.flags.fin());
    assert_eq!(fin.tcp.seq, SeqNum::new(ack));
    assert_eq!(fin.tcp.ack, SeqNum::new(6));
    assert_eq!(stack.close(fd), Err(libc::EBADF));
}

#[test]
fn usleep_moves_the_clock_and_gettimeofday_ticks() {
    let stack = Stack::new(c"");
    let t0 = stack.now();
    stack.usleep(250_000);
    let t1 = stack.now();
    // Each read moves the clock a microsecond, so a spin until a deadline ends.
    assert!((t0 + 250_000..=t0 + 250_002).contains(&t1), "{t0} → {t1}");
    assert!(stack.now() > t1);
}

#[test]
fn unacknowledged_data_is_retransmitted_after_the_rto() {
    let stack = Stack::new(c"");
    let listener = stack.listener();
    Peer::default().handshake(&stack);
    let (fd, _) = stack.accept(listener).expect("established");
    stack.write(fd, b"lost").expect("queued");
    let (first, sent_at) = stack.sniff().expect("data");

    // Nothing is due yet: netdev_receive runs the clock to the retransmission timer.
    let (again, resent_at) = stack.sniff().expect("a retransmission");
    assert_eq!(parse(&again).tcp.payload, parse(&first).tcp.payload);
    let rto = resent_at - sent_at;
    assert!((200_000..=1_000_000).contains(&rto), "RTO {rto} µs");
    assert!(stack.now() > resent_at);

    // A sleep past the next (doubled) timeout stamps the packet with the deadline, not with
    // the end of the sleep.
    stack.usleep(5_000_000);
    let (_, third_at) = stack.sniff().expect("a second retransmission");
    assert_eq!(third_at - resent_at, 2 * rto);
}

#[test]
fn blocking_accept_on_a_second_thread_wakes_on_the_handshake() {
    let stack = Stack::new(c"");
    let listener = stack.listener();
    thread::scope(|s| {
        let acceptor = s.spawn(|| {
            let accepted = stack.accept(listener);
            // packetdrill reads the clock right after a blocking call to time it.
            (accepted, stack.now())
        });
        let_the_other_thread_block();
        let peer = Peer::default();
        stack.inject(&peer.packet(TcpFlags::SYN, 0, 0, &[]));
        let (syn_ack, _) = stack.sniff().expect("SYN-ACK");
        let iss = parse(&syn_ack).tcp.seq.get();
        stack.usleep(100_000);
        let handshake_done = stack.now();
        stack.inject(&peer.packet(TcpFlags::ACK, 1, iss.wrapping_add(1), &[]));
        // The main thread moves on; the acceptor still reports the time it returned.
        stack.usleep(300_000);
        let (accepted, returned_at) = acceptor.join().expect("no panic");
        assert_eq!(accepted.map(|(fd, _)| fd), Ok(4));
        assert!(
            returned_at - handshake_done < 10,
            "{returned_at} vs {handshake_done}"
        );
    });
}

#[test]
fn blocking_read_on_a_second_thread_wakes_on_data() {
    let stack = Stack::new(c"");
    let listener = stack.listener();
    let peer = Peer::default();
    let snd = peer.handshake(&stack);
    let (fd, _) = stack.accept(listener).expect("established");
    thread::scope(|s| {
        let reader = s.spawn(|| stack.read(fd, 100));
        let_the_other_thread_block();
        stack.usleep(10_000);
        stack.inject(&peer.packet(TcpFlags::ACK | TcpFlags::PSH, 1, snd, b"late"));
        assert_eq!(
            reader.join().expect("no panic").as_deref(),
            Ok(&b"late"[..])
        );
    });
}

#[test]
fn blocking_connect_completes_on_the_syn_ack() {
    let stack = Stack::new(c"");
    let fd = stack.socket().expect("socket");
    let peer: SocketAddr = PEER.parse().expect("valid");
    thread::scope(|s| {
        let connector = s.spawn(|| stack.connect(fd, peer));
        // The SYN shows once the other thread made the call.
        let (syn, _) = (0..1000)
            .find_map(|_| {
                let_the_other_thread_block();
                stack.sniff()
            })
            .expect("SYN");
        let syn = parse(&syn);
        assert_eq!(syn.tcp.flags, TcpFlags::SYN);
        assert_eq!(syn.ip.src, LOCAL.parse::<SocketAddr>().expect("valid").ip());
        let from_peer = Peer {
            addr: peer,
            local: SocketAddr::new(syn.ip.src, syn.tcp.src_port),
        };
        let ack = syn.tcp.seq.get().wrapping_add(1);
        stack.inject(&from_peer.packet(TcpFlags::SYN | TcpFlags::ACK, 500, ack, &[]));
        assert_eq!(connector.join().expect("no panic"), Ok(0));
        let (ack_packet, _) = stack.sniff().expect("ACK");
        assert_eq!(parse(&ack_packet).tcp.ack, SeqNum::new(501));
    });
}

#[test]
fn errors_set_linux_errnos() {
    let stack = Stack::new(c"");
    assert_eq!(stack.close(99), Err(libc::EBADF));
    let fd = stack.socket().expect("socket");
    assert_eq!(stack.read(fd, 10), Err(libc::ENOTCONN));
    assert_eq!(stack.accept(fd), Err(libc::EINVAL));
    assert_eq!(stack.write(fd, b"x"), Err(libc::EPIPE));
    let listener = stack.listener();
    assert_eq!(stack.listen(listener), Ok(0));
    let other = stack.socket().expect("socket");
    assert_eq!(
        stack.bind(other, LOCAL.parse().expect("valid")),
        Err(libc::EADDRINUSE)
    );
    // A null buffer with a length is EFAULT, before the call is made.
    let read = stack.ifc().read.expect("filled");
    // SAFETY: the shim checks the null pointer.
    let ret = unsafe { read(stack.ud(), fd, std::ptr::null_mut(), 10) };
    assert_eq!((ret, errno()), (-1, libc::EFAULT));
    // Calls the shim does not implement.
    let poll = stack.ifc().poll.expect("filled");
    // SAFETY: no fds.
    let ret = unsafe { poll(stack.ud(), std::ptr::null_mut(), 0, 0) };
    assert_eq!((ret, errno()), (-1, libc::ENOSYS));
}

fn errno() -> c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

#[test]
fn fcntl_and_ioctl_go_through_the_c_varargs_wrappers() {
    let stack = Stack::new(c"");
    let listener = stack.listener();
    assert_eq!(stack.fcntl(listener, libc::F_GETFL), Ok(libc::O_RDWR));
    let nonblocking = libc::O_RDWR | libc::O_NONBLOCK;
    assert_eq!(stack.fcntl_arg(listener, libc::F_SETFL, nonblocking), Ok(0));
    assert_eq!(stack.fcntl(listener, libc::F_GETFL), Ok(nonblocking));
    assert_eq!(stack.accept(listener), Err(libc::EAGAIN));
    assert_eq!(stack.fcntl(listener, libc::F_GETFD), Err(libc::EINVAL));

    let mut off = 0;
    assert_eq!(stack.ioctl(listener, libc::FIONBIO, &mut off), Ok(0));
    assert_eq!(stack.fcntl(listener, libc::F_GETFL), Ok(libc::O_RDWR));
    let mut on = 1;
    assert_eq!(stack.ioctl(listener, libc::FIONBIO, &mut on), Ok(0));
    assert_eq!(stack.accept(listener), Err(libc::EAGAIN));
    let mut queued = 0;
    assert_eq!(
        stack.ioctl(listener, libc::FIONREAD, &mut queued),
        Err(libc::ENOSYS)
    );
    assert_eq!(stack.fcntl(42, libc::F_GETFL), Err(libc::EBADF));
}

#[test]
fn socket_options_as_c_values() {
    let stack = Stack::new(c"");
    let fd = stack.socket().expect("socket");
    let (set, get) = (
        stack.ifc().setsockopt.expect("filled"),
        stack.ifc().getsockopt.expect("filled"),
    );
    let one: c_int = 1;
    let int_len = size_of::<c_int>() as libc::socklen_t;
    // SAFETY: an int of `int_len` bytes.
    let ret = unsafe {
        set(
            stack.ud(),
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            ptr::from_ref(&one).cast(),
            int_len,
        )
    };
    assert_eq!(ret, 0);
    let (mut value, mut len): (c_int, libc::socklen_t) = (0, int_len);
    // SAFETY: an int and its length.
    let ret = unsafe {
        get(
            stack.ud(),
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_NODELAY,
            ptr::from_mut(&mut value).cast(),
            &mut len,
        )
    };
    assert_eq!((ret, value, len), (0, 1, int_len));

    // A linger is two ints; shorter than an int is EINVAL, as Linux.
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let linger_len = size_of_val(&linger) as libc::socklen_t;
    // SAFETY: a struct linger of `linger_len` bytes.
    let ret = unsafe {
        set(
            stack.ud(),
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            ptr::from_ref(&linger).cast(),
            linger_len,
        )
    };
    assert_eq!(ret, 0);
    let mut read_back = libc::linger {
        l_onoff: 0,
        l_linger: 9,
    };
    let mut len = linger_len;
    // SAFETY: a struct linger and its length.
    let ret = unsafe {
        get(
            stack.ud(),
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            ptr::from_mut(&mut read_back).cast(),
            &mut len,
        )
    };
    assert_eq!(
        (ret, read_back.l_onoff, read_back.l_linger, len),
        (0, 1, 0, linger_len)
    );
    // SAFETY: 2 readable bytes.
    let ret = unsafe {
        set(
            stack.ud(),
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            ptr::from_ref(&one).cast(),
            2,
        )
    };
    assert_eq!((ret, errno()), (-1, libc::EINVAL));
}

#[test]
fn vectored_calls_gather_and_scatter() {
    let stack = Stack::new(c"");
    let listener = stack.listener();
    let peer = Peer::default();
    let snd = peer.handshake(&stack);
    let (fd, _) = stack.accept(listener).expect("established");

    let (head, tail) = (b"gat".to_vec(), b"her".to_vec());
    let iov = [head.as_slice(), tail.as_slice()].map(|b| libc::iovec {
        iov_base: b.as_ptr().cast_mut().cast(),
        iov_len: b.len(),
    });
    let writev = stack.ifc().writev.expect("filled");
    // SAFETY: two iovecs over live buffers.
    assert_eq!(unsafe { writev(stack.ud(), fd, iov.as_ptr(), 2) }, 6);
    let (sent, _) = stack.sniff().expect("data");
    assert_eq!(parse(&sent).tcp.payload, b"gather");

    stack.inject(&peer.packet(
        TcpFlags::ACK | TcpFlags::PSH,
        1,
        snd.wrapping_add(6),
        b"scatter",
    ));
    let (mut a, mut b) = ([0u8; 4], [0u8; 8]);
    let mut iov = [
        libc::iovec {
            iov_base: a.as_mut_ptr().cast(),
            iov_len: a.len(),
        },
        libc::iovec {
            iov_base: b.as_mut_ptr().cast(),
            iov_len: b.len(),
        },
    ];
    // SAFETY: a zeroed msghdr is valid; its buffers are set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = 2;
    msg.msg_namelen = 99;
    let recvmsg = stack.ifc().recvmsg.expect("filled");
    // SAFETY: a msghdr over two live buffers.
    assert_eq!(unsafe { recvmsg(stack.ud(), fd, &mut msg, 0) }, 7);
    assert_eq!((&a, &b[..3], msg.msg_namelen), (b"scat", &b"ter"[..], 0));

    // More iovecs than Linux's UIO_MAXIOV is EINVAL.
    // SAFETY: the count is refused before the pointer is read.
    let ret = unsafe { writev(stack.ud(), fd, iov.as_ptr(), 1025) };
    assert_eq!((ret, errno()), (-1, libc::EINVAL));
}
