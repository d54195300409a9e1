//! A shared object for upstream packetdrill's "so testing" mode: packetdrill loads
//! `libpacketdrill_shim.so` (`--so_filename`), and every system call, injected packet,
//! captured packet and clock read of a script goes to the tcpstk engine in virtual time.
//!
//! ```text
//! packetdrill --so_filename=target/release/libpacketdrill_shim.so \
//!     --so_flags=local_ip=192.168.0.1 --local_ip=192.168.0.1 script.pkt
//! ```
//!
//! `packetdrill_interface_init` fills packetdrill's `struct packetdrill_interface`
//! ([`PacketdrillInterface`]): the socket calls go to `tcpdrill`'s socket layer (file
//! descriptors from 3, Linux's errnos), `netdev_send`/`netdev_receive` carry IP packets in and
//! out, and `usleep`/`gettimeofday` are a virtual clock on which the engine's timers fire. The
//! calls a script marks as blocking come from a second thread and block it until a packet or
//! the clock unblocks them (see `shim.rs`).
//!
//! The crate is also an rlib, so tests call the exported C functions without loading the .so.
#![warn(missing_docs, unreachable_pub, clippy::undocumented_unsafe_blocks)]

mod abi;
mod calls;
mod error;
mod ffi;
mod flags;
mod shim;
mod sockaddr;
mod world;

pub use crate::abi::PacketdrillInterface;
pub use crate::ffi::packetdrill_interface_init;
