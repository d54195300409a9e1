//! The endpoint: every connection and listener of a stack, and the segments that belong to
//! none of them (RFC 9293 §3.10.7.1-2).
//!
//! It demultiplexes arriving segments by four-tuple, keeps listeners with bounded backlogs,
//! picks ISNs (RFC 6528) and ephemeral ports (RFC 6056), answers strays with the RSTs of
//! §3.10.7.1, keeps TIME-WAIT as a compact entry once the user has let go, and runs one timer
//! heap for all connections, so a driver needs one sleep.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use wire::{IpRepr, Packet, SeqNum, TcpFlags, TcpOptions, TcpRepr, Timestamps};

use crate::config::Config;
use crate::conn::{Connection, bare_segment, ts_clock};
use crate::error::{ConnectError, ListenError};
use crate::event::Event;
use crate::isn::{PortAllocator, Secrets};
use crate::state::State;
use crate::time::Instant;

/// Names a connection of an [`Endpoint`]. A stale id (its connection gone) names nothing: the
/// generation tells a reused slot apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId {
    index: u32,
    generation: u32,
}

/// Names a listener of an [`Endpoint`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenId(u32);

/// What the endpoint tells its driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointEvent {
    /// An event of a connection the user holds or held (active, or accepted). A connection the
    /// user released still reports its way to CLOSED, the end of a compact TIME-WAIT included,
    /// under its now stale id.
    Conn(ConnId, Event),
    /// A listener's accept queue gained a connection.
    Incoming(ListenId),
}

/// Endpoint-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EndpointStats {
    /// Segments handed to `handle_segment`.
    pub segments_received: u64,
    /// RSTs sent for segments that matched no connection or listener.
    pub resets_sent: u64,
    /// SYNs dropped because a backlog or the connection limit was full.
    pub syns_dropped: u64,
    /// Replies dropped because the reply queue was full.
    pub replies_dropped: u64,
}

/// Replies without a connection (RSTs, TIME-WAIT ACKs) waiting to be sent; a flood of strays
/// beyond this is dropped rather than buffered.
const MAX_REPLIES: usize = 1024;

type FourTuple = (SocketAddr, SocketAddr);

#[derive(Debug)]
struct Slot {
    conn: Connection,
    generation: u32,
    /// The listener of a passive connection the user has not accepted yet.
    listener: Option<ListenId>,
    /// The user no longer holds the connection.
    released: bool,
    /// Queued in `dirty`.
    dirty: bool,
    /// Earliest deadline this connection has in the timer heap.
    armed: Option<Instant>,
}

#[derive(Debug)]
struct Listener {
    local: SocketAddr,
    backlog: usize,
    /// Connections in SYN-RECEIVED.
    half_open: usize,
    /// Established connections waiting for `accept`.
    ready: VecDeque<ConnId>,
}

