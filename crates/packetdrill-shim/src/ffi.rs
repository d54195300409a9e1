//! The C boundary, and the only module with `unsafe`: `packetdrill_interface_init` and the
//! functions it puts in [`PacketdrillInterface`].
//!
//! Each entry point turns its pointers into references or slices (null where a buffer is due:
//! `EFAULT`), calls the safe layer, sets `errno` and returns -1 on failure. Nothing unwinds
//! into C: every entry runs under `catch_unwind`, and a panic becomes `EIO`. The entry points
//! call packetdrill's `userdata` `ud`.

use core::ffi::{CStr, c_char, c_int, c_uint, c_ulong, c_void};
use core::{ptr, slice};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use libc::{
    epoll_event, iovec, msghdr, nfds_t, pollfd, size_t, sockaddr, socklen_t, ssize_t, timeval,
    useconds_t,
};
use tcpdrill::linux::Errno;
use tcpdrill::sockets::Call;

use crate::abi::PacketdrillInterface;
use crate::error::Error;
use crate::flags::Flags;
use crate::shim::Shim;
use crate::sockaddr::encode as encode_addr;

unsafe extern "C" {
    /// varargs.c: takes `fcntl`'s optional argument and calls [`tcpstk_shim_fcntl_fixed`].
    fn tcpstk_shim_fcntl(userdata: *mut c_void, fd: c_int, cmd: c_int, ...) -> c_int;
    /// varargs.c: takes `ioctl`'s optional argument and calls [`tcpstk_shim_ioctl_fixed`].
    fn tcpstk_shim_ioctl(userdata: *mut c_void, fd: c_int, request: c_ulong, ...) -> c_int;
}

/// Linux's `UIO_MAXIOV`: the most buffers `readv`/`writev`/`sendmsg` take.
const IOV_MAX: usize = 1024;

/// Fills `ifc` with a new instance of the stack, configured by `flags` (packetdrill's
/// `--so_flags`, `local_ip=A.B.C.D`). On bad flags it says why on stderr and leaves
/// `userdata` null: every call then fails with `EINVAL`.
///
/// # Safety
///
/// `flags` is null or a NUL-terminated string; `ifc` is null or points to an interface the
/// caller lets this function overwrite. `ifc.free(ifc.userdata)` must be called once, after
/// every other call has returned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn packetdrill_interface_init(
    flags: *const c_char,
    ifc: *mut PacketdrillInterface,
) {
    let init = || {
        if ifc.is_null() {
            return;
        }
        // SAFETY: the caller passes null or a NUL-terminated string.
        let flags = unsafe { flags.as_ref() }.map(|f| {
            // SAFETY: non-null, so NUL-terminated by the contract.
            unsafe { CStr::from_ptr(f) }.to_string_lossy()
        });
        let userdata = match Flags::parse(flags.as_deref()) {
            Ok(flags) => Box::into_raw(Box::new(Shim::new(flags.local_ips))).cast(),
            Err(e) => {
                eprintln!("packetdrill-shim: --so_flags: {e}");
                ptr::null_mut()
            }
        };
        // SAFETY: non-null, so a writable interface by the contract.
        unsafe { ifc.write(interface(userdata)) };
    };
    if catch_unwind(init).is_err() {
        eprintln!("packetdrill-shim: packetdrill_interface_init panicked");
    }
}

