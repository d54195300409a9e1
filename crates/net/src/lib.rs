//! A userspace TCP stack for Tokio: the `tokio::net` API over a TUN device or any other packet
//! device.
//!
//! A [`Stack`] spawns one driver task that owns the [`device`] and the sans-IO engine of the
//! `fsm` crate; [`TcpListener`] and [`TcpStream`] mirror `tokio::net`'s names, signatures and
//! errors, so code written for kernel sockets runs on the stack by changing how the socket is
//! created.
#![warn(missing_docs, unreachable_pub)]

pub mod device;
mod driver;
mod error;
mod icmp;
mod listener;
mod shared;
mod split;
mod stack;
mod stream;

pub use crate::listener::TcpListener;
pub use crate::shared::Counters;
pub use crate::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use crate::stack::{Stack, StackBuilder};
pub use crate::stream::{TcpInfo, TcpStream};
