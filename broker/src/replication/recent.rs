//! The master's newest log entries, as it encoded them for its own log,
//! kept in memory for the replication sessions: a replica that keeps up is
//! sent entries from here instead of reading them back from the store.
//! One of these lives for one term, whose log only grows.

use super::wire::within_bytes;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;

/// Bytes of entries kept by default: a few batches of group commit.
pub const DEFAULT_BYTES: usize = 32 << 20;

#[derive(Debug)]
pub struct Recent {
    cap: usize,
    inner: Mutex<Kept>,
}

#[derive(Debug, Default)]
struct Kept {
    /// The index of the first entry in `entries`.
    first: u64,
    entries: VecDeque<Bytes>,
    bytes: usize,
}

impl Recent {
    /// Keeps up to `cap` bytes of entries (at least the newest one).
    pub fn new(cap: usize) -> Recent {
        Recent {
            cap,
            inner: Mutex::default(),
        }
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds entries that follow on from `first`, as appended to the log.
    /// Entries that do not follow the kept ones replace them.
    pub fn push(&self, first: u64, entries: impl IntoIterator<Item = Bytes>) {
        let mut k = self.kept();
        if k.first + k.entries.len() as u64 != first {
            *k = Kept {
                first,
                ..Kept::default()
            };
        }
        for e in entries {
            k.bytes += e.len();
            k.entries.push_back(e);
        }
        while k.bytes > self.cap && k.entries.len() > 1 {
            if let Some(old) = k.entries.pop_front() {
                k.bytes -= old.len();
                k.first += 1;
            }
        }
    }

    /// Up to `limit` entries from index `from` on, at most `max_bytes` of
    /// them (but at least one): `None` when `from` is no longer kept, or
    /// not yet.
    pub fn read(&self, from: u64, limit: usize, max_bytes: usize) -> Option<Vec<Bytes>> {
        let k = self.kept();
        let skip = from.checked_sub(k.first)? as usize;
        if skip >= k.entries.len() {
            return None;
        }
        let mut fits = within_bytes(max_bytes);
        let out = k
            .entries
            .iter()
            .skip(skip)
            .take(limit.max(1))
            .take_while(|e| fits(e))
            .cloned()
            .collect();
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8, len: usize) -> Bytes {
        Bytes::from(vec![n; len])
    }

    fn firsts(v: Option<Vec<Bytes>>) -> Option<Vec<u8>> {
        v.map(|v| v.iter().map(|e| e[0]).collect())
    }

    #[test]
    fn reads_what_is_kept_and_only_that() {
        let r = Recent::new(30);
        r.push(5, (5..=7).map(|i| entry(i, 10)));
        assert_eq!(firsts(r.read(5, 10, 100)), Some(vec![5, 6, 7]));
        assert_eq!(firsts(r.read(6, 1, 100)), Some(vec![6]));
        assert_eq!(r.read(4, 10, 100), None, "before the first kept");
        assert_eq!(r.read(8, 10, 100), None, "not appended yet");
        r.push(8, [entry(8, 10)]);
        assert_eq!(r.read(5, 10, 100), None, "the oldest made room");
        assert_eq!(firsts(r.read(6, 10, 100)), Some(vec![6, 7, 8]));
    }

    #[test]
    fn a_read_is_bounded_by_bytes_but_always_moves_on() {
        let r = Recent::new(1_000);
        r.push(1, [entry(1, 10), entry(2, 10), entry(3, 50)]);
        assert_eq!(firsts(r.read(1, 10, 25)), Some(vec![1, 2]));
        assert_eq!(
            firsts(r.read(3, 10, 25)),
            Some(vec![3]),
            "one over the bound"
        );
        let big = Recent::new(5);
        big.push(1, [entry(1, 50)]);
        assert_eq!(
            firsts(big.read(1, 10, 5)),
            Some(vec![1]),
            "the newest stays"
        );
    }

    #[test]
    fn entries_that_do_not_follow_replace_the_kept_ones() {
        let r = Recent::new(1_000);
        r.push(1, [entry(1, 1), entry(2, 1)]);
        r.push(10, [entry(10, 1)]);
        assert_eq!(r.read(1, 10, 100), None);
        assert_eq!(firsts(r.read(10, 10, 100)), Some(vec![10]));
    }
}
