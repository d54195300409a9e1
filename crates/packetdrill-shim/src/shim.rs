//! The shim's state behind one lock, and blocking calls in virtual time.
//!
//! packetdrill makes the calls a script marks as blocking (`0...0.1 accept(...)`) from a second
//! thread, and goes on injecting packets and sleeping on its main thread. So a blocked call
//! waits on a condition variable, and every input that may unblock it (an injected packet,
//! timers firing as the clock passes them, another call returning) wakes it to try again.
//!
//! Time moves only when packetdrill asks: `usleep`, `gettimeofday` (a microsecond per read, so
//! that packetdrill's spin until an event's exact time ends), and `netdev_receive` when it
//! waits for a packet the stack has not sent yet (to the next timer). Before the clock moves,
//! every blocked call must have tried again since the last change ([`Waits::settled`]): a
//! read unblocked by a packet at time T returns at T, not at whatever time the main thread
//! sleeps to next.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use fsm::Instant;
use tcpdrill::sockets::{Call, Fd, Progress, Ret};

use crate::error::Error;
use crate::world::{Sent, World};

/// How far `netdev_receive` runs the clock looking for a packet before it reports none: far
/// past the longest gap between two packets of a connection that still sends (the RTO backs
/// off to 120 s at most), but finite.
const RECEIVE_HORIZON: Duration = Duration::from_secs(3600);

/// Who is blocked, and whether each has looked at the latest state.
#[derive(Debug, Default)]
struct Waits {
    /// Bumped by every change a blocked call may be waiting for.
    epoch: u64,
    /// Calls blocked now.
    blocked: usize,
    /// Blocked calls that tried again since the last change and still block.
    settled: usize,
}

#[derive(Debug)]
struct Inner {
    world: World,
    waits: Waits,
    /// The fds this shim holds open in the process as placeholders (see `ffi.rs`).
    placeholders: BTreeSet<Fd>,
}

impl Inner {
    /// Something changed: every blocked call must try again.
    fn changed(&mut self) {
        self.waits.epoch += 1;
        self.waits.settled = 0;
    }
}

/// One instance of the stack, shared by packetdrill's threads.
#[derive(Debug)]
pub(crate) struct Shim {
    inner: Mutex<Inner>,
    wake: Condvar,
}

thread_local! {
    /// The time a blocking call of this thread returned at, and the shim it was made on:
    /// the thread's next `gettimeofday`, if it is its next call, reads it. packetdrill reads
    /// the clock right after a blocking call to check when it returned, and its main thread
    /// may have moved the clock on meanwhile.
    static RETURNED_AT: Cell<Option<(usize, Instant)>> = const { Cell::new(None) };
}

impl Shim {
    /// A stack with the addresses `local_ips`.
    pub(crate) fn new(local_ips: [IpAddr; 2]) -> Shim {
        Shim {
            inner: Mutex::new(Inner {
                world: World::new(local_ips),
                waits: Waits::default(),
                placeholders: BTreeSet::new(),
            }),
            wake: Condvar::new(),
        }
    }

    /// Makes a system call, blocking (in virtual time) as Linux would.
    pub(crate) fn call(&self, call: Call) -> Result<Ret, Error> {
        RETURNED_AT.set(None);
        let mut inner = self.lock()?;
        let (mut progress, mut sent) = inner.world.call(call);
        let mut blocked = false;
        loop {
            let wait = match progress {
                Progress::Done(result) => {
                    if blocked {
                        inner.waits.blocked -= 1;
                        RETURNED_AT.set(Some((self.id(), inner.world.now())));
                    }
                    inner.changed();
                    self.wake.notify_all();
                    return result.map_err(Error::from);
                }
                Progress::Blocked(wait) => wait,
            };
            if sent {
                inner.changed();
            }
            if !blocked {
                inner.waits.blocked += 1;
                blocked = true;
            }
            inner.waits.settled += 1;
            self.wake.notify_all();
            let epoch = inner.waits.epoch;
            while inner.waits.epoch == epoch {
                inner = self.wake.wait(inner).map_err(|_| Error::Broken)?;
            }
            (progress, sent) = inner.world.resume(wait);
        }
    }

