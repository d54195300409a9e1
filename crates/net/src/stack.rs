//! The [`Stack`] handle and its builder, which spawns the driver task.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use fsm::{Config, Endpoint};
use tokio::sync::{Notify, watch};

use crate::device::Device;
use crate::driver;
use crate::shared::{Counters, Inner, Shared};

/// A userspace TCP/IP stack: one driver task that owns a packet device and every connection.
///
/// `Stack` is a cheap handle (clone it freely); sockets are created from it with
/// [`TcpListener::bind`](crate::TcpListener::bind) and
/// [`TcpStream::connect`](crate::TcpStream::connect). The driver runs while any handle — the
/// stack or a socket made from it — is alive; when the last one goes, it sends what the
/// closing sockets queued (their FIN or RST) and stops.
///
/// # Examples
///
/// Two stacks joined by an in-memory link, one serving, one connecting:
///
/// ```
/// use net::{Stack, TcpListener, TcpStream, device::MemDevice};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let (a, b) = MemDevice::pair(1500);
/// let server = Stack::builder().address("10.0.0.1".parse().unwrap()).build(a)?;
/// let client = Stack::builder().address("10.0.0.2".parse().unwrap()).build(b)?;
///
/// let listener = TcpListener::bind(&server, "10.0.0.1:80".parse().unwrap()).await?;
/// tokio::spawn(async move {
///     let (mut stream, _) = listener.accept().await?;
///     stream.write_all(b"hello").await?;
///     stream.shutdown().await
/// });
///
/// let mut stream = TcpStream::connect(&client, "10.0.0.1:80".parse().unwrap()).await?;
/// let mut reply = String::new();
/// stream.read_to_string(&mut reply).await?;
/// assert_eq!(reply, "hello");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Stack {
    pub(crate) shared: Arc<Shared>,
    _alive: Arc<Alive>,
}

/// Stops the driver when the last handle goes.
struct Alive(watch::Sender<()>);

impl Drop for Alive {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

impl fmt::Debug for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.shared.lock();
        f.debug_struct("Stack")
            .field("addrs", &inner.addrs)
            .field("connections", &inner.endpoint.connection_count())
            .finish()
    }
}

impl Stack {
    /// A builder with the default configuration and no address yet.
    pub fn builder() -> StackBuilder {
        StackBuilder::default()
    }

    /// The stack's addresses.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.shared.lock().addrs.clone()
    }

    /// Stack-wide counters.
    pub fn counters(&self) -> Counters {
        let inner = self.shared.lock();
        Counters {
            open_handles: inner.conns.len() as u64,
            ..inner.counters
        }
    }

    /// Connections the engine holds (any state but compact TIME-WAIT).
    pub fn connection_count(&self) -> usize {
        self.shared.lock().endpoint.connection_count()
    }

    /// Compact TIME-WAIT entries.
    pub fn time_wait_count(&self) -> usize {
        self.shared.lock().endpoint.time_wait_count()
    }
}

/// Configures and builds a [`Stack`].
#[derive(Debug, Default)]
pub struct StackBuilder {
    config: Config,
    addrs: Vec<IpAddr>,
    seed: Option<[u8; 32]>,
}

impl StackBuilder {
    /// Adds an address the stack answers to (IPv4 or IPv6; add one of each for both).
    pub fn address(mut self, addr: IpAddr) -> Self {
        self.addrs.push(addr);
        self
    }

    /// The engine's configuration (buffer sizes, MSS, MSL, RTO bounds, limits...).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// A fixed seed for ISNs and ephemeral ports, for reproducible tests. Without it the stack
    /// seeds itself from the operating system's randomness (through std's hasher keys).
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Spawns the driver on the current Tokio runtime and returns the handle.
    ///
    /// # Errors
    ///
    /// `InvalidInput` without any address, or when the device's MTU cannot carry the
    /// configured MSS.
    ///
    /// # Panics
    ///
    /// Outside a Tokio runtime.
    pub fn build<D: Device>(self, device: D) -> io::Result<Stack> {
        if self.addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a stack needs an address",
            ));
        }
        let mut config = self.config;
        let mss_room = device
            .mtu()
            .saturating_sub(wire::IPV4_HEADER_LEN + wire::TCP_HEADER_LEN);
        let mss_room = u16::try_from(mss_room).unwrap_or(u16::MAX);
        if mss_room < 64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "device MTU too small",
            ));
        }
        config.mss = config.mss.min(mss_room);
        let seed = self.seed.unwrap_or_else(random_seed);
        let (stop_tx, stop_rx) = watch::channel(());
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                endpoint: Endpoint::new(config, seed),
                addrs: self.addrs,
                conns: HashMap::new(),
                listeners: HashMap::new(),
                counters: Counters::default(),
                driver_gone: false,
            }),
            wake_driver: Notify::new(),
            epoch: tokio::time::Instant::now(),
        });
        tokio::spawn(driver::run(shared.clone(), device, stop_rx));
        Ok(Stack {
            shared,
            _alive: Arc::new(Alive(stop_tx)),
        })
    }
}

/// 32 bytes from the OS's randomness, through std's `RandomState` keys (no extra dependency).
fn random_seed() -> [u8; 32] {
    use std::hash::{BuildHasher, Hasher};
    let mut seed = [0u8; 32];
    for (i, chunk) in seed.chunks_mut(8).enumerate() {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_usize(i);
        chunk.copy_from_slice(&hasher.finish().to_ne_bytes());
    }
    seed
}
