//! Calls the shim the way packetdrill does: through the function pointers
//! `packetdrill_interface_init` fills, with C arguments, reading `errno` after a failure.

use std::ffi::{CStr, c_int, c_void};
use std::net::SocketAddr;
use std::ptr;

use packetdrill_shim::{PacketdrillInterface, packetdrill_interface_init};
use wire::{IpRepr, Packet, SeqNum, TcpFlags, TcpOptions, TcpRepr};

/// The stack's address (packetdrill's default `--local_ip`) and listening port.
pub const LOCAL: &str = "192.168.0.1:8080";
/// The peer packetdrill plays.
pub const PEER: &str = "192.0.2.1:40000";

/// A call's value, or the errno it set.
pub type Res<T> = Result<T, c_int>;

/// One instance of the shim, freed on drop.
pub struct Stack {
    ifc: PacketdrillInterface,
}

// SAFETY: the shim is thread-safe (one lock around its state), as packetdrill's two threads
// need; what these tests check.
unsafe impl Sync for Stack {}

fn errno() -> c_int {
    // SAFETY: the calling thread's errno.
    unsafe { *libc::__errno_location() }
}

/// A C return value: -1 with errno becomes `Err(errno)`.
fn check<T: TryInto<i64> + Copy>(ret: T) -> Res<T> {
    if ret.try_into().ok() == Some(-1) {
        Err(errno())
    } else {
        Ok(ret)
    }
}

/// A `sockaddr_in` for `addr`.
pub fn sockaddr_in(addr: SocketAddr) -> libc::sockaddr_in {
    let SocketAddr::V4(addr) = addr else {
        panic!("IPv4 only");
    };
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: addr.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(*addr.ip()).to_be(),
        },
        sin_zero: [0; 8],
    }
}

impl Stack {
    /// `packetdrill_interface_init(flags, &ifc)`.
    pub fn new(flags: &CStr) -> Stack {
        let mut ifc = PacketdrillInterface::default();
        // SAFETY: a NUL-terminated string and an interface to fill.
        unsafe { packetdrill_interface_init(flags.as_ptr(), &mut ifc) };
        Stack { ifc }
    }

    /// The interface, for calls the helpers below do not wrap.
    pub fn ifc(&self) -> &PacketdrillInterface {
        &self.ifc
    }

    /// `userdata`.
    pub fn ud(&self) -> *mut c_void {
        self.ifc.userdata
    }

    pub fn socket(&self) -> Res<c_int> {
        let f = self.ifc.socket.expect("filled");
        // SAFETY: plain integers.
        check(unsafe {
            f(
                self.ud(),
                libc::AF_INET,
                libc::SOCK_STREAM,
                libc::IPPROTO_TCP,
            )
        })
    }

    pub fn bind(&self, fd: c_int, addr: SocketAddr) -> Res<c_int> {
        let sin = sockaddr_in(addr);
        let f = self.ifc.bind.expect("filled");
        let len = size_of_val(&sin) as libc::socklen_t;
        // SAFETY: a sockaddr_in of `len` bytes.
        check(unsafe { f(self.ud(), fd, ptr::from_ref(&sin).cast(), len) })
    }

    pub fn listen(&self, fd: c_int) -> Res<c_int> {
        let f = self.ifc.listen.expect("filled");
        // SAFETY: plain integers.
        check(unsafe { f(self.ud(), fd, 4) })
    }

    /// A listener on [`LOCAL`]: fd 3.
    pub fn listener(&self) -> c_int {
        let fd = self.socket().expect("socket");
        self.bind(fd, LOCAL.parse().expect("valid")).expect("bind");
        self.listen(fd).expect("listen");
        fd
    }

    /// `accept`, with the peer's address.
    pub fn accept(&self, fd: c_int) -> Res<(c_int, SocketAddr)> {
        let mut sin = sockaddr_in("0.0.0.0:0".parse().expect("valid"));
        let mut len = size_of_val(&sin) as libc::socklen_t;
        let f = self.ifc.accept.expect("filled");
        // SAFETY: a sockaddr_in and its length.
        let new_fd = check(unsafe { f(self.ud(), fd, ptr::from_mut(&mut sin).cast(), &mut len) })?;
        assert_eq!(len as usize, size_of_val(&sin));
        let ip = u32::from_be(sin.sin_addr.s_addr);
        let peer = SocketAddr::from((ip.to_be_bytes(), u16::from_be(sin.sin_port)));
        Ok((new_fd, peer))
    }

    pub fn connect(&self, fd: c_int, addr: SocketAddr) -> Res<c_int> {
        let sin = sockaddr_in(addr);
        let f = self.ifc.connect.expect("filled");
        let len = size_of_val(&sin) as libc::socklen_t;
        // SAFETY: a sockaddr_in of `len` bytes.
        check(unsafe { f(self.ud(), fd, ptr::from_ref(&sin).cast(), len) })
    }

