//! ferromq broker: STOMP clients, a RocksDB log with group commit, and
//! (next) quorum replication under a ZooKeeper-elected master.

pub mod admin;
pub mod commit;
pub mod config;
pub mod connection;
pub mod metrics;
pub mod router;
pub mod server;
pub mod status;
pub mod store;
