//! Random packet loss with nftables, in the test's namespace only: `nft` runs as a child of the
//! namespace's thread, so its rules live in that namespace and vanish with it.
//!
//! The loss is applied to *forwarded* packets, between a peer namespace (`common/peer.rs`) and
//! the TUN, not on the kernel's own output. A drop in the output (or postrouting, or egress)
//! hook of a locally sending socket is not a loss: the verdict travels back up to
//! `tcp_transmit_skb` as an error, and the kernel's TCP keeps the segment and sends it again
//! moments later, a delay the wire never shows. Measured here with `numgen random mod 100 < 3
//! drop` on the output hook, 16 MiB toward the stack: nftables counted 356 drops, the stack
//! saw 8 holes in the sequence space. A router's drop, on the forward hook, is invisible to
//! the sender, as on a real path.
//!
//! Include it with `#[path = "common/nft.rs"] mod nft;` beside `ns` (which it uses).

use crate::ns;

/// The table the rules live in.
const TABLE: &str = "tcpstk_loss";

/// Drops `percent` % of the packets forwarded into `interface` (chain `to_stack`) and,
/// independently, of those forwarded from it (chain `from_stack`), each drawn at random by
/// `numgen`, and counts the drops.
pub fn random_loss(interface: &str, percent: u32) {
    ns::nft(&format!(
        "table inet {TABLE} {{
            chain to_stack {{
                type filter hook forward priority 0; policy accept;
                oifname \"{interface}\" numgen random mod 100 < {percent} counter drop
            }}
            chain from_stack {{
                type filter hook forward priority 0; policy accept;
                iifname \"{interface}\" numgen random mod 100 < {percent} counter drop
            }}
        }}"
    ));
}

/// Packets the chain `to_stack` or `from_stack` has dropped so far.
pub fn dropped(chain: &str) -> u64 {
    let listing = ns::tool("nft", "nftables", &["list", "chain", "inet", TABLE, chain]);
    let mut words = listing.split_whitespace();
    words.find(|&w| w == "packets");
    words
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no counter in {listing}"))
}
