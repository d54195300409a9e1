//! The stack under test in virtual time: the socket layer, the clock, and the packets the
//! stack sent that packetdrill has not read yet.
//!
//! Nothing here blocks or locks; [`crate::shim`] puts a `World` behind its mutex.

use std::collections::VecDeque;
use std::net::IpAddr;

use fsm::{Config, Endpoint, Instant};
use tcpdrill::sockets::{Blocked, Call, Progress, Sockets};

/// The engine's seed: runs are deterministic (packetdrill maps our ISNs onto the script's).
const SEED: [u8; 32] = [0x5d; 32];

/// A packet the stack sent, and when.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The IP packet.
    pub(crate) bytes: Vec<u8>,
    /// The virtual time it left.
    pub(crate) at: Instant,
}

/// The stack, its clock and its outbox.
#[derive(Debug)]
pub(crate) struct World {
    sockets: Sockets,
    now: Instant,
    outbox: VecDeque<Sent>,
}

impl World {
    /// A stack with the addresses `local_ips`, at virtual time zero.
    pub(crate) fn new(local_ips: [IpAddr; 2]) -> World {
        let endpoint = Endpoint::new(Config::default(), SEED);
        World {
            sockets: Sockets::new(endpoint, local_ips),
            now: Instant::ZERO,
            outbox: VecDeque::new(),
        }
    }

    /// The virtual time.
    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    /// Makes a system call now. Returns its progress and whether the stack sent packets.
    pub(crate) fn call(&mut self, call: Call) -> (Progress, bool) {
        let progress = self.sockets.call(self.now, call);
        (progress, self.flush())
    }

    /// Tries a blocked call again now.
    pub(crate) fn resume(&mut self, blocked: Blocked) -> (Progress, bool) {
        let progress = self.sockets.resume(self.now, blocked);
        (progress, self.flush())
    }

    /// An IP packet arrives now. One that does not parse is dropped, as a stack drops it.
    pub(crate) fn handle_packet(&mut self, bytes: &[u8]) {
        // A packet that does not parse (bad checksum, not TCP) changes nothing.
        if self.sockets.handle_packet(self.now, bytes).is_ok() {
            self.flush();
        }
    }

    /// The next deadline of the stack's timers.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.sockets.poll_timeout()
    }

    /// Moves the clock to `to` (never back), firing the timers due on the way, each at its own
    /// deadline, so the packets they send carry it. The caller steps through deadlines one at
    /// a time ([`World::next_timeout`]) when blocked calls must see each one.
    pub(crate) fn advance_to(&mut self, to: Instant) {
        while let Some(at) = self.next_timeout().filter(|&at| at <= to) {
            self.now = self.now.max(at);
            self.sockets.handle_timeout(self.now);
            self.flush();
        }
        self.now = self.now.max(to);
    }

    /// The oldest packet the stack sent that was not read yet.
    pub(crate) fn pop_sent(&mut self) -> Option<Sent> {
        self.outbox.pop_front()
    }

    /// Moves what the stack has to send into the outbox, stamped now. Returns whether there
    /// was any.
    fn flush(&mut self) -> bool {
        let mut sent = false;
        while let Some(packet) = self.sockets.poll_transmit(self.now) {
            match packet {
                Ok(bytes) => {
                    self.outbox.push_back(Sent {
                        bytes,
                        at: self.now,
                    });
                    sent = true;
                }
                // An engine bug; packetdrill will report the missing packet.
                Err(e) => eprintln!("packetdrill-shim: the engine sent an unencodable packet: {e}"),
            }
        }
        sent
    }
}
