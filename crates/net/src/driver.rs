//! The driver task: owns the device, feeds the engine, sends what it produces, wakes handles.
//!
//! One loop iteration: wait for packets, a handle's notification or the engine's next deadline;
//! then, under the lock, feed at most one batch of packets, fire due timers, collect every
//! segment to send into the transmit batch and wake the handles whose readiness changed; then,
//! without the lock, hand the batch to the device. When the last handle goes, a final round
//! sends what the dropped handles queued (FINs, RSTs), and the driver stops.

use std::future::poll_fn;
use std::io;
use std::sync::Arc;

use fsm::{EndpointEvent, Event, Instant};
use tokio::sync::watch;
use tracing::{debug, trace, warn};
use wire::{IpPacket, Packet, ParseError};

use crate::device::{Batch, Device, PacketMeta};
use crate::icmp;
use crate::shared::{Inner, Shared};

/// Packets read per wakeup at most (the budget that keeps one busy device from starving
/// timers and handles).
const RX_BATCH: usize = 64;
/// Packets sent per device write at most.
const TX_BATCH: usize = 64;

pub(crate) async fn run<D: Device>(
    shared: Arc<Shared>,
    mut device: D,
    mut stop: watch::Receiver<()>,
) {
    let mtu = device.mtu();
    let mut rx = Batch::new(RX_BATCH, mtu);
    let mut tx = Batch::new(TX_BATCH, mtu);
    loop {
        let deadline = shared.lock().endpoint.poll_timeout();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(shared.tokio_instant(at)).await,
                None => std::future::pending().await,
            }
        };
        let stopping = tokio::select! {
            biased;
            _ = stop.changed() => true,
            received = poll_fn(|cx| device.poll_recv(cx, &mut rx)) => {
                if let Err(e) = received {
                    warn!(error = %e, "device receive failed; the driver stops");
                    break;
                }
                false
            }
            () = shared.wake_driver.notified() => false,
            () = sleep => false,
        };
        let mut more = process(&shared, &mut rx, &mut tx);
        let mut sent = send(&shared, &mut device, &mut tx).await;
        // The last handle went: before stopping, send everything the handles queued as they
        // went (FINs, RSTs), so that peers are not left with connections nobody will close.
        while stopping && more && sent.is_ok() {
            more = process(&shared, &mut rx, &mut tx);
            sent = send(&shared, &mut device, &mut tx).await;
        }
        if let Err(e) = sent {
            warn!(error = %e, "device send failed; the driver stops");
            break;
        }
        if stopping {
            break;
        }
        if more {
            // The transmit batch filled up: go round again at once.
            shared.wake_driver.notify_one();
        }
    }
    let mut inner = shared.lock();
    inner.driver_gone = true;
    for slot in inner.conns.values_mut() {
        Inner::wake_all(slot);
    }
    for waiters in inner.listeners.values_mut() {
        waiters.wake();
    }
}

/// Hands the transmit batch to the device and empties it.
async fn send<D: Device>(shared: &Shared, device: &mut D, tx: &mut Batch) -> io::Result<()> {
    if tx.is_empty() {
        return Ok(());
    }
    let sent = poll_fn(|cx| device.poll_send(cx, tx)).await;
    let count = tx.len() as u64;
    tx.clear();
    sent?;
    shared.lock().counters.packets_out += count;
    Ok(())
}

/// One round under the lock: feed the received packets, fire due timers, collect what to send.
/// Returns true when work is left (the transmit batch filled up first).
///
/// What the engine decides to send after a packet is collected right after that packet, before
/// the next one is fed: the engine already coalesces ACKs (delayed ACK: one per two full
/// segments), and duplicate ACKs for out-of-order data must each go out (RFC 5681 §4.2), or
/// the peer cannot fast-retransmit.
fn process(shared: &Shared, rx: &mut Batch, tx: &mut Batch) -> bool {
    let mut inner = shared.lock();
    let now = shared.now();
    let mut consumed = 0;
    let mut full = tx.is_full();
    for (bytes, _) in rx.unsent() {
        if full {
            break;
        }
        inner.counters.packets_in += 1;
        on_packet(&mut inner, now, bytes, tx);
        consumed += 1;
        full = collect(&mut inner, now, tx);
    }
    rx.mark_sent(consumed);
    if rx.all_sent() {
        rx.clear();
    }
    if !full {
        inner.endpoint.handle_timeout(now);
        full = collect(&mut inner, now, tx);
    }
    dispatch_events(&mut inner);
    full || !rx.is_empty()
}

