//! The receive buffer: in-order bytes the user has not read yet, plus out-of-order data held for
//! reassembly, in one ring of fixed capacity.
//!
//! Bytes are addressed by `u64` stream offsets (byte 0 of the stream is offset 0; the connection
//! maps it to IRS+1). The ring covers `[read_offset, read_offset + capacity)`:
//! `[read_offset, contiguous_end)` is readable, and past `contiguous_end` (which is `rcv.nxt`)
//! out-of-order data sits at its own offset, described by at most [`MAX_OOO_RANGES`] ranges.
//! Only data occupies ranges: an empty segment never creates one. The ring is allocated in
//! [`RecvBuf::new`] and only ever grows ([`RecvBuf::grow`], for receive-buffer autotuning), so the
//! window it backs never shrinks.

use core::fmt;

/// The most out-of-order ranges held at once; data that would need one more is dropped (the peer
/// retransmits it), so the bookkeeping stays bounded whatever the peer sends.
pub(crate) const MAX_OOO_RANGES: usize = 32;

/// What [`RecvBuf::insert`] did with a segment's data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Inserted {
    /// How far `contiguous_end` (`rcv.nxt`) moved.
    pub(crate) advanced: usize,
    /// Bytes stored that were not held before.
    pub(crate) new_bytes: usize,
    /// The data was not empty and every byte of it was already held or read: nothing new.
    pub(crate) duplicate: bool,
    /// The data (what of it fits the window) starts past `contiguous_end`, so a gap remains
    /// before it; RFC 5681 §4.2 asks for an immediate ACK. Also set when the data was dropped
    /// because [`MAX_OOO_RANGES`] ranges are already held (then nothing is new or duplicate).
    pub(crate) out_of_order: bool,
}

/// A range `[start, end)` of out-of-order data held past `contiguous_end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// Offset of the first byte.
    start: u64,
    /// Offset just past the last byte.
    end: u64,
}

/// A ring of received bytes with reassembly, indexed by stream offset.
pub(crate) struct RecvBuf {
    /// The bytes of `[read_offset, read_offset + capacity)`.
    ring: Ring,
    /// In-order bytes held: `contiguous_end - read_offset`.
    readable: usize,
    /// Out-of-order data, sorted, disjoint and never adjacent to each other or to
    /// `contiguous_end`; every span lies in `(contiguous_end, read_offset + capacity]`.
    ooo: Vec<Span>,
}

