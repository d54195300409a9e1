//! The connection a script talks about, and how its relative sequence numbers map to the
//! stack's, exactly as packetdrill's `struct socket` and `run_packet.c` do.
//!
//! - Inbound SYNs carry absolute sequence numbers; the first inbound packet of a passive
//!   connection, or the SYN-ACK of an active one, fixes the remote ISN. Inbound non-SYN
//!   sequence numbers are relative to it.
//! - The stack's ISN is learnt from its first SYN (active) or SYN-ACK (passive). Outbound
//!   sequence numbers are relative to it (a SYN's is the script's own number); outbound ACKs of
//!   non-SYN segments are relative to the remote ISN, a SYN-ACK's ACK is absolute.
//! - Inbound ACKs (of segments with the ACK bit) are relative to our ISN; SACK blocks map like
//!   ACKs. An inbound TS echo reply must echo an outbound TS value the script saw.
//!
//! One quirk is kept for compatibility: in a simultaneous open the remote's bare SYN does not
//! set the remote ISN (packetdrill only takes it from a SYN-ACK), so write that SYN at 0.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use wire::{SackBlock, SackBlocks, SeqNum, TcpFlags, TcpOptions, Timestamps};

use crate::script::{PacketSpec, TcpOpt};

/// The port packetdrill's scripts bind and connect to.
pub(super) const SCRIPT_PORT: u16 = 8080;

/// Where a flow is in its life, as far as the script has shown (packetdrill's socket states).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FlowState {
    /// `socket()` was called.
    New,
    /// `listen()` was called: the next inbound packet starts a child flow.
    Listening,
    /// `connect()` was called: the next outbound SYN is this flow's.
    Connecting,
    /// The script expected our SYN.
    SynSent,
    /// An inbound packet started this passive flow.
    PassiveReceived,
    /// The script expected our SYN-ACK.
    SynAckSent,
}

/// One connection of the script, with the numbers that translate its packets.
#[derive(Debug)]
pub(super) struct Flow {
    /// The script's fd for the socket, once known.
    pub(super) fd: Option<i32>,
    pub(super) state: FlowState,
    /// Our address, once known.
    pub(super) local: Option<SocketAddr>,
    /// The peer's address, once known.
    pub(super) remote: Option<SocketAddr>,
    /// Our ISN as the script writes it, and as the stack chose it.
    pub(super) script_local_isn: u32,
    pub(super) live_local_isn: u32,
    /// The peer's ISN (the same in the script and live: the script chooses it).
    pub(super) remote_isn: u32,
    /// Outbound TS values: the script's value → the stack's.
    ts_vals: HashMap<u32, u32>,
}

impl Flow {
    /// A socket the script just created.
    pub(super) fn new(fd: Option<i32>, state: FlowState) -> Self {
        Flow {
            fd,
            state,
            local: None,
            remote: None,
            script_local_isn: 0,
            live_local_isn: 0,
            remote_isn: 0,
            ts_vals: HashMap::new(),
        }
    }

    /// A passive child flow started by the script's inbound packet `p`.
    pub(super) fn passive(local: SocketAddr, remote: SocketAddr, p: &PacketSpec) -> Self {
        Flow {
            local: Some(local),
            remote: Some(remote),
            remote_isn: p.seq,
            ..Flow::new(None, FlowState::PassiveReceived)
        }
    }

    /// An active flow: `connect()` to the script's peer.
    pub(super) fn on_connect(&mut self, remote_ip: IpAddr) {
        if self.state == FlowState::New {
            self.state = FlowState::Connecting;
            self.remote = Some(SocketAddr::new(remote_ip, SCRIPT_PORT));
        }
    }

    /// The script expects outbound `p`: a SYN of a connecting flow or the SYN-ACK of a passive
    /// one fixes the script's ISN.
    pub(super) fn on_expected(&mut self, p: &PacketSpec) {
        let syn_ack = p.flags.syn() && p.flags.ack();
        match self.state {
            FlowState::Connecting if p.flags.syn() && !p.flags.ack() => {
                self.state = FlowState::SynSent;
                self.script_local_isn = p.seq;
            }
            FlowState::PassiveReceived if syn_ack => self.script_local_isn = p.seq,
            _ => {}
        }
    }

    /// Whether a packet the stack sent (`src` → `dst`, flags, seq) is this flow's; learns our
    /// address and ISN from our SYN, and our ISN from the SYN-ACK the script expects.
    pub(super) fn claims(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        flags: TcpFlags,
        seq: u32,
        expected: &PacketSpec,
    ) -> bool {
        if self.remote != Some(dst) {
            return false;
        }
        if self.local.is_none() {
            // Only our SYN tells an active flow its port.
            if self.state != FlowState::SynSent || !flags.syn() || flags.ack() {
                return false;
            }
            self.local = Some(src);
            self.live_local_isn = seq;
        }
        if self.local != Some(src) {
            return false;
        }
        let expects_syn_ack = expected.flags.syn() && expected.flags.ack();
        if self.state == FlowState::PassiveReceived && expects_syn_ack {
            self.state = FlowState::SynAckSent;
            self.live_local_isn = seq;
        }
        true
    }

