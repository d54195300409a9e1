//! The sender's SACK scoreboard (RFC 6675 §3): which bytes above the cumulative ACK the peer
//! has reported in SACK blocks.
//!
//! Positions are `u64` stream offsets that never wrap (the connection maps sequence numbers
//! to them at the edge), and every range is half-open, `[start, end)`. At most [`MAX_RANGES`]
//! ranges are held, in a `Vec` allocated once in [`Scoreboard::new`].
//!
//! The connection builds RFC 6675's §4 routines from these queries, with `L` =
//! [`Scoreboard::lost_boundary`]`(HighACK, DupThresh, SMSS)`:
//! - Update: [`Scoreboard::add`] for each SACK block, [`Scoreboard::advance`] when HighACK moves.
//!   What `add` returns is the SACKed part of DeliveredData (RFC 6675 §2; PRR, RFC 6937 §3).
//! - IsLost: an unSACKed byte at or above HighACK is lost exactly when it lies below `L`.
//! - SetPipe: `pipe = unsacked_in(L, HighData) + unsacked_in(HighACK, HighRxt)`, the unSACKed
//!   bytes not lost plus the unSACKed bytes already retransmitted (HighRxt taken as one past
//!   the last retransmitted byte).
//! - NextSeg: rule 1 is `next_hole(max(HighRxt, HighACK), L)`; rule 3 is
//!   `next_hole(max(HighRxt, HighACK), highest_sacked())`.
//!
//! The structure is conservative when it runs out of room: forgetting a SACK only makes the
//! sender count those bytes as outstanding (more in pipe, fewer bytes lost), never the reverse.

/// The most SACKed ranges held at once. A range that would need one more evicts the highest
/// range instead (see [`Scoreboard::add`]).
pub(crate) const MAX_RANGES: usize = 64;

/// A SACKed range `[start, end)`, never empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    /// Offset of the first SACKed byte.
    start: u64,
    /// Offset just past the last SACKed byte.
    end: u64,
}

impl Span {
    fn len(self) -> u64 {
        self.end - self.start
    }
}

/// The SACKed ranges above the cumulative ACK, sorted, disjoint and never adjacent.
#[derive(Debug)]
pub(crate) struct Scoreboard {
    /// The ranges, ascending; every one lies at or above `una`.
    spans: Vec<Span>,
    /// Bytes covered by `spans`.
    sacked: u64,
    /// The highest cumulative ACK seen (RFC 6675's HighACK); nothing below it is recorded.
    una: u64,
}

impl Scoreboard {
    /// An empty scoreboard with HighACK at offset 0.
    pub(crate) fn new() -> Self {
        Self {
            // Eviction happens before insertion, so this never grows.
            spans: Vec::with_capacity(MAX_RANGES),
            sacked: 0,
            una: 0,
        }
    }

    /// Forgets every SACKed range (RFC 2018 §8: a receiver may renege, so after a
    /// retransmission timeout SACK information may be discarded). HighACK is kept.
    pub(crate) fn clear(&mut self) {
        self.spans.clear();
        self.sacked = 0;
    }

    /// Whether no byte is SACKed.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The SACKed ranges `(start, end)` in increasing order.
    pub(crate) fn ranges(&self) -> impl DoubleEndedIterator<Item = (u64, u64)> {
        self.spans.iter().map(|span| (span.start, span.end))
    }

    /// The cumulative ACK reached `una`: forgets everything below it. A `una` below the highest
    /// one seen is ignored.
    pub(crate) fn advance(&mut self, una: u64) {
        if una <= self.una {
            return;
        }
        self.una = una;
        let gone = self.spans.partition_point(|span| span.end <= una);
        self.sacked -= self.spans[..gone]
            .iter()
            .map(|span| span.len())
            .sum::<u64>();
        self.spans.drain(..gone);
        if let Some(first) = self.spans.first_mut()
            && first.start < una
        {
            self.sacked -= una - first.start;
            first.start = una;
        }
    }

