//! The `ReplicatedBroker` custom resource (`ferromq.io/v1alpha1`).
//!
//! These types are the one source of the CRD: `ferromq-operator crd`
//! prints [`ReplicatedBroker::crd`], and `crds/replicatedbrokers.ferromq.io.yaml`
//! is that output, checked in. Whatever the API server can check on its own
//! (ranges, patterns, defaults, CEL rules) lives here, so a bad resource is
//! refused at `kubectl apply` with a message saying what to fix; what it
//! cannot check is in [`crate::validate`].

mod status;
mod zookeeper;

pub use status::{
    LogPosition, ReplicaRole, ReplicaStatus, ReplicatedBrokerStatus, condition, reason,
};
pub use zookeeper::{ExternalZookeeper, ManagedZookeeper, ZookeeperSpec};

use k8s_openapi::api::core::v1::{
    Affinity, ResourceRequirements, Toleration, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The broker image when `spec.image` is not set: the one built from this
/// release, so operator and broker move together.
pub const DEFAULT_IMAGE: &str = concat!("ferromq/ferromq:", env!("CARGO_PKG_VERSION"));

/// The words `spec.sync` accepts, ActiveMQ's, weakest first.
pub const SYNC_WORDS: [&str; 6] = [
    "local_mem",
    "local_disk",
    "remote_mem",
    "remote_disk",
    "quorum_mem",
    "quorum_disk",
];

/// The annotation on a ReplicatedBroker that pauses reconciling, like
/// `spec.paused`, without touching the spec.
pub const PAUSED_ANNOTATION: &str = "ferromq.io/paused";

/// A replicated ferromq broker: a StatefulSet of broker pods, one of them
/// master (elected through ZooKeeper), the others replicas that receive
/// every persistent operation before a client is told it is done.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "ferromq.io",
    version = "v1alpha1",
    kind = "ReplicatedBroker",
    namespaced,
    shortname = "rb",
    category = "ferromq",
    status = "ReplicatedBrokerStatus",
    derive = "PartialEq",
    doc = "A replicated ferromq STOMP broker: a ZooKeeper ensemble (or an external one) elects a master among a StatefulSet of brokers; persistent operations reach a quorum before they are acknowledged.",
    printcolumn(name = "Replicas", type_ = "integer", json_path = ".spec.replicas", description = "Broker pods wanted"),
    printcolumn(name = "Ready", type_ = "integer", json_path = ".status.readyReplicas", description = "Broker pods ready (serving or caught up)"),
    printcolumn(name = "Master", type_ = "string", json_path = ".status.master", description = "Pod elected master"),
    printcolumn(name = "Epoch", type_ = "integer", json_path = ".status.epoch", description = "Election epoch of the master"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Available\")].reason", description = "Reason of the Available condition"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.metadata.name.size() <= 40 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')")
        .message("metadata.name must be at most 40 characters of lowercase letters, digits and '-', starting with a letter: it prefixes the names of the StatefulSets, Services and pods built from it"),
)]
#[serde(rename_all = "camelCase")]
pub struct ReplicatedBrokerSpec {
    /// Broker pods: one master and replicas/2 replicas that must confirm
    /// each write (a quorum is replicas/2+1). Odd, 1 to 7. Fixed at creation.
    #[serde(default = "default_replicas")]
    #[schemars(range(min = 1, max = 7))]
    #[x_kube(validation = Rule::new("self % 2 == 1").message("replicas must be odd (1, 3, 5 or 7) so that a quorum is a strict majority"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("changing replicas is not supported yet: set spec.replicas back to its previous value"))]
    pub replicas: i32,

    /// Broker image; it must contain the `ferromq-broker` binary and curl.
    #[serde(default = "default_image")]
    #[schemars(length(min = 1, max = 512))]
    pub image: String,

    /// When the kubelet pulls the broker image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,

    /// CPU and memory for each broker container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,

    /// The persistent volume each broker pod keeps its RocksDB in.
    #[serde(default)]
    pub storage: StorageSpec,

    /// When a persistent write counts as done: a comma-separated list of
    /// local_mem, local_disk, remote_mem, remote_disk, quorum_mem,
    /// quorum_disk; the strongest wins. Only the quorum_* modes keep every
    /// acknowledged message while a quorum of pods survives.
    #[serde(default = "default_sync")]
    #[schemars(length(min = 1, max = 128))]
    #[x_kube(validation = Rule::new("self.split(',').all(w, w in ['local_mem', 'local_disk', 'remote_mem', 'remote_disk', 'quorum_mem', 'quorum_disk'])").message("sync must be a comma-separated list (no spaces) of local_mem, local_disk, remote_mem, remote_disk, quorum_mem, quorum_disk"))]
    pub sync: String,

