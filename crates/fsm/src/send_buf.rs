//! The send buffer: bytes the user wrote that the peer has not acknowledged yet.
//!
//! Bytes are addressed by `u64` stream offsets (byte 0 of the stream is offset 0; the connection
//! maps it to ISS+1). The buffer holds `[start, end)`: `[start, snd.nxt)` is in flight and
//! `[snd.nxt, end)` is unsent, where `snd.nxt` is the connection's business. The ring is
//! allocated in [`SendBuf::new`] and grows only when the connection says so ([`SendBuf::grow`],
//! with the congestion window), so a full buffer refuses writes.

use core::fmt;

/// A ring of written, unacknowledged bytes indexed by stream offset.
pub(crate) struct SendBuf {
    /// The ring; its length is the capacity.
    buf: Box<[u8]>,
    /// Ring index of the byte at offset `start`.
    head: usize,
    /// Offset of the oldest unacknowledged byte.
    start: u64,
    /// Bytes held, from `start` on.
    len: usize,
}

impl SendBuf {
    /// An empty buffer holding at most `capacity` bytes, starting at offset 0.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            buf: vec![0; capacity].into_boxed_slice(),
            head: 0,
            start: 0,
            len: 0,
        }
    }

    /// Appends as much of `data` as fits and returns how many bytes were taken (0 when full).
    pub(crate) fn write(&mut self, data: &[u8]) -> usize {
        let n = data.len().min(self.free());
        let tail = self.index(self.len);
        let first = n.min(self.buf.len() - tail);
        self.buf[tail..tail + first].copy_from_slice(&data[..first]);
        self.buf[..n - first].copy_from_slice(&data[first..n]);
        self.len += n;
        n
    }

    /// The most bytes the buffer can hold.
    pub(crate) fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// Reallocates the ring to hold `capacity` bytes, keeping every held byte (unacknowledged
    /// and unsent) at its stream offset. A `capacity` not above the current one changes
    /// nothing: the buffer never shrinks.
    pub(crate) fn grow(&mut self, capacity: usize) {
        if capacity <= self.buf.len() {
            return;
        }
        let mut buf = vec![0; capacity].into_boxed_slice();
        let first = self.len.min(self.buf.len() - self.head);
        buf[..first].copy_from_slice(&self.buf[self.head..self.head + first]);
        buf[first..self.len].copy_from_slice(&self.buf[..self.len - first]);
        self.buf = buf;
        self.head = 0;
    }

    /// Bytes held: unacknowledged plus unsent.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Room left for [`SendBuf::write`].
    pub(crate) fn free(&self) -> usize {
        self.buf.len() - self.len
    }

    /// Whether no byte is held (everything written was acknowledged).
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Offset of the first held byte: the oldest unacknowledged one.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// Offset just past the last written byte.
    pub(crate) fn end(&self) -> u64 {
        self.start + self.len as u64
    }

    /// The longest contiguous run of held bytes from `offset`, at most `max_len` long.
    ///
    /// It may stop short at the ring's wrap: call again at `offset + chunk.len()` for the rest.
    /// Empty when `offset` is `end()` or outside `[start(), end()]`.
    pub(crate) fn chunk(&self, offset: u64, max_len: usize) -> &[u8] {
        let Some(delta) = self.delta(offset) else {
            return &[];
        };
        let at = self.index(delta);
        let n = (self.len - delta).min(max_len).min(self.buf.len() - at);
        &self.buf[at..at + n]
    }

    /// Copies up to `dst.len()` held bytes from `offset` into `dst`, across the ring's wrap, and
    /// returns how many were copied (0 when `offset` is outside `[start(), end())`).
    #[cfg(test)]
    pub(crate) fn copy_out(&self, offset: u64, dst: &mut [u8]) -> usize {
        let first = self.chunk(offset, dst.len());
        let n = first.len();
        dst[..n].copy_from_slice(first);
        let second = self.chunk(offset + n as u64, dst.len() - n);
        dst[n..n + second.len()].copy_from_slice(second);
        n + second.len()
    }

    /// Releases every byte before `offset` (clamped to `[start(), end()]`), making room for
    /// writes. This is where `snd.una` advances.
    pub(crate) fn ack_to(&mut self, offset: u64) {
        // At most `len`, so the conversion is lossless.
        let acked = (offset.clamp(self.start, self.end()) - self.start) as usize;
        self.head = self.index(acked);
        self.start += acked as u64;
        self.len -= acked;
    }

    /// `offset - start` when `offset` lies in `[start, end]`.
    fn delta(&self, offset: u64) -> Option<usize> {
        let delta = usize::try_from(offset.checked_sub(self.start)?).ok()?;
        (delta <= self.len).then_some(delta)
    }

    /// Ring index of the byte `delta` bytes past `start` (`delta <= capacity`).
    fn index(&self, delta: usize) -> usize {
        let i = self.head + delta;
        if i >= self.buf.len() {
            i - self.buf.len()
        } else {
            i
        }
    }
}

