//! Broker pods as the pure decisions need them: name, revision,
//! readiness and role label, taken from the API server's Pods once.

use crate::build::meta::ROLE_LABEL;
use k8s_openapi::api::core::v1::Pod;

/// The StatefulSet controller's label naming the revision a pod was made from.
pub const REVISION_LABEL: &str = "controller-revision-hash";

/// One broker pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodView {
    pub name: String,
    /// `metadata.uid`: a new pod of the same name has a new one.
    pub uid: Option<String>,
    /// Its `controller-revision-hash`, compared with the StatefulSet's
    /// `updateRevision` to find pods still on the old template.
    pub revision: Option<String>,
    /// The pod's Ready condition is True.
    pub ready: bool,
    /// It has a deletion timestamp: on its way out.
    pub terminating: bool,
    /// Its `ferromq.io/role` label, if any.
    pub role: Option<String>,
}

impl PodView {
    pub fn from_pod(pod: &Pod) -> PodView {
        let labels = pod.metadata.labels.as_ref();
        let label = |key: &str| labels.and_then(|l| l.get(key)).cloned();
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        PodView {
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone(),
            revision: label(REVISION_LABEL),
            ready,
            terminating: pod.metadata.deletion_timestamp.is_some(),
            role: label(ROLE_LABEL),
        }
    }

    /// Ready and not terminating: counts as a serving or following pod.
    pub fn available(&self) -> bool {
        self.ready && !self.terminating
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::PodView;

    /// A Ready pod at `revision` with role label `role` ("" for none).
    pub fn pod(name: &str, revision: &str, role: &str) -> PodView {
        PodView {
            name: name.to_string(),
            uid: None,
            revision: Some(revision.to_string()),
            ready: true,
            terminating: false,
            role: (!role.is_empty()).then(|| role.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_revision_readiness_and_role_from_the_pod() -> Result<(), serde_json::Error> {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "orders-1",
                "uid": "6f1c",
                "labels": {"controller-revision-hash": "orders-abc", "ferromq.io/role": "replica"},
            },
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }))?;
        let view = PodView::from_pod(&pod);
        assert_eq!(view.name, "orders-1");
        assert_eq!(view.uid.as_deref(), Some("6f1c"));
        assert_eq!(view.revision.as_deref(), Some("orders-abc"));
        assert_eq!(view.role.as_deref(), Some("replica"));
        assert!(view.available());

        let bare: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "orders-2", "deletionTimestamp": "2025-01-01T00:00:00Z"},
            "status": {"conditions": [{"type": "Ready", "status": "False"}]},
        }))?;
        let view = PodView::from_pod(&bare);
        assert_eq!((&view.revision, &view.role), (&None, &None));
        assert!(view.terminating && !view.ready && !view.available());
        Ok(())
    }
}
