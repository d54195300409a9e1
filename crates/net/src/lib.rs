//! The Tokio driver and the `tokio::net`-style sockets over the fsm engine. Filled by the
//! "net: the Tokio driver and a tokio::net-compatible socket API" issue.
#![warn(missing_docs, unreachable_pub)]
