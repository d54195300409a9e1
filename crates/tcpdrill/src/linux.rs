//! Linux's numbers for what the socket calls take and return: address families, option levels
//! and names, `fcntl` commands and flags, `shutdown` modes, `MSG_*` flags, and errno values.
//!
//! The socket layer ([`crate::sockets`]) takes these raw values, as the C calls do, so that a
//! shim between packetdrill's C interface and the engine can pass its arguments straight
//! through. Scripts name them; [`symbol`] looks a name up.

use core::fmt;

/// `AF_INET`: IPv4.
pub const AF_INET: i32 = 2;
/// `AF_INET6`: IPv6.
pub const AF_INET6: i32 = 10;
/// `SOCK_STREAM`: a TCP socket.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_NONBLOCK`: a `socket()` type flag, the socket starts non-blocking.
pub const SOCK_NONBLOCK: i32 = 0o4000;
/// `SOCK_CLOEXEC`: a `socket()` type flag, accepted and ignored (there is no `exec`).
pub const SOCK_CLOEXEC: i32 = 0o2000000;
/// `IPPROTO_TCP`, which is also the option level `SOL_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `SOL_SOCKET`: the socket-level option level.
pub const SOL_SOCKET: i32 = 1;
/// `SO_REUSEADDR`.
pub const SO_REUSEADDR: i32 = 2;
/// `SO_ERROR`: read (and clear) the pending error.
pub const SO_ERROR: i32 = 4;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_LINGER`.
pub const SO_LINGER: i32 = 13;
/// `TCP_NODELAY`.
pub const TCP_NODELAY: i32 = 1;
/// `TCP_MAXSEG` (read only here).
pub const TCP_MAXSEG: i32 = 2;
/// `F_GETFL`.
pub const F_GETFL: i32 = 3;
/// `F_SETFL`.
pub const F_SETFL: i32 = 4;
/// `O_RDWR`: what `F_GETFL` reports for every socket.
pub const O_RDWR: i32 = 2;
/// `O_NONBLOCK`.
pub const O_NONBLOCK: i32 = 0o4000;
/// `SHUT_RD`.
pub const SHUT_RD: i32 = 0;
/// `SHUT_WR`.
pub const SHUT_WR: i32 = 1;
/// `SHUT_RDWR`.
pub const SHUT_RDWR: i32 = 2;
/// `MSG_PEEK`: read without consuming.
pub const MSG_PEEK: i32 = 0x2;
/// `MSG_DONTWAIT`: this call does not block.
pub const MSG_DONTWAIT: i32 = 0x40;
/// `MSG_NOSIGNAL`: no `SIGPIPE` (there are no signals here; accepted and ignored).
pub const MSG_NOSIGNAL: i32 = 0x4000;

/// The symbols scripts may use as system-call arguments, with their Linux values.
const SYMBOLS: &[(&str, i32)] = &[
    ("AF_INET", AF_INET),
    ("AF_INET6", AF_INET6),
    ("SOCK_STREAM", SOCK_STREAM),
    ("SOCK_NONBLOCK", SOCK_NONBLOCK),
    ("SOCK_CLOEXEC", SOCK_CLOEXEC),
    ("IPPROTO_TCP", IPPROTO_TCP),
    ("SOL_TCP", IPPROTO_TCP),
    ("SOL_SOCKET", SOL_SOCKET),
    ("SO_REUSEADDR", SO_REUSEADDR),
    ("SO_ERROR", SO_ERROR),
    ("SO_SNDBUF", SO_SNDBUF),
    ("SO_RCVBUF", SO_RCVBUF),
    ("SO_LINGER", SO_LINGER),
    ("TCP_NODELAY", TCP_NODELAY),
    ("TCP_MAXSEG", TCP_MAXSEG),
    ("F_GETFL", F_GETFL),
    ("F_SETFL", F_SETFL),
    ("O_RDWR", O_RDWR),
    ("O_NONBLOCK", O_NONBLOCK),
    ("SHUT_RD", SHUT_RD),
    ("SHUT_WR", SHUT_WR),
    ("SHUT_RDWR", SHUT_RDWR),
    ("MSG_PEEK", MSG_PEEK),
    ("MSG_DONTWAIT", MSG_DONTWAIT),
    ("MSG_NOSIGNAL", MSG_NOSIGNAL),
];

/// The Linux value of a symbol a script may use (`SOL_SOCKET`, `O_NONBLOCK`...).
///
/// # Examples
///
/// ```
/// use tcpdrill::linux;
///
/// assert_eq!(linux::symbol("SO_REUSEADDR"), Some(linux::SO_REUSEADDR));
/// assert_eq!(linux::symbol("SO_KEEPALIVE"), None);
/// ```
pub fn symbol(name: &str) -> Option<i32> {
    SYMBOLS.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

macro_rules! errnos {
    ($($name:ident = $code:literal, $text:literal;)*) => {
        /// An error number, as Linux numbers and describes it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms, reason = "the C names")]
        pub enum Errno {
            $(
                #[doc = $text]
                $name,
            )*
        }

        impl Errno {
            /// Every errno the socket layer returns.
            pub const ALL: &[Errno] = &[$(Errno::$name),*];

            /// The Linux number (`errno` after a failed call).
            pub fn code(self) -> i32 {
                match self {
                    $(Errno::$name => $code,)*
                }
            }

            /// The C macro name, `EAGAIN`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Errno::$name => stringify!($name),)*
                }
            }

            /// What `strerror` says.
            pub fn text(self) -> &'static str {
                match self {
                    $(Errno::$name => $text,)*
                }
            }
        }
    };
}

