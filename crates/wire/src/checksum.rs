//! The Internet checksum (RFC 1071) over the TCP pseudo-header (RFC 9293 §3.1), and its
//! incremental update (RFC 1624).
//!
//! The one's complement sum does not depend on byte order (RFC 1071 §2(B)): we add the data as
//! native-endian 32-bit words into a 64-bit accumulator, so carries collect in the upper half
//! instead of being folded on every add, and swap to network order once at the end. The loop is
//! unrolled over eight independent lanes so the compiler can keep several adds in flight (and
//! vectorise them); `benches/wire.rs` measures it.

use core::net::IpAddr;

/// A running Internet checksum.
///
/// Feed it the pseudo-header and the segment, then take [`Checksum::finish`] for the value to
/// write into the header. To verify a received segment, feed it the segment *with* its checksum
/// field and check [`Checksum::is_valid`]: a correct segment sums to all ones. Verifying this way,
/// instead of recomputing and comparing, accepts both representations of zero (0x0000 and
/// 0xffff) that senders use.
///
/// # Examples
///
/// ```
/// use wire::Checksum;
///
/// // The example of RFC 1071 §3.
/// let mut sum = Checksum::new();
/// sum.add_bytes(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
/// assert_eq!(sum.sum(), 0xddf2);
/// assert_eq!(sum.finish(), !0xddf2);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Checksum {
    /// Unfolded sum of native-endian 16-bit words (kept as 32-bit pairs).
    acc: u64,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Self { acc: 0 }
    }

    /// Adds `data`. Every slice but the last one added must have an even length: an odd slice
    /// is padded with one zero byte, as the final byte of a segment is (RFC 9293 §3.1).
    pub fn add_bytes(&mut self, data: &[u8]) {
        // Each lane takes at most 2^32 - 1 per word; 1 GiB blocks keep a lane far from overflow.
        for block in data.chunks(1 << 30) {
            self.acc = fold64(self.acc + sum_block(block));
        }
    }

    /// Adds the TCP pseudo-header for a segment of `tcp_len` bytes (header and data) between
    /// `src` and `dst` (RFC 9293 §3.1 for IPv4, RFC 8200 §8.1 for IPv6). `src` and `dst` must be
    /// of the same family; mixing them sums both addresses as given.
    pub fn add_pseudo_header(&mut self, src: IpAddr, dst: IpAddr, protocol: u8, tcp_len: u32) {
        let tail = [0, protocol];
        let len = tcp_len.to_be_bytes();
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let (s, d) = (s.octets(), d.octets());
                self.add_bytes(&[
                    s[0], s[1], s[2], s[3], d[0], d[1], d[2], d[3], tail[0], tail[1], len[2],
                    len[3],
                ]);
            }
            (s, d) => {
                self.add_bytes(&addr_bytes(s));
                self.add_bytes(&addr_bytes(d));
                self.add_bytes(&len);
                self.add_bytes(&[0, 0, tail[0], tail[1]]);
            }
        }
    }

    /// The folded one's complement sum, as a host-order value.
    pub fn sum(self) -> u16 {
        let folded = fold64(self.acc);
        // The lanes summed native-endian words; convert the folded result to network order.
        u16::from_be(folded as u16)
    }

    /// The checksum to write into a header: the complement of [`Checksum::sum`].
    pub fn finish(self) -> u16 {
        !self.sum()
    }

    /// True when the data added (checksum field included) sums to all ones.
    pub fn is_valid(self) -> bool {
        self.sum() == 0xffff
    }
}

/// RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changes from `old`
/// to `new`, without summing the data again: `HC' = ~(~HC + ~m + m')`.
///
/// # Examples
///
/// ```
/// use wire::{Checksum, checksum_update};
///
/// let mut before = Checksum::new();
/// before.add_bytes(&[0x12, 0x34, 0xab, 0xcd]);
/// let mut after = Checksum::new();
/// after.add_bytes(&[0x12, 0x34, 0x00, 0x07]);
/// assert_eq!(checksum_update(before.finish(), 0xabcd, 0x0007), after.finish());
/// ```
pub fn checksum_update(checksum: u16, old: u16, new: u16) -> u16 {
    let sum = u64::from(!checksum) + u64::from(!old) + u64::from(new);
    !(fold64(sum) as u16)
}

fn addr_bytes(addr: IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        IpAddr::V6(a) => a.octets(),
    }
}

