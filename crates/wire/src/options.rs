//! TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018).
//!
//! Parsing reads the option list into a [`TcpOptions`] value; unknown kinds are skipped by their
//! length byte, and a list that breaks the kind/length rules is [`ParseError::BadOptions`].
//! Emitting writes the options in the order Linux uses, padded with NOPs so that every option
//! that carries 32-bit values starts on a 32-bit boundary. A set of options that fits in 40 bytes
//! only without that padding (a sender may pack them so) is written back to back, then padded to
//! a 32-bit boundary with EOL, so every option list that parses can be emitted again.

use crate::error::{EmitError, ParseError};
use crate::seq::SeqNum;

/// Most bytes of options a TCP header can carry (data offset 15 words minus the fixed 5).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Most SACK blocks an option can carry (RFC 2018 §3: 4, or 3 beside timestamps).
pub const MAX_SACK_BLOCKS: usize = 4;

const KIND_EOL: u8 = 0;
const KIND_NOP: u8 = 1;
const KIND_MSS: u8 = 2;
const KIND_WINDOW_SCALE: u8 = 3;
const KIND_SACK_PERMITTED: u8 = 4;
const KIND_SACK: u8 = 5;
const KIND_TIMESTAMPS: u8 = 8;

/// The TCP Timestamps option (RFC 7323 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Timestamps {
    /// TSval: the sender's timestamp clock.
    pub tsval: u32,
    /// TSecr: the TSval being echoed.
    pub tsecr: u32,
}

/// One SACK block: the data from `left` up to (not including) `right` was received
/// (RFC 2018 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SackBlock {
    /// First sequence number of the block.
    pub left: SeqNum,
    /// Sequence number just past the block.
    pub right: SeqNum,
}

/// Up to [`MAX_SACK_BLOCKS`] SACK blocks, most recent first, stored inline.
///
/// Two lists are equal when their blocks in use are.
#[derive(Clone, Copy, Debug, Default)]
pub struct SackBlocks {
    blocks: [SackBlock; MAX_SACK_BLOCKS],
    len: u8,
}

impl SackBlocks {
    /// No blocks.
    pub const fn new() -> Self {
        Self {
            blocks: [SackBlock {
                left: SeqNum::new(0),
                right: SeqNum::new(0),
            }; MAX_SACK_BLOCKS],
            len: 0,
        }
    }

    /// Appends a block; returns false (and keeps the list) when it is full.
    pub fn push(&mut self, block: SackBlock) -> bool {
        let Some(slot) = self.blocks.get_mut(usize::from(self.len)) else {
            return false;
        };
        *slot = block;
        self.len += 1;
        true
    }

    /// The blocks, in the order they were pushed (as they appear on the wire).
    pub fn as_slice(&self) -> &[SackBlock] {
        &self.blocks[..usize::from(self.len)]
    }

    /// How many blocks there are.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Keeps the first `n` blocks.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n.min(MAX_SACK_BLOCKS) as u8);
    }
}

impl PartialEq for SackBlocks {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for SackBlocks {}

/// The options of one TCP segment.
///
/// # Examples
///
/// ```
/// use wire::TcpOptions;
///
/// let opts = TcpOptions {
///     mss: Some(1460),
///     window_scale: Some(7),
///     sack_permitted: true,
///     ..TcpOptions::default()
/// };
/// let mut buf = [0u8; 40];
/// let len = opts.emit(&mut buf).unwrap();
/// assert_eq!(len, opts.buffer_len());
/// assert_eq!(TcpOptions::parse(&buf[..len]), Ok(opts));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2, RFC 9293 §3.7.1), in SYNs.
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3, RFC 7323 §2), in SYNs; as sent, not clamped to 14.
    pub window_scale: Option<u8>,
    /// SACK-permitted (kind 4, RFC 2018 §2), in SYNs.
    pub sack_permitted: bool,
    /// Timestamps (kind 8, RFC 7323 §3).
    pub timestamps: Option<Timestamps>,
    /// SACK blocks (kind 5, RFC 2018 §3).
    pub sack: SackBlocks,
}

