//! Where a replica's log stops matching the master's.
//!
//! Entries of one epoch are written by that epoch's single master from
//! its barrier on, so two logs holding entries of the same epoch agree up
//! to where the shorter of the two stops holding that epoch (the log
//! matching property, as in Raft). The newest epoch both logs hold thus
//! gives their common prefix; the replica drops what lies beyond it.

use crate::store::EpochStart;

/// One log's shape: where its epochs start, and its last index.
#[derive(Debug, Clone, Copy)]
pub struct LogShape<'a> {
    pub epochs: &'a [EpochStart],
    pub last: u64,
}

impl LogShape<'_> {
    /// The last index of `epoch` in this log, if the log holds it.
    fn end_of(&self, epoch: u64) -> Option<u64> {
        let at = self.epochs.iter().position(|&(e, _)| e == epoch)?;
        Some(match self.epochs.get(at + 1) {
            Some(&(_, next_start)) => next_start.saturating_sub(1),
            None => self.last,
        })
    }
}

/// The length of the common prefix of two logs: every entry up to the
/// returned index is the same in both.
pub fn common_prefix(master: LogShape<'_>, replica: LogShape<'_>) -> u64 {
    replica
        .epochs
        .iter()
        .rev()
        .find_map(|&(epoch, start)| {
            let master_end = master.end_of(epoch)?;
            let replica_end = replica.end_of(epoch)?;
            // An epoch's entries start at its barrier in every log.
            let master_start = master.epochs.iter().find(|&&(e, _)| e == epoch)?.1;
            (master_start == start).then_some(master_end.min(replica_end))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(epochs: &[EpochStart], last: u64) -> LogShape<'_> {
        LogShape { epochs, last }
    }

    #[test]
    fn common_prefix_table() {
        // (master epochs, master last, replica epochs, replica last, expected)
        type Case<'a> = (&'a [EpochStart], u64, &'a [EpochStart], u64, u64);
        let cases: &[Case<'_>] = &[
            // Same history, replica behind: it keeps everything.
            (&[(1, 1), (2, 10)], 20, &[(1, 1), (2, 10)], 15, 15),
            // Replica behind by a whole epoch.
            (&[(1, 1), (2, 10)], 20, &[(1, 1)], 7, 7),
            // Replica holds entries of epoch 1 the new master never got.
            (&[(1, 1), (2, 6)], 20, &[(1, 1)], 9, 5),
            // Replica was a master of epoch 3 that no one followed.
            (
                &[(1, 1), (2, 10), (4, 30)],
                40,
                &[(1, 1), (2, 10), (3, 25)],
                27,
                24,
            ),
            // Empty replica.
            (&[(1, 1)], 20, &[], 0, 0),
            // Nothing in common.
            (&[(5, 1)], 20, &[(4, 1)], 9, 0),
            // Replica ahead within the master's own epoch cannot happen
            // with a live master, but the shorter log still bounds it.
            (&[(1, 1)], 5, &[(1, 1)], 9, 5),
        ];
        for (i, (me, ml, re, rl, want)) in cases.iter().enumerate() {
            assert_eq!(
                common_prefix(shape(me, *ml), shape(re, *rl)),
                *want,
                "case {i}"
            );
        }
    }
}
