//! Keyed hashes for the values an off-path attacker must not guess: initial sequence numbers
//! (RFC 6528) and ephemeral ports (RFC 6056).
//!
//! Both come from [`Secrets`], derived from the seed the caller gives the endpoint, so a run is
//! reproducible from its seed and the engine never draws randomness of its own.

use core::fmt;
use core::hash::Hasher;
use core::net::{IpAddr, SocketAddr};
use core::ops::RangeInclusive;

use siphasher::sip::SipHasher24;

use crate::time::Instant;

/// The two SipHash-2-4 keys: the seed's first 16 bytes key the ISN hash, its last 16 the port
/// hash, so knowing one function's outputs says nothing about the other's.
#[derive(Clone)]
pub(crate) struct Secrets {
    /// Key of F in RFC 6528 §3.
    isn_key: [u8; 16],
    /// Key of F in RFC 6056 §3.3.3.
    port_key: [u8; 16],
}

impl Secrets {
    /// Splits `seed` into the ISN key (bytes 0..16) and the port key (bytes 16..32).
    pub(crate) fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            isn_key: core::array::from_fn(|i| seed[i]),
            port_key: core::array::from_fn(|i| seed[16 + i]),
        }
    }

    /// The initial sequence number for a connection from `local` to `remote` opened at `now`
    /// (RFC 6528 §3): ISN = M + F(localip, localport, remoteip, remoteport, secretkey).
    ///
    /// M is a timer ticking every 4 microseconds, wrapping at 2^32; F is SipHash-2-4 of the
    /// 4-tuple, truncated to 32 bits. Different 4-tuples get unrelated sequence spaces, while
    /// one 4-tuple's ISNs keep increasing with time, as RFC 9293 §3.4.1 wants for a reused
    /// tuple.
    pub(crate) fn isn(&self, local: SocketAddr, remote: SocketAddr, now: Instant) -> u32 {
        // Truncation wraps M modulo 2^32.
        let m = (now.as_micros() / 4) as u32;
        let mut hasher = SipHasher24::new_with_key(&self.isn_key);
        write_ip(&mut hasher, local.ip());
        hasher.write(&local.port().to_be_bytes());
        write_ip(&mut hasher, remote.ip());
        hasher.write(&remote.port().to_be_bytes());
        // Truncation keeps the low 32 bits of F.
        m.wrapping_add(hasher.finish() as u32)
    }

    /// The offset of a connection's timestamp clock (RFC 7323 §7.1: TSval must not reveal the
    /// host's uptime, so each connection starts its clock at a random point): the ISN hash of
    /// the 4-tuple under a distinct tag, so it tells nothing about the ISN.
    pub(crate) fn ts_offset(&self, local: SocketAddr, remote: SocketAddr) -> u32 {
        let mut hasher = SipHasher24::new_with_key(&self.isn_key);
        hasher.write(b"TSval");
        write_ip(&mut hasher, local.ip());
        hasher.write(&local.port().to_be_bytes());
        write_ip(&mut hasher, remote.ip());
        hasher.write(&remote.port().to_be_bytes());
        // Truncation keeps the low 32 bits.
        hasher.finish() as u32
    }

    /// The per-destination offset into the ephemeral range (RFC 6056 §3.3.3):
    /// F(local_IP, remote_IP, remote_port, secret_key), SipHash-2-4.
    fn port_offset(&self, local_ip: IpAddr, remote: SocketAddr) -> u64 {
        let mut hasher = SipHasher24::new_with_key(&self.port_key);
        write_ip(&mut hasher, local_ip);
        write_ip(&mut hasher, remote.ip());
        hasher.write(&remote.port().to_be_bytes());
        hasher.finish()
    }
}

impl fmt::Debug for Secrets {
    /// Prints no key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets(..)")
    }
}

/// Feeds an address to `hasher` as a family byte (4 or 6) and its octets in network order, so
/// the input is fixed across platforms and Rust versions (unlike `Hash for IpAddr`) and an IPv4
/// address never hashes like the IPv6 address with the same bytes.
fn write_ip(hasher: &mut SipHasher24, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            hasher.write_u8(4);
            hasher.write(&v4.octets());
        }
        IpAddr::V6(v6) => {
            hasher.write_u8(6);
            hasher.write(&v6.octets());
        }
    }
}