impl TcpOptions {
    /// Parses an option list (the bytes between the fixed header and the data).
    ///
    /// # Errors
    ///
    /// [`ParseError::BadOptions`] when an option's length byte is missing, below 2, runs past
    /// the list, or is wrong for its kind.
    pub fn parse(mut bytes: &[u8]) -> Result<Self, ParseError> {
        let mut opts = TcpOptions::default();
        while let Some((&kind, rest)) = bytes.split_first() {
            match kind {
                KIND_EOL => break,
                KIND_NOP => {
                    bytes = rest;
                    continue;
                }
                _ => {}
            }
            let len = usize::from(*rest.first().ok_or(ParseError::BadOptions)?);
            if len < 2 || len > bytes.len() {
                return Err(ParseError::BadOptions);
            }
            let body = &bytes[2..len];
            match kind {
                KIND_MSS => opts.mss = Some(u16::from_be_bytes(exact(body)?)),
                KIND_WINDOW_SCALE => opts.window_scale = Some(exact::<1>(body)?[0]),
                KIND_SACK_PERMITTED => {
                    exact::<0>(body)?;
                    opts.sack_permitted = true;
                }
                KIND_TIMESTAMPS => {
                    let ts: [u8; 8] = exact(body)?;
                    opts.timestamps = Some(Timestamps {
                        tsval: u32::from_be_bytes([ts[0], ts[1], ts[2], ts[3]]),
                        tsecr: u32::from_be_bytes([ts[4], ts[5], ts[6], ts[7]]),
                    });
                }
                KIND_SACK => opts.sack = parse_sack(body)?,
                _ => {} // RFC 9293 §3.2: skip an unknown option by its length.
            }
            bytes = &bytes[len..];
        }
        Ok(opts)
    }

    /// Bytes the options take when emitted (a multiple of 4).
    pub fn buffer_len(&self) -> usize {
        let aligned = self.aligned_len();
        if aligned <= MAX_OPTIONS_LEN {
            aligned
        } else {
            self.packed_len().next_multiple_of(4)
        }
    }

