//! The state the driver task and every handle share: one lock over the fsm endpoint and the
//! wakers of the tasks waiting on it.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use fsm::{ConnId, Endpoint, Instant, ListenId};
use tokio::sync::Notify;

/// Shared by the driver and all handles of one stack.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inner: Mutex<Inner>,
    /// Handles call `notify_one` after changing a connection, so the driver sends what is due.
    /// (`notify_one` stores a permit when the driver is busy: no wakeup is lost.)
    pub(crate) wake_driver: Notify,
    /// The instant that is `fsm::Instant::ZERO`.
    pub(crate) epoch: tokio::time::Instant,
}

/// Everything behind the lock.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) endpoint: Endpoint,
    pub(crate) addrs: Vec<IpAddr>,
    pub(crate) conns: HashMap<ConnId, ConnSlot>,
    pub(crate) listeners: HashMap<ListenId, Waiters>,
    pub(crate) counters: Counters,
    /// Set when the driver stopped (device error or stack dropped): handles fail fast.
    pub(crate) driver_gone: bool,
}

/// Wakers of the tasks waiting on one connection.
#[derive(Debug)]
pub(crate) struct ConnSlot {
    pub(crate) read: Waiters,
    pub(crate) write: Waiters,
    pub(crate) connect: Waiters,
    /// The connection reached ESTABLISHED at least once.
    pub(crate) connected: bool,
    /// The connection's tracing span: its state changes are logged inside it.
    pub(crate) span: tracing::Span,
}

impl ConnSlot {
    /// The slot of a connection the user now holds, `connected` once the handshake is done.
    pub(crate) fn new(id: ConnId, local: SocketAddr, peer: SocketAddr, connected: bool) -> Self {
        ConnSlot {
            read: Waiters::default(),
            write: Waiters::default(),
            connect: Waiters::default(),
            connected,
            span: tracing::debug_span!("conn", id = ?id, %local, %peer),
        }
    }
}

/// Stack-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets read from the device.
    pub packets_in: u64,
    /// Packets written to the device.
    pub packets_out: u64,
    /// Packets that failed to parse (bad checksum, truncated...).
    pub malformed: u64,
    /// Packets of other protocols, or not addressed to the stack, dropped.
    pub ignored: u64,
    /// ICMP echo requests answered.
    pub echo_replies: u64,
    /// Connections whose handles are alive (streams and pending connects).
    pub open_handles: u64,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the engine in an unknown state; propagating the
        // poison as a panic is the honest answer.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The engine's clock: microseconds since the stack started, on tokio's clock (so paused
    /// test time drives the engine's timers).
    pub(crate) fn now(&self) -> Instant {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.epoch);
        Instant::from_micros(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX))
    }

    /// The tokio instant of an engine instant.
    pub(crate) fn tokio_instant(&self, at: Instant) -> tokio::time::Instant {
        self.epoch + std::time::Duration::from_micros(at.as_micros())
    }
}

impl Inner {
    /// Wakes every task of a slot (used when a connection ends).
    pub(crate) fn wake_all(slot: &mut ConnSlot) {
        slot.read.wake();
        slot.write.wake();
        slot.connect.wake();
    }
}

/// The tasks waiting for one kind of readiness. The socket methods take `&self`, so several
/// tasks may wait at once (two accept loops on one listener, say): all are woken, and each
/// checks again under the lock.
#[derive(Debug, Default)]
pub(crate) struct Waiters(Vec<Waker>);

impl Waiters {
    /// Adds the task of `waker`, unless it is already waiting.
    pub(crate) fn register(&mut self, waker: &Waker) {
        if !self.0.iter().any(|w| w.will_wake(waker)) {
            self.0.push(waker.clone());
        }
    }

    /// Wakes every waiting task and forgets them.
    pub(crate) fn wake(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }
}
