//! The records in ZooKeeper, shared with the operator that reads them.

pub use ferromq_election::{
    EPOCH, MASTER, MasterRecord, NODES, NodeRecord, NodeState, parse_epoch,
};
