//! [`TcpStream`]: a connection, read and written like `tokio::net::TcpStream`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use fsm::{ConnId, ReadError, State, WriteError};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error;
use crate::shared::ConnSlot;
use crate::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf, split_owned};
use crate::stack::Stack;

/// A TCP connection over a [`Stack`], with the API of `tokio::net::TcpStream`.
///
/// Reading and writing go through [`AsyncRead`] and [`AsyncWrite`] (use
/// `tokio::io::AsyncReadExt`/`AsyncWriteExt`); `poll_shutdown` sends FIN (or fails with
/// `NotConnected` once the connection is closed).
///
/// Dropping a stream closes it as Linux closes a socket: if received data was never read, the
/// peer gets a RST; otherwise the FIN handshake and TIME-WAIT go on in the background.
///
/// # Examples
///
/// ```
/// # use net::{Stack, TcpListener, TcpStream, device::MemDevice};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let (a, b) = MemDevice::pair(1500);
/// # let server = Stack::builder().address("10.0.0.1".parse().unwrap()).build(a)?;
/// # let client = Stack::builder().address("10.0.0.2".parse().unwrap()).build(b)?;
/// let listener = TcpListener::bind(&server, "10.0.0.1:7".parse().unwrap()).await?;
/// tokio::spawn(async move {
///     let (mut stream, _) = listener.accept().await?;
///     let (mut rd, mut wr) = stream.split();
///     tokio::io::copy(&mut rd, &mut wr).await
/// });
/// let mut stream = TcpStream::connect(&client, "10.0.0.1:7".parse().unwrap()).await?;
/// stream.write_all(b"echo").await?;
/// let mut buf = [0u8; 4];
/// stream.read_exact(&mut buf).await?;
/// assert_eq!(&buf, b"echo");
/// # Ok(())
/// # }
/// ```
pub struct TcpStream {
    pub(crate) inner: Arc<StreamInner>,
}

/// What a stream and its owned halves share; dropping the last releases the connection.
#[derive(Debug)]
pub(crate) struct StreamInner {
    pub(crate) stack: Stack,
    pub(crate) id: ConnId,
    local: SocketAddr,
    peer: SocketAddr,
    /// `SO_LINGER` with a zero timeout: drop aborts with RST.
    linger_zero: AtomicBool,
}

/// A snapshot of a connection, like Linux's `tcp_info` (what `ss -ti` prints): state, RTT
/// and RTO, congestion window and ssthresh, bytes in flight, windows, buffer sizes, delivery
/// rate and counters.
pub use fsm::Info as TcpInfo;

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.inner.local)
            .field("peer", &self.inner.peer)
            .finish()
    }
}

impl TcpStream {
    /// Opens a connection to `addr` from the stack's address of the same family and an
    /// ephemeral port, and waits for the handshake.
    ///
    /// # Errors
    ///
    /// `ConnectionRefused` when the peer answers with RST, `TimedOut` when SYNs go
    /// unanswered, `AddrNotAvailable` when the stack has no address of that family or no free
    /// port, `InvalidInput` for port 0 or an unspecified address.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future abandons the connection attempt (it is reset).
    pub async fn connect(stack: &Stack, addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = {
            let mut inner = stack.shared.lock();
            let local_ip = inner
                .addrs
                .iter()
                .copied()
                .find(|a| a.is_ipv4() == addr.is_ipv4())
                .ok_or_else(|| {
                    error::addr_not_available("the stack has no address of that family")
                })?;
            let now = stack.shared.now();
            let id = inner
                .endpoint
                .connect(now, SocketAddr::new(local_ip, 0), addr)
                .map_err(error::connect)?;
            let local = inner.endpoint.conn(id).map_or(addr, |c| c.local());
            inner
                .conns
                .insert(id, ConnSlot::new(id, local, addr, false));
            TcpStream::new(stack.clone(), id, local, addr)
        };
        stack.shared.wake_driver.notify_one();
        poll_fn(|cx| stream.inner.poll_connected(cx)).await?;
        Ok(stream)
    }

    pub(crate) fn local_addr_of(inner: &StreamInner) -> io::Result<SocketAddr> {
        Ok(inner.local)
    }

    pub(crate) fn peer_addr_of(inner: &StreamInner) -> io::Result<SocketAddr> {
        Ok(inner.peer)
    }

