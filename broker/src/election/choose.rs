//! The election rule, as a pure function: among at least a quorum of
//! frozen candidates of the current round, the one with the highest
//! position wins, then the highest weight, then the lowest id. A node
//! resting after a handover or a lost quorum (not eligible) cannot win.
//! When the eligible nodes alone are fewer than a quorum, resting ones
//! make up the count, and then the winner must be at least as far as
//! each of them.
//!
//! Why this is safe: a committed entry is on a quorum, and any quorum of
//! candidates shares a node with it; with positions compared epoch first,
//! the highest position among them holds every committed entry.

use super::records::{NodeRecord, NodeState};
use std::cmp::Ordering;

/// The records that count in the round of `zk_epoch`.
pub fn candidates(records: &[NodeRecord], zk_epoch: u64) -> Vec<&NodeRecord> {
    records
        .iter()
        .filter(|r| r.state == NodeState::Candidate && r.zk_epoch == zk_epoch)
        .collect()
}

/// The winner among `candidates`, or `None` while fewer than `quorum`
/// of them have frozen their positions, or while only a resting node
/// holds the highest position.
pub fn choose<'a>(candidates: &[&'a NodeRecord], quorum: usize) -> Option<&'a NodeRecord> {
    if candidates.len() < quorum {
        return None;
    }
    let (eligible, resting): (Vec<&NodeRecord>, Vec<&NodeRecord>) =
        candidates.iter().copied().partition(|c| c.eligible);
    let best = eligible.iter().copied().max_by(|a, b| rank(a, b))?;
    if eligible.len() >= quorum {
        return Some(best);
    }
    let ahead = resting.iter().any(|r| r.position > best.position);
    (!ahead).then_some(best)
}

/// The epoch a new master takes: above the one in ZooKeeper, above every
/// epoch in the candidates' logs and above any this node followed, so that
/// no entry of an older master can ever look newer than its own.
pub fn next_epoch(zk_epoch: u64, candidates: &[&NodeRecord], seen: u64) -> u64 {
    let in_logs = candidates
        .iter()
        .map(|c| c.position.epoch)
        .max()
        .unwrap_or(0);
    zk_epoch.max(in_logs).max(seen) + 1
}

fn rank(a: &NodeRecord, b: &NodeRecord) -> Ordering {
    a.position
        .cmp(&b.position)
        .then(a.weight.cmp(&b.weight))
        .then(b.id.cmp(&a.id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Position;

    fn node(id: &str, epoch: u64, index: u64, weight: u32) -> NodeRecord {
        NodeRecord {
            id: id.into(),
            client: String::new(),
            replication: String::new(),
            admin: String::new(),
            weight,
            state: NodeState::Candidate,
            position: Position { epoch, index },
            zk_epoch: 5,
            eligible: true,
            pod_uid: None,
        }
    }

    fn winner(records: &[NodeRecord], quorum: usize) -> Option<String> {
        choose(&candidates(records, 5), quorum).map(|r| r.id.clone())
    }

    #[test]
    fn a_new_epoch_is_above_every_epoch_known() {
        let a = node("a", 3, 10, 1);
        let b = node("b", 7, 1, 1);
        assert_eq!(next_epoch(5, &[&a], 0), 6);
        assert_eq!(
            next_epoch(5, &[&a, &b], 0),
            8,
            "a log from a lost ZooKeeper"
        );
        assert_eq!(next_epoch(5, &[&a], 9), 10);
        assert_eq!(next_epoch(0, &[], 0), 1);
    }

    #[test]
    fn election_table() {
        let a = node("a", 3, 10, 1);
        let b = node("b", 3, 12, 1);
        let c = node("c", 2, 90, 9);
        // The highest position wins; epoch counts before index.
        assert_eq!(
            winner(&[a.clone(), b.clone(), c.clone()], 2),
            Some("b".into())
        );
        assert_eq!(winner(&[a.clone(), c.clone()], 2), Some("a".into()));
        // Fewer than a quorum of candidates: no one.
        assert_eq!(winner(std::slice::from_ref(&b), 2), None);
        // Equal positions: weight, then the lowest id.
        let b2 = node("b2", 3, 12, 5);
        assert_eq!(winner(&[b.clone(), b2.clone()], 2), Some("b2".into()));
        let a2 = node("a2", 3, 12, 1);
        assert_eq!(winner(&[b.clone(), a2], 2), Some("a2".into()));
        // Records of an earlier round and replicas do not count.
        let mut stale = node("s", 9, 99, 1);
        stale.zk_epoch = 4;
        let mut replica = node("r", 9, 99, 1);
        replica.state = NodeState::Replica;
        assert_eq!(winner(&[a.clone(), stale, replica], 2), None);
        // A resting node makes up the quorum but cannot win...
        let mut resting = node("x", 3, 12, 9);
        resting.eligible = false;
        assert_eq!(winner(&[b.clone(), resting.clone()], 2), Some("b".into()));
        // ...and then no one behind it may win;
        assert_eq!(winner(&[a.clone(), resting.clone()], 2), None);
        // but a quorum of eligible nodes needs no resting one.
        let mut ahead = node("y", 4, 1, 1);
        ahead.eligible = false;
        assert_eq!(winner(&[a.clone(), c.clone(), ahead], 2), Some("a".into()));
        assert_eq!(winner(&[a, b], 2), Some("b".into()));
    }
}
