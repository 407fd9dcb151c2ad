//! Names, labels and metadata shared by every built object.
//!
//! For a ReplicatedBroker `orders` the brokers are the StatefulSet `orders`
//! (pods `orders-0`, `orders-1`, ...), clients connect to the Service
//! `orders`, replication runs over `orders-headless`; the managed ZooKeeper
//! is `orders-zookeeper` with `orders-zookeeper-headless`.

use crate::MANAGER;
use crate::validate::Cluster;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// The label the broker sets on its own pod when it wins (`master`) or
/// loses an election; the client Service selects `master` only.
pub const ROLE_LABEL: &str = "ferromq.io/role";
pub const ROLE_MASTER: &str = "master";

/// Which part of a ReplicatedBroker an object belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Broker,
    Zookeeper,
}

impl Component {
    /// The `app.kubernetes.io/component` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Broker => "broker",
            Component::Zookeeper => "zookeeper",
        }
    }
}

/// The names of everything built for one ReplicatedBroker.
pub struct Names;

impl Names {
    pub fn broker_statefulset(c: &Cluster) -> String {
        c.name.to_string()
    }
    pub fn broker_client_service(c: &Cluster) -> String {
        c.name.to_string()
    }
    pub fn broker_headless_service(c: &Cluster) -> String {
        format!("{}-headless", c.name)
    }
    pub fn broker_pdb(c: &Cluster) -> String {
        c.name.to_string()
    }
    /// ServiceAccount, Role and RoleBinding of the broker pods.
    pub fn broker_rbac(c: &Cluster) -> String {
        format!("{}-broker", c.name)
    }
    pub fn broker_config(c: &Cluster) -> String {
        format!("{}-config", c.name)
    }
    pub fn broker_pod(c: &Cluster, ordinal: i32) -> String {
        format!("{}-{ordinal}", Names::broker_statefulset(c))
    }
    pub fn zookeeper_statefulset(c: &Cluster) -> String {
        format!("{}-zookeeper", c.name)
    }
    pub fn zookeeper_client_service(c: &Cluster) -> String {
        format!("{}-zookeeper", c.name)
    }
    pub fn zookeeper_headless_service(c: &Cluster) -> String {
        format!("{}-zookeeper-headless", c.name)
    }
    pub fn zookeeper_pdb(c: &Cluster) -> String {
        format!("{}-zookeeper", c.name)
    }
}

/// Labels that pick out the pods of one component of one ReplicatedBroker.
/// They go into selectors, which a StatefulSet can never change, so they
/// hold only what never changes.
pub fn selector_labels(c: &Cluster, component: Component) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "ferromq".to_string()),
        ("app.kubernetes.io/instance".to_string(), c.name.to_string()),
        (
            "app.kubernetes.io/component".to_string(),
            component.as_str().to_string(),
        ),
    ])
}

/// Every object's labels: the selector labels and who manages it.
pub fn labels(c: &Cluster, component: Component) -> BTreeMap<String, String> {
    let mut labels = selector_labels(c, component);
    labels.insert(
        "app.kubernetes.io/managed-by".to_string(),
        MANAGER.to_string(),
    );
    labels
}

/// Metadata of an object named `name`, in the resource's namespace, owned
/// by the resource (so it is garbage-collected with it).
pub fn object_meta(c: &Cluster, name: String, component: Component) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(c.namespace.to_string()),
        labels: Some(labels(c, component)),
        owner_references: Some(vec![c.owner.clone()]),
        ..ObjectMeta::default()
    }
}

/// A selector on [`selector_labels`].
pub fn selector(c: &Cluster, component: Component) -> LabelSelector {
    LabelSelector {
        match_labels: Some(selector_labels(c, component)),
        ..LabelSelector::default()
    }
}

/// The DNS name of a StatefulSet pod behind its headless Service, as the
/// cluster's resolver completes it (`<pod>.<service>.<namespace>.svc`).
pub fn pod_dns(c: &Cluster, pod: &str, headless_service: &str) -> String {
    format!("{pod}.{headless_service}.{}.svc", c.namespace)
}

/// Quorum of `replicas` voters: a strict majority.
pub fn quorum(replicas: i32) -> i32 {
    replicas / 2 + 1
}
