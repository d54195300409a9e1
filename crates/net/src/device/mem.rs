//! An in-memory device pair: two stacks in one process, no privileges needed.

use std::io;
use std::task::{Context, Poll};

use tokio::sync::mpsc;

use super::{Batch, Device};

/// Packets a direction of the pair queues before dropping more (a NIC ring's worth).
const QUEUE_PACKETS: usize = 4096;

/// One end of an in-memory link; what one end sends, the other receives.
///
/// Each direction is a bounded queue: when it is full, packets are dropped, as a NIC's would
/// be, and TCP recovers.
///
/// # Examples
///
/// ```
/// use net::device::MemDevice;
///
/// let (a, b) = MemDevice::pair(1500);
/// # drop((a, b));
/// ```
#[derive(Debug)]
pub struct MemDevice {
    mtu: usize,
    tx: mpsc::Sender<Vec<u8>>,
    rx: mpsc::Receiver<Vec<u8>>,
    dropped: u64,
}

impl MemDevice {
    /// Two connected ends with the given MTU.
    pub fn pair(mtu: usize) -> (MemDevice, MemDevice) {
        let (tx_a, rx_b) = mpsc::channel(QUEUE_PACKETS);
        let (tx_b, rx_a) = mpsc::channel(QUEUE_PACKETS);
        let end = |tx, rx| MemDevice {
            mtu,
            tx,
            rx,
            dropped: 0,
        };
        (end(tx_a, rx_a), end(tx_b, rx_b))
    }

    /// Packets dropped because the other end's queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

impl Device for MemDevice {
    fn mtu(&self) -> usize {
        self.mtu
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let mut added = false;
        while !batch.is_full() {
            let packet = if added {
                match self.rx.try_recv() {
                    Ok(p) => p,
                    Err(_) => break,
                }
            } else {
                match self.rx.poll_recv(cx) {
                    Poll::Ready(Some(p)) => p,
                    // The other end is gone: nothing will ever arrive.
                    Poll::Ready(None) => return Poll::Pending,
                    Poll::Pending => return Poll::Pending,
                }
            };
            added |= batch.push(&packet, Default::default());
        }
        Poll::Ready(Ok(()))
    }

    fn poll_send(&mut self, _cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let mut sent = 0;
        for (packet, _) in batch.unsent() {
            if self.tx.try_send(packet.to_vec()).is_err() {
                self.dropped += 1;
            }
            sent += 1;
        }
        batch.mark_sent(sent);
        Poll::Ready(Ok(()))
    }
}