/// Every entry point, over `userdata`.
fn interface(userdata: *mut c_void) -> PacketdrillInterface {
    PacketdrillInterface {
        userdata,
        free: Some(free),
        socket: Some(socket),
        bind: Some(bind),
        listen: Some(listen),
        accept: Some(accept),
        connect: Some(connect),
        read: Some(read),
        readv: Some(readv),
        recv: Some(recv),
        recvfrom: Some(recvfrom),
        recvmsg: Some(recvmsg),
        write: Some(write),
        writev: Some(writev),
        send: Some(send),
        sendto: Some(sendto),
        sendmsg: Some(sendmsg),
        fcntl: Some(tcpstk_shim_fcntl),
        ioctl: Some(tcpstk_shim_ioctl),
        close: Some(close),
        shutdown: Some(shutdown),
        getsockopt: Some(getsockopt),
        setsockopt: Some(setsockopt),
        poll: Some(poll),
        netdev_send: Some(netdev_send),
        netdev_receive: Some(netdev_receive),
        usleep: Some(usleep),
        gettimeofday: Some(gettimeofday),
        epoll_create: Some(epoll_create),
        epoll_ctl: Some(epoll_ctl),
        epoll_wait: Some(epoll_wait),
        pipe: Some(pipe),
        splice: Some(splice),
    }
}

// ---- the boundary's helpers ----

/// Runs an entry point's body: its value, or `fail` with `errno` set (`EIO` on a panic).
fn entry<T>(fail: T, body: impl FnOnce() -> Result<T, Error>) -> T {
    let error = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => return value,
        Ok(Err(error)) => error,
        Err(_) => Error::Broken,
    };
    // SAFETY: `__errno_location` returns the calling thread's errno, valid for the thread's
    // lifetime.
    unsafe { *libc::__errno_location() = error.code() };
    fail
}

/// The shim behind `userdata`.
///
/// # Safety
///
/// `userdata` is null or what `packetdrill_interface_init` stored, not yet freed.
unsafe fn shim<'a>(userdata: *mut c_void) -> Result<&'a Shim, Error> {
    // SAFETY: by the contract, a live `Shim` or null.
    unsafe { userdata.cast::<Shim>().as_ref() }.ok_or(Error::NoShim)
}

/// `len` bytes at `buf`; null is `EFAULT` unless `len` is 0.
///
/// # Safety
///
/// A non-null `buf` is valid for reads of `len` bytes for `'a`.
unsafe fn bytes<'a>(buf: *const c_void, len: usize) -> Result<&'a [u8], Error> {
    if len == 0 {
        return Ok(&[]);
    }
    if buf.is_null() || len > isize::MAX as usize {
        return Err(Error::Fault);
    }
    // SAFETY: non-null and valid for `len` bytes by the contract.
    Ok(unsafe { slice::from_raw_parts(buf.cast(), len) })
}

/// `len` writable bytes at `buf`; null is `EFAULT` unless `len` is 0.
///
/// # Safety
///
/// A non-null `buf` is valid for writes of `len` bytes for `'a`, and nothing else accesses
/// them meanwhile.
unsafe fn bytes_mut<'a>(buf: *mut c_void, len: usize) -> Result<&'a mut [u8], Error> {
    if len == 0 {
        return Ok(&mut []);
    }
    if buf.is_null() || len > isize::MAX as usize {
        return Err(Error::Fault);
    }
    // SAFETY: non-null, valid for `len` bytes and unaliased by the contract.
    Ok(unsafe { slice::from_raw_parts_mut(buf.cast(), len) })
}

/// The `iovcnt` buffers at `iov` (`EINVAL` past `IOV_MAX`, `EFAULT` for a null buffer).
///
/// # Safety
///
/// A non-null `iov` points to `iovcnt` iovecs, valid for `'a`.
unsafe fn iovecs<'a>(iov: *const iovec, iovcnt: usize) -> Result<&'a [iovec], Error> {
    if iovcnt > IOV_MAX {
        return Err(Errno::EINVAL.into());
    }
    if iovcnt == 0 {
        return Ok(&[]);
    }
    if iov.is_null() {
        return Err(Error::Fault);
    }
    // SAFETY: non-null, `iovcnt` iovecs by the contract.
    let iovs = unsafe { slice::from_raw_parts(iov, iovcnt) };
    if iovs.iter().any(|v| v.iov_len > 0 && v.iov_base.is_null()) {
        return Err(Error::Fault);
    }
    Ok(iovs)
}

