//! Pieces of pod specs both StatefulSets share.

use super::meta::{Component, selector_labels};
use crate::crd::StorageSpec;
use crate::validate::Cluster;
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ContainerPort, EnvVar, EnvVarSource, ObjectFieldSelector,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, SeccompProfile, SecurityContext, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

/// The user of ferromq's image (see the Dockerfile).
pub const BROKER_UID: i64 = 65532;

/// A broker pod runs as the image's non-root user; `fsGroup` makes the
/// data volume writable for it whoever owns it when it is mounted.
pub fn broker_pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(BROKER_UID),
        run_as_group: Some(BROKER_UID),
        fs_group: Some(BROKER_UID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

/// The broker writes only its data volume: no privilege, no capability,
/// a read-only root filesystem.
pub fn broker_container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

/// Name of the volume claim template, and of the volume in each pod.
pub const DATA_VOLUME: &str = "data";

/// A named TCP container port.
pub fn port(name: &str, number: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: number,
        protocol: Some("TCP".to_string()),
        ..ContainerPort::default()
    }
}

/// An environment variable set from the pod's own metadata (downward API).
pub fn field_env(name: &str, field_path: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: field_path.to_string(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

/// A plain environment variable.
pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        ..EnvVar::default()
    }
}

/// Prefer one pod of `component` per node: losing a node then costs one
/// vote, not a quorum. Preferred, not required, so a small cluster still
/// schedules; `spec.affinity` replaces it for the brokers.
pub fn spread_over_nodes(c: &Cluster, component: Component) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(LabelSelector {
                            match_labels: Some(selector_labels(c, component)),
                            ..LabelSelector::default()
                        }),
                        topology_key: "kubernetes.io/hostname".to_string(),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// `spec.nodeSelector`, or none.
pub fn node_selector(c: &Cluster) -> Option<BTreeMap<String, String>> {
    let selector = &c.spec().node_selector;
    (!selector.is_empty()).then(|| selector.clone())
}

/// `spec.tolerations`, or none.
pub fn tolerations(c: &Cluster) -> Option<Vec<k8s_openapi::api::core::v1::Toleration>> {
    let tolerations = &c.spec().tolerations;
    (!tolerations.is_empty()).then(|| tolerations.clone())
}

/// The claim template that gives each pod its own volume at `/data`.
/// Without owner references: a StatefulSet's claims outlive it, so that
/// deleting a ReplicatedBroker by mistake keeps the messages.
pub fn data_claim(
    c: &Cluster,
    storage: &StorageSpec,
    component: Component,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(DATA_VOLUME.to_string()),
            labels: Some(selector_labels(c, component)),
            ..ObjectMeta::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: storage.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(storage.size.0.clone()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}
