//! Seeded faults on a device's packets — loss, duplication, reordering, delay, corruption and a
//! rate limit, the knobs of s2n-quic's simulated network — for testing the stack over a bad
//! link.
//!
//! Each direction with faults decides every packet's fate as it passes (`Fate`) and holds the
//! survivors in a queue ordered by release time (`Queue`) until Tokio's clock reaches it. A
//! direction without faults is not touched: its packets go straight through, unbuffered.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::{Batch, Device, PacketMeta};

/// Packets a direction hands to the inner device per write.
const STAGE_PACKETS: usize = 64;
/// Reads from the inner device per `poll_recv` when every packet read is held back, before
/// yielding to the other tasks.
const RECV_ROUNDS: usize = 4;

/// The faults of one direction. `Faults::default()` has none; set the fields you need:
///
/// ```
/// use std::time::Duration;
/// use net::device::Faults;
///
/// let lossy = Faults {
///     loss: 0.01,
///     delay: Duration::from_millis(20),
///     seed: 7,
///     ..Faults::default()
/// };
/// assert!(lossy.is_active());
/// assert!(!Faults::default().is_active());
/// ```
///
/// The fate of a packet is decided in this order: lost (then nothing else happens), duplicated;
/// then for each copy, queued behind the rate limit (or dropped when the queue is full),
/// delayed by `delay` plus a uniform jitter, maybe held back further (reordered), maybe
/// corrupted. Probabilities are in `[0, 1]`. Tokio's timers fire on millisecond ticks, so
/// release times are rounded up to the next millisecond.
#[derive(Clone, Debug, PartialEq)]
pub struct Faults {
    /// Probability that a packet is dropped.
    pub loss: f64,
    /// Probability that a packet is sent twice.
    pub duplicate: f64,
    /// Probability that a packet is held back by an extra delay, uniform in
    /// `[0, reorder_delay]`, so that later packets overtake it.
    pub reorder: f64,
    /// The longest extra delay of a reordered packet.
    pub reorder_delay: Duration,
    /// Delay added to every packet (one-way propagation).
    pub delay: Duration,
    /// A further delay, uniform in `[0, jitter]`, drawn per packet; a jitter larger than the
    /// gap between packets reorders them too.
    pub jitter: Duration,
    /// Probability that one random bit of a packet is flipped.
    pub corrupt: f64,
    /// The link's rate in bytes per second: packets leave back to back, each taking
    /// `len / rate` (a token bucket one packet deep). `None`: no limit.
    pub rate: Option<u64>,
    /// Bytes that may wait for the rate limit; a packet arriving when the queue holds more is
    /// dropped, as a router's tail drop does. A packet arriving on an idle link always passes.
    pub queue_limit: usize,
    /// The seed of the fates: the same seed, faults and packets give the same fates.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_delay: Duration::from_millis(10),
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            corrupt: 0.0,
            rate: None,
            queue_limit: 256 * 1024,
            seed: 0,
        }
    }
}

impl Faults {
    /// True when any fault is set; a direction without faults passes packets straight through.
    pub fn is_active(&self) -> bool {
        [self.loss, self.duplicate, self.reorder, self.corrupt]
            .iter()
            .any(|&p| p > 0.0)
            || !self.delay.is_zero()
            || !self.jitter.is_zero()
            || self.rate.is_some()
    }
}

/// What the faults of one direction did. A direction without faults counts nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultCounters {
    /// Packets that entered.
    pub packets: u64,
    /// Packets lost on purpose.
    pub dropped: u64,
    /// Packets sent twice.
    pub duplicated: u64,
    /// Packets held back to be overtaken.
    pub reordered: u64,
    /// Packets with a bit flipped.
    pub corrupted: u64,
    /// Packets dropped because the rate limit's queue was full.
    pub overflowed: u64,
}