    /// The inbound SYN-ACK of an active flow fixes the remote ISN.
    pub(super) fn on_inbound(&mut self, p: &PacketSpec) {
        if self.state == FlowState::SynSent && p.flags.syn() && p.flags.ack() {
            self.remote_isn = p.seq;
        }
    }

    // ---- script → live ----

    /// The live sequence number of an inbound packet.
    pub(super) fn inbound_seq(&self, p: &PacketSpec) -> u32 {
        if p.flags.syn() {
            p.seq
        } else {
            p.seq.wrapping_add(self.remote_isn)
        }
    }

    /// What to add to an inbound ACK (and SACK block) to make it live.
    fn inbound_ack_offset(&self, syn: bool) -> u32 {
        if syn {
            self.live_local_isn.wrapping_sub(self.script_local_isn)
        } else {
            self.live_local_isn
        }
    }

    /// The live ACK number of an inbound packet (untouched without the ACK bit).
    pub(super) fn inbound_ack(&self, p: &PacketSpec) -> u32 {
        if p.flags.ack() {
            p.ack.wrapping_add(self.inbound_ack_offset(p.flags.syn()))
        } else {
            p.ack
        }
    }

    /// The live options of an inbound packet.
    pub(super) fn inbound_options(&self, p: &PacketSpec) -> Result<TcpOptions, String> {
        let mut out = TcpOptions::default();
        let offset = self.inbound_ack_offset(p.flags.syn());
        let once = |set: bool, name: &str| {
            if set {
                Err(format!(
                    "two `{name}` options in one packet are not supported"
                ))
            } else {
                Ok(())
            }
        };
        for option in p.options.iter().flatten() {
            match *option {
                TcpOpt::Eol | TcpOpt::Nop => {}
                TcpOpt::Mss(mss) => {
                    once(out.mss.is_some(), "mss")?;
                    out.mss = Some(mss);
                }
                TcpOpt::WindowScale(shift) => {
                    once(out.window_scale.is_some(), "wscale")?;
                    out.window_scale = Some(shift);
                }
                TcpOpt::SackPermitted => out.sack_permitted = true,
                TcpOpt::Sack(ref blocks) => {
                    once(!out.sack.is_empty(), "sack")?;
                    let mut sack = SackBlocks::new();
                    for &(left, right) in blocks {
                        let block = SackBlock {
                            left: SeqNum::new(left.wrapping_add(offset)),
                            right: SeqNum::new(right.wrapping_add(offset)),
                        };
                        if !sack.push(block) {
                            return Err("more than 4 SACK blocks".into());
                        }
                    }
                    out.sack = sack;
                }
                TcpOpt::Timestamp { val, ecr } => {
                    once(out.timestamps.is_some(), "TS")?;
                    let tsecr = if p.flags.ack() {
                        *self.ts_vals.get(&ecr).ok_or_else(|| {
                            format!(
                                "cannot map TS ecr {ecr}: the stack sent no TS val the script \
                                 called {ecr}"
                            )
                        })?
                    } else {
                        ecr
                    };
                    out.timestamps = Some(Timestamps { tsval: val, tsecr });
                }
            }
        }
        Ok(out)
    }

    // ---- live → script ----

    /// An outbound sequence number in the script's terms.
    pub(super) fn outbound_seq(&self, flags: TcpFlags, seq: u32) -> u32 {
        let offset = if flags.syn() {
            self.live_local_isn.wrapping_sub(self.script_local_isn)
        } else {
            self.live_local_isn
        };
        seq.wrapping_sub(offset)
    }

    /// What to subtract from an outbound ACK (and SACK block) to put it in the script's terms.
    pub(super) fn outbound_ack_offset(&self, flags: TcpFlags) -> u32 {
        if flags.syn() { 0 } else { self.remote_isn }
    }

    /// An outbound ACK number in the script's terms (untouched without the ACK bit).
    pub(super) fn outbound_ack(&self, flags: TcpFlags, ack: u32) -> u32 {
        if flags.ack() {
            ack.wrapping_sub(self.outbound_ack_offset(flags))
        } else {
            ack
        }
    }

    /// Remembers the stack's TS value for the script's, so a later inbound echo maps back.
    pub(super) fn note_ts_val(&mut self, script: u32, live: u32) {
        self.ts_vals.insert(script, live);
    }
}