    /// Injects an IP packet.
    pub(crate) fn handle_packet(&self, bytes: &[u8]) -> Result<(), Error> {
        RETURNED_AT.set(None);
        let mut inner = self.lock()?;
        inner.world.handle_packet(bytes);
        inner.changed();
        self.wake.notify_all();
        Ok(())
    }

    /// The next packet the stack sends: one already sent, or else the first sent as the clock
    /// runs through the timers. `None` when no timer within an hour sends one.
    pub(crate) fn next_packet(&self) -> Result<Option<Sent>, Error> {
        RETURNED_AT.set(None);
        let mut inner = self.settled()?;
        let horizon = inner.world.now() + RECEIVE_HORIZON;
        loop {
            if let Some(sent) = inner.world.pop_sent() {
                return Ok(Some(sent));
            }
            match inner.world.next_timeout().filter(|&at| at <= horizon) {
                Some(at) => inner = self.advance(inner, at)?,
                None => return Ok(None),
            }
        }
    }

    /// Sleeps `duration` of virtual time, firing the timers on the way.
    pub(crate) fn sleep(&self, duration: Duration) -> Result<(), Error> {
        RETURNED_AT.set(None);
        let inner = self.settled()?;
        let to = inner.world.now() + duration;
        self.advance(inner, to).map(drop)
    }

    /// Reads the clock, which moves a microsecond (see the module docs). A thread's first read
    /// after a blocking call returned gives the time it returned.
    pub(crate) fn now(&self) -> Result<Instant, Error> {
        if let Some((id, at)) = RETURNED_AT.take()
            && id == self.id()
        {
            return Ok(at);
        }
        let inner = self.settled()?;
        let to = inner.world.now() + Duration::from_micros(1);
        Ok(self.advance(inner, to)?.world.now())
    }

    /// Records that the process's fd `fd` is a placeholder this shim opened.
    pub(crate) fn hold_placeholder(&self, fd: Fd) -> Result<(), Error> {
        self.lock()?.placeholders.insert(fd);
        Ok(())
    }

    /// Forgets the placeholder `fd`: true when this shim held it, and the caller closes it.
    pub(crate) fn release_placeholder(&self, fd: Fd) -> Result<bool, Error> {
        Ok(self.lock()?.placeholders.remove(&fd))
    }

    /// Moves the clock to `to` one timer deadline at a time, letting the blocked calls try
    /// again at each.
    fn advance<'a>(
        &'a self,
        mut inner: MutexGuard<'a, Inner>,
        to: Instant,
    ) -> Result<MutexGuard<'a, Inner>, Error> {
        loop {
            let step = inner.world.next_timeout().map_or(to, |at| at.min(to));
            inner.world.advance_to(step);
            inner.changed();
            self.wake.notify_all();
            inner = self.wait_settled(inner)?;
            if inner.world.now() >= to {
                return Ok(inner);
            }
        }
    }

    /// The lock, once every blocked call has looked at the latest state.
    fn settled(&self) -> Result<MutexGuard<'_, Inner>, Error> {
        let inner = self.lock()?;
        self.wait_settled(inner)
    }

    fn wait_settled<'a>(
        &'a self,
        inner: MutexGuard<'a, Inner>,
    ) -> Result<MutexGuard<'a, Inner>, Error> {
        self.wake
            .wait_while(inner, |i| i.waits.settled < i.waits.blocked)
            .map_err(|_| Error::Broken)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Inner>, Error> {
        self.inner.lock().map_err(|_| Error::Broken)
    }

    /// Tells this shim's entries in [`RETURNED_AT`] from another's.
    fn id(&self) -> usize {
        core::ptr::from_ref(self) as usize
    }
}