/// Wraps a device with seeded faults on the way out and, optionally, on the way in.
///
/// Delays run on Tokio's clock, so tests under `#[tokio::test(start_paused = true)]` are
/// deterministic. Packets held on the way out are released while the driver waits in
/// [`Device::poll_recv`], which it always does. A direction without faults adds no copy and no
/// allocation; held packets live in buffers that are reused. Only the rate limit's queue is
/// bounded: a delay holds what is sent during it.
///
/// # Examples
///
/// Two stacks over a link that loses 5% of the packets each way and takes 20 ms:
///
/// ```
/// use std::time::Duration;
/// use net::device::{FaultDevice, Faults, MemDevice};
/// use net::{Stack, TcpListener, TcpStream};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> std::io::Result<()> {
/// let bad = |seed| Faults {
///     loss: 0.05,
///     delay: Duration::from_millis(20),
///     seed,
///     ..Faults::default()
/// };
/// let (a, b) = MemDevice::pair(1500);
/// let a = FaultDevice::new(a, bad(1));
/// let b = FaultDevice::new(b, bad(2));
/// let server = Stack::builder().address("10.0.0.1".parse().unwrap()).build(a)?;
/// let client = Stack::builder().address("10.0.0.2".parse().unwrap()).build(b)?;
///
/// let listener = TcpListener::bind(&server, "10.0.0.1:7".parse().unwrap()).await?;
/// tokio::spawn(async move {
///     let (mut stream, _) = listener.accept().await?;
///     stream.write_all(&[42; 100_000]).await?;
///     stream.shutdown().await
/// });
/// let mut stream = TcpStream::connect(&client, "10.0.0.1:7".parse().unwrap()).await?;
/// let mut data = Vec::new();
/// stream.read_to_end(&mut data).await?;
/// assert_eq!(data, [42; 100_000]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct FaultDevice<D> {
    inner: D,
    outbound: Option<Link>,
    inbound: Option<Link>,
}

impl<D: Device> FaultDevice<D> {
    /// Wraps `device` with `outbound` faults on the packets it sends.
    pub fn new(device: D, outbound: Faults) -> Self {
        let mtu = device.mtu();
        FaultDevice {
            inner: device,
            outbound: Link::new(outbound, mtu),
            inbound: None,
        }
    }

    /// Also applies `inbound` faults to the packets the device receives.
    pub fn with_inbound(mut self, inbound: Faults) -> Self {
        self.inbound = Link::new(inbound, self.inner.mtu());
        self
    }

    /// What the faults did to the packets sent.
    pub fn outbound_counters(&self) -> FaultCounters {
        self.outbound
            .as_ref()
            .map_or_else(Default::default, |l| l.fate.counters)
    }

    /// What the faults did to the packets received.
    pub fn inbound_counters(&self) -> FaultCounters {
        self.inbound
            .as_ref()
            .map_or_else(Default::default, |l| l.fate.counters)
    }

    /// The wrapped device.
    pub fn get_ref(&self) -> &D {
        &self.inner
    }
}

