//! A Linux TUN interface: the stack on one side, the kernel's IP layer on the other.
//!
//! [`TunConfig`] creates and configures the interface. tokio-tun opens it and sets the IPv4
//! address, MTU and up flag; what tokio-tun lacks — the transmit queue length and IPv6
//! addresses — is set here over rtnetlink, as `ip` does, in safe code.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use nix::libc;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, recv, send, socket,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tun::Tun;
use tracing::debug;

use super::{Batch, Device, PacketMeta};

/// The transmit queue length [`TunConfig`] sets unless told otherwise. The kernel's default for
/// a TUN is 500 packets; measured here, 1000 lifts a kernel peer's receive rate from about 6 to
/// over 9 Gbit/s, because fewer packets are dropped when the stack reads in bursts.
pub const DEFAULT_TX_QUEUE_LEN: u32 = 1000;

/// How to create and configure a TUN interface.
///
/// The addresses are the *kernel's* side of the link: give the [`Stack`](crate::Stack) other
/// addresses of the same subnets, and the kernel routes them through the interface.
///
/// Defaults: a name the kernel picks (`tun0`, `tun1`...), no address, the kernel's MTU (1500),
/// a transmit queue of [`DEFAULT_TX_QUEUE_LEN`] packets, and the interface brought up.
///
/// # Examples
///
/// ```
/// use net::device::{TunConfig, TunDevice};
/// use net::Stack;
///
/// let config = TunConfig::new()
///     .name("tcpstk0")
///     .ipv4("10.0.0.1".parse().unwrap(), 24)
///     .ipv6("fd00::1".parse().unwrap(), 64)
///     .mtu(1500);
///
/// // Creating the interface needs CAP_NET_ADMIN, so this example only compiles the rest.
/// async fn start(config: &TunConfig) -> std::io::Result<Stack> {
///     let tun = TunDevice::new(config)?;
///     Stack::builder()
///         .address("10.0.0.2".parse().unwrap())
///         .address("fd00::2".parse().unwrap())
///         .build(tun)
/// }
/// # drop(start(&config));
/// ```
#[derive(Clone, Debug)]
pub struct TunConfig {
    name: Option<String>,
    ipv4: Option<(Ipv4Addr, u8)>,
    ipv4_peer: Option<Ipv4Addr>,
    ipv6: Vec<(Ipv6Addr, u8)>,
    mtu: Option<usize>,
    tx_queue_len: u32,
    up: bool,
}

impl Default for TunConfig {
    fn default() -> Self {
        TunConfig {
            name: None,
            ipv4: None,
            ipv4_peer: None,
            ipv6: Vec::new(),
            mtu: None,
            tx_queue_len: DEFAULT_TX_QUEUE_LEN,
            up: true,
        }
    }
}

impl TunConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }

    /// The interface's name (at most 15 bytes); without it the kernel picks `tunN`.
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// The kernel's IPv4 address on the interface and the subnet's prefix length (24 for a
    /// 255.255.255.0 netmask).
    pub fn ipv4(mut self, addr: Ipv4Addr, prefix_len: u8) -> Self {
        self.ipv4 = Some((addr, prefix_len));
        self
    }

    /// Makes the interface point-to-point with `peer` (the stack's address) at the other end.
    pub fn ipv4_peer(mut self, peer: Ipv4Addr) -> Self {
        self.ipv4_peer = Some(peer);
        self
    }

    /// Adds an IPv6 address of the kernel with its prefix length; call again for more. IPv6
    /// needs an MTU of at least 1280.
    pub fn ipv6(mut self, addr: Ipv6Addr, prefix_len: u8) -> Self {
        self.ipv6.push((addr, prefix_len));
        self
    }

    /// The largest IP packet the interface carries.
    pub fn mtu(mut self, mtu: usize) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Packets the kernel queues for the stack before it drops more.
    pub fn tx_queue_len(mut self, len: u32) -> Self {
        self.tx_queue_len = len;
        self
    }

    /// Whether to bring the interface up (the default) or leave it down.
    pub fn up(mut self, up: bool) -> Self {
        self.up = up;
        self
    }
}

/// A TUN interface as a [`Device`]: the packets the kernel routes to it are the stack's input,
/// and the stack's packets enter the kernel's IP layer as if received on it.
///
/// The interface is created in the network namespace of the thread that calls
/// [`TunDevice::new`], and removed when the device is dropped.
///
/// # Examples
///
/// See [`TunConfig`].
pub struct TunDevice {
    tun: Tun,
    name: String,
    index: u32,
    mtu: usize,
    dropped: u64,
}

