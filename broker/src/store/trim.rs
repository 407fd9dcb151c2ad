//! When to trim the log. The queue state holds what the log applied, so
//! the log is kept only for replicas to catch up from: `retain` entries
//! behind the applied one, trimmed with one range delete every tenth of
//! that. Trimmed soon enough, most entries die in the memtable and are
//! never written to a table file at all.

/// Log entries kept by default behind the applied one.
pub const DEFAULT_RETAIN: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct Trimmer {
    retain: u64,
    every: u64,
    last: u64,
}

impl Trimmer {
    pub fn new(retain: u64, applied: u64) -> Trimmer {
        let retain = retain.max(1);
        Trimmer {
            retain,
            every: (retain / 10).clamp(1, 10_000),
            last: applied,
        }
    }

    /// With entries up to `applied` applied: the index below which the
    /// log may now be dropped, when a trim is due.
    pub fn due(&mut self, applied: u64) -> Option<u64> {
        if applied.saturating_sub(self.last) < self.every || applied <= self.retain {
            return None;
        }
        self.last = applied;
        Some(applied - self.retain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_in_steps_keeping_what_replicas_may_need() {
        let mut t = Trimmer::new(100, 0);
        assert_eq!(t.due(50), None);
        assert_eq!(t.due(100), None, "nothing beyond the retained entries yet");
        assert_eq!(t.due(105), Some(5));
        assert_eq!(t.due(110), None, "less than a tenth since the last trim");
        assert_eq!(t.due(115), Some(15));
        // A node that starts with a long applied history trims at once
        // only after a step.
        let mut t = Trimmer::new(100, 1_000);
        assert_eq!(t.due(1_005), None);
        assert_eq!(t.due(1_010), Some(910));
        assert_eq!(Trimmer::new(0, 0).due(5), Some(4), "retain 0 keeps one");
    }
}
