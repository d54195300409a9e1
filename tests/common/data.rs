//! Test data: reproducible byte streams of any length, and their digests (length and XXH3-128),
//! so that hundreds of MiB are checked without being kept.
//!
//! Include it with `#[path = "common/data.rs"] mod data;`.
#![allow(
    dead_code,
    reason = "each test file uses the part of this module it needs"
)]

use std::fmt;
use std::io;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use xxhash_rust::xxh3::Xxh3;

/// The size of the writes and reads of [`send`] and [`receive`].
const CHUNK: usize = 64 * 1024;

/// A byte stream determined by its seed: byte `i` is byte `i % 8` of a 64-bit mix of the seed
/// and `i / 8`, so a lost, repeated or reordered segment changes the digest, and the bytes do
/// not depend on how the stream is cut into chunks.
#[derive(Clone, Debug)]
pub struct Pattern {
    seed: u64,
    pos: u64,
}

impl Pattern {
    /// The stream of `seed`, from its start.
    pub fn new(seed: u64) -> Self {
        Pattern { seed, pos: 0 }
    }

    /// Fills `buf` with the next bytes of the stream.
    pub fn fill(&mut self, buf: &mut [u8]) {
        let mut i = 0;
        while i < buf.len() {
            let word = mix(self.seed, self.pos / 8).to_le_bytes();
            let offset = (self.pos % 8) as usize;
            let n = (8 - offset).min(buf.len() - i);
            buf[i..i + n].copy_from_slice(&word[offset..offset + n]);
            i += n;
            self.pos += n as u64;
        }
    }
}

/// SplitMix64's finalizer over the seed and a word index.
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(index.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The first `len` bytes of the stream of `seed`.
pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    Pattern::new(seed).fill(&mut buf);
    buf
}

/// The length and XXH3-128 hash of a byte stream.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    pub len: u64,
    pub hash: u128,
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bytes, xxh3-128 {:032x}", self.len, self.hash)
    }
}

/// Accumulates a [`Digest`].
#[derive(Clone, Default)]
pub struct Hasher {
    len: u64,
    hash: Xxh3,
}

impl Hasher {
    pub fn update(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        self.hash.update(data);
    }

    pub fn digest(&self) -> Digest {
        Digest {
            len: self.len,
            hash: self.hash.digest128(),
        }
    }
}

/// The digest of `bytes`.
pub fn digest(bytes: &[u8]) -> Digest {
    let mut hasher = Hasher::default();
    hasher.update(bytes);
    hasher.digest()
}

/// The digest of the first `len` bytes of the stream of `seed`, computed without I/O.
pub fn expected(seed: u64, len: u64) -> Digest {
    let mut pattern = Pattern::new(seed);
    let mut hasher = Hasher::default();
    let mut buf = vec![0; CHUNK];
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        pattern.fill(&mut buf[..n]);
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    hasher.digest()
}

/// Writes the first `len` bytes of the stream of `seed` (without shutting down) and returns
/// their digest.
///
/// # Errors
///
/// The writer's.
pub async fn send<W: AsyncWrite + Unpin>(
    writer: &mut W,
    seed: u64,
    len: u64,
) -> io::Result<Digest> {
    let mut pattern = Pattern::new(seed);
    let mut hasher = Hasher::default();
    let mut buf = vec![0; CHUNK];
    let mut left = len;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        pattern.fill(&mut buf[..n]);
        writer.write_all(&buf[..n]).await?;
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    writer.flush().await?;
    Ok(hasher.digest())
}

/// Reads until the end of the stream and returns the digest of what was read.
///
/// # Errors
///
/// The reader's (what was read before the error is lost: use [`receive_into`] to keep it).
pub async fn receive<R: AsyncRead + Unpin>(reader: &mut R) -> io::Result<Digest> {
    let mut hasher = Hasher::default();
    receive_into(reader, &mut hasher).await?;
    Ok(hasher.digest())
}

/// Reads until the end of the stream into `hasher`.
///
/// # Errors
///
/// The reader's; `hasher` then holds what was read before it.
pub async fn receive_into<R: AsyncRead + Unpin>(
    reader: &mut R,
    hasher: &mut Hasher,
) -> io::Result<()> {
    let mut buf = vec![0; CHUNK];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        hasher.update(&buf[..n]);
    }
}
