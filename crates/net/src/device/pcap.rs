//! A tap that records every packet a device moves to a pcap file, for Wireshark or tcpdump.
//!
//! The format is classic pcap (not pcapng): a 24-byte global header, then per packet a 16-byte
//! record header and the packet's bytes. The link type is `LINKTYPE_RAW` (101): each packet
//! starts at its IP header, as the stack sees it. Classic pcap has no direction field; tell the
//! directions apart by the addresses.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tracing::warn;

use super::{Batch, Device};

/// The classic pcap magic for microsecond timestamps, written little-endian.
const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
/// `LINKTYPE_RAW`: packets begin with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;
/// Bytes of a packet recorded at most (tcpdump's default): every IP packet fits.
const SNAPLEN: u32 = 262_144;
/// The writer's buffer: records go to the file in chunks of this size.
const BUFFER: usize = 64 * 1024;

/// Wraps a device and writes every packet it receives and sends to a pcap file.
///
/// Received packets are recorded when the inner device hands them over, sent packets when the
/// inner device takes them. Timestamps have microsecond precision and follow Tokio's clock: the
/// system clock's time when the tap was created, plus the Tokio time elapsed since. Under
/// paused test time they show virtual time, and a system clock step does not reorder them.
///
/// Records go through a buffered writer, flushed when the buffer fills, on [`PcapTap::flush`]
/// and when the tap is dropped. If writing fails, the error is logged with `tracing`, the
/// capture stops (a partly written record would make the rest of the file unreadable), and the
/// tap goes on passing packets.
///
/// # Examples
///
/// Recording what a stack sends and receives:
///
/// ```
/// use net::Stack;
/// use net::device::{MemDevice, PcapTap};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let path = std::env::temp_dir().join(format!("tcpstk-doc-{}.pcap", std::process::id()));
/// let (a, _b) = MemDevice::pair(1500);
/// let stack = Stack::builder()
///     .address("10.0.0.1".parse().unwrap())
///     .build(PcapTap::create(a, &path)?)?;
/// # drop(stack);
/// # std::fs::remove_file(&path)?;
/// # Ok(())
/// # }
/// ```
pub struct PcapTap<D, W: Write = File> {
    inner: D,
    /// `None` once a write failed.
    out: Option<BufWriter<W>>,
    /// The system clock's time at creation, since the Unix epoch.
    wall_epoch: Duration,
    /// Tokio's clock at creation.
    epoch: Instant,
}

impl<D: Device> PcapTap<D, File> {
    /// Creates (or truncates) the file at `path` and writes the pcap header.
    ///
    /// # Errors
    ///
    /// Creating the file or writing its header failed.
    pub fn create(device: D, path: impl AsRef<Path>) -> io::Result<Self> {
        Self::new(device, File::create(path)?)
    }
}

impl<D: Device, W: Write + Send + 'static> PcapTap<D, W> {
    /// Records to any writer (a file, a pipe to `wireshark -k -i -`...); writes the pcap header
    /// at once.
    ///
    /// # Errors
    ///
    /// Writing the header failed.
    pub fn new(device: D, writer: W) -> io::Result<Self> {
        let mut out = BufWriter::with_capacity(BUFFER, writer);
        out.write_all(&global_header())?;
        Ok(PcapTap {
            inner: device,
            out: Some(out),
            wall_epoch: SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default(),
            epoch: Instant::now(),
        })
    }

    /// The wrapped device.
    pub fn get_ref(&self) -> &D {
        &self.inner
    }

    /// Writes the buffered records out.
    ///
    /// # Errors
    ///
    /// The writer's error; the capture stops, the tap keeps passing packets.
    pub fn flush(&mut self) -> io::Result<()> {
        match self.out.as_mut().map(BufWriter::flush) {
            Some(Err(e)) => {
                self.out = None;
                Err(e)
            }
            _ => Ok(()),
        }
    }

    fn record(&mut self, packet: &[u8]) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        let at = self.wall_epoch + self.epoch.elapsed();
        if let Err(e) = write_record(out, at, packet) {
            warn!(error = %e, "pcap write failed; capture stopped, packets still pass");
            self.out = None;
        }
    }
}

impl<D: Device, W: Write + Send + 'static> Device for PcapTap<D, W> {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let before = batch.len();
        let poll = self.inner.poll_recv(cx, batch);
        if poll.is_ready() {
            for (packet, _) in batch.iter().skip(before) {
                self.record(packet);
            }
        }
        poll
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let first = batch.len() - batch.unsent().count();
        let poll = self.inner.poll_send(cx, batch);
        let taken = batch.len() - batch.unsent().count() - first;
        for (packet, _) in batch.iter().skip(first).take(taken) {
            self.record(packet);
        }
        poll
    }
}

impl<D, W: Write> Drop for PcapTap<D, W> {
    fn drop(&mut self) {
        if let Some(Err(e)) = self.out.as_mut().map(BufWriter::flush) {
            warn!(error = %e, "pcap flush failed; the capture's end is lost");
        }
    }
}

impl<D: fmt::Debug, W: Write> fmt::Debug for PcapTap<D, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapTap")
            .field("inner", &self.inner)
            .field("capturing", &self.out.is_some())
            .finish_non_exhaustive()
    }
}

