//! The one place engine errors become `io::Error`s, with the kinds `tokio::net` gives on Linux.

use std::io;

use fsm::{ConnError, ConnectError, ListenError, ReadError, WriteError};

pub(crate) fn conn(error: ConnError) -> io::Error {
    let kind = match error {
        ConnError::Refused => io::ErrorKind::ConnectionRefused,
        ConnError::Reset => io::ErrorKind::ConnectionReset,
        ConnError::TimedOut => io::ErrorKind::TimedOut,
        ConnError::Aborted => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, error)
}

pub(crate) fn connect(error: ConnectError) -> io::Error {
    match error {
        ConnectError::NoPortAvailable => io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no free ephemeral port toward that address",
        ),
        ConnectError::AddrInUse => io::Error::new(
            io::ErrorKind::AddrInUse,
            "a connection with that four-tuple exists",
        ),
        ConnectError::InvalidInput => io::Error::new(
            io::ErrorKind::InvalidInput,
            "remote address must be a unicast address with a non-zero port",
        ),
        ConnectError::TooManyConnections => {
            io::Error::other("the stack holds its maximum number of connections")
        }
    }
}

pub(crate) fn listen(error: ListenError) -> io::Error {
    match error {
        ListenError::AddrInUse => io::Error::new(
            io::ErrorKind::AddrInUse,
            "a listener already has that address",
        ),
        ListenError::InvalidInput => io::Error::new(
            io::ErrorKind::InvalidInput,
            "invalid listen address or backlog",
        ),
    }
}

pub(crate) fn read(error: ReadError) -> io::Error {
    match error {
        ReadError::Failed(e) => conn(e),
        ReadError::NotConnected | ReadError::Blocked => not_connected(),
    }
}

pub(crate) fn write(error: WriteError) -> io::Error {
    match error {
        WriteError::Failed(e) => conn(e),
        WriteError::Closed => {
            io::Error::new(io::ErrorKind::BrokenPipe, "the write side was shut down")
        }
        WriteError::Blocked => io::ErrorKind::WouldBlock.into(),
    }
}

pub(crate) fn not_connected() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the connection is closed")
}

pub(crate) fn driver_gone() -> io::Error {
    io::Error::other("the stack's driver task has stopped")
}

pub(crate) fn addr_not_available(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::AddrNotAvailable, what.to_owned())
}
