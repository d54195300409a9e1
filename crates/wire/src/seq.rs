//! 32-bit TCP sequence numbers (RFC 9293 §3.4).
//!
//! Sequence numbers live on a circle of 2^32 points, so "less than" only means something for two
//! numbers less than 2^31 apart. [`SeqNum`] therefore offers [`SeqNum::lt`], [`SeqNum::le`] and
//! [`SeqNum::in_window`] instead of `Ord`: a modular order is not a total order, and using it as a
//! map key would silently misorder data across the wrap.

use core::fmt;
use core::ops::{Add, AddAssign, Sub};

/// A TCP sequence (or acknowledgment) number.
///
/// Arithmetic wraps modulo 2^32. Comparisons are the RFC 9293 §3.4 ones: `a < b` when the signed
/// 32-bit distance from `a` to `b` is positive.
///
/// # Examples
///
/// ```
/// use wire::SeqNum;
///
/// let near_wrap = SeqNum::new(u32::MAX - 1);
/// let after = near_wrap + 10;
/// assert_eq!(after, SeqNum::new(8));
/// assert!(near_wrap.lt(after));
/// assert_eq!(after - near_wrap, 10);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNum(u32);

impl SeqNum {
    /// Wraps a raw 32-bit value.
    pub const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw 32-bit value, as carried in the header.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Signed distance from `self` to `other`: positive when `other` is after `self`.
    pub const fn distance_to(self, other: SeqNum) -> i32 {
        other.0.wrapping_sub(self.0) as i32
    }

    /// `self < other` in sequence space.
    pub const fn lt(self, other: SeqNum) -> bool {
        self.distance_to(other) > 0
    }

    /// `self <= other` in sequence space.
    pub const fn le(self, other: SeqNum) -> bool {
        self.distance_to(other) >= 0
    }

    /// `self > other` in sequence space.
    pub const fn gt(self, other: SeqNum) -> bool {
        other.lt(self)
    }

    /// `self >= other` in sequence space.
    pub const fn ge(self, other: SeqNum) -> bool {
        other.le(self)
    }

    /// `start <= self < start + len`, the window test of RFC 9293 §3.4 (always false when
    /// `len` is zero).
    pub const fn in_window(self, start: SeqNum, len: u32) -> bool {
        self.0.wrapping_sub(start.0) < len
    }

    /// The later of two sequence numbers.
    pub const fn max(self, other: SeqNum) -> SeqNum {
        if self.lt(other) { other } else { self }
    }

    /// The earlier of two sequence numbers.
    pub const fn min(self, other: SeqNum) -> SeqNum {
        if self.lt(other) { self } else { other }
    }
}

impl Add<u32> for SeqNum {
    type Output = SeqNum;

    fn add(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_add(rhs))
    }
}

impl AddAssign<u32> for SeqNum {
    fn add_assign(&mut self, rhs: u32) {
        self.0 = self.0.wrapping_add(rhs);
    }
}

impl Sub<u32> for SeqNum {
    type Output = SeqNum;

    fn sub(self, rhs: u32) -> SeqNum {
        SeqNum(self.0.wrapping_sub(rhs))
    }
}

/// `a - b`: how many sequence numbers `a` is past `b`, modulo 2^32.
///
/// Callers use it where they know `b <= a` (for example `SND.NXT - SND.UNA`, the bytes in flight).
impl Sub<SeqNum> for SeqNum {
    type Output = u32;

    fn sub(self, rhs: SeqNum) -> u32 {
        self.0.wrapping_sub(rhs.0)
    }
}

impl fmt::Debug for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeqNum({})", self.0)
    }
}

impl fmt::Display for SeqNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn comparisons_across_the_wrap() {
        let a = SeqNum::new(u32::MAX - 5);
        let b = SeqNum::new(3);
        assert!(a.lt(b));
        assert!(a.le(b));
        assert!(b.gt(a));
        assert!(b.ge(a));
        assert!(!b.lt(a));
        assert_eq!(b - a, 9);
        assert_eq!(a.distance_to(b), 9);
        assert_eq!(b.distance_to(a), -9);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
    }

    #[test]
    fn in_window_edges() {
        let start = SeqNum::new(u32::MAX - 1);
        assert!(start.in_window(start, 1));
        assert!(!start.in_window(start, 0));
        assert!((start + 3).in_window(start, 4));
        assert!(!(start + 4).in_window(start, 4));
        assert!(!(start - 1).in_window(start, 4));
    }

    proptest! {
        #[test]
        fn add_then_sub_is_identity(base: u32, delta in 0u32..=i32::MAX as u32) {
            let a = SeqNum::new(base);
            let b = a + delta;
            prop_assert_eq!(b - a, delta);
            prop_assert_eq!(b - delta, a);
            prop_assert!(a.le(b));
            prop_assert_eq!(a.lt(b), delta != 0);
        }

        #[test]
        fn order_is_antisymmetric(x: u32, y: u32) {
            let (a, b) = (SeqNum::new(x), SeqNum::new(y));
            // Exactly one of a < b, a == b, a > b holds, except at the antipode (distance 2^31),
            // where RFC 9293 leaves the order undefined and both directions say "not less".
            let antipode = y.wrapping_sub(x) == 1 << 31;
            let count = [a.lt(b), a == b, a.gt(b)].iter().filter(|&&t| t).count();
            prop_assert_eq!(count, if antipode { 0 } else { 1 });
        }

        #[test]
        fn in_window_matches_offset(start: u32, len in 0u32..=1 << 30, off: u32) {
            let s = SeqNum::new(start);
            prop_assert_eq!((s + off).in_window(s, len), off < len);
        }
    }
}