impl fmt::Debug for TunDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TunDevice")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("mtu", &self.mtu)
            .field("dropped", &self.dropped)
            .finish_non_exhaustive()
    }
}

impl TunDevice {
    /// Creates and configures a TUN interface in the calling thread's network namespace.
    ///
    /// With IPv6 addresses, it blocks until the kernel has installed their routes, which it
    /// does in the background after adding them: a few milliseconds, a second at most.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a name longer than 15 bytes or containing NUL, a prefix length too
    /// long for its family, or an MTU out of range; `PermissionDenied` without CAP_NET_ADMIN;
    /// any error of the kernel configuring the interface (a busy name, IPv6 disabled...).
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime with I/O enabled (the interface registers with its reactor).
    pub fn new(config: &TunConfig) -> io::Result<TunDevice> {
        let mut builder = Tun::builder();
        if let Some(name) = &config.name {
            if name.len() >= libc::IFNAMSIZ || name.contains('\0') {
                return Err(invalid_input("interface name too long or containing NUL"));
            }
            builder = builder.name(name);
        }
        if let Some(mtu) = config.mtu {
            let mtu = i32::try_from(mtu).map_err(|_| invalid_input("MTU out of range"))?;
            builder = builder.mtu(mtu);
        }
        if let Some((addr, prefix_len)) = config.ipv4 {
            builder = builder.address(addr).netmask(ipv4_netmask(prefix_len)?);
        }
        if let Some(peer) = config.ipv4_peer {
            builder = builder.destination(peer);
        }
        if config.ipv6.iter().any(|&(_, prefix_len)| prefix_len > 128) {
            return Err(invalid_input("IPv6 prefix length above 128"));
        }
        if config.up {
            builder = builder.up();
        }
        let tun = builder
            .build()
            .map_err(tun_error)?
            .into_iter()
            .next()
            .ok_or_else(|| io::Error::other("tokio-tun returned no queue"))?;
        let name = tun.name().to_owned();
        let index = tun.index().map_err(tun_error)?;
        set_tx_queue_len(index, config.tx_queue_len)?;
        for &(addr, prefix_len) in &config.ipv6 {
            add_ipv6_address(index, addr, prefix_len)?;
        }
        if config.up {
            wait_for_local_routes(config.ipv6.iter().map(|&(addr, _)| addr))?;
        }
        let mtu = tun.mtu().map_err(tun_error)?;
        let mtu = usize::try_from(mtu).map_err(|_| io::Error::other("negative MTU"))?;
        debug!(%name, index, mtu, "TUN interface up");
        Ok(TunDevice {
            tun,
            name,
            index,
            mtu,
            dropped: 0,
        })
    }

    /// The interface's name, as `ip link` shows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The interface's index (its `ifindex`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Packets the kernel refused (not IPv4 or IPv6, too long, interface down...) and the
    /// device dropped, as a NIC drops what it cannot send.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Writes one packet; `Pending` (with the task registered for writability) when the
    /// kernel's queue is full.
    fn poll_send_one(&mut self, cx: &mut Context<'_>, packet: &[u8]) -> Poll<()> {
        loop {
            let result = match self.tun.try_send(packet) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Registers for writability, or writes if the queue drained meanwhile.
                    match Pin::new(&mut self.tun).poll_write(cx, packet) {
                        Poll::Ready(result) => result,
                        Poll::Pending => return Poll::Pending,
                    }
                }
                result => result,
            };
            match result {
                Ok(_) => return Poll::Ready(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    debug!(error = %e, len = packet.len(), "TUN write refused; packet dropped");
                    self.dropped += 1;
                    return Poll::Ready(());
                }
            }
        }
    }
}

