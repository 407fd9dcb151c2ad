//! The ports the broker and ZooKeeper listen on, named once.

/// STOMP, for clients (the broker's `--listen`).
pub const STOMP: i32 = 61613;
/// Admin HTTP: `/livez`, `/readyz`, `/status`, `/metrics`, `/step-down`.
pub const ADMIN: i32 = 8161;
/// Master to replica log shipping (the broker's `--bind`).
pub const REPLICATION: i32 = 61619;
/// ZooKeeper clients.
pub const ZK_CLIENT: i32 = 2181;
/// ZooKeeper followers to their leader.
pub const ZK_FOLLOWER: i32 = 2888;
/// ZooKeeper leader election.
pub const ZK_ELECTION: i32 = 3888;