impl<D: Device> Device for FaultDevice<D> {
    fn mtu(&self) -> usize {
        self.inner.mtu()
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        if let Some(out) = &mut self.outbound {
            // The driver always waits here: release the outbound packets that are due and set
            // the timer for the next.
            if let Poll::Ready(Err(e)) = out.poll_flush(&mut self.inner, cx) {
                return Poll::Ready(Err(e));
            }
        }
        let Some(link) = &mut self.inbound else {
            return self.inner.poll_recv(cx, batch);
        };
        let before = batch.len();
        for _ in 0..RECV_ROUNDS {
            link.queue.release_due(Instant::now(), batch);
            if batch.len() > before || batch.is_full() {
                return Poll::Ready(Ok(()));
            }
            match self.inner.poll_recv(cx, &mut link.stage) {
                Poll::Ready(Ok(())) => {
                    link.admit_stage();
                    continue;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {}
            }
            if link.queue.poll_timer(cx).is_pending() {
                return Poll::Pending;
            }
        }
        // Everything read so far is held back and more keeps coming: let other tasks run.
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let Some(link) = &mut self.outbound else {
            return self.inner.poll_send(cx, batch);
        };
        let now = Instant::now();
        let mut taken = 0;
        for (packet, meta) in batch.unsent() {
            link.fate.admit(&mut link.queue, now, packet, meta);
            taken += 1;
        }
        batch.mark_sent(taken);
        // The packets are ours now; a full inner device only delays them.
        match link.poll_flush(&mut self.inner, cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// One direction with faults.
#[derive(Debug)]
struct Link {
    fate: Fate,
    queue: Queue,
    /// Outbound: due packets on their way into the inner device. Inbound: packets just read
    /// from it.
    stage: Batch,
}

impl Link {
    /// `None` for faults that do nothing: the direction passes packets through.
    fn new(faults: Faults, mtu: usize) -> Option<Link> {
        faults.is_active().then(|| Link {
            fate: Fate {
                rng: SplitMix64(faults.seed),
                faults,
                link_free: None,
                counters: FaultCounters::default(),
            },
            queue: Queue::default(),
            stage: Batch::new(STAGE_PACKETS, mtu),
        })
    }

    /// Decides the fate of the packets read into the stage.
    fn admit_stage(&mut self) {
        let now = Instant::now();
        for (packet, meta) in self.stage.iter() {
            self.fate.admit(&mut self.queue, now, packet, meta);
        }
        self.stage.clear();
    }

    /// Hands the due packets to `inner` and sets the timer for the next. `Pending` when
    /// `inner` cannot take more now (it wakes the task when it can).
    fn poll_flush<D: Device>(
        &mut self,
        inner: &mut D,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            if !self.stage.all_sent() {
                ready!(inner.poll_send(cx, &mut self.stage))?;
            }
            self.stage.clear();
            self.queue.release_due(Instant::now(), &mut self.stage);
            if self.stage.is_empty() {
                match self.queue.poll_timer(cx) {
                    Poll::Ready(()) => continue,
                    Poll::Pending => return Poll::Ready(Ok(())),
                }
            }
        }
    }
}

/// Decides what happens to each packet of a direction.
#[derive(Debug)]
struct Fate {
    faults: Faults,
    rng: SplitMix64,
    /// The rate limit: when the link finishes sending what it has queued (`None`: idle since
    /// the start).
    link_free: Option<Instant>,
    counters: FaultCounters,
}

impl Fate {
    fn admit(&mut self, queue: &mut Queue, now: Instant, packet: &[u8], meta: PacketMeta) {
        self.counters.packets += 1;
        if self.rng.chance(self.faults.loss) {
            self.counters.dropped += 1;
            return;
        }
        let copies = if self.rng.chance(self.faults.duplicate) {
            self.counters.duplicated += 1;
            2
        } else {
            1
        };
        for _ in 0..copies {
            let Some(depart) = self.depart(now, packet.len()) else {
                self.counters.overflowed += 1;
                continue;
            };
            let mut at = depart + self.faults.delay + self.rng.duration_upto(self.faults.jitter);
            if self.rng.chance(self.faults.reorder) {
                self.counters.reordered += 1;
                at += self.rng.duration_upto(self.faults.reorder_delay);
            }
            let mut buf = queue.copy(packet);
            if self.rng.chance(self.faults.corrupt) {
                let bit = self.rng.below(buf.len() as u64 * 8);
                if let Some(byte) = buf.get_mut((bit / 8) as usize) {
                    *byte ^= 1 << (bit % 8);
                    self.counters.corrupted += 1;
                }
            }
            queue.hold(at, buf, meta);
        }
    }

    /// When a packet of `len` bytes arriving `now` leaves the rate limiter, or `None` when its
    /// queue is full.
    fn depart(&mut self, now: Instant, len: usize) -> Option<Instant> {
        let Some(rate) = self.faults.rate else {
            return Some(now);
        };
        let rate = rate.max(1);
        let depart = self.link_free.map_or(now, |free| free.max(now));
        let queued = u128::from(rate) * (depart - now).as_nanos() / 1_000_000_000;
        if queued > 0 && queued + len as u128 > self.faults.queue_limit as u128 {
            return None;
        }
        let nanos = len as u128 * 1_000_000_000 / u128::from(rate);
        self.link_free =
            Some(depart + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)));
        Some(depart)
    }
}

/// Packets held until their release time, in reusable buffers.
#[derive(Debug, Default)]
struct Queue {
    held: BinaryHeap<Reverse<Held>>,
    /// Buffers of packets already released.
    pool: Vec<Vec<u8>>,
    /// Orders packets released at the same instant by arrival.
    next_seq: u64,
    /// Created on first use, inside the runtime.
    timer: Option<Pin<Box<Sleep>>>,
}

#[derive(Debug)]
struct Held {
    at: Instant,
    seq: u64,
    buf: Vec<u8>,
    meta: PacketMeta,
}

impl PartialEq for Held {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Held {}

impl PartialOrd for Held {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Held {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

impl Queue {
    /// A copy of `packet` in a reused buffer.
    fn copy(&mut self, packet: &[u8]) -> Vec<u8> {
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(packet);
        buf
    }