impl Device for TunDevice {
    fn mtu(&self) -> usize {
        self.mtu
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let mut added = false;
        while let Some(spare) = batch.spare() {
            let read = if added {
                match self.tun.try_recv(spare) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    result => result,
                }
            } else {
                // The first packet through readiness, so that the task is woken when one comes.
                let mut buf = ReadBuf::new(spare);
                match Pin::new(&mut self.tun).poll_read(cx, &mut buf) {
                    Poll::Ready(result) => result.map(|()| buf.filled().len()),
                    Poll::Pending => return Poll::Pending,
                }
            };
            match read {
                Ok(0) if !added => return Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into())),
                Ok(0) => break,
                Ok(len) => {
                    batch.commit(len, PacketMeta::default());
                    added = true;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Hand over what was read; the error comes back on the next call.
                Err(_) if added => break,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_send(&mut self, cx: &mut Context<'_>, batch: &mut Batch) -> Poll<io::Result<()>> {
        let mut sent = 0;
        let mut poll = Poll::Ready(Ok(()));
        for (packet, _) in batch.unsent() {
            if self.poll_send_one(cx, packet).is_pending() {
                poll = Poll::Pending;
                break;
            }
            sent += 1;
        }
        batch.mark_sent(sent);
        poll
    }
}

fn invalid_input(msg: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn tun_error(e: tokio_tun::Error) -> io::Error {
    match e {
        tokio_tun::Error::IoError(e) => e,
        tokio_tun::Error::NixError(errno) => errno.into(),
    }
}

/// The netmask of an IPv4 prefix length.
fn ipv4_netmask(prefix_len: u8) -> io::Result<Ipv4Addr> {
    if prefix_len > 32 {
        return Err(invalid_input("IPv4 prefix length above 32"));
    }
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix_len))
        .unwrap_or(0);
    Ok(Ipv4Addr::from(mask))
}

/// rtnetlink, as iproute2 speaks it: the few message parts used here (linux/netlink.h,
/// linux/rtnetlink.h, linux/if_addr.h, linux/if_link.h). Fields are in host byte order.
mod rtnl {
    pub(super) const NLMSG_HDRLEN: usize = 16;
    pub(super) const NLMSG_ERROR: u16 = 2;
    pub(super) const NLM_F_REQUEST: u16 = 0x01;
    pub(super) const NLM_F_ACK: u16 = 0x04;
    pub(super) const NLM_F_EXCL: u16 = 0x200;
    pub(super) const NLM_F_CREATE: u16 = 0x400;
    pub(super) const RTM_SETLINK: u16 = 19;
    pub(super) const RTM_NEWADDR: u16 = 20;
    pub(super) const RTM_NEWROUTE: u16 = 24;
    pub(super) const RTM_GETROUTE: u16 = 26;
    pub(super) const RTA_DST: u16 = 1;
    pub(super) const RTN_LOCAL: u8 = 2;
    pub(super) const IFLA_TXQLEN: u16 = 13;
    pub(super) const IFA_ADDRESS: u16 = 1;
    pub(super) const IFA_FLAGS: u16 = 8;
    pub(super) const IFA_F_NODAD: u32 = 0x02;
}

/// Sets the interface's transmit queue length (`ip link set dev NAME txqueuelen LEN`).
fn set_tx_queue_len(index: u32, len: u32) -> io::Result<()> {
    // struct ifinfomsg: family, padding, type, index, flags, change.
    let mut body = vec![libc::AF_UNSPEC as u8, 0, 0, 0];
    body.extend_from_slice(&index.to_ne_bytes());
    body.extend_from_slice(&[0; 8]);
    push_attr(&mut body, rtnl::IFLA_TXQLEN, &len.to_ne_bytes());
    rtnetlink_ack(rtnl::RTM_SETLINK, 0, &body)
}

/// Adds an IPv6 address to the interface (`ip addr add ADDR/LEN dev NAME nodad`).
///
/// Without duplicate address detection: a TUN has no neighbours to collide with, and an address
/// under detection is "tentative", and binding to it fails with `EADDRNOTAVAIL`, until the
/// kernel's address work runs (the tests hit that before this flag).
fn add_ipv6_address(index: u32, addr: Ipv6Addr, prefix_len: u8) -> io::Result<()> {
    // struct ifaddrmsg: family, prefix length, flags (the old 8-bit field), scope (universe),
    // index.
    let mut body = vec![libc::AF_INET6 as u8, prefix_len, rtnl::IFA_F_NODAD as u8, 0];
    body.extend_from_slice(&index.to_ne_bytes());
    push_attr(&mut body, rtnl::IFA_ADDRESS, &addr.octets());
    push_attr(&mut body, rtnl::IFA_FLAGS, &rtnl::IFA_F_NODAD.to_ne_bytes());
    rtnetlink_ack(
        rtnl::RTM_NEWADDR,
        rtnl::NLM_F_CREATE | rtnl::NLM_F_EXCL,
        &body,
    )
}

/// Appends a route attribute (`struct rtattr` and its data, padded to 4 bytes).
fn push_attr(body: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let len = (4 + data.len()) as u16;
    body.extend_from_slice(&len.to_ne_bytes());
    body.extend_from_slice(&kind.to_ne_bytes());
    body.extend_from_slice(data);
    body.resize(body.len().next_multiple_of(4), 0);
}

