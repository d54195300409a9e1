//! The fixed byte pattern the load examples send, so that the receiving end can check what it got
//! without being told.
//!
//! Byte `i` of a stream (counting from 0) is `(i % 251) as u8`. 251 is prime, so the pattern
//! does not line up with any power-of-two buffer or segment size, and a lost, duplicated or
//! reordered run of bytes shows in the data. To produce the first `N` bytes elsewhere:
//!
//! ```sh
//! python3 -c "import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(10000000)))" | sha256sum
//! ```
//!
//! Chunks are borrowed from one static table, so streaming any amount allocates nothing.

#![allow(
    dead_code,
    reason = "each example uses the part of this module it needs"
)]

/// The pattern's period.
pub const PERIOD: usize = 251;

/// The longest run [`chunk`] returns.
pub const CHUNK: usize = 64 * 1024;

/// `CHUNK + PERIOD` bytes of the pattern from offset 0: any run of up to `CHUNK` bytes starts
/// within the first period.
static TABLE: [u8; CHUNK + PERIOD] = table();

const fn table() -> [u8; CHUNK + PERIOD] {
    let mut table = [0u8; CHUNK + PERIOD];
    let mut i = 0;
    while i < table.len() {
        table[i] = (i % PERIOD) as u8;
        i += 1;
    }
    table
}

/// The pattern's bytes from stream offset `offset`: `len` of them, or [`CHUNK`] when `len` is
/// larger.
pub fn chunk(offset: u64, len: usize) -> &'static [u8] {
    let start = (offset % PERIOD as u64) as usize;
    &TABLE[start..start + len.min(CHUNK)]
}

/// Fills `dst` with the pattern's bytes from stream offset `offset`.
pub fn fill(dst: &mut [u8], offset: u64) {
    let mut at = offset;
    for part in dst.chunks_mut(CHUNK) {
        part.copy_from_slice(chunk(at, part.len()));
        at += part.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(offset: u64, len: usize) -> Vec<u8> {
        (offset..offset + len as u64)
            .map(|i| (i % 251) as u8)
            .collect()
    }

    #[test]
    fn chunk_matches_the_definition_at_any_offset() {
        for offset in [
            0,
            1,
            250,
            251,
            252,
            65_536,
            1 << 40,
            u64::MAX - CHUNK as u64,
        ] {
            assert_eq!(chunk(offset, 1000), naive(offset, 1000), "offset {offset}");
        }
        assert_eq!(chunk(7, CHUNK), naive(7, CHUNK));
    }

    #[test]
    fn chunk_is_capped_at_chunk_bytes() {
        assert_eq!(chunk(3, CHUNK + 1).len(), CHUNK);
        assert!(chunk(3, 0).is_empty());
    }

    #[test]
    fn fill_spans_several_chunks() {
        let mut buf = vec![0u8; 3 * CHUNK + 17];
        fill(&mut buf, 1234);
        assert_eq!(buf, naive(1234, buf.len()));
    }
}
