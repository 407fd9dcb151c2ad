//! ZooKeeper membership and election: who is master, in which epoch.

pub mod choose;
pub mod records;
pub mod zk;
