//! Master-to-replica log shipping, quorum commit and catch-up. Moves log
//! entries; knows nothing of STOMP.

pub mod checkpoint;
pub mod committer;
pub mod divergence;
pub mod follower;
pub mod leader;
pub mod policy;
pub mod recent;
pub mod session;
pub mod syncer;
pub mod wire;

use crate::store::Entry;
use std::collections::VecDeque;

/// Takes the entries up to `upto` off the front of `unapplied`: what a
/// commit index makes ready to apply, on the master and on replicas.
pub(crate) fn take_committed(unapplied: &mut VecDeque<Entry>, upto: u64) -> Vec<Entry> {
    let n = unapplied
        .iter()
        .take_while(|e| e.position.index <= upto)
        .count();
    unapplied.drain(..n).collect()
}
