//! The system calls in C's shapes over the socket layer: addresses and option values as bytes,
//! data gathered from buffers. [`crate::ffi`] turns the C pointers into these slices, and
//! scatters what `recv` returns.

use std::net::SocketAddr;

use tcpdrill::linux::{F_GETFL, F_SETFL, O_NONBLOCK, SO_LINGER, SOL_SOCKET};
use tcpdrill::sockets::{Call, Fd, OptVal, Ret};

use crate::error::Error;
use crate::shim::Shim;
use crate::sockaddr;

/// `sizeof(int)`: the shortest value `setsockopt` takes.
const INT_LEN: usize = 4;
/// `sizeof(struct linger)`.
const LINGER_LEN: usize = 8;

impl Shim {
    /// `socket`, `listen`, `close`, `shutdown`, `fcntl`: calls whose result is a number.
    pub(crate) fn value(&self, call: Call) -> Result<i64, Error> {
        self.call(call).map(|ret| ret.value())
    }

    /// `bind(fd, addr)`, the address as the caller's `struct sockaddr` bytes.
    pub(crate) fn bind(&self, fd: Fd, addr: &[u8]) -> Result<i64, Error> {
        let addr = sockaddr::parse(addr)?;
        self.value(Call::Bind { fd, addr })
    }

    /// `connect(fd, addr)`, the address as the caller's `struct sockaddr` bytes.
    pub(crate) fn connect(&self, fd: Fd, addr: &[u8]) -> Result<i64, Error> {
        let addr = sockaddr::parse(addr)?;
        self.value(Call::Connect { fd, addr })
    }

    /// `accept(fd)`: the new fd and the peer.
    pub(crate) fn accept(&self, fd: Fd) -> Result<(Fd, SocketAddr), Error> {
        match self.call(Call::Accept { fd })? {
            Ret::Accepted { fd, peer } => Ok((fd, peer)),
            other => unexpected(other),
        }
    }

    /// `recv(fd, len, flags)`: the bytes read (none at end of stream).
    pub(crate) fn recv(&self, fd: Fd, len: usize, flags: i32) -> Result<Vec<u8>, Error> {
        match self.call(Call::Recv { fd, len, flags })? {
            Ret::Data(data) => Ok(data),
            other => unexpected(other),
        }
    }

    /// `send` of gathered buffers, in order. Returns the bytes queued.
    pub(crate) fn send(&self, fd: Fd, bufs: &[&[u8]], flags: i32) -> Result<i64, Error> {
        let data = bufs.concat();
        self.value(Call::Send { fd, data, flags })
    }

    /// `getsockopt`: writes the value into `optval` (cut to its length, as Linux does) and
    /// returns the bytes written.
    pub(crate) fn getsockopt(
        &self,
        fd: Fd,
        level: i32,
        name: i32,
        optval: &mut [u8],
    ) -> Result<usize, Error> {
        let value = match self.call(Call::GetSockOpt { fd, level, name })? {
            Ret::Opt(value) => value,
            other => return unexpected(other),
        };
        let mut bytes = [0; LINGER_LEN];
        let len = match value {
            OptVal::Int(v) => {
                bytes[..INT_LEN].copy_from_slice(&v.to_ne_bytes());
                INT_LEN
            }
            OptVal::Linger { onoff, linger } => {
                bytes[..INT_LEN].copy_from_slice(&onoff.to_ne_bytes());
                bytes[INT_LEN..].copy_from_slice(&linger.to_ne_bytes());
                LINGER_LEN
            }
        };
        let len = len.min(optval.len());
        optval[..len].copy_from_slice(&bytes[..len]);
        Ok(len)
    }

    /// `setsockopt`, the value as the caller's bytes: a `struct linger` for `SO_LINGER`, an
    /// `int` for the others (Linux's `EINVAL` when shorter).
    pub(crate) fn setsockopt(
        &self,
        fd: Fd,
        level: i32,
        name: i32,
        optval: &[u8],
    ) -> Result<i64, Error> {
        let int = |at: usize| {
            optval
                .get(at..at + INT_LEN)
                .and_then(|b| b.try_into().ok())
                .map(i32::from_ne_bytes)
                .ok_or(tcpdrill::linux::Errno::EINVAL)
        };
        let value = if (level, name) == (SOL_SOCKET, SO_LINGER) {
            OptVal::Linger {
                onoff: int(0)?,
                linger: int(INT_LEN)?,
            }
        } else {
            OptVal::Int(int(0)?)
        };
        self.value(Call::SetSockOpt {
            fd,
            level,
            name,
            value,
        })
    }

    /// `ioctl(fd, FIONBIO, &on)`: sets or clears `O_NONBLOCK`, as `fcntl` does.
    pub(crate) fn set_nonblocking(&self, fd: Fd, on: bool) -> Result<i64, Error> {
        let flags = self.value(Call::Fcntl {
            fd,
            cmd: F_GETFL,
            arg: 0,
        })?;
        // F_GETFL's flags fit an int.
        let flags = flags as i32 & !O_NONBLOCK | if on { O_NONBLOCK } else { 0 };
        self.value(Call::Fcntl {
            fd,
            cmd: F_SETFL,
            arg: flags,
        })
    }
}

/// A return of the wrong shape for its call: a bug in the socket layer, reported as `EIO`.
fn unexpected<T>(ret: Ret) -> Result<T, Error> {
    eprintln!("packetdrill-shim: the socket layer returned {ret:?} for the wrong call");
    Err(Error::Broken)
}