    /// Holds `buf` until `at`.
    fn hold(&mut self, at: Instant, buf: Vec<u8>, meta: PacketMeta) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.held.push(Reverse(Held { at, seq, buf, meta }));
    }

    /// Moves the packets due at `now` into `batch`, in release order, while it has room.
    fn release_due(&mut self, now: Instant, batch: &mut Batch) {
        while !batch.is_full() {
            match self.held.peek() {
                Some(Reverse(next)) if next.at <= now => {}
                _ => return,
            }
            let Some(Reverse(held)) = self.held.pop() else {
                return;
            };
            // Cannot fail: the batch's buffers hold the inner device's MTU, as the packets do.
            batch.push(&held.buf, held.meta);
            self.pool.push(held.buf);
        }
    }

    /// `Ready` once the next held packet is due; otherwise arms the timer for it (`Pending`
    /// without a packet held).
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(Reverse(next)) = self.held.peek() else {
            return Poll::Pending;
        };
        let at = next.at;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if timer.deadline() != at {
            timer.as_mut().reset(at);
        }
        timer.as_mut().poll(cx)
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny seeded generator, plenty for fates.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, from the top 53 bits.
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`; draws nothing for `p <= 0`.
    fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.next_f64() < p
    }

    /// Uniform in `[0, n)` (Lemire's multiply-shift, without the rejection step: the bias, at
    /// most `n / 2^64`, does not matter here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `[0, max]` at nanosecond resolution; draws nothing for zero.
    fn duration_upto(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.below(nanos.saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::net::Ipv4Addr;

    use wire::{IpRepr, Packet, ParseError, SeqNum, TcpFlags, TcpOptions, TcpRepr};

    use super::*;
    use crate::device::MemDevice;

    const MTU: usize = 1500;
    /// Past the last release of any test: the receiver gives up after this much silence.
    const IDLE: Duration = Duration::from_secs(20);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A packet of `len` bytes whose first four say `i`.
    fn numbered(i: u32, len: usize) -> Vec<u8> {
        let mut packet = vec![0xa5; len];
        packet[..4].copy_from_slice(&i.to_be_bytes());
        packet
    }

    fn number(packet: &[u8]) -> u32 {
        u32::from_be_bytes(packet[..4].try_into().unwrap())
    }

    fn numbered_packets(n: u32, len: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| numbered(i, len)).collect()
    }

    /// A valid TCP/IPv4 packet carrying `payload`, its sequence number `i`.
    fn tcp_packet(i: u32, payload: &[u8]) -> Vec<u8> {
        let packet = Packet {
            ip: IpRepr {
                src: Ipv4Addr::new(10, 0, 0, 1).into(),
                dst: Ipv4Addr::new(10, 0, 0, 2).into(),
                hop_limit: 64,
            },
            tcp: TcpRepr {
                src_port: 40000,
                dst_port: 80,
                seq: SeqNum::new(i),
                ack: SeqNum::new(0),
                flags: TcpFlags::ACK,
                window: 65535,
                urgent: 0,
                options: TcpOptions::default(),
                payload,
            },
        };
        let mut buf = vec![0; packet.buffer_len()];
        packet.emit(&mut buf).unwrap();
        buf
    }

    /// Keeps polling `dev` to release what it holds on the way out, for `time`.
    async fn drive(dev: &mut FaultDevice<MemDevice>, time: Duration) {
        let mut scratch = Batch::new(STAGE_PACKETS, MTU);
        let forever = poll_fn(|cx| {
            let _ = dev.poll_recv(cx, &mut scratch);
            Poll::<()>::Pending
        });
        let _ = tokio::time::timeout(time, forever).await;
    }

    /// Packets as they arrived: time since the start and bytes.
    type Arrivals = Vec<(Duration, Vec<u8>)>;

    /// Receives on `dev` until `IDLE` passes without a packet.
    async fn receive(dev: &mut impl Device, start: Instant) -> Arrivals {
        let mut arrivals = Vec::new();
        let mut batch = Batch::new(STAGE_PACKETS, MTU);
        while let Ok(Ok(())) =
            tokio::time::timeout(IDLE, poll_fn(|cx| dev.poll_recv(cx, &mut batch))).await
        {
            let at = start.elapsed();
            arrivals.extend(batch.iter().map(|(p, _)| (at, p.to_vec())));
            batch.clear();
        }
        arrivals
    }

    /// Sends `packets` through a `FaultDevice` with `faults` on the way out, one every `gap`
    /// (all at once for a zero gap, a batch at a time), and returns what the other end of the
    /// link received and the counters.
    async fn run(faults: Faults, packets: &[Vec<u8>], gap: Duration) -> (Arrivals, FaultCounters) {
        let (a, mut b) = MemDevice::pair(MTU);
        let mut dev = FaultDevice::new(a, faults);
        let start = Instant::now();
        let send = async {
            let mut batch = Batch::new(STAGE_PACKETS, MTU);
            let per_batch = if gap.is_zero() { STAGE_PACKETS } else { 1 };
            for chunk in packets.chunks(per_batch) {
                for packet in chunk {
                    assert!(batch.push(packet, PacketMeta::default()));
                }
                poll_fn(|cx| dev.poll_send(cx, &mut batch)).await.unwrap();
                assert!(batch.all_sent());
                batch.clear();
                if gap.is_zero() {
                    // Let the receiver empty the link's queue.
                    tokio::task::yield_now().await;
                } else {
                    drive(&mut dev, gap).await;
                }
            }
            drive(&mut dev, IDLE / 2).await;
        };
        let (arrivals, ()) = tokio::join!(receive(&mut b, start), send);
        (arrivals, dev.outbound_counters())
    }

    fn share(count: u64, of: usize) -> f64 {
        count as f64 / of as f64
    }

    #[test]
    fn splitmix64_matches_the_reference() {
        // The reference implementation's first outputs for seed 1234567.
        let mut rng = SplitMix64(1234567);
        assert_eq!(rng.next_u64(), 6457827717110365317);
        assert_eq!(rng.next_u64(), 3203168211198807973);
        assert_eq!(rng.next_u64(), 9817491932198370423);
    }

    #[tokio::test(start_paused = true)]
    async fn no_faults_pass_packets_through_untouched() {
        let packets = numbered_packets(1000, 100);
        let (arrivals, counters) = run(Faults::default(), &packets, Duration::ZERO).await;
        assert!(arrivals.iter().all(|(at, _)| at.is_zero()));
        let got: Vec<Vec<u8>> = arrivals.into_iter().map(|(_, p)| p).collect();
        assert_eq!(got, packets);
        assert_eq!(
            counters,
            FaultCounters::default(),
            "a clear direction counts nothing"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn loss_drops_its_share() {
        let packets = numbered_packets(10_000, 64);
        let faults = Faults {
            loss: 0.3,
            seed: 1,
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &packets, Duration::ZERO).await;
        assert_eq!(counters.packets, 10_000);
        assert_eq!(arrivals.len() as u64, 10_000 - counters.dropped);
        let lost = share(counters.dropped, packets.len());
        assert!((0.25..=0.35).contains(&lost), "lost {lost}");
        // The survivors keep their order.
        let numbers: Vec<u32> = arrivals.iter().map(|(_, p)| number(p)).collect();
        assert!(numbers.is_sorted());
    }

    #[tokio::test(start_paused = true)]
    async fn duplication_adds_its_share() {
        let packets = numbered_packets(10_000, 64);
        let faults = Faults {
            duplicate: 0.2,
            seed: 2,
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &packets, Duration::ZERO).await;
        assert_eq!(arrivals.len() as u64, 10_000 + counters.duplicated);
        let extra = share(counters.duplicated, packets.len());
        assert!((0.15..=0.25).contains(&extra), "duplicated {extra}");
        let numbers: Vec<u32> = arrivals.iter().map(|(_, p)| number(p)).collect();
        assert!(numbers.is_sorted(), "a duplicate follows its original");
    }

    #[tokio::test(start_paused = true)]
    async fn corruption_flips_one_bit_that_the_checksums_catch() {
        let payload = [0x5a; 500];
        let packets: Vec<_> = (0..2000).map(|i| tcp_packet(i, &payload)).collect();
        let faults = Faults {
            corrupt: 1.0,
            seed: 3,
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &packets, Duration::ZERO).await;
        assert_eq!(counters.corrupted, 2000);
        assert_eq!(arrivals.len(), 2000);
        let headers = wire::IPV4_HEADER_LEN + wire::TCP_HEADER_LEN;
        let mut bad_checksums = 0;
        for ((_, got), sent) in arrivals.iter().zip(&packets) {
            let flipped: Vec<usize> = (0..sent.len() * 8)
                .filter(|&bit| (got[bit / 8] ^ sent[bit / 8]) & (1 << (bit % 8)) != 0)
                .collect();
            assert_eq!(flipped.len(), 1, "exactly one bit flipped");
            let error = Packet::parse(got).expect_err("no single bit flip goes unnoticed");
            if flipped[0] / 8 >= headers {
                assert_eq!(error, ParseError::BadChecksum, "a payload bit");
            }
            bad_checksums += u32::from(error == ParseError::BadChecksum);
        }
        assert!(
            bad_checksums > 1900,
            "most flips land in the payload: {bad_checksums}"
        );

        let faults = Faults {
            corrupt: 0.1,
            seed: 4,
            ..Faults::default()
        };
        let packets = numbered_packets(10_000, 64);
        let (arrivals, counters) = run(faults, &packets, Duration::ZERO).await;
        let changed = arrivals
            .iter()
            .zip(&packets)
            .filter(|((_, got), sent)| got != *sent);
        assert_eq!(changed.count() as u64, counters.corrupted);
        let corrupted = share(counters.corrupted, 10_000);
        assert!((0.08..=0.12).contains(&corrupted), "corrupted {corrupted}");
    }

    #[tokio::test(start_paused = true)]
    async fn delay_shifts_arrival_by_exactly_the_delay() {
        let packets = numbered_packets(100, 64);
        let faults = Faults {
            delay: ms(50),
            ..Faults::default()
        };
        let (arrivals, _) = run(faults, &packets, ms(1)).await;
        assert_eq!(arrivals.len(), 100);
        for (i, (at, packet)) in arrivals.iter().enumerate() {
            assert_eq!(number(packet), i as u32);
            assert_eq!(*at, ms(i as u64) + ms(50), "packet {i}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn jitter_spreads_arrivals_within_its_bounds() {
        let packets = numbered_packets(1000, 64);
        let faults = Faults {
            delay: ms(10),
            jitter: ms(20),
            seed: 5,
            ..Faults::default()
        };
        let (arrivals, _) = run(faults, &packets, ms(1)).await;
        assert_eq!(arrivals.len(), 1000);
        let delays: Vec<Duration> = arrivals
            .iter()
            .map(|(at, p)| *at - ms(u64::from(number(p))))
            .collect();
        // Timers fire on millisecond ticks: a release at 10.2 ms happens at 11 ms.
        assert!(
            delays.iter().all(|d| (ms(10)..=ms(30)).contains(d)),
            "{delays:?}"
        );
        assert!(delays.contains(&ms(10)) || delays.contains(&ms(11)));
        assert!(delays.contains(&ms(30)) || delays.contains(&ms(29)));
    }

    #[tokio::test(start_paused = true)]
    async fn reordering_holds_packets_back_past_later_ones() {
        let packets = numbered_packets(1000, 64);
        let faults = Faults {
            reorder: 0.2,
            reorder_delay: ms(10),
            seed: 6,
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &packets, ms(1)).await;
        assert_eq!(arrivals.len(), 1000, "nothing lost");
        let held = share(counters.reordered, 1000);
        assert!((0.15..=0.25).contains(&held), "reordered {held}");
        let numbers: Vec<u32> = arrivals.iter().map(|(_, p)| number(p)).collect();
        let overtaken = numbers.windows(2).filter(|w| w[0] > w[1]).count();
        assert!(
            overtaken > 100,
            "{overtaken} packets arrived after a later one"
        );
        let mut sorted = numbers.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_spaces_packets_by_size_over_rate() {
        // 1000 bytes at 1 MB/s: one packet per millisecond.
        let packets = numbered_packets(50, 1000);
        let faults = Faults {
            rate: Some(1_000_000),
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &packets, Duration::ZERO).await;
        let times: Vec<Duration> = arrivals.iter().map(|(at, _)| *at).collect();
        assert_eq!(times, (0..50).map(ms).collect::<Vec<_>>());
        assert_eq!(counters.overflowed, 0);

        // With a delay too, the spacing is kept and shifted.
        let faults = Faults {
            rate: Some(1_000_000),
            delay: ms(30),
            ..Faults::default()
        };
        let (arrivals, _) = run(faults, &packets, Duration::ZERO).await;
        let times: Vec<Duration> = arrivals.iter().map(|(at, _)| *at).collect();
        assert_eq!(times, (30..80).map(ms).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_drops_past_its_queue() {
        // Room for ten 1000-byte packets, the one on the wire included.
        let faults = Faults {
            rate: Some(1_000_000),
            queue_limit: 10_000,
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &numbered_packets(20, 1000), Duration::ZERO).await;
        assert_eq!(counters.overflowed, 10);
        let numbers: Vec<u32> = arrivals.iter().map(|(_, p)| number(p)).collect();
        assert_eq!(numbers, (0..10).collect::<Vec<_>>(), "tail drop");
        // Once it drained, the queue takes packets again.
        let faults = Faults {
            rate: Some(1_000_000),
            queue_limit: 10_000,
            ..Faults::default()
        };
        let (arrivals, counters) = run(faults, &numbered_packets(40, 1000), ms(1)).await;
        assert_eq!((arrivals.len(), counters.overflowed), (40, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn the_same_seed_gives_the_same_fates() {
        let packets = numbered_packets(2000, 100);
        let faults = |seed| Faults {
            loss: 0.1,
            duplicate: 0.1,
            reorder: 0.1,
            corrupt: 0.1,
            jitter: ms(3),
            seed,
            ..Faults::default()
        };
        let first = run(faults(9), &packets, ms(1)).await;
        let again = run(faults(9), &packets, ms(1)).await;
        let other = run(faults(10), &packets, ms(1)).await;
        assert_eq!(first, again);
        assert_ne!(first.0, other.0);
        assert_ne!(first.1, other.1);
    }

    #[tokio::test(start_paused = true)]
    async fn inbound_faults_apply_to_received_packets() {
        let (mut a, b) = MemDevice::pair(MTU);
        let inbound = Faults {
            loss: 0.5,
            delay: ms(40),
            seed: 11,
            ..Faults::default()
        };
        let mut dev = FaultDevice::new(b, Faults::default()).with_inbound(inbound);
        let start = Instant::now();
        let send = async {
            let mut batch = Batch::new(1, MTU);
            for i in 0..200 {
                assert!(batch.push(&numbered(i, 64), PacketMeta::default()));
                poll_fn(|cx| a.poll_send(cx, &mut batch)).await.unwrap();
                batch.clear();
                tokio::time::sleep(ms(1)).await;
            }
        };
        let (arrivals, ()) = tokio::join!(receive(&mut dev, start), send);
        let counters = dev.inbound_counters();
        assert_eq!(counters.packets, 200);
        assert_eq!(arrivals.len() as u64, 200 - counters.dropped);
        assert!(
            (70..=130).contains(&counters.dropped),
            "dropped {}",
            counters.dropped
        );
        for (at, packet) in &arrivals {
            assert_eq!(*at, ms(u64::from(number(packet))) + ms(40));
        }
        assert_eq!(dev.outbound_counters(), FaultCounters::default());
    }
}
