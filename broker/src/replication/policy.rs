//! The `sync` policy, in ActiveMQ's words, and the commit index it gives.
//!
//! `sync` is a comma-separated list of `local_mem`, `local_disk`,
//! `remote_mem`, `remote_disk`, `quorum_mem`, `quorum_disk`; where two
//! words speak of the same target the stronger wins. `quorum_mem` means
//! `local_mem` plus a quorum in memory, `quorum_disk` means `local_disk`
//! plus a quorum on disk (the master counts toward the quorum).

use std::fmt;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "unknown sync word {0:?}: expected local_mem, local_disk, remote_mem, remote_disk, quorum_mem or quorum_disk"
)]
pub struct PolicyError(pub String);

/// How far an entry must have travelled before it counts as committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncPolicy {
    /// The master fsyncs before counting an entry.
    pub local_disk: bool,
    /// At least one replica must hold the entry (in memory or on disk).
    pub one_remote: Option<Level>,
    /// A quorum (the master included) must hold the entry.
    pub quorum: Option<Level>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Mem,
    Disk,
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy {
            local_disk: true,
            one_remote: None,
            quorum: Some(Level::Disk),
        }
    }
}

impl SyncPolicy {
    /// Whether a replica's "written" acknowledgement (before its fsync)
    /// can commit anything; under disk-only policies it cannot, and
    /// replicas send only the fsynced one.
    pub fn wants_written_acks(&self) -> bool {
        self.one_remote == Some(Level::Mem) || self.quorum == Some(Level::Mem)
    }

    pub fn parse(raw: &str) -> Result<SyncPolicy, PolicyError> {
        let mut p = SyncPolicy {
            local_disk: false,
            one_remote: None,
            quorum: None,
        };
        for word in raw.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "local_mem" => {}
                "local_disk" => p.local_disk = true,
                "remote_mem" => p.one_remote = p.one_remote.max(Some(Level::Mem)),
                "remote_disk" => p.one_remote = Some(Level::Disk),
                "quorum_mem" => p.quorum = p.quorum.max(Some(Level::Mem)),
                "quorum_disk" => {
                    p.quorum = Some(Level::Disk);
                    p.local_disk = true;
                }
                other => return Err(PolicyError(other.to_owned())),
            }
        }
        Ok(p)
    }

    /// Whether a receipt under this policy survives the loss of any
    /// minority of nodes (the docs' invariant 1).
    pub fn is_quorum(&self) -> bool {
        self.quorum.is_some()
    }

    /// Whether replicas must report what they fsynced.
    pub fn needs_remote_disk(&self) -> bool {
        self.one_remote == Some(Level::Disk) || self.quorum == Some(Level::Disk)
    }

    /// The highest index committed under this policy, given how far the
    /// master and each connected replica got. `replicas` holds each
    /// replica's `(in memory, on disk)` index; `cluster` is the configured
    /// number of nodes.
    pub fn commit_index(&self, local: Progress, replicas: &[Progress], cluster: usize) -> u64 {
        let own = if self.local_disk {
            local.disk
        } else {
            local.mem
        };
        let mut bound = own;
        let level_of = |p: &Progress, l: Level| match l {
            Level::Mem => p.mem.max(p.disk),
            Level::Disk => p.disk,
        };
        if let Some(level) = self.one_remote {
            bound = bound.min(kth_highest(replicas, 1, |p| level_of(p, level)));
        }
        if let Some(level) = self.quorum {
            let need = (cluster / 2 + 1).saturating_sub(1);
            bound = bound
                .min(level_of(&local, level))
                .min(kth_highest(replicas, need, |p| level_of(p, level)));
        }
        bound
    }
}

/// The commit index after `candidate` was computed: entries of earlier
/// epochs count only once an entry of the master's own epoch (its barrier
/// at `barrier` first) is on the quorum, as in Raft; and it never goes back.
pub fn advance(commit: u64, candidate: u64, barrier: u64) -> Option<u64> {
    (candidate >= barrier && candidate > commit).then_some(candidate)
}

