//! What every example shares: the TUN flags, the device they describe, the stack on it, and
//! tracing to stderr.
//!
//! Flags: `--tun NAME` (default `tcpstk0`), `--addr IP` (the stack's own address, default
//! 10.200.0.2), `--host IP/PREFIX` (the kernel's side of the TUN, default 10.200.0.1/24),
//! `--mtu N` (default 1500), `--pcap FILE` (record every packet), `-v` (tracing to stderr;
//! `-vv` for every segment). The example creates and configures the TUN device itself, which
//! needs CAP_NET_ADMIN in its network namespace; the device disappears when the example exits.

#![allow(
    dead_code,
    reason = "each example uses the part of this module it needs"
)]

use std::io;
use std::net::IpAddr;

use net::Stack;
use net::device::{Device, PcapTap, TunConfig, TunDevice};

/// The TUN flags, parsed.
#[derive(Clone, Debug)]
pub struct TunFlags {
    pub tun: String,
    pub addr: IpAddr,
    pub host: IpAddr,
    pub prefix: u8,
    pub mtu: usize,
    pub pcap: Option<String>,
    pub verbose: u8,
}

impl Default for TunFlags {
    fn default() -> Self {
        TunFlags {
            tun: "tcpstk0".into(),
            addr: IpAddr::from([10, 200, 0, 2]),
            host: IpAddr::from([10, 200, 0, 1]),
            prefix: 24,
            mtu: 1500,
            pcap: None,
            verbose: 0,
        }
    }
}

/// Splits the command line into the TUN flags and the example's own arguments (returned in
/// order). Exits with a one-line message on a malformed flag.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> (TunFlags, Vec<String>) {
    match try_parse(args) {
        Ok(parsed) => parsed,
        Err(message) => fail(&message),
    }
}

fn try_parse(args: impl IntoIterator<Item = String>) -> Result<(TunFlags, Vec<String>), String> {
    let mut flags = TunFlags::default();
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--tun" => flags.tun = value("--tun")?,
            "--addr" => {
                flags.addr = value("--addr")?
                    .parse()
                    .map_err(|e| format!("--addr: {e}"))?;
            }
            "--host" => {
                let host = value("--host")?;
                let (ip, prefix) = host.split_once('/').ok_or("--host takes IP/PREFIX")?;
                flags.host = ip.parse().map_err(|e| format!("--host: {e}"))?;
                flags.prefix = prefix.parse().map_err(|e| format!("--host prefix: {e}"))?;
            }
            "--mtu" => flags.mtu = value("--mtu")?.parse().map_err(|e| format!("--mtu: {e}"))?,
            "--pcap" => flags.pcap = Some(value("--pcap")?),
            "-v" => flags.verbose += 1,
            "-vv" => flags.verbose += 2,
            _ => rest.push(arg),
        }
    }
    if flags.addr.is_ipv4() != flags.host.is_ipv4() {
        return Err("--addr and --host must be of the same IP family".into());
    }
    Ok((flags, rest))
}

/// Prints `message` as the one line of a failure and exits with status 1.
pub fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}

/// Tracing to stderr at the level the `-v` flags ask for (warnings only by default).
pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "net=debug,fsm=debug",
        _ => "net=trace,fsm=trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .init();
}

/// Creates and configures the TUN device the flags describe (wrapped in a pcap tap with
/// `--pcap`).
///
/// # Errors
///
/// When the device cannot be created (no CAP_NET_ADMIN, the name is taken...).
pub fn tun_device(flags: &TunFlags) -> io::Result<Box<dyn Device>> {
    let mut config = TunConfig::new().name(&flags.tun).mtu(flags.mtu);
    config = match flags.host {
        IpAddr::V4(ip) => config.ipv4(ip, flags.prefix),
        IpAddr::V6(ip) => config.ipv6(ip, flags.prefix),
    };
    let tun = TunDevice::new(&config).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot create TUN device {}: {e} (run as root or with CAP_NET_ADMIN)",
                flags.tun
            ),
        )
    })?;
    Ok(match &flags.pcap {
        Some(path) => Box::new(PcapTap::create(tun, path)?),
        None => Box::new(tun),
    })
}

/// The stack on `device`, answering to `--addr`.
///
/// # Errors
///
/// As [`net::StackBuilder::build`].
pub fn stack(flags: &TunFlags, device: Box<dyn Device>, config: fsm::Config) -> io::Result<Stack> {
    Stack::builder()
        .address(flags.addr)
        .config(config)
        .build(device)
}
