//! Reading the event log as a feed that loses nothing: the position of a
//! reader (a server-sent event stream, on any instance) in the log.
//!
//! Event ids come from one counter, but on PostgreSQL a transaction that
//! took a lower id may commit after one that took a higher id. A reader
//! that moved past the higher id would never see the lower one. So a
//! reader stops at a hole in the ids until the hole is settled: the event
//! after it is older than [`SETTLE_SECONDS`] (no transaction of Sigil's
//! lasts that long, so the hole is an id that was rolled back or purged),
//! or the reader has waited [`SETTLE_SECONDS`] at it.

use std::time::{Duration, Instant};

/// Seconds after which a hole in the event ids is taken as permanent.
pub const SETTLE_SECONDS: i64 = 5;

/// A reader's position in the event log: every event up to `position`
/// was considered (delivered or filtered out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedCursor {
    position: i64,
    /// The hole the reader waits at, and since when.
    hole: Option<(i64, Instant)>,
}

impl FeedCursor {
    /// A reader after event `after` (0: from the start).
    pub fn new(after: i64) -> Self {
        Self {
            position: after.max(0),
            hole: None,
        }
    }

    /// The id of the last event considered.
    pub fn position(&self) -> i64 {
        self.position
    }

    /// Of `next` (the ids and creation times, Unix seconds, of the events
    /// after the position, by id), how many may be read now; the position
    /// moves past them. `now` is the time in Unix seconds, `instant` the
    /// monotonic clock.
    pub fn settle(&mut self, next: &[(i64, i64)], now: i64, instant: Instant) -> usize {
        let mut taken = 0;
        for &(id, created_at) in next {
            if id <= self.position {
                // Not after the position: a caller's mistake; skip it.
                taken += 1;
                continue;
            }
            let expected = self.position + 1;
            if id != expected && !self.hole_settled(expected, created_at, now, instant) {
                break;
            }
            self.position = id;
            self.hole = None;
            taken += 1;
        }
        taken
    }

    /// Whether the hole starting at `expected`, before an event created at
    /// `created_at`, is permanent.
    fn hole_settled(&mut self, expected: i64, created_at: i64, now: i64, instant: Instant) -> bool {
        if created_at <= now - SETTLE_SECONDS {
            return true;
        }
        match self.hole {
            Some((at, since)) if at == expected => {
                instant.duration_since(since) >= Duration::from_secs(SETTLE_SECONDS as u64)
            }
            _ => {
                self.hole = Some((expected, instant));
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn contiguous_ids_are_read_at_once() {
        let mut c = FeedCursor::new(10);
        let t = Instant::now();
        assert_eq!(c.settle(&[(11, NOW), (12, NOW), (13, NOW)], NOW, t), 3);
        assert_eq!(c.position(), 13);
    }

    #[test]
    fn a_fresh_hole_stops_the_reader_until_it_fills_or_settles() {
        let mut c = FeedCursor::new(10);
        let t = Instant::now();
        // 12 committed before 11: the reader waits at 11.
        assert_eq!(c.settle(&[(12, NOW)], NOW, t), 0);
        assert_eq!(c.position(), 10);
        // 11 arrives: both are read.
        assert_eq!(c.settle(&[(11, NOW), (12, NOW)], NOW, t), 2);
        assert_eq!(c.position(), 12);
        // A hole that never fills (a rolled-back id) is passed after the wait.
        assert_eq!(c.settle(&[(14, NOW)], NOW, t), 0);
        let later = t + Duration::from_secs(SETTLE_SECONDS as u64 - 1);
        assert_eq!(c.settle(&[(14, NOW)], NOW + 4, later), 0);
        let later = t + Duration::from_secs(SETTLE_SECONDS as u64);
        assert_eq!(c.settle(&[(14, NOW), (15, NOW)], NOW + 4, later), 2);
        assert_eq!(c.position(), 15);
    }

    #[test]
    fn holes_before_old_events_are_passed_at_once() {
        // Resuming far back: purged events left holes long ago.
        let mut c = FeedCursor::new(1);
        let t = Instant::now();
        let old = NOW - SETTLE_SECONDS;
        assert_eq!(c.settle(&[(5, old), (9, old), (10, NOW)], NOW, t), 3);
        assert_eq!(c.position(), 10);
    }

    #[test]
    fn a_new_hole_restarts_the_wait() {
        let mut c = FeedCursor::new(0);
        let t = Instant::now();
        assert_eq!(c.settle(&[(2, NOW)], NOW, t), 0);
        let later = t + Duration::from_secs(3);
        assert_eq!(
            c.settle(&[(1, NOW), (2, NOW), (3, NOW), (5, NOW)], NOW, later),
            3
        );
        // The hole at 4 is new: its wait starts now, not at the first one.
        let a_bit_later = later + Duration::from_secs(3);
        assert_eq!(c.settle(&[(5, NOW)], NOW, a_bit_later), 0);
        assert_eq!(c.position(), 3);
    }
}
