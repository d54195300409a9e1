#!/usr/bin/env bash
# ==============================================================================================
#
#   !!!  THIS SCRIPT CHANGES THE ROOT NETWORK NAMESPACE OF THIS MACHINE  !!!
#
#   It is the one thing in this repository that touches the host's own networking, and it does
#   so only when you run it, as root, on purpose. Nothing else (no test, no example, no CI job)
#   runs it. Read it before running it.
#
#   What it does, and all it does:
#     1. turns on IPv4 forwarding (net.ipv4.ip_forward = 1), remembering whether it was off;
#     2. adds its own nftables table, `ip tcpstk_nat`, with one rule: masquerade packets from
#        the TUN subnet (default 10.200.0.0/24) leaving through the outgoing interface (default:
#        the interface of the default route).
#   `--undo` deletes that table and, if this script turned forwarding on, turns it off again.
#   Both changes are runtime only: a reboot also undoes them.
#
# ==============================================================================================
#
# Why: the examples put the stack behind a TUN device (`tcpstk0`, the kernel at 10.200.0.1, the
# stack at 10.200.0.2). For the stack to reach the internet (e.g. `examples/http_get` fetching a
# real web site), the kernel must forward the stack's packets and rewrite their private source
# address to its own, as a home router does.
#
# Usage (as root):
#   scripts/enable-internet.sh [--subnet CIDR] [--dry-run] [OUT_INTERFACE]
#   scripts/enable-internet.sh --undo [--dry-run]
#
#   --subnet CIDR   the TUN subnet to masquerade (default 10.200.0.0/24, the examples' default)
#   --dry-run       print what would be done, change nothing (needs no root)
#   OUT_INTERFACE   where the traffic leaves (default: the device of the IPv4 default route)
#
# Then run the example in the root namespace (the TUN must live in the namespace this script
# configures), e.g.:
#   sudo target/release/examples/http_get http://example.com/
#
# Caveats:
#   - A firewall that drops forwarded packets (Docker sets the iptables FORWARD policy to DROP;
#     firewalld and ufw may too) still drops them: an accept in our table cannot override a drop
#     in another one. Allow 10.200.0.0/24 in that firewall (for Docker:
#     `iptables -I DOCKER-USER -s 10.200.0.0/24 -j ACCEPT` and the same with `-d`), and
#     remove that rule yourself afterwards.
#   - `--undo` turns forwarding off only if this script turned it on (recorded in
#     /run/tcpstk-enable-internet.state); if something else (Docker, a VPN) has started to rely
#     on forwarding since, keep it on: run `--undo` only when nothing else needs it, or delete
#     the state file first to leave forwarding as it is.
#   - IPv4 only.

set -euo pipefail

readonly TABLE="tcpstk_nat"
readonly STATE="/run/tcpstk-enable-internet.state"
readonly FORWARD="/proc/sys/net/ipv4/ip_forward"

subnet="10.200.0.0/24"
out_if=""
undo=0
dry_run=0

die() {
    echo "enable-internet: error: $*" >&2
    exit 1
}

say() {
    echo "enable-internet: $*"
}

usage() {
    sed -n '/^# Usage/,/^#   OUT_INTERFACE/p' "$0" | sed 's/^# \{0,1\}//'
}

parse_args() {
    while [ $# -gt 0 ]; do
        case "$1" in
            --undo) undo=1 ;;
            --dry-run | -n) dry_run=1 ;;
            --subnet)
                [ $# -ge 2 ] || die "--subnet needs a value"
                subnet="$2"
                shift
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            -*) die "unknown option $1 (see --help)" ;;
            *)
                [ -z "$out_if" ] || die "one outgoing interface only (see --help)"
                out_if="$1"
                ;;
        esac
        shift
    done
    [[ "$subnet" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$ ]] ||
        die "--subnet takes an IPv4 CIDR such as 10.200.0.0/24, not '$subnet'"
    [[ -z "$out_if" || "$out_if" =~ ^[A-Za-z0-9_.@-]{1,15}$ ]] ||
        die "'$out_if' is not an interface name"
}

# Runs a command, or only prints it with --dry-run.
run() {
    if [ "$dry_run" -eq 1 ]; then
        echo "would run: $*"
    else
        "$@"
    fi
}

check_tools() {
    command -v ip >/dev/null || die "'ip' not found (install iproute2)"
    if [ "$dry_run" -eq 0 ]; then
        [ "$(id -u)" -eq 0 ] || die "run as root (this changes the root namespace; see the header)"
        command -v nft >/dev/null || die "'nft' not found (install nftables)"
    fi
}

# The device of the IPv4 default route.
default_interface() {
    ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

table_exists() {
    command -v nft >/dev/null && nft list table ip "$TABLE" >/dev/null 2>&1
}

enable_forwarding() {
    local before
    before="$(cat "$FORWARD")"
    if [ "$before" = "1" ]; then
        say "IPv4 forwarding already on; left as it is"
        return
    fi
    if [ ! -e "$STATE" ]; then
        run sh -c "echo 'ip_forward_was=0' > '$STATE'"
    fi
    run sh -c "echo 1 > '$FORWARD'"
    say "IPv4 forwarding turned on (was off; --undo turns it off again)"
}

add_table() {
    local ruleset
    ruleset="$(
        cat <<EOF
table ip $TABLE {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr $subnet oifname "$out_if" masquerade comment "tcpstk: scripts/enable-internet.sh"
    }
}
EOF
    )"
    # Replace an earlier run's table rather than stacking a second rule.
    if table_exists; then
        run nft delete table ip "$TABLE"
    fi
    if [ "$dry_run" -eq 1 ]; then
        echo "would load into nft:"
        echo "$ruleset"
    else
        echo "$ruleset" | nft -f -
    fi
    say "nftables table 'ip $TABLE' added: masquerade $subnet out of $out_if"
}

do_enable() {
    if [ -z "$out_if" ]; then
        out_if="$(default_interface)"
        [ -n "$out_if" ] || die "no IPv4 default route; give the outgoing interface as an argument"
    fi
    ip link show dev "$out_if" >/dev/null 2>&1 || die "no interface named '$out_if'"
    say "THIS CHANGES THE ROOT NETWORK NAMESPACE (undo with: $0 --undo)"
    enable_forwarding
    add_table
    say "done; the stack at 10.200.0.2 (by default) now reaches the internet through $out_if"
}

do_undo() {
    if table_exists; then
        run nft delete table ip "$TABLE"
        say "nftables table 'ip $TABLE' deleted"
    else
        say "no nftables table 'ip $TABLE': nothing to delete"
    fi
    if [ -e "$STATE" ] && grep -qx 'ip_forward_was=0' "$STATE"; then
        run sh -c "echo 0 > '$FORWARD'"
        run rm -f "$STATE"
        say "IPv4 forwarding turned off again (this script had turned it on)"
    else
        say "IPv4 forwarding left as it is (this script did not turn it on)"
    fi
}

main() {
    parse_args "$@"
    check_tools
    if [ "$undo" -eq 1 ]; then
        do_undo
    else
        do_enable
    fi
}

main "$@"