/// Chooses ephemeral local ports with RFC 6056 §3.3.3 "Algorithm 3: Simple Hash-Based Port
/// Selection".
///
/// Each destination starts at its own secret offset in the range, so a port says little about
/// the ports used towards other destinations; a shared counter moves every search on.
#[derive(Clone, Debug)]
pub(crate) struct PortAllocator {
    /// `next_ephemeral` of the RFC: +1 per candidate tried, wrapping.
    next_ephemeral: u32,
    /// The ephemeral ports, `min_ephemeral..=max_ephemeral` of the RFC.
    range: RangeInclusive<u16>,
}

impl PortAllocator {
    /// An allocator over `range` (RFC 6056 §2.1 recommends 49152..=65535). An empty range
    /// allocates nothing.
    pub(crate) fn new(range: RangeInclusive<u16>) -> Self {
        Self {
            next_ephemeral: 0,
            range,
        }
    }

    /// A free ephemeral port for a connection from `local_ip` to `remote`, or `None` if
    /// `in_use` says every port in the range is taken.
    ///
    /// Tries each port of the range once, from `min + (offset + next_ephemeral) % size`
    /// upwards with wrap-around, where offset is the keyed hash of (`local_ip`, `remote`).
    /// `next_ephemeral` grows by one per candidate, as in the RFC's loop, so the next call
    /// towards the same destination starts just past this one's pick.
    pub(crate) fn allocate(
        &mut self,
        secrets: &Secrets,
        local_ip: IpAddr,
        remote: SocketAddr,
        in_use: impl Fn(u16) -> bool,
    ) -> Option<u16> {
        let (min, max) = (*self.range.start(), *self.range.end());
        if min > max {
            return None;
        }
        let num_ephemeral = u64::from(max - min) + 1;
        let offset = secrets.port_offset(local_ip, remote);
        for _ in 0..num_ephemeral {
            let step = offset.wrapping_add(u64::from(self.next_ephemeral)) % num_ephemeral;
            // step < num_ephemeral, so min + step <= max: neither cast nor sum can overflow.
            let port = min + step as u16;
            self.next_ephemeral = self.next_ephemeral.wrapping_add(1);
            if !in_use(port) {
                return Some(port);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use core::time::Duration;

    use proptest::prelude::*;

    use super::*;

    const SEED: [u8; 32] = [7; 32];

    fn v4(a: u8, port: u16) -> SocketAddr {
        SocketAddr::new(Ipv4Addr::new(10, 0, 0, a).into(), port)
    }

    fn v6(a: u16, port: u16) -> SocketAddr {
        SocketAddr::new(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, a).into(), port)
    }

    fn t0() -> Instant {
        Instant::from_micros(1_000_000)
    }

    fn ephemeral() -> PortAllocator {
        PortAllocator::new(49152..=65535)
    }

    #[test]
    fn isn_is_deterministic_for_a_seed() {
        let (a, b) = (Secrets::from_seed(SEED), Secrets::from_seed(SEED));
        for (local, remote) in [(v4(1, 40000), v4(2, 80)), (v6(1, 40000), v6(2, 443))] {
            assert_eq!(a.isn(local, remote, t0()), b.isn(local, remote, t0()));
        }
    }

    #[test]
    fn isn_is_m_plus_sip24_of_tuple_bytes() {
        let mut seed = [0; 32];
        seed[..16].copy_from_slice(&[1; 16]);
        let secrets = Secrets::from_seed(seed);
        let mut f = SipHasher24::new_with_key(&[1; 16]);
        f.write(&[4, 10, 0, 0, 1, 0x9c, 0x40, 4, 10, 0, 0, 2, 0, 80]);
        let now = Instant::from_micros(4_000);
        let want = 1_000u32.wrapping_add(f.finish() as u32);
        assert_eq!(secrets.isn(v4(1, 40000), v4(2, 80), now), want);
    }

    #[test]
    fn isn_differs_across_seeds() {
        let mut other = SEED;
        other[0] ^= 1;
        let (local, remote) = (v4(1, 40000), v4(2, 80));
        assert_ne!(
            Secrets::from_seed(SEED).isn(local, remote, t0()),
            Secrets::from_seed(other).isn(local, remote, t0()),
        );
    }

    #[test]
    fn isn_key_is_first_half_of_seed() {
        let mut other = SEED;
        other[31] ^= 1;
        let (local, remote) = (v4(1, 40000), v4(2, 80));
        assert_eq!(
            Secrets::from_seed(SEED).isn(local, remote, t0()),
            Secrets::from_seed(other).isn(local, remote, t0()),
        );
    }

    #[test]
    fn isn_differs_across_tuples() {
        let secrets = Secrets::from_seed(SEED);
        let tuples = [
            (v4(1, 40000), v4(2, 80)),
            (v4(1, 40001), v4(2, 80)),
            (v4(1, 40000), v4(2, 81)),
            (v4(3, 40000), v4(2, 80)),
            (v4(1, 40000), v4(3, 80)),
            // The same tuple seen from the other side.
            (v4(2, 80), v4(1, 40000)),
            (v6(1, 40000), v6(2, 80)),
        ];
        let isns: Vec<u32> = tuples
            .iter()
            .map(|&(local, remote)| secrets.isn(local, remote, t0()))
            .collect();
        for (i, a) in isns.iter().enumerate() {
            for b in &isns[i + 1..] {
                assert_ne!(a, b, "{isns:?}");
            }
        }
    }

    #[test]
    fn isn_separates_ipv4_from_mapped_ipv6() {
        let secrets = Secrets::from_seed(SEED);
        let mapped = |a: SocketAddr| match a.ip() {
            IpAddr::V4(ip) => SocketAddr::new(ip.to_ipv6_mapped().into(), a.port()),
            IpAddr::V6(_) => a,
        };
        let (local, remote) = (v4(1, 40000), v4(2, 80));
        assert_ne!(
            secrets.isn(local, remote, t0()),
            secrets.isn(mapped(local), mapped(remote), t0()),
        );
    }

    #[test]
    fn isn_m_ticks_every_4_us() {
        let secrets = Secrets::from_seed(SEED);
        let (local, remote) = (v6(1, 40000), v6(2, 443));
        let isn = |t: Instant| secrets.isn(local, remote, t);
        assert_eq!(isn(t0() + Duration::from_micros(3)), isn(t0()));
        assert_eq!(
            isn(t0() + Duration::from_micros(4)).wrapping_sub(isn(t0())),
            1
        );
        assert_eq!(
            isn(t0() + Duration::from_secs(1)).wrapping_sub(isn(t0())),
            250_000
        );
    }

    #[test]
    fn isn_m_wraps_at_2_pow_32_ticks() {
        let secrets = Secrets::from_seed(SEED);
        let (local, remote) = (v4(1, 40000), v4(2, 80));
        let wrap = Instant::from_micros(4 << 32);
        assert_eq!(
            secrets.isn(local, remote, wrap),
            secrets.isn(local, remote, Instant::ZERO)
        );
        let before = Instant::from_micros((4 << 32) - 4);
        assert_eq!(
            secrets
                .isn(local, remote, wrap)
                .wrapping_sub(secrets.isn(local, remote, before)),
            1
        );
    }

    #[test]
    fn debug_hides_keys() {
        assert_eq!(format!("{:?}", Secrets::from_seed(SEED)), "Secrets(..)");
    }

    #[test]
    fn ports_are_deterministic_for_a_seed() {
        let run = || {
            let secrets = Secrets::from_seed(SEED);
            let mut ports = ephemeral();
            let local = Ipv4Addr::new(10, 0, 0, 1).into();
            (0..5)
                .map(|n| ports.allocate(&secrets, local, v4(2, 80 + n), |_| false))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn ports_differ_across_seeds_and_destinations() {
        let local = Ipv4Addr::new(10, 0, 0, 1).into();
        let first = |seed: [u8; 32], remote| {
            ephemeral().allocate(&Secrets::from_seed(seed), local, remote, |_| false)
        };
        let mut other = SEED;
        other[16] ^= 1;
        let base = first(SEED, v4(2, 80));
        assert_ne!(base, first(other, v4(2, 80)));
        assert_ne!(base, first(SEED, v4(2, 81)));
        assert_ne!(base, first(SEED, v4(3, 80)));
    }

    #[test]
    fn port_key_is_second_half_of_seed() {
        let local = Ipv4Addr::new(10, 0, 0, 1).into();
        let first = |seed: [u8; 32]| {
            ephemeral().allocate(&Secrets::from_seed(seed), local, v4(2, 80), |_| false)
        };
        let mut other = SEED;
        other[0] ^= 1;
        assert_eq!(first(SEED), first(other));
    }

    #[test]
    fn ports_to_one_destination_advance_by_one() {
        let secrets = Secrets::from_seed(SEED);
        let local = Ipv4Addr::new(10, 0, 0, 1).into();
        let mut ports = PortAllocator::new(1000..=1003);
        let picks: Vec<u16> = (0..5)
            .filter_map(|_| ports.allocate(&secrets, local, v4(2, 80), |_| false))
            .collect();
        let start = picks[0];
        let want: Vec<u16> = (0..5).map(|n| 1000 + (start - 1000 + n) % 4).collect();
        assert_eq!(picks, want);
    }

    #[test]
    fn port_allocation_skips_ports_in_use() {
        let secrets = Secrets::from_seed(SEED);
        let local = Ipv4Addr::new(10, 0, 0, 1).into();
        let remote = v4(2, 80);
        let free = PortAllocator::new(1000..=1003)
            .allocate(&secrets, local, remote, |_| false)
            .expect("a free port");
        let next = 1000 + (free - 1000 + 1) % 4;
        let mut ports = PortAllocator::new(1000..=1003);
        let got = ports.allocate(&secrets, local, remote, |p| p == free);
        assert_eq!(got, Some(next));
        // Two candidates were tried, so the next search starts two further on.
        let after = ports.allocate(&secrets, local, remote, |_| false);
        assert_eq!(after, Some(1000 + (free - 1000 + 2) % 4));
    }

    #[test]
    fn port_allocation_none_when_all_in_use() {
        let secrets = Secrets::from_seed(SEED);
        let tried = Cell::new(0);
        let got = PortAllocator::new(1000..=1003).allocate(
            &secrets,
            Ipv4Addr::new(10, 0, 0, 1).into(),
            v4(2, 80),
            |_| {
                tried.set(tried.get() + 1);
                true
            },
        );
        assert_eq!(got, None);
        assert_eq!(tried.get(), 4);
    }

    #[test]
    fn port_allocation_tries_each_port_once() {
        let secrets = Secrets::from_seed(SEED);
        let seen = Cell::new(0u16);
        let got = PortAllocator::new(1000..=1003).allocate(
            &secrets,
            Ipv4Addr::new(10, 0, 0, 1).into(),
            v6(2, 80),
            |p| {
                let bit = 1 << (p - 1000);
                assert_eq!(seen.get() & bit, 0, "port {p} tried twice");
                seen.set(seen.get() | bit);
                true
            },
        );
        assert_eq!(got, None);
        assert_eq!(seen.get(), 0b1111);
    }

    #[test]
    fn port_allocation_empty_range_is_none() {
        #[expect(clippy::reversed_empty_ranges, reason = "an empty range on purpose")]
        let mut ports = PortAllocator::new(1001..=1000);
        let local = Ipv4Addr::new(10, 0, 0, 1).into();
        let secrets = Secrets::from_seed(SEED);
        assert_eq!(ports.allocate(&secrets, local, v4(2, 80), |_| false), None);
    }

    #[test]
    fn port_allocation_single_and_full_ranges() {
        let secrets = Secrets::from_seed(SEED);
        let local = Ipv4Addr::new(10, 0, 0, 1).into();
        let mut one = PortAllocator::new(5000..=5000);
        assert_eq!(
            one.allocate(&secrets, local, v4(2, 80), |_| false),
            Some(5000)
        );
        assert_eq!(
            one.allocate(&secrets, local, v4(2, 80), |p| p == 5000),
            None
        );
        let mut full = PortAllocator::new(0..=u16::MAX);
        assert!(
            full.allocate(&secrets, local, v4(2, 80), |_| false)
                .is_some()
        );
    }

    proptest! {
        #[test]
        fn allocated_ports_stay_in_range(
            seed in any::<[u8; 32]>(),
            min in any::<u16>(),
            len in 0u16..64,
            local in any::<Ipv4Addr>(),
            remote in any::<SocketAddr>(),
            next in any::<u32>(),
            taken in proptest::collection::vec(any::<bool>(), 64),
        ) {
            let max = min.saturating_add(len);
            let secrets = Secrets::from_seed(seed);
            let mut ports = PortAllocator::new(min..=max);
            ports.next_ephemeral = next;
            let in_use = |p: u16| taken[usize::from(p - min)];
            let got = ports.allocate(&secrets, local.into(), remote, in_use);
            match got {
                Some(port) => {
                    prop_assert!((min..=max).contains(&port));
                    prop_assert!(!in_use(port));
                }
                None => prop_assert!((min..=max).all(in_use)),
            }
        }

        #[test]
        fn isn_advances_with_time_alone(
            seed in any::<[u8; 32]>(),
            local in any::<SocketAddr>(),
            remote in any::<SocketAddr>(),
            t in any::<u64>(),
            ticks in any::<u32>(),
        ) {
            let secrets = Secrets::from_seed(seed);
            let now = Instant::from_micros(t / 4 * 4);
            let later = Instant::from_micros(now.as_micros().wrapping_add(u64::from(ticks) * 4));
            let delta = secrets
                .isn(local, remote, later)
                .wrapping_sub(secrets.isn(local, remote, now));
            prop_assert_eq!(delta, ticks);
        }
    }
}