/// The bytes of every buffer, in order.
///
/// # Safety
///
/// Each iovec's buffer is valid for reads of its length.
unsafe fn gather(iovs: &[iovec]) -> Result<Vec<&[u8]>, Error> {
    iovs.iter()
        // SAFETY: each buffer is valid for its length by the contract.
        .map(|v| unsafe { bytes(v.iov_base, v.iov_len) })
        .collect()
}

/// Copies `data` into the buffers in order, one buffer at a time (they may overlap, as C
/// allows).
///
/// # Safety
///
/// Each iovec's buffer is valid for writes of its length, and none overlaps `data`.
unsafe fn scatter(data: &[u8], iovs: &[iovec]) {
    let mut rest = data;
    for v in iovs {
        let n = v.iov_len.min(rest.len());
        if n > 0 {
            // SAFETY: `n` bytes fit the buffer (valid by the contract) and come from `rest`,
            // which does not overlap it.
            unsafe { ptr::copy_nonoverlapping(rest.as_ptr(), v.iov_base.cast(), n) };
        }
        rest = &rest[n..];
    }
}

/// The total length of the buffers (`EINVAL` when it overflows, as Linux).
fn total_len(iovs: &[iovec]) -> Result<usize, Error> {
    iovs.iter()
        .try_fold(0usize, |sum, v| sum.checked_add(v.iov_len))
        .filter(|&len| len <= isize::MAX as usize)
        .ok_or(Errno::EINVAL.into())
}

/// Writes `addr` to a caller's `(sockaddr, socklen_t)` pair, cut to its length, with the full
/// length in `*addrlen` (nothing when `addr` is null).
///
/// # Safety
///
/// A non-null `addr` is valid for writes of `*addrlen` bytes; a non-null `addrlen` is valid.
unsafe fn write_addr(
    peer: std::net::SocketAddr,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> Result<(), Error> {
    if addr.is_null() {
        return Ok(());
    }
    // SAFETY: valid or null by the contract.
    let addrlen = unsafe { addrlen.as_mut() }.ok_or(Error::Fault)?;
    let (bytes, len) = encode_addr(peer);
    let room = usize::try_from(*addrlen).map_err(|_| Errno::EINVAL)?;
    // SAFETY: non-null, `*addrlen` writable bytes by the contract.
    let dst = unsafe { bytes_mut(addr.cast(), room.min(len)) }?;
    dst.copy_from_slice(&bytes[..dst.len()]);
    // The length of a sockaddr (16 or 28) fits a socklen_t.
    *addrlen = len as socklen_t;
    Ok(())
}

/// Holds the process's fd `fd` open on /dev/null if that number is free.
///
/// packetdrill's `socket_close` calls the real `close(2)` on the live fd of every socket a
/// script leaves open; on a number the process has not open it fails, and packetdrill exits 1
/// after a script that passed. So each fd the shim hands out is also held open while the
/// number is free, and closed when the script closes the socket. What is held when the script
/// ends, packetdrill closes; `free` leaves it. A number the process uses already is left alone
/// (packetdrill keeps a socket of its own, often on 3, and closes it at the end then).
fn hold_placeholder(shim: &Shim, fd: c_int) {
    let Ok(null) = std::fs::File::open("/dev/null") else {
        return;
    };
    if null.as_raw_fd() == fd {
        // The lowest free number is the one wanted: keep it open.
        if shim.hold_placeholder(fd).is_ok() {
            let _ = null.into_raw_fd();
        }
        return;
    }
    // SAFETY: F_DUPFD_CLOEXEC on an open fd takes an int and returns a new fd or -1.
    let dup = unsafe { libc::fcntl(null.as_raw_fd(), libc::F_DUPFD_CLOEXEC, fd) };
    if dup == fd && shim.hold_placeholder(fd).is_ok() {
        return;
    }
    if dup >= 0 {
        // SAFETY: the fd F_DUPFD_CLOEXEC just opened, not shared with anyone.
        unsafe { libc::close(dup) };
    }
}

// ---- the system calls ----

unsafe extern "C" fn free(userdata: *mut c_void) {
    entry((), || {
        if !userdata.is_null() {
            // SAFETY: packetdrill frees the pointer init made, once, after its last call.
            drop(unsafe { Box::from_raw(userdata.cast::<Shim>()) });
        }
        Ok(())
    })
}

unsafe extern "C" fn socket(ud: *mut c_void, domain: c_int, ty: c_int, proto: c_int) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` is what init stored (packetdrill's contract).
        let shim = unsafe { shim(ud) }?;
        let call = Call::Socket {
            domain,
            ty,
            protocol: proto,
        };
        // An fd fits an int.
        let fd = shim.value(call)? as c_int;
        hold_placeholder(shim, fd);
        Ok(fd)
    })
}

unsafe extern "C" fn bind(
    ud: *mut c_void,
    fd: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `addr` holds `addrlen` bytes (bind's contract).
        let (shim, addr) = unsafe { (shim(ud)?, bytes(addr.cast(), addrlen as usize)?) };
        shim.bind(fd, addr).map(|_| 0)
    })
}

unsafe extern "C" fn listen(ud: *mut c_void, fd: c_int, backlog: c_int) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` is what init stored.
        let shim = unsafe { shim(ud) }?;
        shim.value(Call::Listen { fd, backlog }).map(|_| 0)
    })
}