    pub(crate) fn new(stack: Stack, id: ConnId, local: SocketAddr, peer: SocketAddr) -> Self {
        TcpStream {
            inner: Arc::new(StreamInner {
                stack,
                id,
                local,
                peer,
                linger_zero: AtomicBool::new(false),
            }),
        }
    }

    /// Our address and port.
    ///
    /// # Errors
    ///
    /// Never; the `Result` mirrors tokio.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.local)
    }

    /// The peer's address and port.
    ///
    /// # Errors
    ///
    /// Never; the `Result` mirrors tokio.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.inner.peer)
    }

    /// Turns Nagle's algorithm off (`true`) or on (`TCP_NODELAY`).
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.with_conn(|c| c.set_nodelay(nodelay))
    }

    /// Whether Nagle's algorithm is off.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.with_conn(|c| c.nodelay())
    }

    /// `SO_LINGER`: `Some(Duration::ZERO)` makes dropping the stream abort it with RST; `None`
    /// (the default) closes gracefully in the background. Other durations behave as `None`.
    ///
    /// # Errors
    ///
    /// Never; the `Result` mirrors tokio.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.inner
            .linger_zero
            .store(linger == Some(Duration::ZERO), Ordering::Relaxed);
        Ok(())
    }

    /// The connection's state, RTT estimates and counters.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone.
    pub fn info(&self) -> io::Result<TcpInfo> {
        self.inner.with_conn(|c| c.info())
    }

    /// Aborts the connection now: RST to the peer, pending data dropped.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone.
    pub fn abort(&self) -> io::Result<()> {
        let now = self.inner.stack.shared.now();
        self.inner.with_conn(|c| c.abort(now))?;
        self.inner.stack.shared.wake_driver.notify_one();
        Ok(())
    }

    /// Receives data without removing it from the queue.
    ///
    /// # Errors
    ///
    /// As for reading.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.inner.poll_peek(cx, buf)).await
    }

    /// Waits until a read would not block (data, end of stream, or an error).
    ///
    /// # Errors
    ///
    /// Never fails itself; the following read reports errors.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_read_ready(cx)).await
    }

    /// Waits until a write would not block.
    ///
    /// # Errors
    ///
    /// Never fails itself; the following write reports errors.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.inner.poll_write_ready(cx)).await
    }

    /// Reads without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is ready, otherwise as for reading.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.try_read(buf)
    }

    /// Writes without waiting.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when the send buffer is full, otherwise as for writing.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.try_write(buf)
    }

    /// Borrowed read and write halves, usable at once from one task.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (ReadHalf(&self.inner), WriteHalf(&self.inner))
    }

    /// Owned halves, movable to different tasks; [`OwnedReadHalf::reunite`] puts them back.
    /// Dropping the write half shuts the write side down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split_owned(self.inner)
    }
}