/// A connection in TIME-WAIT that the user no longer holds: what is needed to re-acknowledge a
/// retransmitted FIN, and when to forget it.
#[derive(Clone, Copy, Debug)]
struct TimeWait {
    /// The connection it was, so its end is reported under the same (now stale) id.
    id: ConnId,
    snd_nxt: SeqNum,
    rcv_nxt: SeqNum,
    /// The timestamp clock's offset and TS.Recent, when timestamps were in use: every reply
    /// carries them (RFC 7323 §3.2).
    ts: Option<(u32, u32)>,
    expires: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKey {
    Conn(ConnId),
    TimeWait(FourTuple),
}

/// Many connections and listeners over one or more local addresses.
///
/// # Examples
///
/// Two endpoints, a listener and a client, shaking hands through a loop that moves packets:
///
/// ```
/// use std::net::SocketAddr;
/// use fsm::{Config, Endpoint, Instant, State};
///
/// let mut server = Endpoint::new(Config::default(), [1; 32]);
/// let mut client = Endpoint::new(Config::default(), [2; 32]);
/// let listen_addr: SocketAddr = "10.0.0.2:80".parse()?;
/// let listener = server.listen(listen_addr, 16).expect("free address");
/// let now = Instant::ZERO;
/// let conn = client.connect(now, "10.0.0.1:0".parse()?, listen_addr).expect("port available");
///
/// // Moves every packet `from` has to send into `to`, through bytes as a device would.
/// fn deliver(from: &mut Endpoint, to: &mut Endpoint, now: Instant) {
///     let mut buf = [0u8; 1500];
///     while let Some(packet) = from.poll_transmit(now) {
///         let len = packet.emit(&mut buf).expect("fits");
///         let packet = wire::Packet::parse(&buf[..len]).expect("valid");
///         to.handle_segment(now, &packet.ip, &packet.tcp);
///     }
/// }
/// deliver(&mut client, &mut server, now); // SYN
/// deliver(&mut server, &mut client, now); // SYN-ACK
/// deliver(&mut client, &mut server, now); // ACK
/// assert_eq!(client.conn(conn).map(|c| c.state()), Some(State::Established));
/// let accepted = server.accept(listener).expect("handshake done");
/// assert_eq!(server.conn(accepted).map(|c| c.state()), Some(State::Established));
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug)]
pub struct Endpoint {
    config: Arc<Config>,
    secrets: Secrets,
    ports: PortAllocator,
    slots: Vec<Option<Slot>>,
    generations: Vec<u32>,
    free: Vec<u32>,
    live: usize,
    by_tuple: HashMap<FourTuple, ConnId>,
    listeners: Vec<Option<Listener>>,
    listen_by_addr: HashMap<SocketAddr, ListenId>,
    time_wait: HashMap<FourTuple, TimeWait>,
    timers: BinaryHeap<Reverse<(Instant, TimerKey)>>,
    dirty: Vec<ConnId>,
    replies: VecDeque<Packet<'static>>,
    events: VecDeque<EndpointEvent>,
    stats: EndpointStats,
    /// Test hook: when set, every ISS is this value instead of the RFC 6528 hash, so tests can
    /// put the sequence space just below the 2^32 wrap.
    #[cfg(test)]
    iss_override: Option<SeqNum>,
}

impl Endpoint {
    /// An endpoint whose ISNs and ephemeral ports derive from `seed` (give it 32 random bytes;
    /// tests give a fixed seed for determinism).
    pub fn new(config: Config, seed: [u8; 32]) -> Self {
        Endpoint {
            ports: PortAllocator::new(config.ephemeral_ports.clone()),
            config: Arc::new(config),
            secrets: Secrets::from_seed(seed),
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            live: 0,
            by_tuple: HashMap::new(),
            listeners: Vec::new(),
            listen_by_addr: HashMap::new(),
            time_wait: HashMap::new(),
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            replies: VecDeque::new(),
            events: VecDeque::new(),
            stats: EndpointStats::default(),
            #[cfg(test)]
            iss_override: None,
        }
    }

    /// Test hook: every connection opened from now on, active or passive, gets `iss` as its
    /// ISS.
    #[cfg(test)]
    pub(crate) fn set_iss(&mut self, iss: u32) {
        self.iss_override = Some(SeqNum::new(iss));
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// Connections held (any state; TIME-WAIT entries the user let go are counted apart).
    pub fn connection_count(&self) -> usize {
        self.live
    }

    /// Compact TIME-WAIT entries.
    pub fn time_wait_count(&self) -> usize {
        self.time_wait.len()
    }

    /// The connection `id` names, if it still exists.
    pub fn conn(&self, id: ConnId) -> Option<&Connection> {
        self.slot(id).map(|s| &s.conn)
    }

    /// The connection `id` names, for a user call (`write`, `read`, `shutdown`...). The
    /// endpoint looks at it again on the next `poll_transmit`.
    pub fn conn_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        self.slot(id)?;
        self.touch(id);
        self.slot_mut(id).map(|s| &mut s.conn)
    }

    // ---- listeners ----

    /// Starts listening on `local` (an unspecified IP listens on every address) with room for
    /// `backlog` connections that are half-open or waiting for `accept`.
    ///
    /// # Errors
    ///
    /// [`ListenError::AddrInUse`] if a listener has the address, [`ListenError::InvalidInput`]
    /// for port 0 or a zero backlog.
    pub fn listen(&mut self, local: SocketAddr, backlog: usize) -> Result<ListenId, ListenError> {
        if local.port() == 0 || backlog == 0 {
            return Err(ListenError::InvalidInput);
        }
        if self.listen_by_addr.contains_key(&local) {
            return Err(ListenError::AddrInUse);
        }
        let listener = Listener {
            local,
            backlog,
            half_open: 0,
            ready: VecDeque::new(),
        };
        let index = match self.listeners.iter().position(Option::is_none) {
            Some(i) => {
                self.listeners[i] = Some(listener);
                i
            }
            None => {
                self.listeners.push(Some(listener));
                self.listeners.len() - 1
            }
        };
        let id = ListenId(index as u32);
        self.listen_by_addr.insert(local, id);
        Ok(id)
    }