unsafe extern "C" fn accept(
    ud: *mut c_void,
    fd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` is what init stored.
        let shim = unsafe { shim(ud) }?;
        if !addr.is_null() && addrlen.is_null() {
            return Err(Error::Fault);
        }
        let (new_fd, peer) = shim.accept(fd)?;
        hold_placeholder(shim, new_fd);
        // SAFETY: `addr` holds `*addrlen` writable bytes, or is null (accept's contract).
        unsafe { write_addr(peer, addr, addrlen) }?;
        Ok(new_fd)
    })
}

unsafe extern "C" fn connect(
    ud: *mut c_void,
    fd: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `addr` holds `addrlen` bytes (connect's contract).
        let (shim, addr) = unsafe { (shim(ud)?, bytes(addr.cast(), addrlen as usize)?) };
        shim.connect(fd, addr).map(|_| 0)
    })
}

/// `recv` into one buffer: `read`, `recv` and `recvfrom` share it.
///
/// # Safety
///
/// `ud` is what init stored; `buf` holds `len` writable bytes.
unsafe fn recv_into(
    ud: *mut c_void,
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
) -> Result<ssize_t, Error> {
    // SAFETY: by the function's contract.
    let (shim, buf) = unsafe { (shim(ud)?, bytes_mut(buf, len)?) };
    let data = shim.recv(fd, len, flags)?;
    buf[..data.len()].copy_from_slice(&data);
    // At most `len`, which fits an isize (checked by `bytes_mut`).
    Ok(data.len() as ssize_t)
}

unsafe extern "C" fn read(ud: *mut c_void, fd: c_int, buf: *mut c_void, len: size_t) -> ssize_t {
    // SAFETY: read's contract is recv_into's.
    entry(-1, || unsafe { recv_into(ud, fd, buf, len, 0) })
}

unsafe extern "C" fn recv(
    ud: *mut c_void,
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    // SAFETY: recv's contract is recv_into's.
    entry(-1, || unsafe { recv_into(ud, fd, buf, len, flags) })
}

unsafe extern "C" fn recvfrom(
    ud: *mut c_void,
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    src_addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    entry(-1, || {
        // SAFETY: recvfrom's contract is recv_into's for these arguments.
        let n = unsafe { recv_into(ud, fd, buf, len, flags) }?;
        // TCP reports no source address: Linux sets the length to 0.
        if !src_addr.is_null() {
            // SAFETY: valid when `src_addr` is given (recvfrom's contract), or null.
            *unsafe { addrlen.as_mut() }.ok_or(Error::Fault)? = 0;
        }
        Ok(n)
    })
}

/// `recv` scattered into `iovcnt` buffers: `readv` and `recvmsg` share it.
///
/// # Safety
///
/// `ud` is what init stored; `iov` points to `iovcnt` iovecs of writable buffers.
unsafe fn recv_scattered(
    ud: *mut c_void,
    fd: c_int,
    iov: *const iovec,
    iovcnt: usize,
    flags: c_int,
) -> Result<ssize_t, Error> {
    // SAFETY: by the function's contract.
    let (shim, iovs) = unsafe { (shim(ud)?, iovecs(iov, iovcnt)?) };
    let data = shim.recv(fd, total_len(iovs)?, flags)?;
    // SAFETY: the buffers are writable (contract) and `data` is our own allocation.
    unsafe { scatter(&data, iovs) };
    // At most the total length, which fits an isize.
    Ok(data.len() as ssize_t)
}

unsafe extern "C" fn readv(
    ud: *mut c_void,
    fd: c_int,
    iov: *const iovec,
    iovcnt: c_int,
) -> ssize_t {
    entry(-1, || {
        let iovcnt = usize::try_from(iovcnt).map_err(|_| Errno::EINVAL)?;
        // SAFETY: readv's contract is recv_scattered's.
        unsafe { recv_scattered(ud, fd, iov, iovcnt, 0) }
    })
}

unsafe extern "C" fn recvmsg(
    ud: *mut c_void,
    fd: c_int,
    msg: *mut msghdr,
    flags: c_int,
) -> ssize_t {
    entry(-1, || {
        // SAFETY: recvmsg's contract: `msg` is a valid msghdr, or null.
        let msg = unsafe { msg.as_mut() }.ok_or(Error::Fault)?;
        // SAFETY: `msg_iov` holds `msg_iovlen` iovecs of writable buffers.
        let n = unsafe { recv_scattered(ud, fd, msg.msg_iov, msg.msg_iovlen, flags) }?;
        // TCP reports no address and no control messages.
        msg.msg_namelen = 0;
        msg.msg_controllen = 0;
        msg.msg_flags = 0;
        Ok(n)
    })
}

/// `send` of gathered buffers: every write-side call shares it.
fn send_all(shim: &Shim, fd: c_int, bufs: &[&[u8]], flags: c_int) -> Result<ssize_t, Error> {
    // The bytes queued fit an isize: at most the (checked) total length.
    shim.send(fd, bufs, flags).map(|n| n as ssize_t)
}

unsafe extern "C" fn write(ud: *mut c_void, fd: c_int, buf: *const c_void, len: size_t) -> ssize_t {
    entry(-1, || {
        // SAFETY: `ud` from init; `buf` holds `len` bytes (write's contract).
        let (shim, buf) = unsafe { (shim(ud)?, bytes(buf, len)?) };
        send_all(shim, fd, &[buf], 0)
    })
}

unsafe extern "C" fn send(
    ud: *mut c_void,
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    entry(-1, || {
        // SAFETY: `ud` from init; `buf` holds `len` bytes (send's contract).
        let (shim, buf) = unsafe { (shim(ud)?, bytes(buf, len)?) };
        send_all(shim, fd, &[buf], flags)
    })
}

unsafe extern "C" fn sendto(
    ud: *mut c_void,
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    _dest_addr: *const sockaddr,
    _addrlen: socklen_t,
) -> ssize_t {
    // A connected TCP socket ignores the destination, as Linux's tcp_sendmsg does.
    // SAFETY: sendto's contract includes send's.
    unsafe { send(ud, fd, buf, len, flags) }
}

unsafe extern "C" fn writev(
    ud: *mut c_void,
    fd: c_int,
    iov: *const iovec,
    iovcnt: c_int,
) -> ssize_t {
    entry(-1, || {
        let iovcnt = usize::try_from(iovcnt).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `ud` from init; `iov` holds `iovcnt` readable buffers (writev's).
        let (shim, iovs) = unsafe { (shim(ud)?, iovecs(iov, iovcnt)?) };
        total_len(iovs)?;
        // SAFETY: as above.
        send_all(shim, fd, &unsafe { gather(iovs) }?, 0)
    })
}

unsafe extern "C" fn sendmsg(
    ud: *mut c_void,
    fd: c_int,
    msg: *const msghdr,
    flags: c_int,
) -> ssize_t {
    entry(-1, || {
        // SAFETY: sendmsg's contract: `msg` is a valid msghdr whose `msg_iov` holds
        // `msg_iovlen` readable buffers; `ud` is what init stored.
        let (shim, msg) = unsafe { (shim(ud)?, msg.as_ref().ok_or(Error::Fault)?) };
        // SAFETY: as above.
        let iovs = unsafe { iovecs(msg.msg_iov, msg.msg_iovlen) }?;
        total_len(iovs)?;
        // SAFETY: as above.
        send_all(shim, fd, &unsafe { gather(iovs) }?, flags)
    })
}

/// `fcntl` with its optional argument taken (0 when absent), called by varargs.c.
///
/// # Safety
///
/// `ud` is what init stored.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn tcpstk_shim_fcntl_fixed(
    ud: *mut c_void,
    fd: c_int,
    cmd: c_int,
    arg: c_int,
) -> c_int {
    entry(-1, || {
        // SAFETY: by the function's contract.
        let shim = unsafe { shim(ud) }?;
        // F_GETFL's flags fit an int.
        shim.value(Call::Fcntl { fd, cmd, arg }).map(|v| v as c_int)
    })
}

/// `ioctl` with its optional argument taken (null when absent), called by varargs.c. Only
/// `FIONBIO` is implemented.
///
/// # Safety
///
/// `ud` is what init stored; for `FIONBIO`, `arg` is null or a valid int.
#[unsafe(no_mangle)]
pub(crate) unsafe extern "C" fn tcpstk_shim_ioctl_fixed(
    ud: *mut c_void,
    fd: c_int,
    request: c_ulong,
    arg: *mut c_int,
) -> c_int {
    entry(-1, || {
        // SAFETY: by the function's contract.
        let shim = unsafe { shim(ud) }?;
        if request != libc::FIONBIO {
            return Err(Error::Unsupported);
        }
        // SAFETY: a valid int or null, by the contract.
        let on = unsafe { arg.as_ref() }.ok_or(Error::Fault)?;
        shim.set_nonblocking(fd, *on != 0).map(|_| 0)
    })
}

unsafe extern "C" fn close(ud: *mut c_void, fd: c_int) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` is what init stored.
        let shim = unsafe { shim(ud) }?;
        shim.value(Call::Close { fd })?;
        if shim.release_placeholder(fd)? {
            // SAFETY: the placeholder this shim opened on that number and still held.
            unsafe { libc::close(fd) };
        }
        Ok(0)
    })
}