    /// The ZooKeeper that elects the master: `managed` (the default, three
    /// servers run by the operator) or `external`. Fixed at creation.
    #[serde(default = "default_zookeeper")]
    #[x_kube(validation = Rule::new("self == oldSelf").message("changing zookeeper is not supported yet: set spec.zookeeper back to its previous value"))]
    pub zookeeper: ZookeeperSpec,

    /// ZooKeeper session timeout of each broker, like 2s or 1500ms, from 1s
    /// to 40s: a master that loses its session for this long steps down, and
    /// another can be elected only after it.
    #[serde(default = "default_session_timeout")]
    // One rule rather than a pattern and a range: the pattern's own message
    // names no fix, and duration() of a bad string adds a conversion error.
    #[schemars(length(max = 10))]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]{1,6}(ms|s|m)$') && duration(self) >= duration('1s') && duration(self) <= duration('40s')").message("sessionTimeout must be a whole number of ms, s or m from 1s to 40s, like 2s or 1500ms"))]
    pub session_timeout: String,

    /// Election weight per pod (ActiveMQ's `weight`), for example
    /// `orders-0: 10`: among candidates with the same log position the
    /// higher weight wins. A pod not listed has weight 1.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 7))]
    #[x_kube(validation = Rule::new("self.all(pod, self[pod] >= 1 && self[pod] <= 1000)").message("each weight must be from 1 to 1000"))]
    pub weight: BTreeMap<String, i32>,

    /// Scheduling constraints of the broker pods. Without it, the operator
    /// prefers to put each broker pod on a different node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,

    /// Tolerations of the broker pods and of the managed ZooKeeper pods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,

    /// Node labels the broker pods and the managed ZooKeeper pods require.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_selector: BTreeMap<String, String>,

    /// How the broker pods spread over zones or nodes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,

    /// Annotations added to the broker pods (for example for a metrics scraper).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_annotations: BTreeMap<String, String>,

    /// Stop reconciling this broker (the annotation `ferromq.io/paused:
    /// "true"` does the same): the operator changes nothing until unpaused.
    #[serde(default)]
    pub paused: bool,
}

/// `imagePullPolicy`, as in a pod.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImagePullPolicy {
    Always,
    IfNotPresent,
    Never,
}

impl ImagePullPolicy {
    /// The value a container spec takes.
    pub fn as_str(self) -> &'static str {
        match self {
            ImagePullPolicy::Always => "Always",
            ImagePullPolicy::IfNotPresent => "IfNotPresent",
            ImagePullPolicy::Never => "Never",
        }
    }
}

/// A persistent volume per pod, from the pod's volumeClaimTemplate.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Size of each pod's volume, a Kubernetes quantity like 10Gi.
    #[serde(default = "default_storage_size")]
    pub size: Quantity,
    /// StorageClass of the volumes; the cluster's default class when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            size: default_storage_size(),
            storage_class_name: None,
        }
    }
}

impl ReplicatedBroker {
    /// Whether reconciling is paused, by `spec.paused` or by the annotation.
    pub fn paused(&self) -> bool {
        let annotated = self
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PAUSED_ANNOTATION))
            .is_some_and(|v| v == "true");
        self.spec.paused || annotated
    }
}

fn default_replicas() -> i32 {
    3
}

fn default_image() -> String {
    DEFAULT_IMAGE.to_string()
}

fn default_sync() -> String {
    "quorum_disk".to_string()
}

fn default_session_timeout() -> String {
    "2s".to_string()
}

fn default_zookeeper() -> ZookeeperSpec {
    ZookeeperSpec {
        managed: Some(ManagedZookeeper::default()),
        external: None,
    }
}

pub(crate) fn default_storage_size() -> Quantity {
    Quantity("1Gi".to_string())
}

/// The CRD as YAML, exactly as `ferromq-operator crd` prints it and
/// `crds/replicatedbrokers.ferromq.io.yaml` holds it.
pub fn crd_yaml() -> Result<String, serde_saphyr::SerializeError> {
    use kube::CustomResourceExt;
    serde_saphyr::to_string(&ReplicatedBroker::crd())
}

#[cfg(test)]
mod tests;
