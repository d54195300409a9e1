//! The control bits of the TCP header (RFC 9293 §3.1, RFC 3168 for ECE and CWR).

use core::fmt;
use core::ops::{BitOr, BitOrAssign};

/// The eight control bits of a TCP header, as one byte in header order.
///
/// `Display` prints them the way tcpdump and packetdrill do: `S` SYN, `F` FIN, `R` RST, `P` PSH,
/// `.` ACK, `U` URG, `E` ECE, `W` CWR; so a SYN-ACK prints as `S.`.
///
/// # Examples
///
/// ```
/// use wire::TcpFlags;
///
/// let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
/// assert!(syn_ack.contains(TcpFlags::SYN));
/// assert!(!syn_ack.contains(TcpFlags::FIN));
/// assert_eq!(syn_ack.to_string(), "S.");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push function.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// Acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// Urgent pointer field is significant.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion Window Reduced (RFC 3168).
    pub const CWR: TcpFlags = TcpFlags(0x80);

    /// No bits set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The flags of a header byte (byte 13 of the TCP header).
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits)
    }

    /// The header byte.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when any bit of `other` is set in `self`.
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` without the bits of `other`.
    pub const fn without(self, other: TcpFlags) -> Self {
        Self(self.0 & !other.0)
    }

    /// True when SYN is set.
    pub const fn syn(self) -> bool {
        self.contains(Self::SYN)
    }

    /// True when ACK is set.
    pub const fn ack(self) -> bool {
        self.contains(Self::ACK)
    }

    /// True when FIN is set.
    pub const fn fin(self) -> bool {
        self.contains(Self::FIN)
    }

    /// True when RST is set.
    pub const fn rst(self) -> bool {
        self.contains(Self::RST)
    }

    /// True when PSH is set.
    pub const fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;

    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

/// Letters in tcpdump's order: SYN, FIN, PSH, RST, URG, ECE, CWR, then `.` for ACK.
const LETTERS: [(TcpFlags, char); 8] = [
    (TcpFlags::SYN, 'S'),
    (TcpFlags::FIN, 'F'),
    (TcpFlags::PSH, 'P'),
    (TcpFlags::RST, 'R'),
    (TcpFlags::URG, 'U'),
    (TcpFlags::ECE, 'E'),
    (TcpFlags::CWR, 'W'),
    (TcpFlags::ACK, '.'),
];

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        for (flag, letter) in LETTERS {
            if self.contains(flag) {
                fmt::Write::write_char(f, letter)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpFlags({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_like_tcpdump() {
        assert_eq!(TcpFlags::SYN.to_string(), "S");
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).to_string(), "F.");
        assert_eq!((TcpFlags::PSH | TcpFlags::ACK).to_string(), "P.");
        assert_eq!((TcpFlags::RST | TcpFlags::ACK).to_string(), "R.");
        assert_eq!(TcpFlags::empty().to_string(), "none");
        assert_eq!(TcpFlags::from_bits(0xff).to_string(), "SFPRUEW.");
    }

    #[test]
    fn set_operations() {
        let f = TcpFlags::SYN | TcpFlags::ACK;
        assert!(f.intersects(TcpFlags::ACK | TcpFlags::RST));
        assert!(!f.intersects(TcpFlags::RST | TcpFlags::FIN));
        assert_eq!(f.without(TcpFlags::SYN), TcpFlags::ACK);
        assert_eq!(f.bits(), 0x12);
    }
}