/// The `k`-th highest value among `replicas` (k = 0 asks for nothing, so
/// it bounds nothing); 0 when fewer than `k` replicas exist.
fn kth_highest(replicas: &[Progress], k: usize, value: impl Fn(&Progress) -> u64) -> u64 {
    if k == 0 {
        return u64::MAX;
    }
    let mut values: Vec<u64> = replicas.iter().map(value).collect();
    values.sort_unstable_by(|a, b| b.cmp(a));
    values.get(k - 1).copied().unwrap_or(0)
}

/// How far one node's log got: written (in memory) and fsynced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub mem: u64,
    pub disk: u64,
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut words = vec![if self.local_disk {
            "local_disk"
        } else {
            "local_mem"
        }];
        match self.one_remote {
            Some(Level::Mem) => words.push("remote_mem"),
            Some(Level::Disk) => words.push("remote_disk"),
            None => {}
        }
        match self.quorum {
            Some(Level::Mem) => words.push("quorum_mem"),
            Some(Level::Disk) => words.push("quorum_disk"),
            None => {}
        }
        write!(f, "{}", words.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(mem: u64, disk: u64) -> Progress {
        Progress { mem, disk }
    }

    #[test]
    fn words_combine_and_the_stronger_wins() {
        assert_eq!(SyncPolicy::parse("quorum_disk"), Ok(SyncPolicy::default()));
        let mem = SyncPolicy::parse("local_mem, quorum_mem").expect("parses");
        assert_eq!((mem.local_disk, mem.quorum), (false, Some(Level::Mem)));
        let both = SyncPolicy::parse("quorum_mem,quorum_disk").expect("parses");
        assert_eq!(both, SyncPolicy::default());
        let r = SyncPolicy::parse("remote_disk,remote_mem,local_disk").expect("parses");
        assert_eq!(r.one_remote, Some(Level::Disk));
        assert!(r.local_disk && !r.is_quorum());
        assert!(SyncPolicy::parse("quorum_dsk").is_err());
    }

    #[test]
    fn commit_index_table() {
        let disk = SyncPolicy::default();
        let mem = SyncPolicy::parse("quorum_mem").expect("parses");
        let local = SyncPolicy::parse("local_disk").expect("parses");
        let remote = SyncPolicy::parse("remote_mem").expect("parses");
        // (policy, master, replicas, cluster, expected)
        let cases: &[(SyncPolicy, Progress, &[Progress], usize, u64)] = &[
            // Standalone: the master's own fsync is the quorum.
            (disk, p(10, 8), &[], 1, 8),
            // Three nodes: the master and the best replica on disk.
            (disk, p(10, 9), &[p(10, 7), p(10, 3)], 3, 7),
            (disk, p(10, 5), &[p(10, 7), p(10, 3)], 3, 5),
            // No replica fsynced yet: nothing commits.
            (disk, p(10, 10), &[p(10, 0), p(4, 0)], 3, 0),
            // No replica connected: nothing commits.
            (disk, p(10, 10), &[], 3, 0),
            // Five nodes need two replicas.
            (disk, p(9, 9), &[p(9, 9), p(9, 6), p(9, 2), p(1, 1)], 5, 6),
            // quorum_mem counts what replicas received.
            (mem, p(10, 0), &[p(8, 2), p(3, 3)], 3, 8),
            // A disk ack implies the entry is in memory too.
            (mem, p(10, 0), &[p(1, 6)], 3, 6),
            // local_disk alone waits for no replica.
            (local, p(10, 4), &[], 3, 4),
            // remote_mem: one replica, in memory.
            (remote, p(10, 0), &[p(2, 0), p(7, 0)], 3, 7),
        ];
        for (i, (policy, master, replicas, cluster, want)) in cases.iter().enumerate() {
            assert_eq!(
                policy.commit_index(*master, replicas, *cluster),
                *want,
                "case {i}: {policy}"
            );
        }
    }

    #[test]
    fn earlier_epochs_commit_only_through_the_barrier() {
        // A quorum holds entries 1..=7 of an earlier epoch; the barrier is 8.
        assert_eq!(advance(0, 7, 8), None);
        assert_eq!(advance(0, 8, 8), Some(8));
        assert_eq!(advance(9, 8, 8), None, "never backwards");
        assert_eq!(advance(9, 12, 8), Some(12));
    }

    #[test]
    fn displays_in_its_own_words() {
        assert_eq!(SyncPolicy::default().to_string(), "local_disk,quorum_disk");
    }
}