unsafe extern "C" fn shutdown(ud: *mut c_void, fd: c_int, how: c_int) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` is what init stored.
        let shim = unsafe { shim(ud) }?;
        shim.value(Call::Shutdown { fd, how }).map(|_| 0)
    })
}

unsafe extern "C" fn getsockopt(
    ud: *mut c_void,
    fd: c_int,
    level: c_int,
    name: c_int,
    optval: *mut c_void,
    optlen: *mut socklen_t,
) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `optlen` valid or null (getsockopt's contract).
        let (shim, optlen) = unsafe { (shim(ud)?, optlen.as_mut().ok_or(Error::Fault)?) };
        let room = usize::try_from(*optlen).map_err(|_| Errno::EINVAL)?;
        // SAFETY: `optval` holds `*optlen` writable bytes.
        let optval = unsafe { bytes_mut(optval, room) }?;
        let len = shim.getsockopt(fd, level, name, optval)?;
        // At most 8 bytes.
        *optlen = len as socklen_t;
        Ok(0)
    })
}

unsafe extern "C" fn setsockopt(
    ud: *mut c_void,
    fd: c_int,
    level: c_int,
    name: c_int,
    optval: *const c_void,
    optlen: socklen_t,
) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `optval` holds `optlen` bytes (setsockopt's).
        let (shim, optval) = unsafe { (shim(ud)?, bytes(optval, optlen as usize)?) };
        shim.setsockopt(fd, level, name, optval).map(|_| 0)
    })
}

// ---- packets and the clock ----

unsafe extern "C" fn netdev_send(ud: *mut c_void, buf: *const c_void, count: size_t) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `buf` holds `count` bytes (netdev_send's contract).
        let (shim, packet) = unsafe { (shim(ud)?, bytes(buf, count)?) };
        shim.handle_packet(packet).map(|()| 0)
    })
}

unsafe extern "C" fn netdev_receive(
    ud: *mut c_void,
    buf: *mut c_void,
    count: *mut size_t,
    time_usecs: *mut i64,
) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `count` valid or null (netdev_receive's contract).
        let (shim, count) = unsafe { (shim(ud)?, count.as_mut().ok_or(Error::Fault)?) };
        // SAFETY: `buf` holds `*count` writable bytes.
        let buf = unsafe { bytes_mut(buf, *count) }?;
        let Some(sent) = shim.next_packet()? else {
            *count = 0;
            return Ok(0);
        };
        let n = sent.bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&sent.bytes[..n]);
        *count = n;
        // SAFETY: valid or null (netdev_receive's contract).
        if let Some(time_usecs) = unsafe { time_usecs.as_mut() } {
            *time_usecs = i64::try_from(sent.at.as_micros()).unwrap_or(i64::MAX);
        }
        Ok(0)
    })
}

unsafe extern "C" fn usleep(ud: *mut c_void, usec: useconds_t) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` is what init stored.
        let shim = unsafe { shim(ud) }?;
        shim.sleep(Duration::from_micros(u64::from(usec)))
            .map(|()| 0)
    })
}