    /// Records that `[start, end)` was SACKed; returns how many of its bytes are newly
    /// recorded (neither held before nor dropped by the bound below).
    ///
    /// Empty and inverted ranges are ignored, and the part below HighACK (a D-SACK, or a stale
    /// block) is clipped off. Nothing bounds the range from above: the caller drops blocks past
    /// HighData.
    ///
    /// When a new disjoint range would make [`MAX_RANGES`] + 1, the highest range is dropped:
    /// the new one if it is the highest (then 0 is returned), otherwise the old highest, whose
    /// bytes then count as not SACKed again, so [`Scoreboard::sacked_bytes`] may shrink. The
    /// ranges kept are those nearest HighACK, which decide what is lost and retransmitted next.
    pub(crate) fn add(&mut self, start: u64, end: u64) -> u64 {
        let start = start.max(self.una);
        if start >= end {
            return 0;
        }
        // spans[first..last] overlap or touch [start, end).
        let first = self.spans.partition_point(|span| span.end < start);
        let last = self.spans.partition_point(|span| span.start <= end);
        if first == last {
            if self.spans.len() == MAX_RANGES {
                if first == MAX_RANGES {
                    return 0;
                }
                if let Some(highest) = self.spans.pop() {
                    self.sacked -= highest.len();
                }
            }
            self.spans.insert(first, Span { start, end });
            self.sacked += end - start;
            return end - start;
        }
        let held: u64 = self.spans[first..last].iter().map(|span| span.len()).sum();
        // The union of touching ranges is one range.
        let merged = Span {
            start: start.min(self.spans[first].start),
            end: end.max(self.spans[last - 1].end),
        };
        self.spans[first] = merged;
        self.spans.drain(first + 1..last);
        let new = merged.len() - held;
        self.sacked += new;
        new
    }

    /// Total bytes SACKed.
    pub(crate) fn sacked_bytes(&self) -> u64 {
        self.sacked
    }

    /// The end of the highest SACKed range: one past the highest SACKed byte.
    pub(crate) fn highest_sacked(&self) -> Option<u64> {
        self.spans.last().map(|span| span.end)
    }

    /// Whether the byte at `at` is SACKed.
    #[cfg(test)]
    pub(crate) fn is_sacked(&self, at: u64) -> bool {
        let i = self.spans.partition_point(|span| span.end <= at);
        self.spans.get(i).is_some_and(|span| span.start <= at)
    }

    /// Bytes SACKed at or above `at`.
    #[cfg(test)]
    pub(crate) fn sacked_above(&self, at: u64) -> u64 {
        let i = self.spans.partition_point(|span| span.end <= at);
        self.spans[i..]
            .iter()
            .map(|span| span.end - span.start.max(at))
            .sum()
    }

    /// Where loss starts being presumed: the least `L >= una` such that every unSACKed byte in
    /// `[una, L)` is lost and no unSACKed byte at or above `L` is. `L` is `una` or the start of
    /// a SACKed range.
    ///
    /// RFC 6675 §4 IsLost: an unSACKed byte `x` is lost when more than
    /// `(DupThresh - 1) * SMSS` SACKed bytes lie above it, or when at least `DupThresh`
    /// SACKed ranges start above it (lie wholly above it). Both counts only shrink as `x` grows,
    /// so the lost bytes are exactly the unSACKed ones below some point. A `dup_thresh` of 0
    /// counts as 1.
    pub(crate) fn lost_boundary(&self, una: u64, dup_thresh: u64, mss: u64) -> u64 {
        let dup_thresh = dup_thresh.max(1);
        let mut boundary = una;
        // Range rule: the DupThresh-th highest range has DupThresh ranges (itself included)
        // above every byte below it, and fewer above any unSACKed byte past it.
        let nth_highest = usize::try_from(dup_thresh)
            .ok()
            .and_then(|n| self.spans.len().checked_sub(n));
        if let Some(span) = nth_highest.and_then(|i| self.spans.get(i)) {
            boundary = boundary.max(span.start);
        }
        // Byte rule: the highest range that brings the bytes above it, itself included, past
        // the limit; an unSACKed byte above it has at most the limit above it.
        let limit = (dup_thresh - 1).saturating_mul(mss);
        let mut above = 0;
        for span in self.spans.iter().rev() {
            above += span.len();
            if above > limit {
                boundary = boundary.max(span.start);
                break;
            }
        }
        boundary
    }

    /// Bytes in `[from, to)` that are not SACKed (0 when the interval is empty or inverted).
    pub(crate) fn unsacked_in(&self, from: u64, to: u64) -> u64 {
        if from >= to {
            return 0;
        }
        let i = self.spans.partition_point(|span| span.end <= from);
        let sacked: u64 = self.spans[i..]
            .iter()
            .take_while(|span| span.start < to)
            .map(|span| span.end.min(to) - span.start.max(from))
            .sum();
        to - from - sacked
    }