impl RecvBuf {
    /// An empty buffer of `capacity` bytes, expecting offset 0 next.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            ring: Ring {
                buf: vec![0; capacity].into_boxed_slice(),
                head: 0,
                base: 0,
            },
            readable: 0,
            ooo: Vec::with_capacity(MAX_OOO_RANGES),
        }
    }

    /// Offset of the next byte the user will read.
    pub(crate) fn read_offset(&self) -> u64 {
        self.ring.base
    }

    /// Offset just past the in-order data: where `rcv.nxt` points.
    pub(crate) fn contiguous_end(&self) -> u64 {
        self.ring.base + self.readable as u64
    }

    /// Bytes that can still be accepted from `contiguous_end` on: the window to advertise.
    ///
    /// Out-of-order data already held lies inside this window and does not shrink it.
    pub(crate) fn window(&self) -> usize {
        self.ring.buf.len() - self.readable
    }

    /// The most bytes the buffer holds: the window when nothing is waiting to be read.
    pub(crate) fn capacity(&self) -> usize {
        self.ring.buf.len()
    }

    /// Reallocates the ring to hold `capacity` bytes, keeping every held byte, in order and out
    /// of order, at its stream offset. A `capacity` not above the current one changes nothing:
    /// the buffer never shrinks, so a window already offered stays backed.
    pub(crate) fn grow(&mut self, capacity: usize) {
        self.ring.grow(capacity);
    }

    /// In-order bytes waiting for [`RecvBuf::read`].
    pub(crate) fn readable(&self) -> usize {
        self.readable
    }

    /// Whether out-of-order data is held past a gap.
    pub(crate) fn has_gap(&self) -> bool {
        !self.ooo.is_empty()
    }

    /// The out-of-order ranges `(start, end)` in increasing order, for SACK blocks.
    pub(crate) fn ooo_ranges(&self) -> impl Iterator<Item = (u64, u64)> {
        self.ooo.iter().map(|span| (span.start, span.end))
    }

    /// Stores the part of `data` (which starts at stream offset `offset`) that is new and fits
    /// the window, and advances `contiguous_end` over whatever became contiguous.
    ///
    /// Bytes before `contiguous_end` are already held or read and are ignored; bytes at or past
    /// `read_offset + capacity` do not fit and are trimmed. Where the data overlaps held bytes,
    /// the held copy is kept.
    pub(crate) fn insert(&mut self, offset: u64, data: &[u8]) -> Inserted {
        if data.is_empty() {
            return Inserted::default();
        }
        let rcv_nxt = self.contiguous_end();
        let data_end = offset.saturating_add(data.len() as u64);
        let limit = self.ring.base + self.ring.buf.len() as u64;
        let trimmed = data_end > limit;
        let (start, end) = (offset.max(rcv_nxt), data_end.min(limit));
        if start >= end {
            // All of it is before rcv.nxt (a duplicate) or past the window (trimmed).
            return Inserted {
                duplicate: !trimmed,
                ..Inserted::default()
            };
        }
        let out_of_order = start > rcv_nxt;
        // The spans overlapping or adjacent to [start, end).
        let first = self.ooo.partition_point(|span| span.end < start);
        let last = self.ooo.partition_point(|span| span.start <= end);
        if out_of_order && first == last && self.ooo.len() == MAX_OOO_RANGES {
            return Inserted {
                out_of_order,
                ..Inserted::default()
            };
        }

        // Copy only the gaps between held spans, so the first copy of a byte is kept. Both
        // ends lie in [offset, data_end], so the conversions are lossless.
        let piece = |from: u64, to: u64| &data[(from - offset) as usize..(to - offset) as usize];
        let mut new_bytes = 0;
        let mut cursor = start;
        for span in &self.ooo[first..last] {
            if cursor < span.start {
                new_bytes += self.ring.store(cursor, piece(cursor, span.start));
            }
            cursor = span.end;
        }
        if cursor < end {
            new_bytes += self.ring.store(cursor, piece(cursor, end));
        }

        let mut merged = Span { start, end };
        if first < last {
            merged.start = merged.start.min(self.ooo[first].start);
            merged.end = merged.end.max(self.ooo[last - 1].end);
        }
        let mut advanced = 0;
        if out_of_order {
            if first == last {
                // Fewer than MAX_OOO_RANGES spans are held, so this does not allocate.
                self.ooo.insert(first, merged);
            } else {
                self.ooo[first] = merged;
                self.ooo.drain(first + 1..last);
            }
        } else {
            // The data starts at rcv.nxt: absorb every span it reached (`first` is 0 here).
            self.ooo.drain(first..last);
            // At most the window, so the conversion is lossless.
            advanced = (merged.end - rcv_nxt) as usize;
            self.readable += advanced;
        }
        Inserted {
            advanced,
            new_bytes,
            duplicate: new_bytes == 0 && !trimmed,
            out_of_order,
        }
    }

    /// Copies in-order bytes into `dst` and frees them; returns how many (0 when none).
    pub(crate) fn read(&mut self, dst: &mut [u8]) -> usize {
        let n = self.peek(dst);
        self.ring.consume(n);
        self.readable -= n;
        n
    }

    /// Copies in-order bytes into `dst` without consuming them; returns how many.
    pub(crate) fn peek(&self, dst: &mut [u8]) -> usize {
        let n = dst.len().min(self.readable);
        self.ring.load(&mut dst[..n]);
        n
    }
}

impl fmt::Debug for RecvBuf {
    // The held bytes are left out: a connection's Debug output should not dump its buffer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvBuf")
            .field("read_offset", &self.read_offset())
            .field("contiguous_end", &self.contiguous_end())
            .field("capacity", &self.ring.buf.len())
            .field("ooo", &self.ooo)
            .finish()
    }
}

/// The bytes of stream offsets `[base, base + capacity)`, in a ring that only grows.
struct Ring {
    /// The ring; its length is the capacity.
    buf: Box<[u8]>,
    /// Ring index of the byte at offset `base`.
    head: usize,
    /// Offset of the byte at `head`: the buffer's `read_offset`.
    base: u64,
}

impl Ring {
    /// Copies `src` to offsets `[offset, offset + src.len())`, which lie inside the ring; returns
    /// `src.len()`.
    fn store(&mut self, offset: u64, src: &[u8]) -> usize {
        // Inside the ring, so the conversion is lossless.
        let at = self.index((offset - self.base) as usize);
        let first = src.len().min(self.buf.len() - at);
        self.buf[at..at + first].copy_from_slice(&src[..first]);
        self.buf[..src.len() - first].copy_from_slice(&src[first..]);
        src.len()
    }

