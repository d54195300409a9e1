//! Packet devices: where whole IP packets come from and go to.
//!
//! A [`Device`] moves [`Batch`]es: the driver asks for every packet that is ready before it
//! processes any (one wakeup, many packets), and hands the device all the segments one round of
//! processing produced. Buffers live in the batch and are reused from round to round, so the hot
//! path does not allocate.
//!
//! The trait is shaped for what offloading devices need later without changing it:
//! each packet carries [`PacketMeta`] (the fields of the virtio-net header that `IFF_VNET_HDR`
//! adds: a segmentation size for TSO on the way out and GRO on the way in, and whether the
//! checksum is left to the device); a batch's packets may be larger than the MTU when
//! `gso_size` is set; and a multi-queue TUN (`IFF_MULTI_QUEUE`) is several `Device`s, one per
//! queue, each driven by its own shard.
//!
//! The devices:
//!
//! - [`TunDevice`]: a Linux TUN interface, the kernel on the other side ([`TunConfig`] creates
//!   and configures it);
//! - [`MemDevice`]: an in-memory pair, two stacks in one process;
//! - [`FaultDevice`]: wraps any device with seeded loss, duplication, reordering, delay,
//!   corruption and a rate limit ([`Faults`]), for tests;
//! - [`PcapTap`]: wraps any device and records every packet to a pcap file.

mod fault;
mod mem;
mod pcap;
mod tun;

use std::io;
use std::task::{Context, Poll};

pub use fault::{FaultCounters, FaultDevice, Faults};
pub use mem::MemDevice;
pub use pcap::PcapTap;
pub use tun::{DEFAULT_TX_QUEUE_LEN, TunConfig, TunDevice};

/// Per-packet offload metadata (the virtio-net header's fields). Devices without offload use
/// the default: a plain packet whose checksums are filled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PacketMeta {
    /// For a packet larger than the MTU: the payload size of each segment it stands for (TSO out,
    /// GRO in). `None` for an ordinary packet.
    pub gso_size: Option<u16>,
    /// The transport checksum is left for the device to fill (out), or the device verified it
    /// (in).
    pub checksum_offloaded: bool,
}

/// A batch of whole IP packets in reusable buffers.
///
/// Receiving: the device fills [`Batch::spare`] and [`Batch::commit`]s it. Sending: the driver
/// does the same; the device then takes packets from the front with [`Batch::unsent`] and
/// [`Batch::mark_sent`].
///
/// # Examples
///
/// ```
/// use net::device::{Batch, PacketMeta};
///
/// let mut batch = Batch::new(4, 1500);
/// let spare = batch.spare().expect("room");
/// spare[..3].copy_from_slice(b"abc");
/// batch.commit(3, PacketMeta::default());
/// assert_eq!(batch.unsent().next(), Some((&b"abc"[..], PacketMeta::default())));
/// batch.mark_sent(1);
/// assert!(batch.unsent().next().is_none());
/// batch.clear();
/// assert!(batch.is_empty());
/// ```
#[derive(Debug)]
pub struct Batch {
    bufs: Vec<Box<[u8]>>,
    lens: Vec<usize>,
    metas: Vec<PacketMeta>,
    len: usize,
    sent: usize,
}

impl Batch {
    /// A batch of up to `capacity` packets of up to `packet_size` bytes each, allocated now.
    pub fn new(capacity: usize, packet_size: usize) -> Self {
        Batch {
            bufs: (0..capacity)
                .map(|_| vec![0u8; packet_size].into_boxed_slice())
                .collect(),
            lens: vec![0; capacity],
            metas: vec![PacketMeta::default(); capacity],
            len: 0,
            sent: 0,
        }
    }

    /// Packets held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no packet is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when no more packets fit.
    pub fn is_full(&self) -> bool {
        self.len == self.bufs.len()
    }

    /// The largest packet a slot holds.
    pub fn packet_size(&self) -> usize {
        self.bufs.first().map_or(0, |b| b.len())
    }

    /// Drops every packet, keeping the buffers.
    pub fn clear(&mut self) {
        self.len = 0;
        self.sent = 0;
    }

    /// The next free buffer to fill, or `None` when the batch is full.
    pub fn spare(&mut self) -> Option<&mut [u8]> {
        self.bufs.get_mut(self.len).map(|b| &mut b[..])
    }

    /// Makes the first `len` bytes of the [`Batch::spare`] buffer the next packet.
    ///
    /// # Panics
    ///
    /// If the batch is full or `len` exceeds the packet size: both are bugs of the caller.
    pub fn commit(&mut self, len: usize, meta: PacketMeta) {
        assert!(
            len <= self.packet_size(),
            "packet longer than the batch's buffers"
        );
        self.lens[self.len] = len;
        self.metas[self.len] = meta;
        self.len += 1;
    }

    /// Copies `packet` in; returns false (and drops it) when the batch is full or it is too
    /// long.
    pub fn push(&mut self, packet: &[u8], meta: PacketMeta) -> bool {
        match self.spare() {
            Some(spare) if packet.len() <= spare.len() => {
                spare[..packet.len()].copy_from_slice(packet);
                self.commit(packet.len(), meta);
                true
            }
            _ => false,
        }
    }

    /// Every packet held, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], PacketMeta)> {
        (0..self.len).map(|i| (&self.bufs[i][..self.lens[i]], self.metas[i]))
    }

    /// The packets not yet marked sent, in order.
    pub fn unsent(&self) -> impl Iterator<Item = (&[u8], PacketMeta)> {
        self.iter().skip(self.sent)
    }

    /// Marks the next `n` unsent packets as handed to the device.
    pub fn mark_sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.len);
    }

    /// True once every packet was marked sent.
    pub fn all_sent(&self) -> bool {
        self.sent == self.len
    }
}

/// A source and sink of whole IP packets (IPv4 or IPv6, no link-layer header).
///
/// Implementations are polled by one driver task; they need not be `Sync`.
pub trait Device: Send + 'static {
    /// The largest IP packet the device carries.
    fn mtu(&self) -> usize;

    /// Waits until packets are ready, then moves as many as are ready (and fit) into `batch`.
    /// Returns `Ready(Ok(()))` once it added at least one.
    ///
    /// # Errors
    ///
    /// An I/O error of the device; the driver stops on errors it cannot retry.
    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>>;

    /// Hands the [`Batch::unsent`] packets of `batch` to the device, marking them sent as it
    /// goes; returns `Ready(Ok(()))` when all are (a device may also drop packets it has no room
    /// for, as a NIC queue does, and mark them sent).
    ///
    /// # Errors
    ///
    /// An I/O error of the device.
    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>>;
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn mtu(&self) -> usize {
        (**self).mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        (**self).poll_recv(cx, batch)
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        (**self).poll_send(cx, batch)
    }
}
