//! ferromq broker: STOMP clients, a RocksDB log with group commit, and
//! quorum replication under a ZooKeeper-elected master.

pub mod admin;
pub mod cluster;
pub mod commit;
pub mod config;
pub mod connection;
pub mod election;
pub mod encoding;
pub mod lease;
pub mod metrics;
pub mod replication;
pub mod router;
pub mod server;
pub mod status;
pub mod store;
