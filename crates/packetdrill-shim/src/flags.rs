//! The shim's options: packetdrill's `--so_flags` string, passed to
//! `packetdrill_interface_init` as it is.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What `--so_flags` sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flags {
    /// The stack's addresses, one per family: `bind` accepts them, and an unbound `connect`
    /// sends from the one of its family. packetdrill's `--local_ip` must be one of them.
    pub(crate) local_ips: [IpAddr; 2],
}

/// The IPv4 address without `local_ip=` (packetdrill picks a random one in 192.168.0.0/16
/// without `--local_ip`, so scripts run with `--local_ip=192.168.0.1`).
const DEFAULT_V4: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// The IPv6 address without `local_ip=`, in packetdrill's local prefix fd3d:fa7b:d17d::/48.
const DEFAULT_V6: Ipv6Addr = Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1);

/// Why `--so_flags` was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FlagsError {
    /// A flag that is not `key=value`, or whose key the shim does not know.
    Unknown(String),
    /// `local_ip=` with something that is not an IP address.
    BadAddress(String),
}

impl fmt::Display for FlagsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlagsError::Unknown(flag) => {
                write!(f, "unknown flag {flag:?} (expected local_ip=A.B.C.D)")
            }
            FlagsError::BadAddress(value) => write!(f, "local_ip={value}: not an IP address"),
        }
    }
}

impl Flags {
    /// Parses `key=value` flags separated by commas or spaces; `None` or an empty string gives
    /// the defaults. `local_ip=` replaces the address of its family.
    pub(crate) fn parse(flags: Option<&str>) -> Result<Flags, FlagsError> {
        let (mut v4, mut v6) = (DEFAULT_V4, DEFAULT_V6);
        let words = flags.unwrap_or("").split([',', ' ']);
        for flag in words.filter(|w| !w.is_empty()) {
            let Some(("local_ip", value)) = flag.split_once('=') else {
                return Err(FlagsError::Unknown(flag.to_owned()));
            };
            match value.parse() {
                Ok(IpAddr::V4(ip)) => v4 = ip,
                Ok(IpAddr::V6(ip)) => v6 = ip,
                Err(_) => return Err(FlagsError::BadAddress(value.to_owned())),
            }
        }
        Ok(Flags {
            local_ips: [v4.into(), v6.into()],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ips(flags: Option<&str>) -> Result<[IpAddr; 2], FlagsError> {
        Flags::parse(flags).map(|f| f.local_ips)
    }

    #[test]
    fn defaults_without_flags() {
        let defaults = [DEFAULT_V4.into(), DEFAULT_V6.into()];
        assert_eq!(ips(None), Ok(defaults));
        assert_eq!(ips(Some("")), Ok(defaults));
        assert_eq!(DEFAULT_V6.to_string(), "fd3d:fa7b:d17d::1");
    }

    #[test]
    fn local_ip_replaces_its_family() {
        let v4 = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(
            ips(Some("local_ip=10.0.0.2")),
            Ok([v4.into(), DEFAULT_V6.into()])
        );
        let v6: Ipv6Addr = "fd3d::1".parse().expect("valid");
        assert_eq!(
            ips(Some(" local_ip=fd3d::1 ")),
            Ok([DEFAULT_V4.into(), v6.into()])
        );
        assert_eq!(
            ips(Some("local_ip=fd3d::1,local_ip=10.0.0.2")),
            Ok([v4.into(), v6.into()])
        );
    }

    #[test]
    fn bad_flags_are_refused() {
        assert_eq!(
            Flags::parse(Some("local_ip=10.0.0")),
            Err(FlagsError::BadAddress("10.0.0".into()))
        );
        assert_eq!(
            Flags::parse(Some("remote_ip=10.0.0.1")),
            Err(FlagsError::Unknown("remote_ip=10.0.0.1".into()))
        );
        assert_eq!(
            Flags::parse(Some("verbose")),
            Err(FlagsError::Unknown("verbose".into()))
        );
    }
}