    /// The first maximal run of unSACKed bytes that meets `[from, to)`, clipped to it:
    /// `(start, end)`, or `None` when every byte of `[from, to)` is SACKed or it is empty.
    pub(crate) fn next_hole(&self, from: u64, to: u64) -> Option<(u64, u64)> {
        let mut i = self.spans.partition_point(|span| span.end <= from);
        let mut start = from;
        if let Some(span) = self.spans.get(i)
            && span.start <= from
        {
            // Ranges never touch, so the byte at span.end is unSACKed.
            start = span.end;
            i += 1;
        }
        if start >= to {
            return None;
        }
        let end = self.spans.get(i).map_or(to, |span| span.start.min(to));
        Some((start, end))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ranges(sb: &Scoreboard) -> Vec<(u64, u64)> {
        sb.ranges().collect()
    }

    /// A scoreboard holding the given ranges, each of which must add in full.
    fn board(spans: &[(u64, u64)]) -> Scoreboard {
        let mut sb = Scoreboard::new();
        for &(start, end) in spans {
            assert_eq!(sb.add(start, end), end - start);
        }
        sb
    }

    /// `MAX_RANGES` one-byte ranges at 10, 20, ..., 640.
    fn full_board() -> Scoreboard {
        let mut sb = Scoreboard::new();
        for i in 1..=MAX_RANGES as u64 {
            assert_eq!(sb.add(10 * i, 10 * i + 1), 1);
        }
        sb
    }

    #[test]
    fn new_scoreboard_is_empty() {
        let sb = Scoreboard::new();
        assert!(sb.is_empty());
        assert_eq!(ranges(&sb), []);
        assert_eq!(sb.sacked_bytes(), 0);
        assert_eq!(sb.highest_sacked(), None);
        assert!(!sb.is_sacked(0));
        assert_eq!(sb.sacked_above(0), 0);
        assert_eq!(sb.lost_boundary(0, 3, 10), 0);
        assert_eq!(sb.unsacked_in(5, 25), 20);
        assert_eq!(sb.next_hole(5, 25), Some((5, 25)));
    }

    #[test]
    fn disjoint_ranges_are_kept_sorted() {
        let sb = board(&[(50, 60), (10, 20), (30, 40)]);
        assert!(!sb.is_empty());
        assert_eq!(ranges(&sb), [(10, 20), (30, 40), (50, 60)]);
        assert_eq!(sb.sacked_bytes(), 30);
        assert_eq!(sb.highest_sacked(), Some(60));
    }

    #[test]
    fn adjacent_ranges_merge() {
        let mut sb = board(&[(10, 20)]);
        assert_eq!(sb.add(20, 30), 10);
        assert_eq!(sb.add(5, 10), 5);
        assert_eq!(ranges(&sb), [(5, 30)]);
        assert_eq!(sb.sacked_bytes(), 25);
    }

    #[test]
    fn overlapping_range_counts_only_new_bytes() {
        let mut sb = board(&[(10, 20)]);
        assert_eq!(sb.add(15, 25), 5);
        assert_eq!(sb.add(5, 12), 5);
        assert_eq!(ranges(&sb), [(5, 25)]);
        assert_eq!(sb.sacked_bytes(), 20);
    }

    #[test]
    fn range_bridging_several_merges_them_all() {
        let mut sb = board(&[(10, 20), (30, 40), (50, 60), (80, 90)]);
        // Covers the gaps 20..30 and 40..50 and touches 50..60.
        assert_eq!(sb.add(15, 50), 20);
        assert_eq!(ranges(&sb), [(10, 60), (80, 90)]);
        assert_eq!(sb.sacked_bytes(), 60);
        // One range covering everything, past both ends.
        assert_eq!(sb.add(0, 100), 40);
        assert_eq!(ranges(&sb), [(0, 100)]);
        assert_eq!(sb.sacked_bytes(), 100);
    }

    #[test]
    fn repeated_block_adds_nothing() {
        let mut sb = board(&[(10, 20), (30, 40)]);
        assert_eq!(sb.add(10, 20), 0);
        assert_eq!(sb.add(12, 18), 0);
        assert_eq!(sb.add(30, 40), 0);
        assert_eq!(ranges(&sb), [(10, 20), (30, 40)]);
        assert_eq!(sb.sacked_bytes(), 20);
    }

    #[test]
    fn empty_and_inverted_ranges_are_ignored() {
        let mut sb = board(&[(10, 20)]);
        assert_eq!(sb.add(30, 30), 0);
        assert_eq!(sb.add(40, 35), 0);
        assert_eq!(sb.add(u64::MAX, 0), 0);
        // Empty, but touching the held range: still nothing.
        assert_eq!(sb.add(20, 20), 0);
        assert_eq!(ranges(&sb), [(10, 20)]);
    }

    #[test]
    fn range_below_una_is_clipped() {
        let mut sb = Scoreboard::new();
        sb.advance(100);
        // A D-SACK block for data already acknowledged.
        assert_eq!(sb.add(50, 80), 0);
        assert_eq!(sb.add(50, 100), 0);
        // Straddling HighACK: only the part above it counts.
        assert_eq!(sb.add(90, 110), 10);
        assert_eq!(ranges(&sb), [(100, 110)]);
    }

    #[test]
    fn huge_ranges_do_not_overflow() {
        let mut sb = Scoreboard::new();
        assert_eq!(sb.add(u64::MAX - 10, u64::MAX), 10);
        assert_eq!(sb.add(0, u64::MAX - 10), u64::MAX - 10);
        assert_eq!(ranges(&sb), [(0, u64::MAX)]);
        assert_eq!(sb.sacked_bytes(), u64::MAX);
        assert_eq!(sb.lost_boundary(0, u64::MAX, u64::MAX), 0);
        assert_eq!(sb.lost_boundary(0, 3, u64::MAX), 0);
        assert_eq!(sb.unsacked_in(0, u64::MAX), 0);
        assert_eq!(sb.next_hole(0, u64::MAX), None);
        sb.advance(u64::MAX);
        assert!(sb.is_empty());
        assert_eq!(sb.sacked_bytes(), 0);
    }

    #[test]
    fn advance_drops_ranges_below_and_trims_the_one_it_lands_in() {
        let mut sb = board(&[(10, 20), (30, 40), (50, 60)]);
        sb.advance(35);
        assert_eq!(ranges(&sb), [(35, 40), (50, 60)]);
        assert_eq!(sb.sacked_bytes(), 15);
        // Exactly at a range's end: it goes.
        sb.advance(40);
        assert_eq!(ranges(&sb), [(50, 60)]);
        assert_eq!(sb.sacked_bytes(), 10);
        // At a range's start: nothing to trim.
        sb.advance(50);
        assert_eq!(ranges(&sb), [(50, 60)]);
        sb.advance(1000);
        assert!(sb.is_empty());
        assert_eq!(sb.sacked_bytes(), 0);
    }

    #[test]
    fn advance_backwards_is_ignored() {
        let mut sb = board(&[(10, 20)]);
        sb.advance(15);
        sb.advance(5);
        assert_eq!(ranges(&sb), [(15, 20)]);
        // HighACK stayed at 15.
        assert_eq!(sb.add(0, 30), 10);
        assert_eq!(ranges(&sb), [(15, 30)]);
    }

    #[test]
    fn clear_forgets_ranges_but_keeps_high_ack() {
        let mut sb = board(&[(10, 20), (30, 40)]);
        sb.advance(12);
        sb.clear();
        assert!(sb.is_empty());
        assert_eq!(sb.sacked_bytes(), 0);
        assert_eq!(sb.highest_sacked(), None);
        assert_eq!(sb.add(0, 20), 8);
        assert_eq!(ranges(&sb), [(12, 20)]);
    }

    #[test]
    fn overflow_drops_a_new_highest_range() {
        let mut sb = full_board();
        let before = ranges(&sb);
        assert_eq!(sb.add(1000, 1010), 0);
        assert_eq!(ranges(&sb), before);
        assert_eq!(sb.sacked_bytes(), MAX_RANGES as u64);
        assert_eq!(sb.highest_sacked(), Some(641));
    }

    #[test]
    fn overflow_evicts_the_old_highest_range_for_a_lower_one() {
        let mut sb = full_board();
        assert_eq!(sb.add(0, 5), 5);
        let held = ranges(&sb);
        assert_eq!(held.len(), MAX_RANGES);
        assert_eq!(held[0], (0, 5));
        // 640..641 is gone; 630..631 is the highest now.
        assert_eq!(held[MAX_RANGES - 1], (630, 631));
        assert_eq!(sb.highest_sacked(), Some(631));
        assert!(!sb.is_sacked(640));
        assert_eq!(sb.sacked_bytes(), 5 + MAX_RANGES as u64 - 1);
        // A range landing in the middle evicts the highest again.
        assert_eq!(sb.add(15, 17), 2);
        assert_eq!(sb.highest_sacked(), Some(621));
        assert_eq!(sb.sacked_bytes(), 7 + MAX_RANGES as u64 - 2);
    }

    #[test]
    fn full_scoreboard_still_merges_and_frees_slots() {
        let mut sb = full_board();
        // Touching or overlapping a held range needs no slot.
        assert_eq!(sb.add(641, 645), 4);
        assert_eq!(sb.add(5, 11), 5);
        assert_eq!(ranges(&sb).len(), MAX_RANGES);
        assert_eq!(sb.highest_sacked(), Some(645));
        // Bridging 10..11 to 30..31 merges three ranges into one.
        assert_eq!(sb.add(11, 30), 18);
        assert_eq!(ranges(&sb).len(), MAX_RANGES - 2);
        assert_eq!(sb.add(1000, 1001), 1);
        assert_eq!(sb.add(2000, 2001), 1);
        assert_eq!(ranges(&sb).len(), MAX_RANGES);
        assert_eq!(sb.add(3000, 3001), 0);
    }

    #[test]
    fn is_sacked_includes_start_and_excludes_end() {
        let sb = board(&[(10, 20), (30, 31)]);
        assert!(!sb.is_sacked(9));
        assert!(sb.is_sacked(10));
        assert!(sb.is_sacked(19));
        assert!(!sb.is_sacked(20));
        assert!(sb.is_sacked(30));
        assert!(!sb.is_sacked(31));
        assert!(!sb.is_sacked(u64::MAX));
    }

    #[test]
    fn sacked_above_counts_from_the_position_on() {
        let sb = board(&[(10, 20), (30, 40)]);
        assert_eq!(sb.sacked_above(0), 20);
        assert_eq!(sb.sacked_above(10), 20);
        assert_eq!(sb.sacked_above(15), 15);
        assert_eq!(sb.sacked_above(20), 10);
        assert_eq!(sb.sacked_above(39), 1);
        assert_eq!(sb.sacked_above(40), 0);
        assert_eq!(sb.sacked_above(u64::MAX), 0);
    }

    #[test]
    fn unsacked_in_subtracts_the_sacked_overlap() {
        let sb = board(&[(10, 20), (30, 40)]);
        assert_eq!(sb.unsacked_in(0, 50), 30);
        assert_eq!(sb.unsacked_in(15, 35), 10);
        assert_eq!(sb.unsacked_in(12, 18), 0);
        assert_eq!(sb.unsacked_in(20, 30), 10);
        assert_eq!(sb.unsacked_in(40, 40), 0);
        assert_eq!(sb.unsacked_in(35, 15), 0);
    }

    #[test]
    fn next_hole_finds_the_first_unsacked_run() {
        let sb = board(&[(10, 20), (30, 40)]);
        assert_eq!(sb.next_hole(0, 100), Some((0, 10)));
        assert_eq!(sb.next_hole(5, 100), Some((5, 10)));
        // From inside a range: the hole after it.
        assert_eq!(sb.next_hole(10, 100), Some((20, 30)));
        assert_eq!(sb.next_hole(35, 100), Some((40, 100)));
        // Clipped at `to`.
        assert_eq!(sb.next_hole(20, 25), Some((20, 25)));
        assert_eq!(sb.next_hole(0, 5), Some((0, 5)));
        // Nothing unSACKed in [from, to).
        assert_eq!(sb.next_hole(12, 20), None);
        assert_eq!(sb.next_hole(10, 20), None);
        assert_eq!(sb.next_hole(15, 15), None);
        assert_eq!(sb.next_hole(30, 10), None);
    }

    // IsLost at DupThresh 3 and SMSS 10: lost when more than 20 bytes, or 3 ranges, are SACKed
    // above.

    #[test]
    fn byte_rule_needs_more_than_two_segments_above() {
        // 20 bytes above 0..10 is not enough.
        let mut sb = board(&[(10, 30)]);
        assert_eq!(sb.lost_boundary(0, 3, 10), 0);
        // 21 is.
        assert_eq!(sb.add(30, 31), 1);
        assert_eq!(sb.lost_boundary(0, 3, 10), 10);
    }

    #[test]
    fn byte_rule_counts_bytes_across_ranges() {
        // Two ranges, 21 bytes: the holes below 10 are lost, 20..30 is not (11 bytes above).
        let sb = board(&[(10, 20), (30, 41)]);
        assert_eq!(sb.lost_boundary(0, 3, 10), 10);
        // Four ranges of 7 bytes: 28 bytes above 0, 21 above 10..20 (lost), 14 above 20..30.
        let sb = board(&[(10, 17), (20, 27), (30, 37), (40, 47)]);
        assert_eq!(sb.lost_boundary(0, 3, 10), 20);
    }

    #[test]
    fn range_rule_needs_dup_thresh_ranges_above() {
        // Two 1-byte ranges: neither rule.
        let mut sb = board(&[(20, 21), (40, 41)]);
        assert_eq!(sb.lost_boundary(0, 3, 10), 0);
        // A third: everything below the lowest is lost, 21..40 is not.
        assert_eq!(sb.add(60, 61), 1);
        assert_eq!(sb.lost_boundary(0, 3, 10), 20);
        // A fourth lower down moves nothing up; one higher up does.
        assert_eq!(sb.add(10, 11), 1);
        assert_eq!(sb.lost_boundary(0, 3, 10), 20);
        assert_eq!(sb.add(80, 81), 1);
        assert_eq!(sb.lost_boundary(0, 3, 10), 40);
    }

    #[test]
    fn the_higher_of_the_two_rules_wins() {
        // Range rule alone reaches 30 (three ranges above 0..30); the byte rule reaches
        // 50 (the 25 bytes of 50..75 are above 40..50).
        let sb = board(&[(30, 31), (40, 41), (50, 75)]);
        assert_eq!(sb.lost_boundary(0, 3, 10), 50);
        // Byte rule alone would stop at 50 (20 bytes above 60..70 do not count); the range
        // rule reaches 70.
        let sb = board(&[(50, 71), (72, 73), (74, 75), (76, 77)]);
        assert_eq!(sb.lost_boundary(0, 3, 10), 72);
    }

    #[test]
    fn lost_boundary_is_at_least_una() {
        let sb = board(&[(10, 20), (30, 41)]);
        assert_eq!(sb.lost_boundary(5, 3, 10), 10);
        assert_eq!(sb.lost_boundary(10, 3, 10), 10);
        assert_eq!(sb.lost_boundary(25, 3, 10), 25);
    }

    #[test]
    fn lost_boundary_edge_thresholds() {
        let sb = board(&[(10, 11), (20, 21)]);
        // DupThresh 1 (and 0, taken as 1): any SACKed byte above makes a hole lost.
        assert_eq!(sb.lost_boundary(0, 1, 10), 20);
        assert_eq!(sb.lost_boundary(0, 0, 10), 20);
        // DupThresh 2: two ranges above.
        assert_eq!(sb.lost_boundary(0, 2, 10), 10);
        // Thresholds no scoreboard can reach.
        assert_eq!(sb.lost_boundary(0, u64::MAX, 10), 0);
        assert_eq!(sb.lost_boundary(0, 3, u64::MAX), 0);
        assert_eq!(sb.lost_boundary(0, u64::MAX, u64::MAX), 0);
    }

    /// RFC 6675 on a flight of ten 10-byte segments with segments 0 and 3 lost, using the
    /// formulas of the module doc.
    #[test]
    fn pipe_and_next_seg_inputs_during_recovery() {
        let (high_ack, high_data, dup_thresh, smss) = (0, 100, 3, 10);
        let mut sb = Scoreboard::new();
        // Three duplicate ACKs SACK segments 1, 2 and 4.
        assert_eq!(sb.add(10, 20), 10);
        assert_eq!(sb.add(20, 30), 10);
        assert_eq!(sb.add(40, 50), 10);
        assert_eq!(ranges(&sb), [(10, 30), (40, 50)]);
        // 30 bytes above segment 0: lost; 10 above segment 3: not yet.
        let lost = sb.lost_boundary(high_ack, dup_thresh, smss);
        assert_eq!(lost, 10);
        // Nothing retransmitted yet (HighRxt = HighACK): pipe is the 60 unSACKed bytes of
        // 30..40 and 50..100.
        let high_rxt = high_ack;
        let pipe = sb.unsacked_in(lost, high_data) + sb.unsacked_in(high_ack, high_rxt);
        assert_eq!(pipe, 60);
        // NextSeg rule 1: segment 0.
        assert_eq!(sb.next_hole(high_rxt.max(high_ack), lost), Some((0, 10)));
        // After retransmitting it (HighRxt = 10), rule 1 has nothing left, and rule 3 offers
        // segment 3, below the highest SACKed byte.
        let high_rxt = 10;
        assert_eq!(
            sb.unsacked_in(lost, high_data) + sb.unsacked_in(high_ack, high_rxt),
            70
        );
        assert_eq!(sb.next_hole(high_rxt, lost), None);
        let highest = sb.highest_sacked().unwrap();
        assert_eq!(sb.next_hole(high_rxt, highest), Some((30, 40)));
        // One more SACKed segment leaves 20 bytes above segment 3: not enough. A second
        // makes it lost as well.
        assert_eq!(sb.add(50, 60), 10);
        assert_eq!(sb.lost_boundary(high_ack, dup_thresh, smss), 10);
        assert_eq!(sb.add(60, 70), 10);
        assert_eq!(sb.lost_boundary(high_ack, dup_thresh, smss), 40);
        assert_eq!(sb.next_hole(high_rxt, 40), Some((30, 40)));
    }

    /// Blocks in the model-based properties start below this.
    const UNIVERSE: u64 = 2000;

    /// Positions the model tracks: every block generated ends below this.
    const SPACE: u64 = UNIVERSE + 64;

    /// The scoreboard as one flag per position, with the overflow policy applied to its
    /// maximal runs.
    struct Model {
        held: Vec<bool>,
        una: u64,
    }

    impl Model {
        fn new() -> Self {
            Self {
                held: vec![false; SPACE as usize],
                una: 0,
            }
        }

        fn is_sacked(&self, at: u64) -> bool {
            usize::try_from(at)
                .ok()
                .and_then(|i| self.held.get(i))
                .is_some_and(|&held| held)
        }

        fn count(&self) -> u64 {
            self.held.iter().filter(|&&held| held).count() as u64
        }

        /// Maximal runs of SACKed positions.
        fn runs(&self) -> Vec<(u64, u64)> {
            let mut runs: Vec<(u64, u64)> = Vec::new();
            for at in (0..SPACE).filter(|&at| self.is_sacked(at)) {
                match runs.last_mut() {
                    Some(run) if run.1 == at => run.1 += 1,
                    _ => runs.push((at, at + 1)),
                }
            }
            runs
        }

        fn advance(&mut self, una: u64) {
            self.una = self.una.max(una);
            for at in 0..self.una.min(SPACE) {
                self.held[at as usize] = false;
            }
        }

        fn clear(&mut self) {
            self.held.fill(false);
        }

        /// Marks the positions, drops the highest run while there are too many, and returns
        /// how many positions are held now that were not before.
        fn add(&mut self, start: u64, end: u64) -> u64 {
            let before = self.held.clone();
            for at in start.max(self.una)..end {
                self.held[at as usize] = true;
            }
            while self.runs().len() > MAX_RANGES {
                let (start, end) = self.runs()[MAX_RANGES];
                for at in start..end {
                    self.held[at as usize] = false;
                }
            }
            (0..SPACE as usize)
                .filter(|&i| self.held[i] && !before[i])
                .count() as u64
        }

        fn bytes_above(&self, at: u64) -> u64 {
            (at..SPACE).filter(|&x| self.is_sacked(x)).count() as u64
        }

        fn unsacked_in(&self, from: u64, to: u64) -> u64 {
            (from..to).filter(|&at| !self.is_sacked(at)).count() as u64
        }

        fn next_hole(&self, from: u64, to: u64) -> Option<(u64, u64)> {
            let start = (from..to).find(|&at| !self.is_sacked(at))?;
            let end = (start..to).find(|&at| self.is_sacked(at)).unwrap_or(to);
            Some((start, end))
        }

        /// The least boundary at or above `una` past which no unSACKed byte is lost, straight
        /// from RFC 6675's IsLost; also checks that IsLost is monotone.
        fn lost_boundary(&self, una: u64, dup_thresh: u64, mss: u64) -> Result<u64, TestCaseError> {
            let dup_thresh = dup_thresh.max(1);
            let limit = (dup_thresh - 1) * mss;
            // SACKed bytes and runs strictly above `x`, counted as x goes down.
            let (mut bytes, mut runs) = (0, 0);
            let mut highest_lost = None;
            let mut seen_lost = false;
            for x in (0..SPACE).rev() {
                if self.is_sacked(x + 1) {
                    bytes += 1;
                    if !self.is_sacked(x) {
                        runs += 1;
                    }
                }
                let is_lost = bytes > limit || runs >= dup_thresh;
                prop_assert!(is_lost || !seen_lost, "IsLost is not monotone at {}", x);
                seen_lost |= is_lost;
                if is_lost && !self.is_sacked(x) && x >= una && highest_lost.is_none() {
                    highest_lost = Some(x);
                }
            }
            Ok(highest_lost.map_or(una, |x| x + 1))
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(u64, u64),
        AdvanceBy(u64),
        AdvanceTo(u64),
        Clear,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            12 => (0..UNIVERSE, 1..=30u64).prop_map(|(start, len)| Op::Add(start, start + len)),
            3 => (0..UNIVERSE, 0..UNIVERSE).prop_map(|(a, b)| Op::Add(a, b)),
            3 => (0..40u64).prop_map(Op::AdvanceBy),
            1 => (0..UNIVERSE).prop_map(Op::AdvanceTo),
            1 => Just(Op::Clear),
        ]
    }

    /// An operation plus the queries checked after it.
    fn step() -> impl Strategy<Value = (Op, u64, u64, u64, u64)> {
        (op(), 0..SPACE, 0..SPACE, 0..6u64, 1..=20u64)
    }

    /// Checks the stored ranges' invariants and every query against the model.
    fn check(
        sb: &Scoreboard,
        model: &Model,
        (a, b): (u64, u64),
        (dup_thresh, mss): (u64, u64),
    ) -> Result<(), TestCaseError> {
        let held = ranges(sb);
        prop_assert!(held.len() <= MAX_RANGES);
        prop_assert!(
            held.iter()
                .all(|&(start, end)| model.una <= start && start < end)
        );
        prop_assert!(held.windows(2).all(|w| w[0].1 < w[1].0), "{:?}", held);
        prop_assert_eq!(sb.spans.capacity(), MAX_RANGES);
        prop_assert_eq!(&held, &model.runs());
        prop_assert_eq!(sb.sacked_bytes(), model.count());
        prop_assert_eq!(sb.is_empty(), model.count() == 0);
        prop_assert_eq!(
            sb.highest_sacked(),
            model.runs().last().map(|&(_, end)| end)
        );
        prop_assert_eq!(sb.is_sacked(a), model.is_sacked(a));
        prop_assert_eq!(sb.sacked_above(a), model.bytes_above(a));
        let (low, high) = (a.min(b), a.max(b));
        for (from, to) in [(a, b), (low, high), (model.una, high)] {
            prop_assert_eq!(sb.unsacked_in(from, to), model.unsacked_in(from, to));
            prop_assert_eq!(sb.next_hole(from, to), model.next_hole(from, to));
        }
        for una in [model.una, a] {
            prop_assert_eq!(
                sb.lost_boundary(una, dup_thresh, mss),
                model.lost_boundary(una, dup_thresh, mss)?
            );
        }
        prop_assert_eq!(
            sb.lost_boundary(model.una, 3, 10),
            model.lost_boundary(model.una, 3, 10)?
        );
        Ok(())
    }

    proptest! {
        /// Random SACK blocks, cumulative ACKs and resets over a small universe: the
        /// scoreboard agrees with a set of positions on every query, including the IsLost
        /// boundary computed straight from RFC 6675's definition.
        #[test]
        fn matches_a_set_of_positions(steps in proptest::collection::vec(step(), 1..120)) {
            let mut sb = Scoreboard::new();
            let mut model = Model::new();
            for (op, a, b, dup_thresh, mss) in steps {
                match op {
                    Op::Add(start, end) => prop_assert_eq!(sb.add(start, end), model.add(start, end)),
                    Op::AdvanceBy(delta) => {
                        let una = model.una + delta;
                        sb.advance(una);
                        model.advance(una);
                    }
                    Op::AdvanceTo(una) => {
                        sb.advance(una);
                        model.advance(una);
                    }
                    Op::Clear => {
                        sb.clear();
                        model.clear();
                    }
                }
                check(&sb, &model, (a, b), (dup_thresh, mss))?;
            }
        }

        /// Many short blocks, so the range bound is reached often.
        #[test]
        fn matches_the_model_at_the_range_bound(
            blocks in proptest::collection::vec((0..UNIVERSE, 1..=3u64), 100..200),
            dup_thresh in 1..6u64,
            mss in 1..=20u64,
        ) {
            let mut sb = Scoreboard::new();
            let mut model = Model::new();
            let mut full = false;
            for (start, len) in blocks {
                prop_assert_eq!(sb.add(start, start + len), model.add(start, start + len));
                full |= sb.ranges().count() == MAX_RANGES;
                check(&sb, &model, (start, start + 40), (dup_thresh, mss))?;
            }
            // Only runs that reached the bound count towards the cases proptest asks for.
            prop_assume!(full);
        }

        /// Any values at all, as a peer may send: no panic, and the accounting holds.
        #[test]
        fn arbitrary_values_keep_the_invariants(
            ops in proptest::collection::vec(
                (any::<bool>(), any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
                1..100,
            ),
        ) {
            let mut sb = Scoreboard::new();
            let mut una = 0;
            for (is_add, x, y, dup_thresh, mss) in ops {
                if is_add {
                    let room = sb.ranges().count() < MAX_RANGES;
                    let before = sb.sacked_bytes();
                    let new = sb.add(x, y);
                    prop_assert!(new <= y.saturating_sub(x.max(una)));
                    if room {
                        prop_assert_eq!(sb.sacked_bytes(), before + new);
                    }
                } else {
                    sb.advance(x);
                    una = una.max(x);
                }
                let held = ranges(&sb);
                prop_assert!(held.len() <= MAX_RANGES);
                prop_assert!(held.iter().all(|&(start, end)| una <= start && start < end));
                prop_assert!(held.windows(2).all(|w| w[0].1 < w[1].0));
                prop_assert_eq!(
                    sb.sacked_bytes(),
                    held.iter().map(|&(start, end)| end - start).sum::<u64>()
                );
                prop_assert_eq!(sb.sacked_bytes() + sb.unsacked_in(0, u64::MAX), u64::MAX);
                let lost = sb.lost_boundary(x, dup_thresh, mss);
                prop_assert!(lost == x || (lost > x && held.iter().any(|&(start, _)| start == lost)));
                prop_assert_eq!(
                    sb.is_sacked(y),
                    sb.sacked_above(y) > sb.sacked_above(y.saturating_add(1))
                );
                match sb.next_hole(x, y) {
                    Some((start, end)) => {
                        prop_assert!(x <= start && start < end && end <= y);
                        prop_assert_eq!(sb.unsacked_in(x, start), 0);
                        prop_assert_eq!(sb.unsacked_in(start, end), end - start);
                        prop_assert!(end == y || sb.is_sacked(end));
                    }
                    None => prop_assert_eq!(sb.unsacked_in(x, y), 0),
                }
            }
        }
    }
}
