//! The broker's state as `GET /status` shows it.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub node_id: String,
    /// `standalone` today; `master`, `replica` or `candidate` in a cluster.
    pub role: String,
    pub connections: usize,
    pub queues: BTreeMap<String, QueueStatus>,
    pub topics: BTreeMap<String, TopicStatus>,
    /// In a cluster: epoch, positions, the master and its replicas.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::status::ClusterStatus>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct QueueStatus {
    /// Messages not yet acknowledged: ready plus delivered.
    pub depth: u64,
    pub consumers: usize,
    /// Delivered and not yet acknowledged.
    pub inflight: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TopicStatus {
    pub subscribers: usize,
}
