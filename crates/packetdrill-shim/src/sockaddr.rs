//! `struct sockaddr_in` and `struct sockaddr_in6` as bytes: read from a caller's buffer,
//! written into one. The FFI layer only turns the C pointers into slices.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tcpdrill::linux::{AF_INET, AF_INET6, Errno};

/// `sizeof(struct sockaddr_in)`.
const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_in6)`.
const SOCKADDR_IN6_LEN: usize = 28;
/// The shortest `sockaddr_in6` Linux accepts (RFC 2133's, without `sin6_scope_id`).
const SOCKADDR_IN6_MIN_LEN: usize = 24;

/// Reads a `sockaddr_in` or `sockaddr_in6`, as Linux's `inet_bind`/`inet6_bind` check it.
///
/// # Errors
///
/// `EINVAL` when the buffer is shorter than its family's structure, `EAFNOSUPPORT` for
/// another family.
pub(crate) fn parse(bytes: &[u8]) -> Result<SocketAddr, Errno> {
    let family = bytes
        .first_chunk::<2>()
        .map(|f| i32::from(u16::from_ne_bytes(*f)))
        .ok_or(Errno::EINVAL)?;
    let (min_len, ip) = match family {
        AF_INET => (SOCKADDR_IN_LEN, v4(bytes.get(4..8))),
        AF_INET6 => (SOCKADDR_IN6_MIN_LEN, v6(bytes.get(8..24))),
        _ => return Err(Errno::EAFNOSUPPORT),
    };
    match (bytes.len() >= min_len, ip, bytes.get(2..4)) {
        (true, Some(ip), Some(&[hi, lo])) => Ok(SocketAddr::new(ip, u16::from_be_bytes([hi, lo]))),
        _ => Err(Errno::EINVAL),
    }
}

fn v4(bytes: Option<&[u8]>) -> Option<IpAddr> {
    let octets: [u8; 4] = bytes?.try_into().ok()?;
    Some(Ipv4Addr::from(octets).into())
}

fn v6(bytes: Option<&[u8]>) -> Option<IpAddr> {
    let octets: [u8; 16] = bytes?.try_into().ok()?;
    Some(Ipv6Addr::from(octets).into())
}

/// Writes `addr` as a `sockaddr_in` or `sockaddr_in6`; returns the buffer and the structure's
/// length (what `accept` reports in `*addrlen`).
pub(crate) fn encode(addr: SocketAddr) -> ([u8; SOCKADDR_IN6_LEN], usize) {
    let mut buf = [0; SOCKADDR_IN6_LEN];
    buf[2..4].copy_from_slice(&addr.port().to_be_bytes());
    let (family, len) = match addr.ip() {
        IpAddr::V4(ip) => {
            buf[4..8].copy_from_slice(&ip.octets());
            (AF_INET, SOCKADDR_IN_LEN)
        }
        IpAddr::V6(ip) => {
            buf[8..24].copy_from_slice(&ip.octets());
            (AF_INET6, SOCKADDR_IN6_LEN)
        }
    };
    // Both families are small positive numbers.
    buf[..2].copy_from_slice(&(family as u16).to_ne_bytes());
    (buf, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_round_trip() {
        for addr in ["192.168.0.1:8080", "[fd3d:fa7b:d17d::1]:443"] {
            let addr: SocketAddr = addr.parse().expect("valid");
            let (buf, len) = encode(addr);
            assert_eq!(parse(&buf[..len]), Ok(addr));
        }
    }

    #[test]
    fn matches_libc_layout() {
        let addr: SocketAddr = "10.1.2.3:8080".parse().expect("valid");
        let (buf, len) = encode(addr);
        assert_eq!(len, size_of::<libc::sockaddr_in>());
        assert_eq!(SOCKADDR_IN6_LEN, size_of::<libc::sockaddr_in6>());
        assert_eq!(&buf[..8], &[2, 0, 0x1f, 0x90, 10, 1, 2, 3]);
    }

    #[test]
    fn short_or_foreign_addresses_are_refused() {
        let (buf, _) = encode("10.1.2.3:80".parse().expect("valid"));
        assert_eq!(parse(&buf[..15]), Err(Errno::EINVAL));
        assert_eq!(parse(&buf[..1]), Err(Errno::EINVAL));
        let (buf6, _) = encode("[::1]:80".parse().expect("valid"));
        assert_eq!(parse(&buf6[..23]), Err(Errno::EINVAL));
        assert!(parse(&buf6[..24]).is_ok());
        let unix = 1u16.to_ne_bytes();
        assert_eq!(parse(&unix), Err(Errno::EAFNOSUPPORT));
    }
}