errnos! {
    EBADF = 9, "Bad file descriptor";
    EAGAIN = 11, "Resource temporarily unavailable";
    EINVAL = 22, "Invalid argument";
    EMFILE = 24, "Too many open files";
    EPIPE = 32, "Broken pipe";
    EPROTONOSUPPORT = 93, "Protocol not supported";
    ENOPROTOOPT = 92, "Protocol not available";
    ESOCKTNOSUPPORT = 94, "Socket type not supported";
    EAFNOSUPPORT = 97, "Address family not supported by protocol";
    EADDRINUSE = 98, "Address already in use";
    EADDRNOTAVAIL = 99, "Cannot assign requested address";
    ENETUNREACH = 101, "Network is unreachable";
    ECONNABORTED = 103, "Software caused connection abort";
    ECONNRESET = 104, "Connection reset by peer";
    ENOBUFS = 105, "No buffer space available";
    EISCONN = 106, "Transport endpoint is already connected";
    ENOTCONN = 107, "Transport endpoint is not connected";
    ETIMEDOUT = 110, "Connection timed out";
    ECONNREFUSED = 111, "Connection refused";
    EALREADY = 114, "Operation already in progress";
    EINPROGRESS = 115, "Operation now in progress";
}

impl Errno {
    /// The errno named `name` (`EWOULDBLOCK` is `EAGAIN`, as on Linux).
    ///
    /// # Examples
    ///
    /// ```
    /// use tcpdrill::linux::Errno;
    ///
    /// assert_eq!(Errno::from_name("EINPROGRESS"), Some(Errno::EINPROGRESS));
    /// assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno::EAGAIN));
    /// assert_eq!(Errno::EINPROGRESS.code(), 115);
    /// ```
    pub fn from_name(name: &str) -> Option<Errno> {
        if name == "EWOULDBLOCK" {
            return Some(Errno::EAGAIN);
        }
        Errno::ALL.iter().copied().find(|e| e.name() == name)
    }
}

impl fmt::Display for Errno {
    /// `ECONNREFUSED (Connection refused)`, as packetdrill prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.text())
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_round_trip_and_codes_are_distinct() {
        let mut codes: Vec<i32> = Errno::ALL.iter().map(|e| e.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Errno::ALL.len());
        for &e in Errno::ALL {
            assert_eq!(Errno::from_name(e.name()), Some(e));
        }
        assert_eq!(Errno::from_name("ENOSUCH"), None);
        assert_eq!(
            Errno::ECONNREFUSED.to_string(),
            "ECONNREFUSED (Connection refused)"
        );
    }

    #[test]
    fn symbols_are_unique_names() {
        for (i, (name, _)) in SYMBOLS.iter().enumerate() {
            assert!(SYMBOLS[..i].iter().all(|(n, _)| n != name), "{name}");
        }
        assert_eq!(symbol("SOL_TCP"), symbol("IPPROTO_TCP"));
    }
}