/// Moves the engine's segments into the transmit batch; returns true when it filled up.
fn collect(inner: &mut Inner, now: Instant, tx: &mut Batch) -> bool {
    while let Some(spare) = tx.spare() {
        let Some(packet) = inner.endpoint.poll_transmit(now) else {
            return false;
        };
        trace!(src = %packet.ip.src, dst = %packet.ip.dst, seq = %packet.tcp.seq,
               ack = %packet.tcp.ack, flags = %packet.tcp.flags, len = packet.tcp.payload.len(),
               "segment out");
        match packet.emit(spare) {
            Ok(len) => tx.commit(len, PacketMeta::default()),
            Err(e) => warn!(error = %e, "segment could not be emitted"),
        }
    }
    true
}

fn on_packet(inner: &mut Inner, now: Instant, bytes: &[u8], tx: &mut Batch) {
    match Packet::parse(bytes) {
        Ok(p) if inner.addrs.contains(&p.ip.dst) => {
            trace!(src = %p.ip.src, seq = %p.tcp.seq, ack = %p.tcp.ack, flags = %p.tcp.flags,
                   len = p.tcp.payload.len(), "segment in");
            inner.endpoint.handle_segment(now, &p.ip, &p.tcp);
        }
        Err(ParseError::NotTcp(_)) => on_other_protocol(inner, bytes, tx),
        Ok(_) => inner.counters.ignored += 1,
        Err(e) => {
            trace!(error = %e, "malformed packet dropped");
            inner.counters.malformed += 1;
        }
    }
}

/// Answers ICMP echo requests addressed to the stack; counts and drops the rest.
fn on_other_protocol(inner: &mut Inner, bytes: &[u8], tx: &mut Batch) {
    let hop_limit = inner.endpoint.config().hop_limit;
    let reply = IpPacket::parse(bytes)
        .ok()
        .filter(|p| inner.addrs.contains(&p.ip.dst))
        .zip(tx.spare())
        .and_then(|(packet, spare)| icmp::echo_reply(&packet, hop_limit, spare));
    match reply {
        Some(len) => {
            tx.commit(len, PacketMeta::default());
            inner.counters.echo_replies += 1;
        }
        None => inner.counters.ignored += 1,
    }
}

/// Wakes the tasks whose connection or listener changed.
fn dispatch_events(inner: &mut Inner) {
    while let Some(event) = inner.endpoint.poll_event() {
        match event {
            EndpointEvent::Incoming(id) => {
                if let Some(waiters) = inner.listeners.get_mut(&id) {
                    waiters.wake();
                }
            }
            EndpointEvent::Conn(id, Event::StateChanged { from, to }) => {
                // Logged in the connection's span while a handle holds it; a connection the
                // user dropped still closes in the background, and that is logged too.
                let span = inner.conns.get(&id).map(|slot| slot.span.clone());
                let _in_span = span.as_ref().map(tracing::Span::enter);
                debug!(conn = ?id, %from, %to, "state");
            }
            EndpointEvent::Conn(id, event) => {
                let Some(slot) = inner.conns.get_mut(&id) else {
                    continue;
                };
                match event {
                    Event::Readable | Event::ReadClosed => slot.read.wake(),
                    Event::Writable => slot.write.wake(),
                    Event::Connected => {
                        slot.connected = true;
                        slot.connect.wake();
                    }
                    Event::Closed(_) => Inner::wake_all(slot),
                    Event::StateChanged { .. } => {}
                }
            }
        }
    }
}
