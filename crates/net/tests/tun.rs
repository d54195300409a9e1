//! The TUN device against the Linux kernel's own TCP, IPv4 and IPv6, both directions, in a
//! network namespace each test creates (see `common/netns.rs`). Needs root: CI runs as root.

#[path = "common/netns.rs"]
mod netns;

use std::future::{Future, poll_fn};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::time::Duration;

use net::device::{Batch, Device, PacketMeta, TunConfig, TunDevice};
use net::{Stack, TcpListener, TcpStream};
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, recv, sendto, socket,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

const KERNEL_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const STACK_V4: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const KERNEL_V6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 1);
const STACK_V6: Ipv6Addr = Ipv6Addr::new(0xfd77, 0, 0, 0, 0, 0, 0, 2);
const NAME: &str = "tcpstk0";
const MTU: usize = 1400;

fn config() -> TunConfig {
    TunConfig::new()
        .name(NAME)
        .ipv4(KERNEL_V4, 24)
        .ipv6(KERNEL_V6, 64)
        .mtu(MTU)
}

/// Runs `test` in a fresh network namespace on a current-thread runtime (so that every socket
/// it opens is in that namespace), within a time limit.
fn in_netns<F: Future<Output = ()>>(test: impl FnOnce() -> F + Send) {
    netns::in_new_netns(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), test())
                .await
                .expect("the test timed out");
        });
    });
}

/// The TUN with the kernel at .1 and a stack at .2 on it.
fn start_stack() -> Stack {
    let tun = TunDevice::new(&config()).expect("create the TUN");
    Stack::builder()
        .address(STACK_V4.into())
        .address(STACK_V6.into())
        .build(tun)
        .expect("start the stack")
}

/// `len` bytes that differ from one offset to the next (so a lost or repeated segment shows).
fn pattern(seed: u32, len: usize) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// `a` sends 300 KB and closes its side; `b` checks them, answers 200 KB and closes; `a`
/// checks those.
async fn exchange(
    mut a: impl AsyncRead + AsyncWrite + Unpin,
    mut b: impl AsyncRead + AsyncWrite + Unpin,
) {
    let (to_b, to_a) = (pattern(1, 300_000), pattern(2, 200_000));
    let a_side = async {
        a.write_all(&to_b).await.expect("a writes");
        a.shutdown().await.expect("a shuts down");
        let mut got = Vec::new();
        a.read_to_end(&mut got).await.expect("a reads");
        assert!(got == to_a, "a received {} bytes, not b's", got.len());
    };
    let b_side = async {
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.expect("b reads");
        assert!(got == to_b, "b received {} bytes, not a's", got.len());
        b.write_all(&to_a).await.expect("b writes");
        b.shutdown().await.expect("b shuts down");
    };
    tokio::join!(a_side, b_side);
}

/// The stack connects to a kernel listener at `kernel`.
async fn stack_to_kernel(kernel: IpAddr) {
    let stack = start_stack();
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(kernel, 0))
        .await
        .expect("kernel listens");
    let addr = listener.local_addr().expect("kernel listener address");
    let (client, accepted) = tokio::join!(TcpStream::connect(&stack, addr), listener.accept());
    let client = client.expect("the stack connects to the kernel");
    let (server, peer) = accepted.expect("the kernel accepts");
    assert_eq!(peer, client.local_addr().expect("the stack's address"));
    exchange(client, server).await;
}

/// The kernel connects to a stack listener at `stack_addr`.
async fn kernel_to_stack(stack_addr: IpAddr) {
    let stack = start_stack();
    let listener = TcpListener::bind(&stack, SocketAddr::new(stack_addr, 8080))
        .await
        .expect("the stack listens");
    let (client, accepted) = tokio::join!(
        tokio::net::TcpStream::connect(SocketAddr::new(stack_addr, 8080)),
        listener.accept()
    );
    let client = client.expect("the kernel connects to the stack");
    let (server, peer) = accepted.expect("the stack accepts");
    assert_eq!(peer, client.local_addr().expect("the kernel's address"));
    exchange(client, server).await;
}

#[test]
fn stack_connects_to_the_kernel_over_ipv4() {
    in_netns(|| stack_to_kernel(KERNEL_V4.into()));
}

#[test]
fn stack_connects_to_the_kernel_over_ipv6() {
    in_netns(|| stack_to_kernel(KERNEL_V6.into()));
}

#[test]
fn kernel_connects_to_the_stack_over_ipv4() {
    in_netns(|| kernel_to_stack(STACK_V4.into()));
}

#[test]
fn kernel_connects_to_the_stack_over_ipv6() {
    in_netns(|| kernel_to_stack(STACK_V6.into()));
}

/// The value following `key` in `ip -o` output.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let mut words = line
        .split(|c: char| c.is_whitespace() || c == '\\')
        .filter(|w| !w.is_empty());
    words.find(|&w| w == key);
    words
        .next()
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

