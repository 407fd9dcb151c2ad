//! On Kubernetes: the broker's own pod carries `ferromq.io/role`, `master`
//! while this node serves and `replica` otherwise, so that the client
//! Service (which selects `ferromq.io/role=master`) sends clients to the
//! master alone. The node patches the label itself the moment its role
//! changes, and is not Ready until the pod carries the label its role
//! wants; the operator puts the label right for a node that died before
//! it could.

use super::role::Role;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch, PatchParams};
use std::time::Duration;
use thiserror::Error;
use tokio::sync::watch;
use tracing::{info, warn};

pub const ROLE_LABEL: &str = "ferromq.io/role";
pub const ROLE_MASTER: &str = "master";
pub const ROLE_REPLICA: &str = "replica";

/// One API request's bound: a slow API server must not hold the loop.
const PATCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Between attempts after a failed patch.
const RETRY_DELAY: Duration = Duration::from_millis(500);

/// The pod this broker runs in (`POD_NAME`, `POD_NAMESPACE`, `POD_UID`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub name: String,
    pub namespace: String,
    /// Written into the node's ZooKeeper record, so that the operator can
    /// tell this incarnation's record from one the pod's predecessor left.
    pub uid: Option<String>,
}

#[derive(Debug, Error)]
pub enum LabelError {
    #[error("no Kubernetes credentials (in-cluster or kubeconfig) to label pod {pod}: {source}")]
    Credentials {
        pod: String,
        source: kube::config::InferConfigError,
    },
    #[error("cannot make a Kubernetes client to label pod {pod}: {source}")]
    Client { pod: String, source: kube::Error },
}

/// The label a node in `role` must carry.
pub fn wanted(role: &Role) -> &'static str {
    match role {
        Role::Serving { .. } => ROLE_MASTER,
        Role::NoMaster | Role::Replica { .. } => ROLE_REPLICA,
    }
}

/// Patches one pod's role label.
pub struct Labeller {
    api: Api<Pod>,
    pod: String,
}

impl Labeller {
    /// A client from in-cluster credentials, or the kubeconfig
    /// (`KUBECONFIG`, `~/.kube/config`) outside a cluster.
    pub async fn connect(pod: &PodRef) -> Result<Self, LabelError> {
        let config = kube::Config::infer()
            .await
            .map_err(|source| LabelError::Credentials {
                pod: pod.name.clone(),
                source,
            })?;
        let client = kube::Client::try_from(config).map_err(|source| LabelError::Client {
            pod: pod.name.clone(),
            source,
        })?;
        Ok(Labeller {
            api: Api::namespaced(client, &pod.namespace),
            pod: pod.name.clone(),
        })
    }

    async fn set(&self, value: &'static str) -> bool {
        let patch = serde_json::json!({ "metadata": { "labels": { ROLE_LABEL: value } } });
        let (params, patch) = (PatchParams::default(), Patch::Merge(&patch));
        let request = self.api.patch(&self.pod, &params, &patch);
        match tokio::time::timeout(PATCH_TIMEOUT, request).await {
            Ok(Ok(_)) => {
                info!(pod = %self.pod, label = %format!("{ROLE_LABEL}={value}"), "pod labelled");
                true
            }
            Ok(Err(e)) => {
                warn!(pod = %self.pod, error = %e, "cannot label the pod; retrying");
                false
            }
            Err(_) => {
                warn!(pod = %self.pod, "labelling the pod timed out; retrying");
                false
            }
        }
    }

    /// Keeps the label equal to what `role` wants until `stop`, and
    /// publishes in `applied` the value the pod is known to carry. On
    /// stop, a pod labelled `master` is relabelled `replica`: the node is
    /// leaving and must not keep receiving clients.
    pub async fn run(
        self,
        mut role: watch::Receiver<Role>,
        applied: watch::Sender<Option<&'static str>>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let want = wanted(&role.borrow_and_update());
            let in_step = *applied.borrow() == Some(want);
            if !in_step && self.set(want).await {
                applied.send_replace(Some(want));
                continue;
            }
            tokio::select! {
                changed = role.changed() => if changed.is_err() { break },
                // A failed patch is tried again.
                _ = tokio::time::sleep(RETRY_DELAY), if !in_step => {}
                _ = stop.wait_for(|s| *s) => break,
            }
        }
        if *applied.borrow() == Some(ROLE_MASTER) && self.set(ROLE_REPLICA).await {
            applied.send_replace(Some(ROLE_REPLICA));
        }
    }
}

/// Whether the pod carries the label `role` wants; always true off
/// Kubernetes (`applied` is `None`).
pub fn in_step(role: &Role, applied: Option<&watch::Receiver<Option<&'static str>>>) -> bool {
    applied.is_none_or(|a| *a.borrow() == Some(wanted(role)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::election::records::MasterRecord;

    fn replica() -> Role {
        Role::Replica {
            master: MasterRecord {
                id: "b-0".into(),
                client: "b-0:61613".into(),
                replication: "b-0:61619".into(),
                admin: "b-0:8161".into(),
                epoch: 3,
            },
        }
    }

    #[test]
    fn every_role_but_serving_wants_replica() {
        assert_eq!(wanted(&Role::NoMaster), ROLE_REPLICA);
        assert_eq!(wanted(&replica()), ROLE_REPLICA);
    }

    #[test]
    fn readiness_waits_for_the_label_the_role_wants() {
        assert!(in_step(&Role::NoMaster, None));
        let (tx, rx) = watch::channel(None);
        assert!(!in_step(&replica(), Some(&rx)));
        tx.send_replace(Some(ROLE_MASTER));
        assert!(!in_step(&replica(), Some(&rx)));
        tx.send_replace(Some(ROLE_REPLICA));
        assert!(in_step(&replica(), Some(&rx)));
    }
}
