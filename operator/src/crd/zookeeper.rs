//! `spec.zookeeper`: which ZooKeeper elects the master.

use super::StorageSpec;
use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::KubeSchema;
use serde::{Deserialize, Serialize};

/// The official ZooKeeper image the managed ensemble runs by default.
pub const DEFAULT_ZOOKEEPER_IMAGE: &str = "zookeeper:3.9";

/// Exactly one of `managed` and `external`. Two optional fields rather than
/// a Rust enum because the API server needs a structural schema, and the
/// CEL rule below gives a clearer message than a oneOf would.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[x_kube(validation = Rule::new("has(self.managed) != has(self.external)").message("set exactly one of spec.zookeeper.managed (the operator runs ZooKeeper) and spec.zookeeper.external (brokers use yours)"))]
pub struct ZookeeperSpec {
    /// A ZooKeeper ensemble the operator runs next to the brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ManagedZookeeper>,
    /// A ZooKeeper ensemble that already runs somewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalZookeeper>,
}

/// A ZooKeeper StatefulSet of the official `zookeeper` image.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagedZookeeper {
    /// ZooKeeper servers: odd, 1 to 7 (3 survives the loss of one).
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 7))]
    #[x_kube(validation = Rule::new("self % 2 == 1").message("zookeeper.managed.replicas must be odd (1, 3, 5 or 7) so that ZooKeeper's quorum is a strict majority"))]
    pub replicas: i32,
    /// ZooKeeper image, the official one or built like it (it is configured
    /// through ZOO_* environment variables).
    #[serde(default = "default_image")]
    #[schemars(length(min = 1, max = 512))]
    pub image: String,
    /// Each server's volume, for its snapshots and transaction log.
    #[serde(default)]
    pub storage: StorageSpec,
    /// CPU and memory of each ZooKeeper container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

impl Default for ManagedZookeeper {
    fn default() -> Self {
        ManagedZookeeper {
            replicas: default_replicas(),
            image: default_image(),
            storage: StorageSpec::default(),
            resources: None,
        }
    }
}

/// A ZooKeeper ensemble the operator does not run.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ExternalZookeeper {
    /// Connect string, comma-separated host:port pairs, like
    /// `zk-0.zk:2181,zk-1.zk:2181,zk-2.zk:2181`.
    // One regex rather than split().all(): the API server's cost estimate
    // of a comprehension over a 1024-character string is over its budget.
    #[schemars(length(min = 1, max = 1024))]
    #[x_kube(validation = Rule::new("self.matches('^[^\\\\s/,]+:[0-9]{1,5}(,[^\\\\s/,]+:[0-9]{1,5})*$')").message("zookeeper.external.connect must be comma-separated host:port pairs without spaces, like zk-0.zk:2181,zk-1.zk:2181"))]
    pub connect: String,
    /// ZooKeeper path the brokers keep their election under; default
    /// `/ferromq/<namespace>/<name>`, so several brokers can share an ensemble.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 512))]
    #[x_kube(validation = Rule::new("self.matches('^(/[^/\\\\s]+)+$') && !self.split('/').exists(p, p == '.' || p == '..')").message("zookeeper.external.path must be an absolute ZooKeeper path like /ferromq/orders: starting with '/', no trailing '/', no empty, '.' or '..' parts"))]
    pub path: Option<String>,
}

fn default_replicas() -> i32 {
    3
}

fn default_image() -> String {
    DEFAULT_ZOOKEEPER_IMAGE.to_string()
}