    /// The address a listener was bound to.
    pub fn listener_addr(&self, id: ListenId) -> Option<SocketAddr> {
        self.listener(id).map(|l| l.local)
    }

    /// Takes the next established connection from a listener's queue.
    pub fn accept(&mut self, id: ListenId) -> Option<ConnId> {
        let conn = self.listener_mut(id)?.ready.pop_front()?;
        if let Some(slot) = self.slot_mut(conn) {
            slot.listener = None;
        }
        Some(conn)
    }

    /// Stops listening; connections not yet accepted are reset.
    pub fn unlisten(&mut self, now: Instant, id: ListenId) {
        let Some(listener) = self.listeners.get_mut(id.0 as usize).and_then(Option::take) else {
            return;
        };
        self.listen_by_addr.remove(&listener.local);
        let pending: Vec<ConnId> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let slot = slot.as_ref().filter(|s| s.listener == Some(id))?;
                Some(ConnId {
                    index: index as u32,
                    generation: slot.generation,
                })
            })
            .collect();
        for conn in pending {
            if let Some(slot) = self.slot_mut(conn) {
                slot.listener = None;
                slot.released = true;
                slot.conn.abort(now);
            }
            self.touch(conn);
        }
    }

    // ---- connections ----

    /// Opens a connection from `local` to `remote` (RFC 9293 §3.10.1). A `local` port of 0
    /// picks an ephemeral port (RFC 6056 algorithm 3). The SYN goes out on the next
    /// `poll_transmit`.
    ///
    /// # Errors
    ///
    /// See [`ConnectError`].
    pub fn connect(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Result<ConnId, ConnectError> {
        if local.is_ipv4() != remote.is_ipv4() || remote.port() == 0 || remote.ip().is_unspecified()
        {
            return Err(ConnectError::InvalidInput);
        }
        if self.live >= self.config.max_connections {
            return Err(ConnectError::TooManyConnections);
        }
        let local = if local.port() == 0 {
            let (by_tuple, time_wait) = (&self.by_tuple, &self.time_wait);
            let in_use = |port| {
                let tuple = (SocketAddr::new(local.ip(), port), remote);
                by_tuple.contains_key(&tuple) || time_wait.contains_key(&tuple)
            };
            let port = self
                .ports
                .allocate(&self.secrets, local.ip(), remote, in_use)
                .ok_or(ConnectError::NoPortAvailable)?;
            SocketAddr::new(local.ip(), port)
        } else if self.tuple_in_use(&(local, remote)) {
            return Err(ConnectError::AddrInUse);
        } else {
            local
        };
        let iss = self.iss(local, remote, now);
        let ts_offset = self.secrets.ts_offset(local, remote);
        let conn = Connection::connect(self.config.clone(), now, local, remote, iss, ts_offset);
        Ok(self.insert(conn, None))
    }

    /// The user dropped its handle: the connection is closed as `Connection::close` does and
    /// removed once it is done (or kept as a compact TIME-WAIT entry).
    pub fn release(&mut self, now: Instant, id: ConnId) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        slot.released = true;
        slot.conn.close(now);
        self.after_conn(id);
    }

    // ---- inputs ----

    /// Routes an arriving segment: to its connection, its TIME-WAIT entry, a listener
    /// (§3.10.7.2), or else answers it as §3.10.7.1 says for CLOSED.
    pub fn handle_segment(&mut self, now: Instant, ip: &IpRepr, seg: &TcpRepr<'_>) {
        self.stats.segments_received += 1;
        let tuple = (
            SocketAddr::new(ip.dst, seg.dst_port),
            SocketAddr::new(ip.src, seg.src_port),
        );
        if let Some(&id) = self.by_tuple.get(&tuple) {
            let Some(slot) = self.slot_mut(id) else {
                return;
            };
            // A connection that reached CLOSED (reset, timed out) but that the user still
            // holds is a TCB no more: answer as §3.10.7.1 says for CLOSED.
            if slot.conn.state() == State::Closed {
                return self.reply_closed(tuple, seg);
            }
            slot.conn.handle_segment(now, seg);
            return self.after_conn(id);
        }
        if self.time_wait.contains_key(&tuple) && self.on_time_wait(now, tuple, seg) {
            return;
        }
        match self.find_listener(tuple.0) {
            Some(id) => self.on_listen(now, id, tuple, seg),
            None => self.reply_closed(tuple, seg),
        }
    }

    /// Fires the timers due by `now`. Early or repeated calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(&Reverse((at, key))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            match key {
                TimerKey::Conn(id) => {
                    let Some(slot) = self.slot_mut(id) else {
                        continue;
                    };
                    if slot.armed != Some(at) {
                        continue; // Superseded by an earlier deadline that already fired.
                    }
                    slot.armed = None;
                    slot.conn.handle_timeout(now);
                    self.after_conn(id);
                }
                TimerKey::TimeWait(tuple) => {
                    if self
                        .time_wait
                        .get(&tuple)
                        .is_some_and(|tw| tw.expires <= now)
                    {
                        self.end_time_wait(tuple);
                    }
                }
            }
        }
    }

    // ---- outputs ----

    /// The earliest instant `handle_timeout` may have work (possibly early: it is a hint).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// The next packet to send; call until `None` after every input. Its payload borrows the
    /// endpoint, so emit it before the next call.
    #[must_use]
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Packet<'_>> {
        if let Some(reply) = self.replies.pop_front() {
            return Some(reply);
        }
        while let Some(&id) = self.dirty.last() {
            let hop_limit = self.config.hop_limit;
            let Some(slot) = self.slot_mut(id) else {
                self.dirty.pop();
                continue;
            };
            match slot.conn.poll_outgoing(now) {
                Some(out) => {
                    let conn = &self.slot(id)?.conn;
                    let ip = IpRepr {
                        src: conn.local().ip(),
                        dst: conn.remote().ip(),
                        hop_limit,
                    };
                    return Some(Packet {
                        ip,
                        tcp: conn.with_payload(&out),
                    });
                }
                None => {
                    self.dirty.pop();
                    if let Some(slot) = self.slot_mut(id) {
                        slot.dirty = false;
                    }
                    // Sending may have armed timers (retransmission, persist) or changed state.
                    self.sync(id);
                    self.collect(id);
                }
            }
        }
        None
    }

    /// The next event for the driver.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    // ---- internals ----

    fn slot(&self, id: ConnId) -> Option<&Slot> {
        let slot = self.slots.get(id.index as usize)?.as_ref()?;
        (slot.generation == id.generation).then_some(slot)
    }

    fn slot_mut(&mut self, id: ConnId) -> Option<&mut Slot> {
        let slot = self.slots.get_mut(id.index as usize)?.as_mut()?;
        (slot.generation == id.generation).then_some(slot)
    }

    fn listener(&self, id: ListenId) -> Option<&Listener> {
        self.listeners.get(id.0 as usize)?.as_ref()
    }

    fn listener_mut(&mut self, id: ListenId) -> Option<&mut Listener> {
        self.listeners.get_mut(id.0 as usize)?.as_mut()
    }

    fn find_listener(&self, local: SocketAddr) -> Option<ListenId> {
        let any = match local.ip() {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        };
        self.listen_by_addr
            .get(&local)
            .or_else(|| self.listen_by_addr.get(&SocketAddr::new(any, local.port())))
            .copied()
    }

    fn tuple_in_use(&self, tuple: &FourTuple) -> bool {
        self.by_tuple.contains_key(tuple) || self.time_wait.contains_key(tuple)
    }

    fn iss(&self, local: SocketAddr, remote: SocketAddr, now: Instant) -> SeqNum {
        #[cfg(test)]
        if let Some(iss) = self.iss_override {
            return iss;
        }
        SeqNum::new(self.secrets.isn(local, remote, now))
    }

    fn insert(&mut self, conn: Connection, listener: Option<ListenId>) -> ConnId {
        let tuple = (conn.local(), conn.remote());
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.generations.push(0);
            (self.slots.len() - 1) as u32
        });
        let generation = self.generations[index as usize];
        self.slots[index as usize] = Some(Slot {
            conn,
            generation,
            listener,
            released: false,
            dirty: false,
            armed: None,
        });
        let id = ConnId { index, generation };
        self.by_tuple.insert(tuple, id);
        self.live += 1;
        self.after_conn(id);
        id
    }

    /// Queues `id` for `poll_transmit`.
    fn touch(&mut self, id: ConnId) {
        if let Some(slot) = self.slot_mut(id).filter(|s| !s.dirty) {
            slot.dirty = true;
            self.dirty.push(id);
        }
    }

    /// After anything happened to a connection: queue it for transmission and sync.
    fn after_conn(&mut self, id: ConnId) {
        self.touch(id);
        self.sync(id);
    }

    /// Forwards a connection's events and keeps the timer heap and the listener queues up to
    /// date.
    fn sync(&mut self, id: ConnId) {
        let Some(slot) = self.slot_mut(id) else {
            return;
        };
        let listener = slot.listener;
        let mut events = Vec::new();
        while let Some(event) = slot.conn.poll_event() {
            events.push(event);
        }
        let at = slot.conn.poll_timeout();
        if let Some(at) = at.filter(|&at| slot.armed.is_none_or(|armed| at < armed)) {
            slot.armed = Some(at);
            self.timers.push(Reverse((at, TimerKey::Conn(id))));
        }
        for event in events {
            match (listener, event) {
                // A passive connection finished its handshake: into the accept queue.
                (Some(l), Event::Connected) => {
                    if let Some(listener) = self.listener_mut(l) {
                        listener.half_open = listener.half_open.saturating_sub(1);
                        listener.ready.push_back(id);
                        self.events.push_back(EndpointEvent::Incoming(l));
                    }
                }
                (Some(_), _) => {}
                (None, event) => self.events.push_back(EndpointEvent::Conn(id, event)),
            }
        }
    }

    /// Removes a connection that is done, or shrinks a released one in TIME-WAIT to an entry.
    fn collect(&mut self, id: ConnId) {
        let Some(slot) = self.slot(id) else {
            return;
        };
        let unaccepted = slot.listener.is_some();
        let user_gone = slot.released || unaccepted;
        let conn = &slot.conn;
        let tuple = (conn.local(), conn.remote());
        if user_gone && conn.state() == State::TimeWait {
            if let Some(expires) = conn.poll_timeout() {
                let entry = TimeWait {
                    id,
                    snd_nxt: conn.snd().nxt,
                    rcv_nxt: conn.rcv().nxt,
                    ts: conn.ts_echo(),
                    expires,
                };
                self.time_wait.insert(tuple, entry);
                self.timers
                    .push(Reverse((expires, TimerKey::TimeWait(tuple))));
                self.remove(id);
            }
        } else if user_gone && conn.is_closed() {
            if let Some(listener) = slot.listener.and_then(|l| self.listener_mut(l)) {
                let queued = listener.ready.len();
                listener.ready.retain(|c| *c != id);
                if listener.ready.len() == queued {
                    // It never completed the handshake.
                    listener.half_open = listener.half_open.saturating_sub(1);
                }
            }
            self.remove(id);
        }
    }

    fn remove(&mut self, id: ConnId) {
        let Some(slot) = self.slots.get_mut(id.index as usize).and_then(Option::take) else {
            return;
        };
        self.by_tuple
            .remove(&(slot.conn.local(), slot.conn.remote()));
        self.generations[id.index as usize] = slot.generation.wrapping_add(1);
        self.free.push(id.index);
        self.live -= 1;
    }

    /// §3.10.7.2: a segment for a listener.
    fn on_listen(&mut self, now: Instant, id: ListenId, tuple: FourTuple, seg: &TcpRepr<'_>) {
        if seg.flags.rst() {
            return;
        }
        if seg.flags.ack() {
            return self.reply_rst(tuple, seg.ack, None);
        }
        if !seg.flags.syn() {
            return;
        }
        let full = self.live >= self.config.max_connections
            || self
                .listener(id)
                .is_none_or(|l| l.half_open + l.ready.len() >= l.backlog);
        if full {
            self.stats.syns_dropped += 1;
            return;
        }
        if let Some(listener) = self.listener_mut(id) {
            listener.half_open += 1;
        }
        let (local, remote) = tuple;
        let isn = (
            self.iss(local, remote, now),
            self.secrets.ts_offset(local, remote),
        );
        let conn = Connection::accept_syn(self.config.clone(), now, local, remote, isn, seg);
        self.insert(conn, Some(id));
    }

    /// Forgets a TIME-WAIT entry, reporting TIME-WAIT → CLOSED for the connection it was.
    fn end_time_wait(&mut self, tuple: FourTuple) {
        if let Some(tw) = self.time_wait.remove(&tuple) {
            let to_closed = Event::StateChanged {
                from: State::TimeWait,
                to: State::Closed,
            };
            self.events.push_back(EndpointEvent::Conn(tw.id, to_closed));
            self.events
                .push_back(EndpointEvent::Conn(tw.id, Event::Closed(None)));
        }
    }

    /// A segment for a TIME-WAIT entry: re-acknowledge a FIN (restarting 2 MSL), accept a new
    /// SYN past the old sequence space (RFC 9293 §3.10.7.4 note, RFC 6191's rule for
    /// reopening), ignore a duplicate ACK, acknowledge anything else. Returns false when the
    /// entry was removed and the segment should be handled as if it did not exist.
    fn on_time_wait(&mut self, now: Instant, tuple: FourTuple, seg: &TcpRepr<'_>) -> bool {
        let Some(tw) = self.time_wait.get_mut(&tuple) else {
            return false;
        };
        if seg.flags.rst() {
            if seg.seq == tw.rcv_nxt {
                self.end_time_wait(tuple);
            }
            return true;
        }
        if seg.flags.syn() && !seg.flags.ack() && seg.seq.gt(tw.rcv_nxt) {
            self.end_time_wait(tuple);
            return false;
        }
        if seg.flags.fin() {
            tw.expires = now + 2 * self.config.msl;
            self.timers
                .push(Reverse((tw.expires, TimerKey::TimeWait(tuple))));
        }
        // §3.10.7.4 step five: a duplicate ACK at RCV.NXT needs no answer (answering it, two
        // TIME-WAIT entries would ping-pong ACKs until 2 MSL ran out).
        let duplicate_ack = seg.seq == tw.rcv_nxt
            && seg.seq_len() == 0
            && !(seg.flags.ack() && seg.ack.gt(tw.snd_nxt));
        if duplicate_ack {
            return true;
        }
        let (snd_nxt, rcv_nxt) = (tw.snd_nxt, tw.rcv_nxt);
        let options = TcpOptions {
            timestamps: tw.ts.map(|(offset, recent)| Timestamps {
                tsval: ts_clock(now, offset),
                tsecr: recent,
            }),
            ..TcpOptions::default()
        };
        self.queue_reply(tuple, (snd_nxt, Some(rcv_nxt)), TcpFlags::ACK, options);
        true
    }

    /// §3.10.7.1: CLOSED. Everything but a RST is answered with a RST that the sender will
    /// accept.
    fn reply_closed(&mut self, tuple: FourTuple, seg: &TcpRepr<'_>) {
        if seg.flags.rst() {
            return;
        }
        if seg.flags.ack() {
            self.reply_rst(tuple, seg.ack, None);
        } else {
            self.reply_rst(tuple, SeqNum::new(0), Some(seg.seq + seg.seq_len()));
        }
    }

    fn reply_rst(&mut self, tuple: FourTuple, seq: SeqNum, ack: Option<SeqNum>) {
        self.stats.resets_sent += 1;
        self.queue_reply(tuple, (seq, ack), TcpFlags::RST, TcpOptions::default());
    }

    fn queue_reply(
        &mut self,
        tuple: FourTuple,
        (seq, ack): (SeqNum, Option<SeqNum>),
        flags: TcpFlags,
        options: TcpOptions,
    ) {
        if self.replies.len() >= MAX_REPLIES {
            self.stats.replies_dropped += 1;
            return;
        }
        let (local, remote) = tuple;
        self.replies.push_back(Packet {
            ip: IpRepr {
                src: local.ip(),
                dst: remote.ip(),
                hop_limit: self.config.hop_limit,
            },
            tcp: TcpRepr {
                options,
                ..bare_segment((local.port(), remote.port()), seq, ack, flags)
            },
        });
    }
}
