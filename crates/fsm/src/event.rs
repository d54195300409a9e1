//! What a connection tells its driver, to be turned into wakeups.

use crate::error::ConnError;
use crate::state::State;

/// A change a driver should act on. Drained with
/// [`Endpoint::poll_event`](crate::Endpoint::poll_event).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake completed (SYN-SENT or SYN-RECEIVED → ESTABLISHED).
    Connected,
    /// Data (or the peer's FIN) arrived for the reader.
    Readable,
    /// Send-buffer space was freed for the writer.
    Writable,
    /// The peer's FIN arrived in order: reads return 0 once the data is drained.
    ReadClosed,
    /// The connection changed state (for tracing and teaching; the other events carry the
    /// meaning).
    StateChanged {
        /// State before.
        from: State,
        /// State after.
        to: State,
    },
    /// The connection reached CLOSED: normally (`None`) or with an error.
    Closed(Option<ConnError>),
}
