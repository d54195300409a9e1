//! packetdrill's `struct packetdrill_interface` (`packetdrill.h`), field for field.
//!
//! packetdrill `dlopen`s the shared object named by `--so_filename`, calls its
//! `packetdrill_interface_init(flags, &ifc)`, and from then on makes every system call, packet
//! injection, packet capture and clock read through these function pointers, passing
//! `userdata` first. It calls the pointers without checking them for NULL, so every field is
//! filled: the calls the shim does not implement fail with `ENOSYS`.

use core::ffi::{c_int, c_uint, c_ulong, c_void};

use libc::{
    epoll_event, iovec, msghdr, nfds_t, pollfd, size_t, sockaddr, socklen_t, ssize_t, timeval,
    useconds_t,
};

/// `loff_t`, the offset type of `splice`.
type Loff = i64;

/// packetdrill's `struct packetdrill_interface`, in the declaration's order.
///
/// # Examples
///
/// ```
/// use packetdrill_shim::{PacketdrillInterface, packetdrill_interface_init};
///
/// let mut ifc = PacketdrillInterface::default();
/// // SAFETY: the flags are a NUL-terminated string and `ifc` a valid interface to fill.
/// unsafe { packetdrill_interface_init(c"local_ip=192.168.0.1".as_ptr(), &mut ifc) };
/// assert!(!ifc.userdata.is_null());
/// let free = ifc.free.expect("filled");
/// // SAFETY: `userdata` came from init and is freed once.
/// unsafe { free(ifc.userdata) };
/// ```
#[repr(C)]
#[derive(Debug)]
pub struct PacketdrillInterface {
    /// Passed back as the first argument of every call: the shim's state.
    pub userdata: *mut c_void,
    /// Frees `userdata` when the script ends.
    pub free: Option<unsafe extern "C" fn(*mut c_void)>,
    /// `socket(domain, type, protocol)`.
    pub socket: Option<unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int) -> c_int>,
    /// `bind(fd, addr, addrlen)`.
    pub bind: Option<unsafe extern "C" fn(*mut c_void, c_int, *const sockaddr, socklen_t) -> c_int>,
    /// `listen(fd, backlog)`.
    pub listen: Option<unsafe extern "C" fn(*mut c_void, c_int, c_int) -> c_int>,
    /// `accept(fd, addr, addrlen)`.
    pub accept:
        Option<unsafe extern "C" fn(*mut c_void, c_int, *mut sockaddr, *mut socklen_t) -> c_int>,
    /// `connect(fd, addr, addrlen)`.
    pub connect:
        Option<unsafe extern "C" fn(*mut c_void, c_int, *const sockaddr, socklen_t) -> c_int>,
    /// `read(fd, buf, count)`.
    pub read: Option<unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, size_t) -> ssize_t>,
    /// `readv(fd, iov, iovcnt)`.
    pub readv: Option<unsafe extern "C" fn(*mut c_void, c_int, *const iovec, c_int) -> ssize_t>,
    /// `recv(fd, buf, len, flags)`.
    pub recv:
        Option<unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, size_t, c_int) -> ssize_t>,
    /// `recvfrom(fd, buf, len, flags, src_addr, addrlen)`.
    pub recvfrom: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *mut c_void,
            size_t,
            c_int,
            *mut sockaddr,
            *mut socklen_t,
        ) -> ssize_t,
    >,
    /// `recvmsg(fd, msg, flags)`.
    pub recvmsg: Option<unsafe extern "C" fn(*mut c_void, c_int, *mut msghdr, c_int) -> ssize_t>,
    /// `write(fd, buf, count)`.
    pub write: Option<unsafe extern "C" fn(*mut c_void, c_int, *const c_void, size_t) -> ssize_t>,
    /// `writev(fd, iov, iovcnt)`.
    pub writev: Option<unsafe extern "C" fn(*mut c_void, c_int, *const iovec, c_int) -> ssize_t>,
    /// `send(fd, buf, len, flags)`.
    pub send:
        Option<unsafe extern "C" fn(*mut c_void, c_int, *const c_void, size_t, c_int) -> ssize_t>,
    /// `sendto(fd, buf, len, flags, dest_addr, addrlen)`.
    pub sendto: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *const c_void,
            size_t,
            c_int,
            *const sockaddr,
            socklen_t,
        ) -> ssize_t,
    >,
    /// `sendmsg(fd, msg, flags)`.
    pub sendmsg: Option<unsafe extern "C" fn(*mut c_void, c_int, *const msghdr, c_int) -> ssize_t>,
    /// `fcntl(fd, cmd, ...)`, variadic.
    pub fcntl: Option<unsafe extern "C" fn(*mut c_void, c_int, c_int, ...) -> c_int>,
    /// `ioctl(fd, request, ...)`, variadic.
    pub ioctl: Option<unsafe extern "C" fn(*mut c_void, c_int, c_ulong, ...) -> c_int>,
    /// `close(fd)`.
    pub close: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    /// `shutdown(fd, how)`.
    pub shutdown: Option<unsafe extern "C" fn(*mut c_void, c_int, c_int) -> c_int>,
    /// `getsockopt(fd, level, name, optval, optlen)`.
    pub getsockopt: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            c_int,
            c_int,
            *mut c_void,
            *mut socklen_t,
        ) -> c_int,
    >,
    /// `setsockopt(fd, level, name, optval, optlen)`.
    pub setsockopt: Option<
        unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int, *const c_void, socklen_t) -> c_int,
    >,
    /// `poll(fds, nfds, timeout)`.
    pub poll: Option<unsafe extern "C" fn(*mut c_void, *mut pollfd, nfds_t, c_int) -> c_int>,
    /// Injects `count` bytes, one IP packet, into the stack. 0, or -1 on error.
    pub netdev_send: Option<unsafe extern "C" fn(*mut c_void, *const c_void, size_t) -> c_int>,
    /// Takes the next packet the stack sent: its bytes into `buf` (of `*count` bytes), its
    /// length into `*count` (0 for none), its send time into `*time_usecs`. 0, or -1 on error.
    pub netdev_receive:
        Option<unsafe extern "C" fn(*mut c_void, *mut c_void, *mut size_t, *mut i64) -> c_int>,
    /// `usleep(usec)`, on the shim's clock.
    pub usleep: Option<unsafe extern "C" fn(*mut c_void, useconds_t) -> c_int>,
    /// `gettimeofday(tv, tz)`, on the shim's clock.
    pub gettimeofday: Option<unsafe extern "C" fn(*mut c_void, *mut timeval, *mut c_void) -> c_int>,
    /// `epoll_create(size)`.
    pub epoll_create: Option<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    /// `epoll_ctl(epfd, op, fd, event)`.
    pub epoll_ctl:
        Option<unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int, *mut epoll_event) -> c_int>,
    /// `epoll_wait(epfd, events, maxevents, timeout)`.
    pub epoll_wait:
        Option<unsafe extern "C" fn(*mut c_void, c_int, *mut epoll_event, c_int, c_int) -> c_int>,
    /// `pipe(pipefd)`.
    pub pipe: Option<unsafe extern "C" fn(*mut c_void, *mut c_int) -> c_int>,
    /// `splice(fd_in, off_in, fd_out, off_out, len, flags)`.
    pub splice: Option<
        unsafe extern "C" fn(
            *mut c_void,
            c_int,
            *mut Loff,
            c_int,
            *mut Loff,
            size_t,
            c_uint,
        ) -> c_int,
    >,
}

impl Default for PacketdrillInterface {
    /// Empty, as packetdrill's zeroed allocation: a null `userdata` and no functions.
    fn default() -> Self {
        PacketdrillInterface {
            userdata: core::ptr::null_mut(),
            free: None,
            socket: None,
            bind: None,
            listen: None,
            accept: None,
            connect: None,
            read: None,
            readv: None,
            recv: None,
            recvfrom: None,
            recvmsg: None,
            write: None,
            writev: None,
            send: None,
            sendto: None,
            sendmsg: None,
            fcntl: None,
            ioctl: None,
            close: None,
            shutdown: None,
            getsockopt: None,
            setsockopt: None,
            poll: None,
            netdev_send: None,
            netdev_receive: None,
            usleep: None,
            gettimeofday: None,
            epoll_create: None,
            epoll_ctl: None,
            epoll_wait: None,
            pipe: None,
            splice: None,
        }
    }
}
