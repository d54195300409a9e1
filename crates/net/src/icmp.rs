//! Echo replies, so that `ping` reaches the stack (RFC 792 for IPv4, RFC 4443 §4 for IPv6).

use wire::{Checksum, IpPacket, IpRepr, PROTO_ICMP, PROTO_ICMPV6};

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// Writes the echo reply to `packet` into `out` if it is an echo request with a valid checksum;
/// returns the reply's length.
pub(crate) fn echo_reply(packet: &IpPacket<'_>, hop_limit: u8, out: &mut [u8]) -> Option<usize> {
    let icmp = packet.payload;
    let (request, reply) = match packet.protocol {
        PROTO_ICMP => (ECHO_REQUEST_V4, ECHO_REPLY_V4),
        PROTO_ICMPV6 => (ECHO_REQUEST_V6, ECHO_REPLY_V6),
        _ => return None,
    };
    if icmp.len() < 8 || icmp[0] != request || icmp[1] != 0 {
        return None;
    }
    let v6 = packet.protocol == PROTO_ICMPV6;
    let mut sum = Checksum::new();
    if v6 {
        sum.add_pseudo_header(
            packet.ip.src,
            packet.ip.dst,
            PROTO_ICMPV6,
            icmp.len() as u32,
        );
    }
    sum.add_bytes(icmp);
    if !sum.is_valid() {
        return None;
    }
    let ip = IpRepr {
        src: packet.ip.dst,
        dst: packet.ip.src,
        hop_limit,
    };
    let header = ip.emit_header(packet.protocol, icmp.len(), out).ok()?;
    let body = out.get_mut(header..header + icmp.len())?;
    body.copy_from_slice(icmp);
    body[0] = reply;
    body[2..4].fill(0);
    let mut sum = Checksum::new();
    if v6 {
        sum.add_pseudo_header(ip.src, ip.dst, PROTO_ICMPV6, icmp.len() as u32);
    }
    sum.add_bytes(body);
    body[2..4].copy_from_slice(&sum.finish().to_be_bytes());
    Some(header + icmp.len())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn request_v4() -> Vec<u8> {
        let ip = IpRepr {
            src: Ipv4Addr::new(10, 0, 0, 1).into(),
            dst: Ipv4Addr::new(10, 0, 0, 2).into(),
            hop_limit: 64,
        };
        let mut icmp = vec![
            ECHO_REQUEST_V4,
            0,
            0,
            0,
            0x12,
            0x34,
            0,
            1,
            b'p',
            b'i',
            b'n',
            b'g',
        ];
        let mut sum = Checksum::new();
        sum.add_bytes(&icmp);
        icmp[2..4].copy_from_slice(&sum.finish().to_be_bytes());
        let mut out = vec![0u8; 20 + icmp.len()];
        ip.emit_header(PROTO_ICMP, icmp.len(), &mut out)
            .expect("fits");
        out[20..].copy_from_slice(&icmp);
        out
    }

    #[test]
    fn echo_request_gets_reply_with_same_id_and_data() {
        let bytes = request_v4();
        let packet = IpPacket::parse(&bytes).expect("valid");
        let mut out = [0u8; 100];
        let len = echo_reply(&packet, 64, &mut out).expect("a reply");
        let reply = IpPacket::parse(&out[..len]).expect("valid IP");
        assert_eq!(reply.ip.src, packet.ip.dst);
        assert_eq!(reply.ip.dst, packet.ip.src);
        assert_eq!(reply.payload[0], ECHO_REPLY_V4);
        assert_eq!(reply.payload[4..], packet.payload[4..]);
        let mut sum = Checksum::new();
        sum.add_bytes(reply.payload);
        assert!(sum.is_valid());
    }

    #[test]
    fn bad_checksum_or_other_type_gets_nothing() {
        let mut bytes = request_v4();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let packet = IpPacket::parse(&bytes).expect("valid IP");
        assert_eq!(echo_reply(&packet, 64, &mut [0u8; 100]), None);
        let mut bytes = request_v4();
        bytes[20] = 13; // timestamp request
        let packet = IpPacket::parse(&bytes).expect("valid IP");
        assert_eq!(echo_reply(&packet, 64, &mut [0u8; 100]), None);
    }
}