    /// Length of Linux's layout, NOP-padded so that 32-bit values are 32-bit aligned.
    fn aligned_len(&self) -> usize {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        if self.timestamps.is_some() {
            len += 12; // SACK-permitted, if present, rides in the two padding bytes.
        } else if self.sack_permitted {
            len += 4;
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        if !self.sack.is_empty() {
            len += 4 + 8 * self.sack.len();
        }
        len
    }

    /// Length of the options back to back, without padding: the fewest bytes that can carry
    /// them, so any list that parsed from at most 40 bytes fits in it.
    fn packed_len(&self) -> usize {
        let sack = if self.sack.is_empty() {
            0
        } else {
            2 + 8 * self.sack.len()
        };
        4 * usize::from(self.mss.is_some())
            + 2 * usize::from(self.sack_permitted)
            + 10 * usize::from(self.timestamps.is_some())
            + 3 * usize::from(self.window_scale.is_some())
            + sack
    }

    /// Writes the options into the front of `buf` and returns their length.
    ///
    /// The layout is Linux's, NOP-padded, unless only the unpadded one fits in 40 bytes.
    ///
    /// # Errors
    ///
    /// [`EmitError::OptionsTooLong`] when they exceed 40 bytes even unpadded (for example four
    /// SACK blocks beside timestamps), [`EmitError::BufferTooSmall`] when `buf` is shorter than
    /// [`TcpOptions::buffer_len`].
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        let len = self.buffer_len();
        if len > MAX_OPTIONS_LEN {
            return Err(EmitError::OptionsTooLong);
        }
        let buf = buf.get_mut(..len).ok_or(EmitError::BufferTooSmall(len))?;
        let padded = self.aligned_len() <= MAX_OPTIONS_LEN;
        let (nop, nops): (&[u8], &[u8]) = if padded {
            (&[KIND_NOP], &[KIND_NOP, KIND_NOP])
        } else {
            (&[], &[])
        };
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            buf[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        if let Some(mss) = self.mss {
            let [hi, lo] = mss.to_be_bytes();
            put(&[KIND_MSS, 4, hi, lo]);
        }
        match (self.sack_permitted, self.timestamps) {
            (true, Some(_)) => put(&[KIND_SACK_PERMITTED, 2]),
            (false, Some(_)) => put(nops),
            (true, None) => {
                put(nops);
                put(&[KIND_SACK_PERMITTED, 2]);
            }
            (false, None) => {}
        }
        if let Some(ts) = self.timestamps {
            put(&[KIND_TIMESTAMPS, 10]);
            put(&ts.tsval.to_be_bytes());
            put(&ts.tsecr.to_be_bytes());
        }
        if let Some(shift) = self.window_scale {
            put(nop);
            put(&[KIND_WINDOW_SCALE, 3, shift]);
        }
        if !self.sack.is_empty() {
            put(nops);
            put(&[KIND_SACK, 2 + 8 * self.sack.len() as u8]);
            for block in self.sack.as_slice() {
                put(&block.left.get().to_be_bytes());
                put(&block.right.get().to_be_bytes());
            }
        }
        // RFC 9293 §3.1: the header ends on a 32-bit boundary, padded with zeros (EOL).
        buf[at..].fill(KIND_EOL);
        Ok(len)
    }
}

/// The body of a known option, which must be exactly `N` bytes.
fn exact<const N: usize>(body: &[u8]) -> Result<[u8; N], ParseError> {
    body.try_into().map_err(|_| ParseError::BadOptions)
}

fn parse_sack(body: &[u8]) -> Result<SackBlocks, ParseError> {
    let (pairs, rest) = body.as_chunks::<8>();
    if !rest.is_empty() || pairs.is_empty() || pairs.len() > MAX_SACK_BLOCKS {
        return Err(ParseError::BadOptions);
    }
    let mut blocks = SackBlocks::new();
    for p in pairs {
        blocks.push(SackBlock {
            left: SeqNum::new(u32::from_be_bytes([p[0], p[1], p[2], p[3]])),
            right: SeqNum::new(u32::from_be_bytes([p[4], p[5], p[6], p[7]])),
        });
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn linux_syn_options() {
        // mss 1460, sackOK, TS val 2_596_948_844 ecr 0, nop, wscale 7: a Linux SYN's options.
        let bytes = [
            0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0xca, 0x4b, 0x6c, 0x00, 0x00,
            0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
        ];
        let opts = TcpOptions::parse(&bytes).expect("valid options");
        assert_eq!(opts.mss, Some(1460));
        assert!(opts.sack_permitted);
        assert_eq!(
            opts.timestamps,
            Some(Timestamps {
                tsval: 2_596_948_844,
                tsecr: 0
            })
        );
        assert_eq!(opts.window_scale, Some(7));
        assert!(opts.sack.is_empty());
        // Emitted in the same order and layout as Linux.
        let mut out = [0u8; 40];
        assert_eq!(opts.emit(&mut out), Ok(20));
        assert_eq!(out[..20], bytes);
    }

    #[test]
    fn unknown_option_is_skipped_by_length() {
        // Kind 30 (MPTCP) with 4 bytes of body, then MSS.
        let bytes = [30, 6, 1, 2, 3, 4, 2, 4, 0x05, 0xb4];
        let opts = TcpOptions::parse(&bytes).expect("valid options");
        assert_eq!(opts.mss, Some(1460));
    }

    #[test]
    fn eol_ends_the_list() {
        let bytes = [1, 0, 2, 4, 0x05, 0xb4];
        assert_eq!(TcpOptions::parse(&bytes), Ok(TcpOptions::default()));
    }

    #[test]
    fn malformed_lists_are_errors() {
        for bad in [
            &[2][..],            // kind without length
            &[2, 1, 0, 0],       // length below 2
            &[2, 5, 0x05, 0xb4], // length past the list
            &[2, 3, 0x05],       // MSS of the wrong length
            &[3, 4, 7, 0],       // window scale of the wrong length
            &[4, 3, 0],          // SACK-permitted with a body
            &[8, 6, 0, 0, 0, 0], // timestamps too short
            &[5, 2],             // SACK with no block
            &[5, 6, 0, 0, 0, 0], // SACK with half a block
            &[30, 1],            // unknown kind, length below 2
        ] {
            assert_eq!(
                TcpOptions::parse(bad),
                Err(ParseError::BadOptions),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn four_sack_blocks_beside_timestamps_do_not_fit() {
        let mut opts = TcpOptions {
            timestamps: Some(Timestamps::default()),
            ..TcpOptions::default()
        };
        for i in 0..4 {
            assert!(opts.sack.push(SackBlock {
                left: SeqNum::new(i * 100),
                right: SeqNum::new(i * 100 + 50),
            }));
        }
        assert!(!opts.sack.push(SackBlock::default()));
        assert_eq!(opts.emit(&mut [0; 64]), Err(EmitError::OptionsTooLong));
        opts.sack.truncate(3);
        assert_eq!(opts.emit(&mut [0; 64]), Ok(40));
    }

    #[test]
    fn options_that_fit_only_unpadded_are_emitted_unpadded() {
        // Found by fuzz/fuzz_targets/parse.rs: window scale, SACK-permitted and four SACK blocks
        // take 39 bytes back to back but 44 in Linux's NOP-padded layout. A segment carrying
        // them parsed, and emitting it again failed with OptionsTooLong.
        let mut bytes = vec![KIND_WINDOW_SCALE, 3, 3, KIND_SACK_PERMITTED, 2, KIND_NOP];
        bytes.extend_from_slice(&[KIND_SACK, 34]);
        bytes.extend(1..=32u8);
        let opts = TcpOptions::parse(&bytes).expect("valid options");
        assert_eq!(opts.sack.len(), 4);
        let mut out = [0xaa; MAX_OPTIONS_LEN];
        assert_eq!(opts.emit(&mut out), Ok(40));
        // SACK-permitted, window scale, SACK, EOL: Linux's order without the NOPs.
        assert_eq!(out[..5], [KIND_SACK_PERMITTED, 2, KIND_WINDOW_SCALE, 3, 3]);
        assert_eq!(out[5..7], [KIND_SACK, 34]);
        assert_eq!(out[39], KIND_EOL);
        assert_eq!(TcpOptions::parse(&out), Ok(opts));
    }

    #[test]
    fn short_buffer_is_an_error() {
        let opts = TcpOptions {
            mss: Some(536),
            ..TcpOptions::default()
        };
        assert_eq!(opts.emit(&mut [0; 3]), Err(EmitError::BufferTooSmall(4)));
    }

    /// Any options, including sets too long for one header.
    fn arb_any_options() -> impl Strategy<Value = TcpOptions> {
        let block = (any::<u32>(), any::<u32>()).prop_map(|(l, r)| SackBlock {
            left: SeqNum::new(l),
            right: SeqNum::new(r),
        });
        (
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u8>()),
            any::<bool>(),
            proptest::option::of((any::<u32>(), any::<u32>())),
            proptest::collection::vec(block, 0..=4),
        )
            .prop_map(|(mss, window_scale, sack_permitted, ts, blocks)| {
                let mut opts = TcpOptions {
                    mss,
                    window_scale,
                    sack_permitted,
                    timestamps: ts.map(|(tsval, tsecr)| Timestamps { tsval, tsecr }),
                    sack: SackBlocks::new(),
                };
                for b in blocks {
                    opts.sack.push(b);
                }
                opts
            })
    }

    /// Options that fit in one header (SACK blocks dropped until they do).
    pub(crate) fn arb_options() -> impl Strategy<Value = TcpOptions> {
        arb_any_options().prop_map(|mut opts| {
            while opts.buffer_len() > MAX_OPTIONS_LEN {
                opts.sack.truncate(opts.sack.len() - 1);
            }
            opts
        })
    }

    proptest! {
        #[test]
        fn emit_parse_round_trip(opts in arb_options()) {
            let mut buf = [0u8; MAX_OPTIONS_LEN];
            let len = opts.emit(&mut buf).expect("fits");
            prop_assert_eq!(len % 4, 0);
            prop_assert_eq!(TcpOptions::parse(&buf[..len]), Ok(opts));
        }

        #[test]
        fn every_set_that_fits_unpadded_is_emitted(opts in arb_any_options()) {
            let mut buf = [0u8; MAX_OPTIONS_LEN];
            match opts.emit(&mut buf) {
                Ok(len) => prop_assert_eq!(TcpOptions::parse(&buf[..len]), Ok(opts)),
                Err(e) => {
                    prop_assert_eq!(e, EmitError::OptionsTooLong);
                    prop_assert!(opts.packed_len() > MAX_OPTIONS_LEN);
                }
            }
        }

        #[test]
        fn parse_is_total(bytes in proptest::collection::vec(any::<u8>(), 0..48)) {
            let parsed = TcpOptions::parse(&bytes);
            prop_assert!(matches!(parsed, Ok(_) | Err(ParseError::BadOptions)));
        }
    }
}
