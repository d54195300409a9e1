//! The sans-IO TCP engine: connection states, sequence space, retransmission and timers, with
//! time passed in.
//!
//! Nothing here does I/O, reads a clock or spawns a thread. A driver (the `net` crate, a
//! simulator, a packetdrill runner) feeds the engine parsed segments and the current
//! [`Instant`], and drains what it produces:
//!
//! 1. inputs: [`Endpoint::handle_segment`], [`Endpoint::handle_timeout`], and user calls on
//!    [`Endpoint::conn_mut`] (`write`, `read`, `shutdown`, `close`, `abort`);
//! 2. then outputs, in this order: [`Endpoint::poll_transmit`] until `None` (emit each packet
//!    before asking for the next), [`Endpoint::poll_timeout`] for the next wakeup, and
//!    [`Endpoint::poll_event`] until `None` to wake the right tasks.
//!
//! The connection lifecycle is RFC 9293's figure 5, written as one pure function,
//! [`transition`]; segment arrival follows §3.10.7 step by step; retransmission follows
//! RFC 6298; ISNs RFC 6528; RST and SYN handling RFC 5961; window scaling, timestamps and PAWS
//! RFC 7323; SACK RFC 2018 and RFC 2883; congestion control NewReno (RFC 5681, RFC 6582) or
//! CUBIC (RFC 9438, the default); loss recovery RFC 6675 with PRR (RFC 6937) and RACK-TLP
//! (RFC 8985).
//! docs/COMPLIANCE.md maps each rule to its code and test.
//!
//! ```text
//! client                                              server
//! CLOSED                                              LISTEN
//! SYN-SENT      --> <SEQ=100><CTL=SYN>            --> SYN-RECEIVED
//! ESTABLISHED   <-- <SEQ=300><ACK=101><CTL=SYN,ACK> <-- SYN-RECEIVED
//! ESTABLISHED   --> <SEQ=101><ACK=301><CTL=ACK>   --> ESTABLISHED
//! FIN-WAIT-1    --> <SEQ=101><ACK=301><CTL=FIN,ACK> --> CLOSE-WAIT
//! FIN-WAIT-2    <-- <SEQ=301><ACK=102><CTL=ACK>   <-- CLOSE-WAIT
//! TIME-WAIT     <-- <SEQ=301><ACK=102><CTL=FIN,ACK> <-- LAST-ACK
//! TIME-WAIT     --> <SEQ=102><ACK=302><CTL=ACK>   --> CLOSED
//! (2 MSL later) CLOSED
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod cc;
mod config;
mod conn;
mod endpoint;
mod error;
mod event;
mod isn;
mod recv_buf;
mod rtt;
mod scoreboard;
mod send_buf;
mod state;
mod stats;
mod time;

#[cfg(test)]
mod tests;

pub use crate::cc::CongestionAlgorithm;
pub use crate::config::Config;
pub use crate::conn::{Connection, RecvSeq, SendSeq};
pub use crate::endpoint::{ConnId, Endpoint, EndpointEvent, EndpointStats, ListenId};
pub use crate::error::{ConnError, ConnectError, ListenError, ReadError, WriteError};
pub use crate::event::Event;
pub use crate::state::{Action, Input, State, transition};
pub use crate::stats::{Info, Stats};
pub use crate::time::Instant;