    /// `read` of up to `len` bytes.
    pub fn read(&self, fd: c_int, len: usize) -> Res<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let f = self.ifc.read.expect("filled");
        // SAFETY: a buffer of `len` bytes.
        let n = check(unsafe { f(self.ud(), fd, buf.as_mut_ptr().cast(), len) })?;
        buf.truncate(n as usize);
        Ok(buf)
    }

    pub fn write(&self, fd: c_int, data: &[u8]) -> Res<isize> {
        let f = self.ifc.write.expect("filled");
        // SAFETY: `data.len()` bytes.
        check(unsafe { f(self.ud(), fd, data.as_ptr().cast(), data.len()) })
    }

    pub fn close(&self, fd: c_int) -> Res<c_int> {
        let f = self.ifc.close.expect("filled");
        // SAFETY: a plain integer.
        check(unsafe { f(self.ud(), fd) })
    }

    /// `fcntl(fd, cmd)`, through the C wrapper.
    pub fn fcntl(&self, fd: c_int, cmd: c_int) -> Res<c_int> {
        let f = self.ifc.fcntl.expect("filled");
        // SAFETY: a command without an argument.
        check(unsafe { f(self.ud(), fd, cmd) })
    }

    /// `fcntl(fd, cmd, arg)`, through the C wrapper.
    pub fn fcntl_arg(&self, fd: c_int, cmd: c_int, arg: c_int) -> Res<c_int> {
        let f = self.ifc.fcntl.expect("filled");
        // SAFETY: an int argument, as F_SETFL takes.
        check(unsafe { f(self.ud(), fd, cmd, arg) })
    }

    /// `ioctl(fd, request, &value)`, through the C wrapper.
    pub fn ioctl(&self, fd: c_int, request: libc::c_ulong, value: &mut c_int) -> Res<c_int> {
        let f = self.ifc.ioctl.expect("filled");
        // SAFETY: an int pointer, as the socket requests take.
        check(unsafe { f(self.ud(), fd, request, ptr::from_mut(value)) })
    }

    /// Injects a packet (`netdev_send`).
    pub fn inject(&self, packet: &[u8]) {
        let f = self.ifc.netdev_send.expect("filled");
        // SAFETY: `packet.len()` bytes.
        let ret = unsafe { f(self.ud(), packet.as_ptr().cast(), packet.len()) };
        assert_eq!(ret, 0);
    }

    /// The next packet the stack sends and its time (`netdev_receive`); `None` if it sends
    /// none.
    pub fn sniff(&self) -> Option<(Vec<u8>, i64)> {
        let mut buf = vec![0u8; 65536];
        let mut count = buf.len();
        let mut time = -1i64;
        let f = self.ifc.netdev_receive.expect("filled");
        // SAFETY: a buffer of `count` bytes, and the two out-parameters.
        let ret = unsafe { f(self.ud(), buf.as_mut_ptr().cast(), &mut count, &mut time) };
        assert_eq!(ret, 0);
        buf.truncate(count);
        (count > 0).then_some((buf, time))
    }

    pub fn usleep(&self, usec: u32) {
        let f = self.ifc.usleep.expect("filled");
        // SAFETY: a plain integer.
        assert_eq!(unsafe { f(self.ud(), usec) }, 0);
    }

    /// `gettimeofday`, in microseconds.
    pub fn now(&self) -> i64 {
        let mut tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        };
        let f = self.ifc.gettimeofday.expect("filled");
        // SAFETY: a timeval, and no timezone.
        assert_eq!(unsafe { f(self.ud(), &mut tv, ptr::null_mut()) }, 0);
        tv.tv_sec * 1_000_000 + tv.tv_usec
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let free = self.ifc.free.expect("filled");
        // SAFETY: the userdata init made, freed once, after every call returned.
        unsafe { free(self.ifc.userdata) };
    }
}

/// The remote end packetdrill plays: builds its packets to the stack's [`LOCAL`] address.
pub struct Peer {
    pub addr: SocketAddr,
    pub local: SocketAddr,
}

impl Default for Peer {
    fn default() -> Self {
        Peer {
            addr: PEER.parse().expect("valid"),
            local: LOCAL.parse().expect("valid"),
        }
    }
}

impl Peer {
    /// An IP packet from the peer.
    pub fn packet(&self, flags: TcpFlags, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
        let packet = Packet {
            ip: IpRepr {
                src: self.addr.ip(),
                dst: self.local.ip(),
                hop_limit: 64,
            },
            tcp: TcpRepr {
                src_port: self.addr.port(),
                dst_port: self.local.port(),
                seq: SeqNum::new(seq),
                ack: SeqNum::new(ack),
                flags,
                window: 65535,
                urgent: 0,
                options: TcpOptions {
                    mss: flags.syn().then_some(1460),
                    ..TcpOptions::default()
                },
                payload,
            },
        };
        let mut buf = vec![0; packet.buffer_len()];
        packet.emit(&mut buf).expect("fits");
        buf
    }

    /// Shakes hands with the listener on [`LOCAL`]; returns the stack's ISS + 1 (our ACK).
    pub fn handshake(&self, stack: &Stack) -> u32 {
        stack.inject(&self.packet(TcpFlags::SYN, 0, 0, &[]));
        let (syn_ack, _) = stack.sniff().expect("a SYN-ACK");
        let syn_ack = Packet::parse(&syn_ack).expect("valid");
        assert_eq!(syn_ack.tcp.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(syn_ack.tcp.ack, SeqNum::new(1));
        let iss = syn_ack.tcp.seq.get();
        stack.inject(&self.packet(TcpFlags::ACK, 1, iss.wrapping_add(1), &[]));
        iss.wrapping_add(1)
    }
}
