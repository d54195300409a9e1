//! [`TcpListener`]: accepts connections, like `tokio::net::TcpListener`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use fsm::ListenId;

use crate::error;
use crate::shared::{ConnSlot, Waiters};
use crate::stack::Stack;
use crate::stream::TcpStream;

/// Connections a listener queues (half-open plus waiting for `accept`) before dropping SYNs,
/// as Linux's default `somaxconn`.
const BACKLOG: usize = 4096;

/// A TCP listener on a [`Stack`], with the API of `tokio::net::TcpListener`.
///
/// # Examples
///
/// ```
/// # use net::{Stack, TcpListener, TcpStream, device::MemDevice};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let (a, b) = MemDevice::pair(1500);
/// # let server = Stack::builder().address("10.0.0.1".parse().unwrap()).build(a)?;
/// # let client = Stack::builder().address("10.0.0.2".parse().unwrap()).build(b)?;
/// let listener = TcpListener::bind(&server, "0.0.0.0:8080".parse().unwrap()).await?;
/// let connect = tokio::spawn({
///     let client = client.clone();
///     async move { TcpStream::connect(&client, "10.0.0.1:8080".parse().unwrap()).await }
/// });
/// let (stream, peer) = listener.accept().await?;
/// assert_eq!(peer.ip().to_string(), "10.0.0.2");
/// # drop(stream);
/// # connect.await.unwrap()?;
/// # Ok(())
/// # }
/// ```
pub struct TcpListener {
    stack: Stack,
    id: ListenId,
    local: SocketAddr,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local", &self.local)
            .finish()
    }
}

impl TcpListener {
    /// Listens on `addr`: one of the stack's addresses, or the unspecified address of a family
    /// for all of them. Port 0 picks a free ephemeral port.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when another listener holds it, `AddrNotAvailable` for an address the stack
    /// does not have.
    pub async fn bind(stack: &Stack, addr: SocketAddr) -> io::Result<TcpListener> {
        let mut inner = stack.shared.lock();
        if !addr.ip().is_unspecified() && !inner.addrs.contains(&addr.ip()) {
            return Err(error::addr_not_available(
                "the stack does not have that address",
            ));
        }
        let (id, local) = if addr.port() == 0 {
            let ports = inner.endpoint.config().ephemeral_ports.clone();
            ports
                .filter_map(|port| {
                    let local = SocketAddr::new(addr.ip(), port);
                    inner
                        .endpoint
                        .listen(local, BACKLOG)
                        .ok()
                        .map(|id| (id, local))
                })
                .next()
                .ok_or_else(|| error::addr_not_available("no free port to listen on"))?
        } else {
            (
                inner
                    .endpoint
                    .listen(addr, BACKLOG)
                    .map_err(error::listen)?,
                addr,
            )
        };
        inner.listeners.insert(id, Waiters::default());
        drop(inner);
        Ok(TcpListener {
            stack: stack.clone(),
            id,
            local,
        })
    }

    /// The address listened on (with the port chosen when bound to port 0).
    ///
    /// # Errors
    ///
    /// Never; mirrors tokio.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }

    /// Waits for the next established connection.
    ///
    /// # Errors
    ///
    /// When the stack's driver has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection not yet taken stays queued for the next call.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next established connection.
    ///
    /// # Errors
    ///
    /// When the stack's driver has stopped.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let mut inner = self.stack.shared.lock();
        if let Some(id) = inner.endpoint.accept(self.id) {
            let Some((local, peer)) = inner.endpoint.conn(id).map(|c| (c.local(), c.remote()))
            else {
                return Poll::Pending;
            };
            inner.conns.insert(id, ConnSlot::new(id, local, peer, true));
            drop(inner);
            return Poll::Ready(Ok((
                TcpStream::new(self.stack.clone(), id, local, peer),
                peer,
            )));
        }
        if inner.driver_gone {
            return Poll::Ready(Err(error::driver_gone()));
        }
        if let Some(waiters) = inner.listeners.get_mut(&self.id) {
            waiters.register(cx.waker());
        }
        Poll::Pending
    }
}

impl Drop for TcpListener {
    fn drop(&mut self) {
        let shared = &self.stack.shared;
        {
            let mut inner = shared.lock();
            let now = shared.now();
            inner.endpoint.unlisten(now, self.id);
            inner.listeners.remove(&self.id);
        }
        shared.wake_driver.notify_one();
    }
}