/// Waits until the kernel has installed the local route of each IPv6 address, which it does
/// asynchronously, after `add_ipv6_address` returned; until then it drops packets sent to the
/// address (the tests saw a first SYN lost, and TCP's retransmission a second later, in one run
/// in three). It takes a few milliseconds; past a second the device is used anyway.
fn wait_for_local_routes(addrs: impl Iterator<Item = Ipv6Addr>) -> io::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    for addr in addrs {
        while !is_local(addr)? {
            if std::time::Instant::now() > deadline {
                debug!(%addr, "no local route yet; the first packets to it may be lost");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok(())
}

/// Whether the kernel routes `addr` to itself (`ip -6 route get ADDR` says `local`).
fn is_local(addr: Ipv6Addr) -> io::Result<bool> {
    // struct rtmsg: family, destination length, source length, tos, table, protocol, scope,
    // type, flags.
    let mut body = vec![libc::AF_INET6 as u8, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    push_attr(&mut body, rtnl::RTA_DST, &addr.octets());
    let mut reply = [0u8; 1024];
    let (kind, route) = rtnetlink(rtnl::RTM_GETROUTE, 0, &body, &mut reply)?;
    Ok(kind == rtnl::RTM_NEWROUTE && route.get(7) == Some(&rtnl::RTN_LOCAL))
}

/// Sends a request that changes something and checks the kernel's acknowledgement.
fn rtnetlink_ack(kind: u16, flags: u16, body: &[u8]) -> io::Result<()> {
    let mut reply = [0u8; 1024];
    match rtnetlink(kind, flags | rtnl::NLM_F_ACK, body, &mut reply)? {
        (rtnl::NLMSG_ERROR, _) => Ok(()),
        _ => Err(io::Error::other("unexpected rtnetlink reply")),
    }
}

/// Sends one request to the kernel over a route netlink socket, created in the calling thread's
/// network namespace, and returns the type and the payload of the first reply.
///
/// # Errors
///
/// The socket's errors, and the kernel's refusal (an error message, whose first field is
/// -errno; 0 is an acknowledgement, returned as `Ok`).
fn rtnetlink<'a>(
    kind: u16,
    flags: u16,
    body: &[u8],
    reply: &'a mut [u8],
) -> io::Result<(u16, &'a [u8])> {
    let socket = socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_CLOEXEC,
        SockProtocol::NetlinkRoute,
    )?;
    let len = u32::try_from(rtnl::NLMSG_HDRLEN + body.len())
        .map_err(|_| invalid_input("netlink request too long"))?;
    let mut request = Vec::with_capacity(rtnl::NLMSG_HDRLEN + body.len());
    request.extend_from_slice(&len.to_ne_bytes());
    request.extend_from_slice(&kind.to_ne_bytes());
    request.extend_from_slice(&(flags | rtnl::NLM_F_REQUEST).to_ne_bytes());
    // Sequence number and port id: one request per socket, and 0 lets the kernel pick the port.
    request.extend_from_slice(&[0; 8]);
    request.extend_from_slice(body);
    send(socket.as_raw_fd(), &request, MsgFlags::empty())?;
    let len = recv(socket.as_raw_fd(), reply, MsgFlags::empty())?;
    let reply = &reply[..len];
    let kind = reply.get(4..6).map(|b| u16::from_ne_bytes([b[0], b[1]]));
    let payload = reply.get(rtnl::NLMSG_HDRLEN..).unwrap_or_default();
    match kind {
        Some(rtnl::NLMSG_ERROR) => {
            let errno = payload
                .get(..4)
                .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            if errno != 0 {
                return Err(io::Error::from_raw_os_error(-errno));
            }
            Ok((rtnl::NLMSG_ERROR, payload))
        }
        Some(kind) => Ok((kind, payload)),
        None => Err(io::Error::other("truncated rtnetlink reply")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmask_of_prefix() {
        assert_eq!(ipv4_netmask(24).ok(), Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(ipv4_netmask(32).ok(), Some(Ipv4Addr::BROADCAST));
        assert_eq!(ipv4_netmask(0).ok(), Some(Ipv4Addr::UNSPECIFIED));
        assert!(ipv4_netmask(33).is_err());
    }

    #[test]
    fn bad_name_is_refused_before_the_kernel_is_asked() {
        let err = TunDevice::new(&TunConfig::new().name("a-name-longer-than-15")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
}