unsafe extern "C" fn gettimeofday(ud: *mut c_void, tv: *mut timeval, tz: *mut c_void) -> c_int {
    entry(-1, || {
        // SAFETY: `ud` from init; `tv` valid or null (gettimeofday's contract).
        let (shim, tv) = unsafe { (shim(ud)?, tv.as_mut()) };
        let micros = shim.now()?.as_micros();
        if let Some(tv) = tv {
            // Virtual time stays far below both types' limits.
            tv.tv_sec = (micros / 1_000_000) as libc::time_t;
            tv.tv_usec = (micros % 1_000_000) as libc::suseconds_t;
        }
        if !tz.is_null() {
            // SAFETY: a `struct timezone` (two ints) by the contract: no zone, no DST.
            unsafe { tz.cast::<[c_int; 2]>().write([0, 0]) };
        }
        Ok(0)
    })
}

// ---- calls the shim does not implement: ENOSYS ----

/// Entry points that fail with `ENOSYS` whatever their arguments.
macro_rules! unsupported {
    ($($name:ident($($arg:ty),*);)*) => {$(
        unsafe extern "C" fn $name(_: *mut c_void, $(_: $arg),*) -> c_int {
            entry(-1, || Err(Error::Unsupported))
        }
    )*};
}

unsupported! {
    poll(*mut pollfd, nfds_t, c_int);
    epoll_create(c_int);
    epoll_ctl(c_int, c_int, c_int, *mut epoll_event);
    epoll_wait(c_int, *mut epoll_event, c_int, c_int);
    pipe(*mut c_int);
    splice(c_int, *mut i64, c_int, *mut i64, size_t, c_uint);
}
