//! Master-to-replica log shipping, quorum commit and catch-up. Moves log
//! entries; knows nothing of STOMP.

pub mod checkpoint;
pub mod committer;
pub mod divergence;
pub mod follower;
pub mod leader;
pub mod policy;
pub mod session;
pub mod wire;
