//! SACK for one connection, receiver side: SACK-permitted in the SYNs (RFC 2018 §2), SACK
//! blocks describing held out-of-order data in our ACKs (§4), and D-SACK blocks reporting
//! duplicates (RFC 2883). The sender does not use the peer's blocks yet.

use wire::{MAX_OPTIONS_LEN, MAX_SACK_BLOCKS, SackBlock, SackBlocks, SeqNum, TcpRepr};

use crate::config::Config;
use crate::recv_buf::RecvBuf;

/// Bytes of a SACK option besides its blocks: kind, length and the two NOPs that align it.
const SACK_OPTION_BASE: usize = 4;
/// Bytes per block (RFC 2018 §3).
const SACK_BLOCK_LEN: usize = 8;

/// The SACK state of a connection.
#[derive(Clone, Debug)]
pub(super) struct Sack {
    /// We offer SACK-permitted in our SYN.
    offer: bool,
    /// Both SYNs carried SACK-permitted.
    agreed: bool,
    /// A stream offset inside each out-of-order range most recently received into, most recent
    /// first (§4: the first block holds the latest segment, then the latest reported ones).
    recent: Vec<u64>,
    /// RFC 2883 §4: a duplicate just arrived; the next ACK's first block reports it.
    dsack: Option<SackBlock>,
}

impl Sack {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            offer: config.sack,
            agreed: false,
            recent: Vec::with_capacity(MAX_SACK_BLOCKS + 1),
            dsack: None,
        }
    }

    /// The peer's SYN or SYN-ACK: SACK is in use when both SYNs carry SACK-permitted (§2). We
    /// offer it in every SYN and answer in kind, so the peer's SYN decides.
    pub(super) fn on_peer_syn(&mut self, syn: &TcpRepr<'_>) {
        self.agreed = self.offer && syn.options.sack_permitted;
    }

    /// Both SYNs carried SACK-permitted.
    pub(super) fn agreed(&self) -> bool {
        self.agreed
    }

    /// Whether our SYN (offering) or SYN-ACK (only if the peer's SYN offered, §2) carries
    /// SACK-permitted.
    pub(super) fn syn_permitted(&self, syn_ack: bool) -> bool {
        if syn_ack { self.agreed } else { self.offer }
    }

    /// Out-of-order data arrived at stream offset `offset`: its range becomes the first block
    /// (§4). Ranges the data merged, or that the cumulative ACK reached, are forgotten.
    pub(super) fn on_out_of_order(&mut self, offset: u64, recv: &RecvBuf) {
        let range = range_of(recv, offset);
        if !self.agreed || range.is_none() {
            return;
        }
        // Ranges stay distinct: only this arrival can have merged some into its own.
        self.recent.retain(|&at| {
            let held = range_of(recv, at);
            held.is_some() && held != range
        });
        self.recent.insert(0, offset);
        self.recent.truncate(MAX_SACK_BLOCKS);
    }

    /// RFC 2883 §4: the duplicate data `[left, right)` arrived; the next ACK reports it first.
    pub(super) fn on_duplicate(&mut self, left: SeqNum, right: SeqNum) {
        if self.agreed && left != right {
            self.dsack = Some(SackBlock { left, right });
        }
    }

    /// The blocks of our next ACK (RFC 2018 §4, RFC 2883 §4): the D-SACK block if any, then
    /// the ranges most recently received into, then the other held ranges, as many as fit
    /// beside `other_options` bytes of options. `seq_of` maps a stream offset to its sequence
    /// number.
    pub(super) fn blocks(
        &self,
        recv: &RecvBuf,
        other_options: usize,
        seq_of: impl Fn(u64) -> SeqNum,
    ) -> SackBlocks {
        let mut blocks = SackBlocks::new();
        if !self.agreed {
            return blocks;
        }
        let room = MAX_OPTIONS_LEN.saturating_sub(other_options + SACK_OPTION_BASE);
        let max = (room / SACK_BLOCK_LEN).min(MAX_SACK_BLOCKS);
        if let Some(dsack) = self.dsack {
            blocks.push(dsack);
        }
        let dsack = blocks.len();
        let recent = self.recent.iter().filter_map(|&at| range_of(recv, at));
        for (start, end) in recent.chain(recv.ooo_ranges()) {
            let block = SackBlock {
                left: seq_of(start),
                right: seq_of(end),
            };
            if blocks.len() >= max {
                break;
            }
            // Not repeated among the SACK blocks; a D-SACK block may equal one (RFC 2883 §4).
            if !blocks.as_slice()[dsack..].contains(&block) {
                blocks.push(block);
            }
        }
        blocks.truncate(max);
        blocks
    }

    /// Bytes the blocks add to a segment's options.
    pub(super) fn option_len(blocks: &SackBlocks) -> usize {
        if blocks.is_empty() {
            0
        } else {
            SACK_OPTION_BASE + SACK_BLOCK_LEN * blocks.len()
        }
    }

    /// An ACK went out: a D-SACK block is reported once (RFC 2883 §4).
    pub(super) fn on_ack_sent(&mut self) {
        self.dsack = None;
    }
}

/// The out-of-order range holding stream offset `at`, if any.
fn range_of(recv: &RecvBuf, at: u64) -> Option<(u64, u64)> {
    recv.ooo_ranges()
        .find(|&(start, end)| start <= at && at < end)
}
