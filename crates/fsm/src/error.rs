//! Errors of the engine's operations, one enum per operation, and why a connection ended.

use core::fmt;

/// Why a connection ended abnormally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// The peer answered our SYN with a RST (connection refused).
    Refused,
    /// The peer reset an established connection.
    Reset,
    /// Retransmissions went unanswered until the retry limit.
    TimedOut,
    /// The local user aborted the connection (RST sent).
    Aborted,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnError::Refused => "connection refused by the peer",
            ConnError::Reset => "connection reset by the peer",
            ConnError::TimedOut => "connection timed out",
            ConnError::Aborted => "connection aborted locally",
        })
    }
}

impl core::error::Error for ConnError {}

/// Why [`Endpoint::listen`](crate::Endpoint::listen) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenError {
    /// Another listener holds the address.
    AddrInUse,
    /// Port 0 or a backlog of 0.
    InvalidInput,
}

/// Why [`Endpoint::connect`](crate::Endpoint::connect) failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectError {
    /// Every ephemeral port toward that peer is in use.
    NoPortAvailable,
    /// The four-tuple is already in use.
    AddrInUse,
    /// Local and remote addresses of different families, a port of 0, or an unspecified
    /// remote address.
    InvalidInput,
    /// The endpoint holds `max_connections` connections.
    TooManyConnections,
}

/// Why a write could not take data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The send buffer is full: wait for the `Writable` event.
    Blocked,
    /// The write side was shut down (or the connection closed): no more data may be sent.
    Closed,
    /// The connection ended with this error.
    Failed(ConnError),
}

/// Why a read returned no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Nothing to read yet: wait for the `Readable` event.
    Blocked,
    /// The connection is not established yet (or was closed without a FIN from the peer).
    NotConnected,
    /// The connection ended with this error.
    Failed(ConnError),
}

macro_rules! display_via_debug {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self, f)
            }
        }
        impl core::error::Error for $t {}
    )*};
}
display_via_debug!(ListenError, ConnectError, WriteError, ReadError);
