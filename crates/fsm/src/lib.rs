//! The sans-IO TCP engine: connection states, sequence space, retransmission and timers, with
//! time passed in. Filled by the "fsm: the complete RFC 9293 connection lifecycle" issue.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