#[test]
fn the_interface_takes_its_configuration() {
    // Read back through iproute2 (netlink), not through the ioctls that set the values. `ip`
    // runs as a child of the namespace's thread, so it sees that namespace; /sys/class/net
    // would show the machine's namespace instead.
    in_netns(|| async {
        let tun = TunDevice::new(&config()).expect("create the TUN");
        assert_eq!(tun.name(), NAME);
        let link = netns::ip(&["-o", "link", "show", "dev", NAME]);
        assert_eq!(link.split(':').next(), Some(&*tun.index().to_string()));
        assert_eq!(field(&link, "mtu"), MTU.to_string());
        assert_eq!(
            field(&link, "qlen"),
            "1000",
            "TunConfig's default, not the kernel's 500"
        );
        assert!(link.contains(",UP,") || link.contains("<UP,"), "{link}");
        let addrs = netns::ip(&["-o", "addr", "show", "dev", NAME]);
        assert!(addrs.contains("inet 10.77.0.1/24"), "{addrs}");
        assert!(addrs.contains("inet6 fd77::1/64"), "{addrs}");
        drop(tun);
        assert!(
            !netns::ip(&["-o", "link"]).contains(NAME),
            "the interface goes with the device"
        );

        let tun = TunDevice::new(&TunConfig::new().tx_queue_len(2345).up(false)).expect("TUN");
        let link = netns::ip(&["-o", "link", "show", "dev", tun.name()]);
        assert_eq!(field(&link, "qlen"), "2345");
        assert!(link.contains("state DOWN"), "{link}");
    });
}

#[test]
fn kernel_pings_the_stack() {
    in_netns(|| async {
        let stack = start_stack();
        // A raw ICMP socket (root): the kernel adds the IP header and hands back whole packets.
        let raw = socket(
            AddressFamily::Inet,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::Icmp,
        )
        .expect("raw ICMP socket");
        let mut request = *b"\x08\x00\x00\x00\x12\x34\x00\x01tcpstk ping payload";
        let mut sum = wire::Checksum::new();
        sum.add_bytes(&request);
        request[2..4].copy_from_slice(&sum.finish().to_be_bytes());
        let to = SockaddrIn::from(SocketAddrV4::new(STACK_V4, 0));
        sendto(raw.as_raw_fd(), &request, &to, MsgFlags::empty()).expect("send the echo request");

        // Polled: the socket is non-blocking, and the stack runs on this thread meanwhile.
        let mut buf = [0u8; 1500];
        let reply = loop {
            match recv(raw.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                // The socket sees every ICMP packet of the namespace, the request included.
                Ok(len) if buf[..len].get(20) == Some(&0) => break &buf[..len],
                Ok(_) | Err(Errno::EAGAIN) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => panic!("receive: {e}"),
            }
        };
        assert_eq!(reply[12..16], STACK_V4.octets(), "from the stack");
        assert_eq!(reply[20..22], [0, 0], "an echo reply");
        assert_eq!(
            reply[24..],
            request[4..],
            "same identifier, sequence and payload"
        );
        assert_eq!(stack.counters().echo_replies, 1);
    });
}

/// An IPv4 echo request from the stack's address to the kernel's, checksums filled.
fn echo_request_v4() -> Vec<u8> {
    let mut icmp = *b"\x08\x00\x00\x00\x43\x21\x00\x07device-level ping";
    let mut sum = wire::Checksum::new();
    sum.add_bytes(&icmp);
    icmp[2..4].copy_from_slice(&sum.finish().to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut packet = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    packet[2..4].copy_from_slice(&total.to_be_bytes());
    packet.extend_from_slice(&STACK_V4.octets());
    packet.extend_from_slice(&KERNEL_V4.octets());
    let mut sum = wire::Checksum::new();
    sum.add_bytes(&packet);
    packet[10..12].copy_from_slice(&sum.finish().to_be_bytes());
    packet.extend_from_slice(&icmp);
    packet
}

#[test]
fn the_device_moves_packets_and_drops_what_the_kernel_refuses() {
    in_netns(|| async {
        let mut tun = TunDevice::new(&config()).expect("create the TUN");
        let mut batch = Batch::new(4, MTU);
        // Not IP: the kernel refuses it (EINVAL); the device drops it and goes on.
        assert!(batch.push(&[0u8; 40], PacketMeta::default()));
        let request = echo_request_v4();
        assert!(batch.push(&request, PacketMeta::default()));
        poll_fn(|cx| tun.poll_send(cx, &mut batch))
            .await
            .expect("send");
        assert!(batch.all_sent());
        assert_eq!(tun.dropped(), 1);

        // The kernel answers the echo request; skip what else it sends (IPv6 router
        // solicitations and the like).
        let mut rx = Batch::new(64, MTU);
        loop {
            poll_fn(|cx| tun.poll_recv(cx, &mut rx))
                .await
                .expect("receive");
            let reply = rx
                .iter()
                .map(|(p, _)| p)
                .find(|p| p[0] == 0x45 && p[9] == 1);
            if let Some(reply) = reply {
                assert_eq!(reply[12..16], KERNEL_V4.octets());
                assert_eq!(reply[16..20], STACK_V4.octets());
                assert_eq!(reply[20], 0, "echo reply");
                assert_eq!(
                    reply[24..],
                    request[24..],
                    "identifier, sequence and payload"
                );
                break;
            }
            rx.clear();
        }
    });
}