/// Folds a wide one's complement sum to 16 bits (the end-around carry of RFC 1071 §2(C)).
fn fold64(mut sum: u64) -> u64 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// Sums `data` as native-endian 32-bit words in eight lanes; returns an unfolded sum.
///
/// Nothing is folded here: for `data` of at most 1 GiB (the blocks of [`Checksum::add_bytes`])
/// a lane adds under 2^25 words below 2^32, so stays under 2^57, and the lanes and the tail
/// together stay under 2^61.
fn sum_block(data: &[u8]) -> u64 {
    let (chunks, rest) = data.as_chunks::<32>();
    let mut lanes = [0u64; 8];
    for chunk in chunks {
        let (words, _) = chunk.as_chunks::<4>();
        for (lane, word) in lanes.iter_mut().zip(words) {
            *lane += u64::from(u32::from_ne_bytes(*word));
        }
    }
    let mut total: u64 = lanes.iter().sum();
    let (words, rest) = rest.as_chunks::<4>();
    for word in words {
        total += u64::from(u32::from_ne_bytes(*word));
    }
    let (pairs, last) = rest.as_chunks::<2>();
    for pair in pairs {
        total += u64::from(u16::from_ne_bytes(*pair));
    }
    if let [byte] = last {
        // The odd byte is the high-order byte of a word padded with zero (RFC 1071 §4.1).
        total += u64::from(u16::from_ne_bytes([*byte, 0]));
    }
    total
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    /// RFC 1071 §4.1, word by word in network order: the reference the fast sum must match.
    fn naive(data: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in data.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u32::from(b));
            sum += hi | lo;
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn rfc1071_example() {
        let mut c = Checksum::new();
        c.add_bytes(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
        assert_eq!(c.sum(), 0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        let mut c = Checksum::new();
        c.add_bytes(&[0xab]);
        assert_eq!(c.sum(), 0xab00);
    }

    #[test]
    fn pseudo_header_v4_matches_layout() {
        let (s, d) = (Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(192, 168, 1, 2));
        let mut c = Checksum::new();
        c.add_pseudo_header(s.into(), d.into(), 6, 0x1234);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&s.octets());
        bytes.extend_from_slice(&d.octets());
        bytes.extend_from_slice(&[0, 6, 0x12, 0x34]);
        assert_eq!(c.sum(), naive(&bytes));
    }

    #[test]
    fn pseudo_header_v6_matches_layout() {
        let s: Ipv6Addr = "2001:db8::1".parse().expect("literal");
        let d: Ipv6Addr = "fe80::abcd:1".parse().expect("literal");
        let mut c = Checksum::new();
        c.add_pseudo_header(s.into(), d.into(), 6, 0x0001_2345);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&s.octets());
        bytes.extend_from_slice(&d.octets());
        bytes.extend_from_slice(&[0x00, 0x01, 0x23, 0x45, 0, 0, 0, 6]);
        assert_eq!(c.sum(), naive(&bytes));
    }

    #[test]
    fn large_all_ones_buffer_does_not_overflow() {
        // The largest word in every lane, across many blocks of 32 bytes, plus a tail of each
        // length: the unfolded lanes must still add up to the right sum.
        for len in [(1 << 22) + 7, 1 << 22] {
            let data = vec![0xff; len];
            let mut c = Checksum::new();
            c.add_bytes(&data);
            assert_eq!(c.sum(), naive(&data), "{len} bytes");
        }
    }

    #[test]
    fn both_zeros_verify() {
        // A segment whose sum is 0xffff with the field 0x0000, and the same with 0xffff: one's
        // complement has two zeros and senders use either.
        let mut data = vec![0x12, 0x34, 0xed, 0xcb, 0x00, 0x00];
        let mut c = Checksum::new();
        c.add_bytes(&data);
        assert!(c.is_valid());
        data[4..6].copy_from_slice(&[0xff, 0xff]);
        let mut c = Checksum::new();
        c.add_bytes(&data);
        assert!(c.is_valid());
    }

    proptest! {
        #[test]
        fn fast_sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
            let mut c = Checksum::new();
            c.add_bytes(&data);
            prop_assert_eq!(c.sum(), naive(&data));
        }

        #[test]
        fn split_at_even_offsets_is_the_same(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            cut in 0usize..300,
        ) {
            let cut = (cut * 2).min(data.len() & !1);
            let mut whole = Checksum::new();
            whole.add_bytes(&data);
            let mut parts = Checksum::new();
            parts.add_bytes(&data[..cut]);
            parts.add_bytes(&data[cut..]);
            prop_assert_eq!(whole.sum(), parts.sum());
        }

        #[test]
        fn incremental_update_matches_recompute(
            words in proptest::collection::vec(any::<u16>(), 1..64),
            index in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            let i = index.index(words.len());
            let bytes = |w: &[u16]| w.iter().flat_map(|x| x.to_be_bytes()).collect::<Vec<_>>();
            let mut before = Checksum::new();
            before.add_bytes(&bytes(&words));
            let mut changed = words.clone();
            changed[i] = new;
            let mut after = Checksum::new();
            after.add_bytes(&bytes(&changed));
            let updated = checksum_update(before.finish(), words[i], new);
            // RFC 1624 §3: the update may yield the other representation of zero.
            let norm = |x: u16| if x == 0xffff { 0 } else { x };
            prop_assert_eq!(norm(updated), norm(after.finish()));
        }
    }
}