impl StreamInner {
    /// Runs `f` on the connection under the lock.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut fsm::Connection) -> T) -> io::Result<T> {
        let mut inner = self.stack.shared.lock();
        inner
            .endpoint
            .conn_mut(self.id)
            .map(f)
            .ok_or_else(error::not_connected)
    }

    fn poll_connected(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut inner = self.stack.shared.lock();
        let gone = inner.driver_gone;
        let conn = inner.endpoint.conn(self.id).map(|c| (c.state(), c.error()));
        let Some(slot) = inner.conns.get_mut(&self.id) else {
            return Poll::Ready(Err(error::not_connected()));
        };
        match conn {
            _ if slot.connected => Poll::Ready(Ok(())),
            Some((_, Some(e))) => Poll::Ready(Err(error::conn(e))),
            None | Some((State::Closed, None)) => Poll::Ready(Err(error::not_connected())),
            _ if gone => Poll::Ready(Err(error::driver_gone())),
            Some(_) => {
                slot.connect.register(cx.waker());
                Poll::Pending
            }
        }
    }

    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = ready!(self.read_or_register(buf.initialize_unfilled(), Some(cx.waker())))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }

    /// Reads what has arrived; when nothing has, registers `waker` (if any) for the next
    /// arrival and returns `Pending`.
    fn read_or_register(&self, dst: &mut [u8], waker: Option<&Waker>) -> Poll<io::Result<usize>> {
        let n = {
            let mut inner = self.stack.shared.lock();
            let gone = inner.driver_gone;
            let read = match inner.endpoint.conn_mut(self.id) {
                Some(conn) => conn.read(dst),
                None => Err(ReadError::NotConnected),
            };
            match read {
                Err(ReadError::Blocked) if gone => Err(error::driver_gone()),
                Err(ReadError::Blocked) => {
                    if let (Some(waker), Some(slot)) = (waker, inner.conns.get_mut(&self.id)) {
                        slot.read.register(waker);
                    }
                    return Poll::Pending;
                }
                Err(e) => Err(error::read(e)),
                Ok(n) => Ok(n),
            }
        }?;
        if n > 0 {
            // The window may have opened: let the driver send an update.
            self.stack.shared.wake_driver.notify_one();
        }
        Poll::Ready(Ok(n))
    }

    fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut inner = self.stack.shared.lock();
        let peeked = match inner.endpoint.conn(self.id) {
            Some(conn) => conn.peek(buf),
            None => Err(ReadError::NotConnected),
        };
        match peeked {
            Err(ReadError::Blocked) if inner.driver_gone => Poll::Ready(Err(error::driver_gone())),
            Err(ReadError::Blocked) => {
                if let Some(slot) = inner.conns.get_mut(&self.id) {
                    slot.read.register(cx.waker());
                }
                Poll::Pending
            }
            other => Poll::Ready(other.map_err(error::read)),
        }
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_peek(cx, &mut [0u8; 1]) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut inner = self.stack.shared.lock();
        let room = inner
            .endpoint
            .conn(self.id)
            .is_none_or(|c| c.send_capacity() > 0 || c.error().is_some() || c.is_write_closed());
        if room || inner.driver_gone {
            return Poll::Ready(Ok(()));
        }
        if let Some(slot) = inner.conns.get_mut(&self.id) {
            slot.write.register(cx.waker());
        }
        Poll::Pending
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        self.write_or_register(data, Some(cx.waker()))
    }

    /// Queues what the send buffer takes; when it is full, registers `waker` (if any) for
    /// when room is freed and returns `Pending`.
    fn write_or_register(&self, data: &[u8], waker: Option<&Waker>) -> Poll<io::Result<usize>> {
        let written = {
            let mut inner = self.stack.shared.lock();
            // Without a driver, queued data would never be sent: fail rather than take it.
            if inner.driver_gone {
                return Poll::Ready(Err(error::driver_gone()));
            }
            let write = match inner.endpoint.conn_mut(self.id) {
                Some(conn) => conn.write(data),
                None => Err(WriteError::Closed),
            };
            match write {
                Err(WriteError::Blocked) => {
                    if let (Some(waker), Some(slot)) = (waker, inner.conns.get_mut(&self.id)) {
                        slot.write.register(waker);
                    }
                    return Poll::Pending;
                }
                other => other.map_err(error::write),
            }
        };
        self.stack.shared.wake_driver.notify_one();
        Poll::Ready(written)
    }

    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut total = 0;
        for buf in bufs.iter().filter(|b| !b.is_empty()) {
            match self.poll_write(cx, buf) {
                Poll::Ready(Ok(n)) => {
                    total += n;
                    if n < buf.len() {
                        break;
                    }
                }
                Poll::Ready(Err(e)) if total == 0 => return Poll::Ready(Err(e)),
                Poll::Pending if total == 0 => return Poll::Pending,
                Poll::Ready(Err(_)) | Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(total))
    }

    /// Shuts the write side down: FIN follows the data written. Once the connection is CLOSED
    /// (reset, timed out, or both sides done) there is nothing to shut down: `NotConnected`, as
    /// Linux's `shutdown(2)` answers.
    pub(crate) fn shutdown(&self) -> io::Result<()> {
        let now = self.stack.shared.now();
        let open = self.with_conn(|c| {
            let open = c.state() != State::Closed;
            if open {
                c.shutdown(now);
            }
            open
        })?;
        if !open {
            return Err(error::not_connected());
        }
        self.stack.shared.wake_driver.notify_one();
        Ok(())
    }

    fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_or_register(buf, None) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        match self.write_or_register(data, None) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Drop for StreamInner {
    fn drop(&mut self) {
        let shared = &self.stack.shared;
        {
            let mut inner = shared.lock();
            let now = shared.now();
            let linger_zero = self.linger_zero.load(Ordering::Relaxed);
            if let Some(conn) = inner.endpoint.conn_mut(self.id).filter(|_| linger_zero) {
                conn.abort(now);
            }
            inner.endpoint.release(now, self.id);
            inner.conns.remove(&self.id);
        }
        shared.wake_driver.notify_one();
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.inner.poll_read(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // As tokio's TcpStream: written data is already with the stack.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.shutdown())
    }
}
