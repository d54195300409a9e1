//! Why a call of the shim failed, and the errno it sets.

use tcpdrill::linux::Errno;

/// Why a call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Error {
    /// What the socket layer returned.
    Errno(Errno),
    /// A null pointer where a buffer of some length was due (`EFAULT`).
    Fault,
    /// A call or request the shim does not implement (`ENOSYS`).
    Unsupported,
    /// The interface was not set up: bad `--so_flags` (`EINVAL`).
    NoShim,
    /// A call panicked: the state may be broken (`EIO`).
    Broken,
}

impl From<Errno> for Error {
    fn from(errno: Errno) -> Self {
        Error::Errno(errno)
    }
}

impl Error {
    /// The errno value to set.
    pub(crate) fn code(self) -> i32 {
        match self {
            Error::Errno(errno) => errno.code(),
            Error::Fault => libc::EFAULT,
            Error::Unsupported => libc::ENOSYS,
            Error::NoShim => libc::EINVAL,
            Error::Broken => libc::EIO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_linux_errnos() {
        assert_eq!(Error::from(Errno::EAGAIN).code(), 11);
        assert_eq!(Error::Fault.code(), 14);
        assert_eq!(Error::Unsupported.code(), 38);
        assert_eq!(Error::NoShim.code(), 22);
        assert_eq!(Error::Broken.code(), 5);
    }
}
