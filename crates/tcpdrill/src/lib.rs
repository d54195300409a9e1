//! Runs packetdrill scripts against the tcpstk engine, in virtual time.
//!
//! [packetdrill](https://github.com/google/packetdrill) tests a TCP stack with scripts of
//! system calls and packets: `<` lines inject a segment, `>` lines expect one, each at a time
//! relative to the previous line. This crate reads a subset of its language ([`script`]), makes
//! the system calls on a file-descriptor table over one [`fsm::Endpoint`] ([`sockets`]), and
//! plays the script in virtual time ([`runner`]): nothing waits for a real clock, so a script
//! with a two-minute timeout runs in microseconds.
//!
//! # Examples
//!
//! ```no_run
//! let result = tcpdrill::run_file("tests/conformance/handshake-passive.pkt".as_ref());
//! if let Err(e) = result {
//!     eprintln!("FAIL {e}");
//! }
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod linux;
pub mod runner;
pub mod script;
pub mod sockets;

use core::fmt;
use std::io;
use std::path::Path;

/// Why a script file did not pass.
#[derive(Debug)]
pub enum ScriptError {
    /// The file could not be read.
    Read(io::Error),
    /// The script is outside the subset or malformed.
    Parse(script::ParseError),
    /// The stack did not do what the script says.
    Fail(runner::Failure),
}

impl ScriptError {
    /// The script line the error is about, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            ScriptError::Read(_) => None,
            ScriptError::Parse(e) => Some(e.line),
            ScriptError::Fail(f) => Some(f.line),
        }
    }
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScriptError::Read(e) => write!(f, "cannot read the script: {e}"),
            ScriptError::Parse(e) => write!(f, "parse error: {}", e.message),
            ScriptError::Fail(failure) => f.write_str(&failure.message),
        }
    }
}

impl core::error::Error for ScriptError {}

/// Reads, parses and runs one script file.
///
/// # Errors
///
/// See [`ScriptError`].
pub fn run_file(path: &Path) -> Result<(), ScriptError> {
    let text = std::fs::read_to_string(path).map_err(ScriptError::Read)?;
    let script = script::parse(&text).map_err(ScriptError::Parse)?;
    runner::run(&script).map_err(ScriptError::Fail)
}