impl fmt::Debug for SendBuf {
    // The held bytes are left out: a connection's Debug output should not dump its buffer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBuf")
            .field("start", &self.start)
            .field("end", &self.end())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    /// All held bytes from `offset` on, gathered chunk by chunk.
    fn gather(buf: &SendBuf, mut offset: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let chunk = buf.chunk(offset, usize::MAX);
            if chunk.is_empty() {
                return out;
            }
            out.extend_from_slice(chunk);
            offset += chunk.len() as u64;
        }
    }

    #[test]
    fn new_buffer_is_empty_at_offset_zero() {
        let buf = SendBuf::new(8);
        assert_eq!(buf.capacity(), 8);
        assert_eq!(buf.len(), 0);
        assert_eq!(buf.free(), 8);
        assert!(buf.is_empty());
        assert_eq!((buf.start(), buf.end()), (0, 0));
    }

    #[test]
    fn write_appends_and_advances_end() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abc"), 3);
        assert_eq!(buf.write(b"de"), 2);
        assert_eq!(
            (buf.start(), buf.end(), buf.len(), buf.free()),
            (0, 5, 5, 3)
        );
        assert!(!buf.is_empty());
        assert_eq!(gather(&buf, 0), b"abcde");
    }

    #[test]
    fn write_takes_only_what_fits() {
        let mut buf = SendBuf::new(4);
        assert_eq!(buf.write(b"abcdef"), 4);
        assert_eq!(buf.free(), 0);
        assert_eq!(gather(&buf, 0), b"abcd");
    }

    #[test]
    fn full_buffer_refuses_writes() {
        let mut buf = SendBuf::new(4);
        assert_eq!(buf.write(b"abcd"), 4);
        assert_eq!(buf.write(b"e"), 0);
        assert_eq!(buf.end(), 4);
        buf.ack_to(1);
        assert_eq!(buf.write(b"ef"), 1);
        assert_eq!(gather(&buf, 1), b"bcde");
    }

    #[test]
    fn empty_write_changes_nothing() {
        let mut buf = SendBuf::new(4);
        assert_eq!(buf.write(b""), 0);
        assert_eq!(buf.end(), 0);
    }

    #[test]
    fn zero_capacity_buffer_holds_nothing() {
        let mut buf = SendBuf::new(0);
        assert_eq!(buf.write(b"a"), 0);
        assert!(buf.chunk(0, 10).is_empty());
        assert_eq!(buf.copy_out(0, &mut [0; 4]), 0);
        buf.ack_to(5);
        assert_eq!((buf.start(), buf.end()), (0, 0));
    }

    #[test]
    fn ack_to_releases_bytes_and_frees_space() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abcdef"), 6);
        buf.ack_to(4);
        assert_eq!(
            (buf.start(), buf.end(), buf.len(), buf.free()),
            (4, 6, 2, 6)
        );
        assert_eq!(gather(&buf, 4), b"ef");
        buf.ack_to(6);
        assert!(buf.is_empty());
        assert_eq!((buf.start(), buf.end()), (6, 6));
    }

    #[test]
    fn ack_to_clamps_to_held_range() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abcdef"), 6);
        buf.ack_to(2);
        // An old ACK below start changes nothing.
        buf.ack_to(1);
        assert_eq!(buf.start(), 2);
        // An ACK past end releases everything, and no more.
        buf.ack_to(100);
        assert_eq!((buf.start(), buf.end()), (6, 6));
        assert_eq!(buf.write(b"gh"), 2);
        assert_eq!(gather(&buf, 6), b"gh");
    }

    #[test]
    fn write_ack_cycles_across_the_wrap() {
        let mut buf = SendBuf::new(5);
        let mut next = 0u8;
        for round in 0..20u64 {
            let data: Vec<u8> = (0..3)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            assert_eq!(buf.write(&data), 3);
            assert_eq!(gather(&buf, round * 3), data);
            buf.ack_to((round + 1) * 3);
            assert!(buf.is_empty());
        }
        assert_eq!(buf.end(), 60);
    }

    #[test]
    fn chunk_splits_at_the_wrap() {
        let mut buf = SendBuf::new(6);
        assert_eq!(buf.write(b"abcd"), 4);
        buf.ack_to(4);
        // Offsets 4..10 sit at ring indexes 4, 5, 0, 1, 2, 3.
        assert_eq!(buf.write(b"efghij"), 6);
        assert_eq!(buf.chunk(4, 100), b"ef");
        assert_eq!(buf.chunk(6, 100), b"ghij");
        assert_eq!(buf.chunk(5, 100), b"f");
        assert_eq!(buf.chunk(7, 2), b"hi");
    }

    #[test]
    fn chunk_respects_max_len() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abcdef"), 6);
        assert_eq!(buf.chunk(1, 3), b"bcd");
        assert!(buf.chunk(1, 0).is_empty());
    }

    #[test]
    fn chunk_outside_held_range_is_empty() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abcdef"), 6);
        buf.ack_to(2);
        assert!(buf.chunk(1, 10).is_empty());
        assert!(buf.chunk(6, 10).is_empty());
        assert!(buf.chunk(7, 10).is_empty());
        assert!(buf.chunk(u64::MAX, 10).is_empty());
    }

    #[test]
    fn copy_out_joins_the_two_ring_pieces() {
        let mut buf = SendBuf::new(6);
        assert_eq!(buf.write(b"abcd"), 4);
        buf.ack_to(4);
        assert_eq!(buf.write(b"efghij"), 6);
        let mut dst = [0; 5];
        assert_eq!(buf.copy_out(4, &mut dst), 5);
        assert_eq!(&dst, b"efghi");
        let mut dst = [0; 10];
        assert_eq!(buf.copy_out(5, &mut dst), 5);
        assert_eq!(&dst[..5], b"fghij");
    }

    #[test]
    fn copy_out_outside_held_range_copies_nothing() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abc"), 3);
        buf.ack_to(1);
        let mut dst = [0; 4];
        assert_eq!(buf.copy_out(0, &mut dst), 0);
        assert_eq!(buf.copy_out(3, &mut dst), 0);
        assert_eq!(buf.copy_out(9, &mut dst), 0);
        assert_eq!(dst, [0; 4]);
    }

    #[test]
    fn debug_shows_offsets_not_bytes() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"secret"), 6);
        buf.ack_to(2);
        assert_eq!(
            format!("{buf:?}"),
            "SendBuf { start: 2, end: 6, capacity: 8 }"
        );
    }

    #[test]
    fn grow_keeps_wrapped_bytes_at_their_offsets() {
        let mut buf = SendBuf::new(6);
        assert_eq!(buf.write(b"abcd"), 4);
        buf.ack_to(3);
        // Offsets 3..9 sit at ring indexes 3, 4, 5, 0, 1, 2.
        assert_eq!(buf.write(b"efghi"), 5);
        assert_eq!(buf.free(), 0);
        buf.grow(10);
        assert_eq!((buf.capacity(), buf.free()), (10, 4));
        assert_eq!((buf.start(), buf.end()), (3, 9));
        assert_eq!(buf.chunk(3, 100), b"defghi");
        assert_eq!(buf.write(b"jklmn"), 4);
        assert_eq!(gather(&buf, 3), b"defghijklm");
        buf.ack_to(8);
        assert_eq!(gather(&buf, 8), b"ijklm");
    }

    #[test]
    fn grow_never_shrinks() {
        let mut buf = SendBuf::new(8);
        assert_eq!(buf.write(b"abc"), 3);
        buf.grow(2);
        buf.grow(8);
        assert_eq!((buf.capacity(), buf.free()), (8, 5));
        assert_eq!(gather(&buf, 0), b"abc");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Write(Vec<u8>),
        /// Acknowledge up to `start + n` (may overshoot `end`).
        AckTo(u64),
        /// Read a chunk at `start + n` (may lie past `end`), at most `max_len` long.
        Chunk(u64, usize),
        /// Copy out at `start + n` into a buffer of the given length.
        CopyOut(u64, usize),
        /// Grow the capacity by `n` (0: no change).
        Grow(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Write),
            (0u64..40).prop_map(Op::AckTo),
            (0u64..40, 0usize..40).prop_map(|(n, max)| Op::Chunk(n, max)),
            (0u64..40, 0usize..40).prop_map(|(n, len)| Op::CopyOut(n, len)),
            (0usize..16).prop_map(Op::Grow),
        ]
    }

    proptest! {
        /// Every byte read back at its offset equals what was written there, against a
        /// `VecDeque` model of the held bytes, also after the ring grew (wrapped or not).
        #[test]
        fn matches_vecdeque_model(
            mut capacity in 0usize..64,
            ops in proptest::collection::vec(op(), 0..200),
        ) {
            let mut buf = SendBuf::new(capacity);
            let mut model: VecDeque<u8> = VecDeque::new();
            let mut model_start = 0u64;
            for op in ops {
                match op {
                    Op::Write(data) => {
                        let n = data.len().min(capacity - model.len());
                        prop_assert_eq!(buf.write(&data), n);
                        model.extend(&data[..n]);
                    }
                    Op::AckTo(n) => {
                        let acked = (n as usize).min(model.len());
                        buf.ack_to(model_start + n);
                        model.drain(..acked);
                        model_start += acked as u64;
                    }
                    Op::Chunk(n, max_len) => {
                        let chunk = buf.chunk(model_start + n, max_len);
                        let held = model.len().saturating_sub(n as usize);
                        prop_assert!(chunk.len() <= held.min(max_len));
                        if held > 0 && max_len > 0 {
                            prop_assert!(!chunk.is_empty());
                        }
                        let expected = model.iter().skip(n as usize).take(chunk.len());
                        prop_assert!(chunk.iter().eq(expected));
                    }
                    Op::CopyOut(n, len) => {
                        let mut dst = vec![0; len];
                        let copied = buf.copy_out(model_start + n, &mut dst);
                        let expected: Vec<u8> =
                            model.iter().skip(n as usize).take(len).copied().collect();
                        prop_assert_eq!(&dst[..copied], &expected[..]);
                    }
                    Op::Grow(n) => {
                        capacity += n;
                        buf.grow(capacity);
                        prop_assert_eq!(buf.capacity(), capacity);
                    }
                }
                prop_assert_eq!(buf.start(), model_start);
                prop_assert_eq!(buf.len(), model.len());
                prop_assert_eq!(buf.end(), model_start + model.len() as u64);
                prop_assert_eq!(buf.free(), capacity - model.len());
                prop_assert_eq!(gather(&buf, model_start), Vec::from(model.clone()));
            }
        }
    }
}
