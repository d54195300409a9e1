//! The halves of a [`TcpStream`](crate::TcpStream): borrowed ([`ReadHalf`], [`WriteHalf`]) and
//! owned ([`OwnedReadHalf`], [`OwnedWriteHalf`]), as in `tokio::net::tcp`.

use std::error::Error;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stream::{StreamInner, TcpStream};

/// The read half of [`TcpStream::split`](crate::TcpStream::split).
#[derive(Debug)]
pub struct ReadHalf<'a>(pub(crate) &'a StreamInnerRef);

/// The write half of [`TcpStream::split`](crate::TcpStream::split). Shutting it down sends FIN.
#[derive(Debug)]
pub struct WriteHalf<'a>(pub(crate) &'a StreamInnerRef);

/// The read half of [`TcpStream::into_split`](crate::TcpStream::into_split).
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<StreamInner>,
}

/// The write half of [`TcpStream::into_split`](crate::TcpStream::into_split). Dropping it
/// shuts the write side down (FIN), as tokio's does.
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<StreamInner>,
    shutdown_on_drop: bool,
}

/// The shared stream state the borrowed halves point at.
pub(crate) type StreamInnerRef = Arc<StreamInner>;

pub(crate) fn split_owned(inner: Arc<StreamInner>) -> (OwnedReadHalf, OwnedWriteHalf) {
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams.
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves that are not from the same socket")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    /// Puts the halves back together into the stream they came from.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (giving both halves back) if they come from different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &other.inner) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        drop(other);
        Ok(TcpStream { inner: self.inner })
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// Never; mirrors tokio.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::peer_addr_of(&self.inner)
    }

    /// Our address.
    ///
    /// # Errors
    ///
    /// Never; mirrors tokio.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::local_addr_of(&self.inner)
    }
}

impl OwnedWriteHalf {
    /// The peer's address.
    ///
    /// # Errors
    ///
    /// Never; mirrors tokio.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::peer_addr_of(&self.inner)
    }

    /// Our address.
    ///
    /// # Errors
    ///
    /// Never; mirrors tokio.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        TcpStream::local_addr_of(&self.inner)
    }

    /// Drops the half without shutting the write side down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // The connection may be gone already; then there is nothing to shut down.
            let _ = self.inner.shutdown();
        }
    }
}

macro_rules! impl_read {
    ($t:ty, $inner:tt) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.$inner.poll_read(cx, buf)
            }
        }
    };
}

macro_rules! impl_write {
    ($t:ty, $inner:tt) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.$inner.poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                self.$inner.poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                true
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(self.$inner.shutdown())
            }
        }
    };
}

impl_read!(ReadHalf<'_>, 0);
impl_write!(WriteHalf<'_>, 0);
impl_read!(OwnedReadHalf, inner);
impl_write!(OwnedWriteHalf, inner);