/// The 24-byte global header: magic, version 2.4, zone and accuracy 0, snaplen, link type.
fn global_header() -> [u8; 24] {
    let mut header = [0u8; 24];
    header[0..4].copy_from_slice(&MAGIC_MICROS.to_le_bytes());
    header[4..6].copy_from_slice(&2u16.to_le_bytes());
    header[6..8].copy_from_slice(&4u16.to_le_bytes());
    header[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
    header[20..24].copy_from_slice(&LINKTYPE_RAW.to_le_bytes());
    header
}

/// One record: seconds and microseconds since the epoch, bytes recorded, bytes on the wire,
/// then the packet.
fn write_record(out: &mut impl Write, at: Duration, packet: &[u8]) -> io::Result<()> {
    let recorded = &packet[..packet.len().min(SNAPLEN as usize)];
    let mut header = [0u8; 16];
    // Seconds as u32: the format's limit, good until 2106.
    let secs = u32::try_from(at.as_secs()).unwrap_or(u32::MAX);
    header[0..4].copy_from_slice(&secs.to_le_bytes());
    header[4..8].copy_from_slice(&at.subsec_micros().to_le_bytes());
    header[8..12].copy_from_slice(&(recorded.len() as u32).to_le_bytes());
    let len = u32::try_from(packet.len()).unwrap_or(u32::MAX);
    header[12..16].copy_from_slice(&len.to_le_bytes());
    out.write_all(&header)?;
    out.write_all(recorded)
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::device::{MemDevice, PacketMeta};

    /// A writer the test reads back after the tap is gone.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A writer that takes the header, then fails.
    struct FailAfterHeader(Arc<AtomicUsize>);

    impl Write for FailAfterHeader {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.0.fetch_add(1, Ordering::Relaxed) == 0 {
                Ok(buf.len())
            } else {
                Err(io::Error::other("disk full"))
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    async fn send(dev: &mut impl Device, packets: &[&[u8]]) {
        let mut batch = Batch::new(8, 1500);
        for packet in packets {
            assert!(batch.push(packet, PacketMeta::default()));
        }
        poll_fn(|cx| dev.poll_send(cx, &mut batch)).await.unwrap();
        assert!(batch.all_sent());
    }

    async fn recv(dev: &mut impl Device) -> Vec<Vec<u8>> {
        let mut batch = Batch::new(8, 1500);
        poll_fn(|cx| dev.poll_recv(cx, &mut batch)).await.unwrap();
        batch.iter().map(|(p, _)| p.to_vec()).collect()
    }

    /// A record read back: its timestamp in microseconds and the packet.
    struct Record {
        micros: u64,
        bytes: Vec<u8>,
    }

    /// Splits a capture into its global header and its records.
    fn parse(file: &[u8]) -> ([u8; 24], Vec<Record>) {
        let header = file[..24].try_into().unwrap();
        let mut records = Vec::new();
        let mut at = 24;
        while at < file.len() {
            let (secs, micros) = (u32_at(file, at), u32_at(file, at + 4));
            let (incl, orig) = (
                u32_at(file, at + 8) as usize,
                u32_at(file, at + 12) as usize,
            );
            assert_eq!(incl, orig, "nothing is cut at this snaplen");
            records.push(Record {
                micros: u64::from(secs) * 1_000_000 + u64::from(micros),
                bytes: file[at + 16..at + 16 + incl].to_vec(),
            });
            at += 16 + incl;
        }
        (header, records)
    }

    #[tokio::test(start_paused = true)]
    async fn records_every_packet_both_ways_in_order() {
        let (a, mut b) = MemDevice::pair(1500);
        let sink = Shared::default();
        let mut tap = PcapTap::new(a, sink.clone()).unwrap();

        send(&mut tap, &[b"out one", b"out two"]).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        send(&mut b, &[b"in one", b"in two", b"in three"]).await;
        assert_eq!(recv(&mut tap).await.len(), 3);
        assert_eq!(
            recv(&mut b).await,
            [b"out one".to_vec(), b"out two".to_vec()]
        );
        drop(tap);

        let file = sink.0.lock().unwrap().clone();
        let (header, records) = parse(&file);
        assert_eq!(
            header[..4],
            [0xd4, 0xc3, 0xb2, 0xa1],
            "little-endian, microseconds"
        );
        assert_eq!(header[4..8], [2, 0, 4, 0], "version 2.4");
        assert_eq!(u32_at(&header, 16), SNAPLEN);
        assert_eq!(u32_at(&header, 20), 101, "LINKTYPE_RAW");
        let bytes: Vec<&[u8]> = records.iter().map(|r| &r.bytes[..]).collect();
        assert_eq!(
            bytes,
            [
                &b"out one"[..],
                b"out two",
                b"in one",
                b"in two",
                b"in three"
            ]
        );
        // Tokio's (paused) clock: the inbound packets are exactly 1.5 s after the outbound.
        assert_eq!(records[2].micros - records[0].micros, 1_500_000);
        assert_eq!(records[1].micros, records[0].micros);
    }

    #[tokio::test]
    async fn create_writes_a_file_flushed_on_drop() {
        let path = std::env::temp_dir().join(format!("tcpstk-pcap-{}.pcap", std::process::id()));
        let (a, mut b) = MemDevice::pair(1500);
        let mut tap = PcapTap::create(a, &path).unwrap();
        send(&mut tap, &[b"hello"]).await;
        assert_eq!(recv(&mut b).await, [b"hello".to_vec()]);
        drop(tap);
        let file = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let (_, records) = parse(&file);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].bytes, b"hello");
    }

    #[tokio::test]
    async fn a_failing_writer_stops_the_capture_not_the_packets() {
        let (a, mut b) = MemDevice::pair(1500);
        let mut tap = PcapTap::new(a, FailAfterHeader(Arc::default())).unwrap();
        let big = [7u8; 1400];
        for _ in 0..100 {
            send(&mut tap, &[&big]).await;
            assert_eq!(recv(&mut b).await, [big.to_vec()]);
        }
        assert!(
            tap.flush().is_ok(),
            "the capture already stopped: nothing to flush"
        );
        assert!(format!("{tap:?}").contains("capturing: false"));
    }
}