    /// Fills `dst` with the bytes from `base` on (`dst.len() <= capacity`).
    fn load(&self, dst: &mut [u8]) {
        let first = dst.len().min(self.buf.len() - self.head);
        let (a, b) = dst.split_at_mut(first);
        a.copy_from_slice(&self.buf[self.head..self.head + first]);
        b.copy_from_slice(&self.buf[..b.len()]);
    }

    /// Moves the ring to a larger allocation, the byte at `base` first, so every offset in
    /// `[base, base + old capacity)` keeps its byte.
    fn grow(&mut self, capacity: usize) {
        if capacity <= self.buf.len() {
            return;
        }
        let mut buf = vec![0; capacity].into_boxed_slice();
        let (wrapped, first) = self.buf.split_at(self.head);
        buf[..first.len()].copy_from_slice(first);
        buf[first.len()..self.buf.len()].copy_from_slice(wrapped);
        self.buf = buf;
        self.head = 0;
    }

    /// Moves `base` forward by `n <= capacity` bytes.
    fn consume(&mut self, n: usize) {
        self.head = self.index(n);
        self.base += n as u64;
    }

    /// Ring index of the byte `delta <= capacity` bytes past `base`.
    fn index(&self, delta: usize) -> usize {
        let i = self.head + delta;
        if i >= self.buf.len() {
            i - self.buf.len()
        } else {
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Reads everything readable.
    fn read_all(buf: &mut RecvBuf) -> Vec<u8> {
        let mut out = vec![0; buf.readable()];
        assert_eq!(buf.read(&mut out), out.len());
        out
    }

    fn ranges(buf: &RecvBuf) -> Vec<(u64, u64)> {
        buf.ooo_ranges().collect()
    }

    fn inserted(advanced: usize, new_bytes: usize) -> Inserted {
        Inserted {
            advanced,
            new_bytes,
            ..Inserted::default()
        }
    }

    fn out_of_order(new_bytes: usize) -> Inserted {
        Inserted {
            new_bytes,
            out_of_order: true,
            ..Inserted::default()
        }
    }

    const DUPLICATE: Inserted = Inserted {
        advanced: 0,
        new_bytes: 0,
        duplicate: true,
        out_of_order: false,
    };

    #[test]
    fn new_buffer_is_empty_with_full_window() {
        let buf = RecvBuf::new(16);
        assert_eq!((buf.read_offset(), buf.contiguous_end()), (0, 0));
        assert_eq!((buf.readable(), buf.window()), (0, 16));
        assert!(!buf.has_gap());
        assert_eq!(ranges(&buf), []);
    }

    #[test]
    fn in_order_inserts_advance_and_read_back() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"hello "), inserted(6, 6));
        assert_eq!(buf.insert(6, b"world"), inserted(5, 5));
        assert_eq!(
            (buf.contiguous_end(), buf.readable(), buf.window()),
            (11, 11, 5)
        );
        assert_eq!(read_all(&mut buf), b"hello world");
        assert_eq!(
            (buf.read_offset(), buf.readable(), buf.window()),
            (11, 0, 16)
        );
    }

    #[test]
    fn read_into_small_buffer_takes_a_prefix() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"abcdef"), inserted(6, 6));
        let mut dst = [0; 4];
        assert_eq!(buf.read(&mut dst), 4);
        assert_eq!(&dst, b"abcd");
        assert_eq!(buf.read(&mut dst), 2);
        assert_eq!(&dst[..2], b"ef");
        assert_eq!(buf.read(&mut dst), 0);
        assert_eq!(buf.read_offset(), 6);
    }

    #[test]
    fn peek_does_not_consume() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"abc"), inserted(3, 3));
        let mut dst = [0; 8];
        assert_eq!(buf.peek(&mut dst), 3);
        assert_eq!(&dst[..3], b"abc");
        assert_eq!((buf.read_offset(), buf.readable()), (0, 3));
        assert_eq!(read_all(&mut buf), b"abc");
    }

    #[test]
    fn reading_across_the_ring_wrap() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(0, b"abcdef"), inserted(6, 6));
        assert_eq!(read_all(&mut buf), b"abcdef");
        // Offsets 6..14 sit at ring indexes 6, 7, 0, 1, ..., 5.
        assert_eq!(buf.insert(6, b"ghijklmn"), inserted(8, 8));
        assert_eq!(buf.window(), 0);
        let mut dst = [0; 8];
        assert_eq!(buf.peek(&mut dst), 8);
        assert_eq!(&dst, b"ghijklmn");
        let mut dst = [0; 3];
        assert_eq!(buf.read(&mut dst), 3);
        assert_eq!(&dst, b"ghi");
        assert_eq!(read_all(&mut buf), b"jklmn");
    }

    #[test]
    fn out_of_order_data_is_held_past_a_gap() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(4, b"efgh"), out_of_order(4));
        assert_eq!((buf.contiguous_end(), buf.readable()), (0, 0));
        assert!(buf.has_gap());
        assert_eq!(ranges(&buf), [(4, 8)]);
        // Held out-of-order data lies inside the window: it does not shrink it.
        assert_eq!(buf.window(), 32);
        assert_eq!(buf.read(&mut [0; 8]), 0);
    }

    #[test]
    fn gap_fill_advances_over_several_ranges_at_once() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(12, b"mnop"), out_of_order(4));
        assert_eq!(buf.insert(4, b"efgh"), out_of_order(4));
        assert_eq!(buf.insert(20, b"uv"), out_of_order(2));
        assert_eq!(buf.insert(8, b"ijkl"), out_of_order(4));
        assert_eq!(ranges(&buf), [(4, 16), (20, 22)]);
        assert_eq!(buf.insert(0, b"abcd"), inserted(16, 4));
        assert_eq!(buf.contiguous_end(), 16);
        assert_eq!(ranges(&buf), [(20, 22)]);
        assert_eq!(buf.insert(16, b"qrst"), inserted(6, 4));
        assert!(!buf.has_gap());
        assert_eq!(read_all(&mut buf), b"abcdefghijklmnopqrstuv");
    }

    #[test]
    fn gap_fill_stops_at_the_next_gap() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(4, b"ef"), out_of_order(2));
        assert_eq!(buf.insert(8, b"ij"), out_of_order(2));
        assert_eq!(buf.insert(0, b"abcd"), inserted(6, 4));
        assert_eq!(buf.contiguous_end(), 6);
        assert_eq!(ranges(&buf), [(8, 10)]);
    }

    #[test]
    fn in_order_data_overlapping_a_range_absorbs_it() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(4, b"efgh"), out_of_order(4));
        assert_eq!(buf.insert(0, b"abcdef"), inserted(8, 4));
        assert_eq!(read_all(&mut buf), b"abcdefgh");
    }

    #[test]
    fn in_order_data_past_a_range_covers_it() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(2, b"cd"), out_of_order(2));
        assert_eq!(buf.insert(0, b"abCDef"), inserted(6, 4));
        assert!(!buf.has_gap());
        // The held copy of offsets 2..4 is kept.
        assert_eq!(read_all(&mut buf), b"abcdef");
    }

    #[test]
    fn adjacent_out_of_order_ranges_merge() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(10, b"0123"), out_of_order(4));
        assert_eq!(buf.insert(14, b"45"), out_of_order(2));
        assert_eq!(buf.insert(8, b"xy"), out_of_order(2));
        assert_eq!(ranges(&buf), [(8, 16)]);
    }

    #[test]
    fn bridging_segment_merges_ranges_on_both_sides() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(4, b"efg"), out_of_order(3));
        assert_eq!(buf.insert(10, b"klm"), out_of_order(3));
        assert_eq!(buf.insert(16, b"q"), out_of_order(1));
        // Covers 6..12: 7..10 is new, and it reaches both neighbours.
        assert_eq!(buf.insert(6, b"GhijKL"), out_of_order(3));
        assert_eq!(ranges(&buf), [(4, 13), (16, 17)]);
        assert_eq!(buf.insert(0, b"abcd"), inserted(13, 4));
        assert_eq!(read_all(&mut buf), b"abcdefghijklm");
    }

    #[test]
    fn segment_spanning_several_ranges_fills_every_gap() {
        let mut buf = RecvBuf::new(32);
        assert_eq!(buf.insert(3, b"D"), out_of_order(1));
        assert_eq!(buf.insert(6, b"G"), out_of_order(1));
        assert_eq!(buf.insert(9, b"J"), out_of_order(1));
        assert_eq!(buf.insert(2, b"cdefghijkl"), out_of_order(7));
        assert_eq!(ranges(&buf), [(2, 12)]);
        assert_eq!(buf.insert(0, b"ab"), inserted(12, 2));
        assert_eq!(read_all(&mut buf), b"abcDefGhiJkl");
    }

    #[test]
    fn already_read_data_is_a_duplicate() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"abcd"), inserted(4, 4));
        assert_eq!(read_all(&mut buf), b"abcd");
        assert_eq!(buf.insert(0, b"abcd"), DUPLICATE);
        assert_eq!(buf.insert(1, b"bc"), DUPLICATE);
        assert_eq!(buf.readable(), 0);
    }

    #[test]
    fn held_in_order_data_is_a_duplicate() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"abcd"), inserted(4, 4));
        assert_eq!(buf.insert(0, b"ABCD"), DUPLICATE);
        // The first copy's bytes are kept.
        assert_eq!(read_all(&mut buf), b"abcd");
    }

    #[test]
    fn held_out_of_order_data_is_a_duplicate() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(4, b"efgh"), out_of_order(4));
        let again = buf.insert(5, b"FG");
        assert_eq!(
            again,
            Inserted {
                duplicate: true,
                ..out_of_order(0)
            }
        );
        assert_eq!(ranges(&buf), [(4, 8)]);
        assert_eq!(buf.insert(0, b"abcd"), inserted(8, 4));
        assert_eq!(read_all(&mut buf), b"abcdefgh");
    }

    #[test]
    fn partial_overlap_reports_only_new_bytes() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"abcd"), inserted(4, 4));
        assert_eq!(buf.read(&mut [0; 2]), 2);
        // 0..2 was read, 2..4 is held, 4..6 is new.
        assert_eq!(buf.insert(0, b"ABCDef"), inserted(2, 2));
        assert_eq!(read_all(&mut buf), b"cdef");
    }

    #[test]
    fn empty_data_changes_nothing() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b""), Inserted::default());
        // A pure ACK past a gap must not become an empty range (tcp_ip 0.2's bug).
        assert_eq!(buf.insert(8, b""), Inserted::default());
        assert!(!buf.has_gap());
        assert_eq!(buf.insert(4, b"ef"), out_of_order(2));
        assert_eq!(buf.insert(6, b""), Inserted::default());
        assert_eq!(buf.insert(2, b""), Inserted::default());
        assert_eq!(ranges(&buf), [(4, 6)]);
        assert_eq!(buf.contiguous_end(), 0);
    }

    #[test]
    fn data_past_the_window_is_trimmed() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(0, b"abcdefghijkl"), inserted(8, 8));
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.read(&mut [0; 4]), 4);
        // The peer retransmits the trimmed part once the window opens.
        assert_eq!(buf.insert(4, b"efghijklmn"), inserted(4, 4));
        assert_eq!(buf.contiguous_end(), 12);
        assert_eq!(read_all(&mut buf), b"efghijkl");
    }

    #[test]
    fn trimmed_data_is_not_a_duplicate() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(0, b"abcdefgh"), inserted(8, 8));
        // Held bytes plus one that does not fit: something was not taken.
        assert_eq!(buf.insert(4, b"efghi"), Inserted::default());
        // A zero-window probe's byte does not fit either.
        assert_eq!(buf.insert(8, b"i"), Inserted::default());
        assert_eq!(buf.contiguous_end(), 8);
    }

    #[test]
    fn out_of_order_data_is_trimmed_at_the_window_edge() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(6, b"ghij"), out_of_order(2));
        assert_eq!(ranges(&buf), [(6, 8)]);
        assert_eq!(buf.window(), 8);
    }

    #[test]
    fn data_wholly_past_the_window_is_ignored() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(8, b"ijk"), Inserted::default());
        assert_eq!(buf.insert(100, b"x"), Inserted::default());
        assert_eq!(buf.insert(u64::MAX, b"xyz"), Inserted::default());
        assert!(!buf.has_gap());
        assert_eq!(buf.contiguous_end(), 0);
    }

    #[test]
    fn out_of_order_ranges_are_bounded() {
        let capacity = 4 * MAX_OOO_RANGES + 8;
        let mut buf = RecvBuf::new(capacity);
        for i in 0..MAX_OOO_RANGES as u64 {
            assert_eq!(buf.insert(4 * i + 2, b"x"), out_of_order(1));
        }
        let before = ranges(&buf);
        assert_eq!(before.len(), MAX_OOO_RANGES);
        // One more disjoint range does not fit: it is dropped, not stored.
        let past = 4 * MAX_OOO_RANGES as u64 + 2;
        assert_eq!(buf.insert(past, b"y"), out_of_order(0));
        assert_eq!(ranges(&buf), before);
        // Data touching a held range still merges into it.
        assert_eq!(buf.insert(3, b"z"), out_of_order(1));
        assert_eq!(ranges(&buf)[0], (2, 4));
        // In-order data is always taken and absorbs what it reaches, freeing slots.
        assert_eq!(buf.insert(0, b"ab"), inserted(4, 2));
        assert_eq!(ranges(&buf).len(), MAX_OOO_RANGES - 1);
        assert_eq!(buf.insert(past, b"y"), out_of_order(1));
        assert_eq!(ranges(&buf).len(), MAX_OOO_RANGES);
    }

    #[test]
    fn zero_capacity_buffer_takes_nothing() {
        let mut buf = RecvBuf::new(0);
        assert_eq!(buf.window(), 0);
        assert_eq!(buf.insert(0, b"a"), Inserted::default());
        assert_eq!(buf.read(&mut [0; 4]), 0);
        assert_eq!(buf.contiguous_end(), 0);
    }

    #[test]
    fn debug_shows_offsets_and_ranges_not_bytes() {
        let mut buf = RecvBuf::new(16);
        assert_eq!(buf.insert(0, b"ab"), inserted(2, 2));
        assert_eq!(buf.insert(4, b"ef"), out_of_order(2));
        assert_eq!(
            format!("{buf:?}"),
            "RecvBuf { read_offset: 0, contiguous_end: 2, capacity: 16, \
             ooo: [Span { start: 4, end: 6 }] }"
        );
    }

    #[test]
    fn grow_keeps_wrapped_in_order_and_out_of_order_bytes() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(0, b"abcdef"), inserted(6, 6));
        assert_eq!(buf.read(&mut [0; 5]), 5);
        // Offsets 6..8 sit at ring indexes 6, 7, and 9..11 at indexes 1, 2: both sides of the
        // wrap, with a gap at offset 8.
        assert_eq!(buf.insert(6, b"gh"), inserted(2, 2));
        assert_eq!(buf.insert(9, b"jk"), out_of_order(2));
        buf.grow(20);
        assert_eq!(buf.capacity(), 20);
        assert_eq!((buf.read_offset(), buf.contiguous_end()), (5, 8));
        assert_eq!(ranges(&buf), [(9, 11)]);
        assert_eq!(buf.window(), 17);
        // The new room past the old limit (offset 13) takes data.
        assert_eq!(buf.insert(11, b"lmnopqrstuvw"), out_of_order(12));
        assert_eq!(buf.insert(8, b"i"), inserted(15, 1));
        assert_eq!(read_all(&mut buf), b"fghijklmnopqrstuvw");
    }

    #[test]
    fn grow_never_shrinks() {
        let mut buf = RecvBuf::new(8);
        assert_eq!(buf.insert(0, b"abc"), inserted(3, 3));
        buf.grow(4);
        buf.grow(8);
        assert_eq!((buf.capacity(), buf.window()), (8, 5));
        assert_eq!(read_all(&mut buf), b"abc");
    }

    #[test]
    fn grow_from_zero_capacity() {
        let mut buf = RecvBuf::new(0);
        buf.grow(4);
        assert_eq!(buf.insert(0, b"abcdef"), inserted(4, 4));
        assert_eq!(read_all(&mut buf), b"abcd");
    }

    /// A byte-at-a-time model of the receive buffer over a stream of known length.
    struct Model {
        held: Vec<bool>,
        read_offset: u64,
        contiguous_end: u64,
        capacity: usize,
    }

    impl Model {
        fn new(stream_len: usize, capacity: usize) -> Self {
            Self {
                held: vec![false; stream_len],
                read_offset: 0,
                contiguous_end: 0,
                capacity,
            }
        }

        fn is_held(&self, offset: u64) -> bool {
            self.held.get(offset as usize).copied().unwrap_or(false)
        }

        /// Maximal runs of held bytes past `contiguous_end`.
        fn runs(&self) -> Vec<(u64, u64)> {
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for offset in self.contiguous_end..self.held.len() as u64 {
                if !self.is_held(offset) {
                    continue;
                }
                match runs.last_mut() {
                    Some(run) if run.1 == offset => run.1 += 1,
                    _ => runs.push((offset, offset + 1)),
                }
            }
            runs
        }

        fn insert(&mut self, offset: u64, len: usize) -> Inserted {
            if len == 0 {
                return Inserted::default();
            }
            let data_end = offset + len as u64;
            let limit = self.read_offset + self.capacity as u64;
            let trimmed = data_end > limit;
            let (start, end) = (offset.max(self.contiguous_end), data_end.min(limit));
            if start >= end {
                return Inserted {
                    duplicate: !trimmed,
                    ..Inserted::default()
                };
            }
            let out_of_order = start > self.contiguous_end;
            if out_of_order
                && !(start - 1..=end).any(|o| self.is_held(o))
                && self.runs().len() == MAX_OOO_RANGES
            {
                return Inserted {
                    out_of_order,
                    ..Inserted::default()
                };
            }
            let mut new_bytes = 0;
            for o in start..end {
                if !self.held[o as usize] {
                    self.held[o as usize] = true;
                    new_bytes += 1;
                }
            }
            let before = self.contiguous_end;
            while self.is_held(self.contiguous_end) {
                self.contiguous_end += 1;
            }
            Inserted {
                advanced: (self.contiguous_end - before) as usize,
                new_bytes,
                duplicate: new_bytes == 0 && !trimmed,
                out_of_order,
            }
        }
    }

    /// Delivers `data[start..end]`, checks the outcome and the whole state against the model,
    /// then reads up to `read_len` bytes into `out`.
    fn deliver(
        buf: &mut RecvBuf,
        model: &mut Model,
        data: &[u8],
        (start, end): (usize, usize),
        read_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), TestCaseError> {
        let got = buf.insert(start as u64, &data[start..end]);
        prop_assert_eq!(got, model.insert(start as u64, end - start));
        prop_assert_eq!(buf.contiguous_end(), model.contiguous_end);
        prop_assert_eq!(ranges(buf), model.runs());
        prop_assert_eq!(buf.has_gap(), !model.runs().is_empty());
        prop_assert_eq!(
            buf.contiguous_end() + buf.window() as u64,
            buf.read_offset() + model.capacity as u64
        );
        let mut peeked = vec![0; read_len];
        let peeked_len = buf.peek(&mut peeked);
        let mut dst = vec![0; read_len];
        let n = buf.read(&mut dst);
        let expected = read_len.min((model.contiguous_end - model.read_offset) as usize);
        prop_assert_eq!(n, expected);
        prop_assert_eq!(&peeked[..peeked_len], &dst[..n]);
        model.read_offset += n as u64;
        prop_assert_eq!(buf.read_offset(), model.read_offset);
        out.extend_from_slice(&dst[..n]);
        Ok(())
    }

    /// A stream, the capacity past its length, and segments `(start, end)` in delivery order:
    /// a random partition of the stream (so every byte is sent), random overlapping extras and
    /// duplicates, at most 29 distinct segments so the range bound is never reached.
    fn roomy_delivery() -> impl Strategy<Value = (Vec<u8>, usize, Vec<(usize, usize)>)> {
        proptest::collection::vec(any::<u8>(), 1..600).prop_flat_map(|data| {
            let n = data.len();
            let cuts = proptest::collection::vec(1..=n, 0..16);
            let extras = proptest::collection::vec((0..n, 1..=n), 0..12);
            let dups = proptest::collection::vec(any::<prop::sample::Index>(), 0..10);
            (Just(data), 0..=n, cuts, extras, dups).prop_flat_map(
                |(data, extra_capacity, cuts, extras, dups)| {
                    let n = data.len();
                    let mut segments = partition(n, cuts);
                    segments.extend(extras.iter().map(|&(s, len)| (s, (s + len).min(n))));
                    let copies: Vec<_> = dups.iter().map(|i| *i.get(&segments)).collect();
                    segments.extend(copies);
                    (
                        Just(data),
                        Just(n + extra_capacity),
                        Just(segments).prop_shuffle(),
                    )
                },
            )
        })
    }

    /// Splits `0..n` at the given cut points.
    fn partition(n: usize, mut cuts: Vec<usize>) -> Vec<(usize, usize)> {
        cuts.push(0);
        cuts.push(n);
        cuts.sort_unstable();
        cuts.dedup();
        cuts.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// A small deterministic generator for the retransmission rounds.
    struct SplitMix(u64);

    impl SplitMix {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) % n as u64) as usize
        }
    }

    proptest! {
        /// Overlapping segments in random order with duplicates, into a buffer that holds the
        /// whole stream, reading as we go: exactly the stream comes out.
        #[test]
        fn reassembles_any_delivery_order(
            (data, capacity, segments) in roomy_delivery(),
            reads in proptest::collection::vec(0usize..200, 64),
        ) {
            let mut buf = RecvBuf::new(capacity);
            let mut model = Model::new(data.len(), capacity);
            let mut out = Vec::new();
            for (i, &segment) in segments.iter().enumerate() {
                deliver(&mut buf, &mut model, &data, segment, reads[i], &mut out)?;
            }
            out.extend(read_all(&mut buf));
            prop_assert_eq!(&out, &data);
            prop_assert_eq!(buf.contiguous_end(), data.len() as u64);
            prop_assert!(!buf.has_gap());
        }

        /// A buffer smaller than the stream, a reader that reads between inserts, and a peer
        /// that keeps retransmitting every segment not yet wholly acknowledged, in a new random
        /// order each round: trimming and the range bound lose nothing, and exactly the stream
        /// comes out.
        #[test]
        fn retransmission_delivers_through_a_small_buffer(
            data in proptest::collection::vec(any::<u8>(), 2..2000),
            capacity_pick in any::<prop::sample::Index>(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..200),
            extras in proptest::collection::vec((any::<prop::sample::Index>(), 1usize..300), 0..20),
            seed in any::<u64>(),
        ) {
            let n = data.len();
            let capacity = 1 + capacity_pick.index(n - 1);
            let mut segments = partition(n, cuts.iter().map(|i| i.index(n)).collect());
            segments.extend(extras.iter().map(|(s, len)| {
                let s = s.index(n);
                (s, (s + len).min(n))
            }));
            let mut rng = SplitMix(seed);
            let mut buf = RecvBuf::new(capacity);
            let mut model = Model::new(n, capacity);
            let mut out = Vec::new();
            let mut rounds = 0;
            while buf.contiguous_end() < n as u64 {
                rounds += 1;
                // Every round moves rcv.nxt by at least one byte.
                prop_assert!(rounds <= n);
                let acked = buf.contiguous_end() as usize;
                let mut outstanding: Vec<_> =
                    segments.iter().copied().filter(|&(_, end)| end > acked).collect();
                for i in (1..outstanding.len()).rev() {
                    outstanding.swap(i, rng.below(i + 1));
                }
                for segment in outstanding {
                    let read_len = rng.below(capacity + 1);
                    deliver(&mut buf, &mut model, &data, segment, read_len, &mut out)?;
                }
                out.extend(read_all(&mut buf));
                model.read_offset = buf.read_offset();
            }
            prop_assert_eq!(&out, &data);
            prop_assert_eq!(buf.contiguous_end(), n as u64);
        }

        /// The overlapping delivery of `reassembles_any_delivery_order` into a small buffer
        /// (so the ring wraps and data is trimmed) that grows at random points: growth keeps
        /// every held byte, in order and out of order, at its offset, and the peer's
        /// retransmissions then complete exactly the stream.
        #[test]
        fn growth_mid_stream_keeps_every_held_byte(
            (data, _, segments) in roomy_delivery(),
            capacity_pick in any::<prop::sample::Index>(),
            grows in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..300), 0..4),
            reads in proptest::collection::vec(0usize..200, 64),
        ) {
            let n = data.len();
            let mut capacity = 1 + capacity_pick.index(n);
            let mut buf = RecvBuf::new(capacity);
            let mut model = Model::new(n, capacity);
            let mut out = Vec::new();
            let grow_at: Vec<(usize, usize)> =
                grows.iter().map(|(i, extra)| (i.index(segments.len()), *extra)).collect();
            for (i, &segment) in segments.iter().enumerate() {
                for &(_, extra) in grow_at.iter().filter(|(at, _)| *at == i) {
                    let before = (buf.read_offset(), buf.contiguous_end(), ranges(&buf));
                    let mut held = vec![0; buf.readable()];
                    buf.peek(&mut held);
                    capacity += extra;
                    buf.grow(capacity);
                    model.capacity = capacity;
                    prop_assert_eq!(buf.capacity(), capacity);
                    prop_assert_eq!((buf.read_offset(), buf.contiguous_end(), ranges(&buf)), before);
                    let mut again = vec![0; buf.readable()];
                    buf.peek(&mut again);
                    prop_assert_eq!(&again, &held);
                }
                deliver(&mut buf, &mut model, &data, segment, reads[i], &mut out)?;
            }
            // Retransmission of what is missing, in order, as the window allows.
            while buf.contiguous_end() < n as u64 {
                out.extend(read_all(&mut buf));
                model.read_offset = buf.read_offset();
                let start = buf.contiguous_end() as usize;
                deliver(&mut buf, &mut model, &data, (start, n), 0, &mut out)?;
            }
            out.extend(read_all(&mut buf));
            prop_assert_eq!(&out, &data);
        }
    }
}
