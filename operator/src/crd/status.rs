//! `status` of a ReplicatedBroker: who is master, in which epoch, how far
//! behind each replica is, and four conditions a person or a tool can wait on.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What the operator last saw, from ZooKeeper and the pods.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicatedBrokerStatus {
    /// Name of the pod elected master, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// The master's election epoch (the fencing token in ZooKeeper).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<i64>,
    /// One entry per broker pod.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaStatus>,
    /// Broker pods that are Ready.
    #[serde(default)]
    pub ready_replicas: i32,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Available` (a master serves clients), `Replicated` (a quorum holds
    /// every acknowledged write), `Progressing` and `Degraded`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

/// One broker pod as the election sees it.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    /// Pod name.
    pub pod: String,
    /// Its part in the election.
    pub role: ReplicaRole,
    /// Its last log entry, if it has registered in ZooKeeper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<LogPosition>,
    /// Log entries it is behind the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<i64>,
}

/// A broker's part in the election.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReplicaRole {
    /// Elected: serves clients and ships the log.
    Master,
    /// Follows the master's log.
    Replica,
    /// Registered, taking part in an election under way.
    Candidate,
    /// Not registered in ZooKeeper (not running, or no session).
    Down,
}

/// A log position `(epoch, index)`, compared epoch first.
#[derive(
    Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord,
)]
pub struct LogPosition {
    pub epoch: i64,
    pub index: i64,
}

/// Condition types.
pub mod condition {
    /// A master is serving clients.
    pub const AVAILABLE: &str = "Available";
    /// A quorum of pods holds every acknowledged write (the sync policy is met).
    pub const REPLICATED: &str = "Replicated";
    /// The operator is creating or changing something.
    pub const PROGRESSING: &str = "Progressing";
    /// Something needs a person: a bad spec, pods not ready, lost quorum.
    pub const DEGRADED: &str = "Degraded";
}

/// Condition reasons. `Available`'s reason is the STATUS column of
/// `kubectl get rb`, so its reasons read as a state.
pub mod reason {
    /// Available=True.
    pub const SERVING: &str = "Serving";
    /// Available=False (and Replicated=False, Degraded=True): no master is
    /// elected.
    pub const NO_MASTER: &str = "NoMaster";
    /// Available and Replicated Unknown, Degraded=True: the operator cannot
    /// read the election from ZooKeeper.
    pub const ZOOKEEPER_UNAVAILABLE: &str = "ZooKeeperUnavailable";
    /// Progressing=False: reconciling is paused; status is still written.
    pub const PAUSED: &str = "Paused";
    /// Available=False, Degraded=True: the spec cannot be built.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Replicated=True: every replica is caught up.
    pub const IN_SYNC: &str = "InSync";
    /// Replicated=True: a quorum is caught up, some replicas lag.
    pub const REPLICAS_LAGGING: &str = "ReplicasLagging";
    /// Replicated=False: fewer than a quorum of pods follow the master.
    pub const QUORUM_LOST: &str = "QuorumLost";
    /// Progressing=True: objects are being created.
    pub const CREATING: &str = "Creating";
    /// Progressing=True: pods are being replaced one by one.
    pub const ROLLING_UPDATE: &str = "RollingUpdate";
    /// Progressing=False: everything matches the spec.
    pub const RECONCILED: &str = "Reconciled";
    /// Degraded=True: some broker pods are not ready.
    pub const PODS_NOT_READY: &str = "PodsNotReady";
    /// Degraded=True: applying objects failed.
    pub const RECONCILE_FAILED: &str = "ReconcileFailed";
    /// Degraded=False.
    pub const HEALTHY: &str = "Healthy";
}
