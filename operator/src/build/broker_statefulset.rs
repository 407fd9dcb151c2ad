//! The broker StatefulSet.
//!
//! - `Parallel` pod management: a broker waits for a quorum of peers before
//!   it is Ready, so starting pods one by one, each waiting for the one
//!   before to be Ready, would never get past the first.
//! - `OnDelete` updates: the operator replaces pods itself, replicas first
//!   and the master last, each after the one before has caught up.
//! - Readiness is `/readyz` (serving, or caught up as a replica), so that
//!   rollouts and `helm install --wait` work; clients still reach only the
//!   master, through the role label the client Service selects.
//! - A preStop hook asks a master to step down before SIGTERM, so that a
//!   replica takes over at once instead of after the session timeout.

use super::broker_args::{DATA_DIR, broker_args};
use super::broker_config::CONFIG_DIR;
use super::meta::{Component, Names, labels, object_meta, selector};
use super::pod::{DATA_VOLUME, data_claim, field_env, port, spread_over_nodes};
use super::{pod, ports};
use crate::validate::Cluster;
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, Container, ExecAction, HTTPGetAction, Lifecycle, LifecycleHandler,
    PodSpec, PodTemplateSpec, Probe, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// How long a pod has to step down and drain after SIGTERM.
pub const TERMINATION_GRACE_SECONDS: i64 = 60;

/// The preStop command: POST `/step-down` to the local admin port. Probes
/// can only GET, so this needs curl in the image; it never fails the hook,
/// since a replica or a broken master has nothing to hand over.
fn step_down_command() -> Vec<String> {
    let url = format!("http://127.0.0.1:{}/step-down", ports::ADMIN);
    vec![
        "sh".to_string(),
        "-c".to_string(),
        format!("curl -fsS -X POST --max-time 30 {url} || true"),
    ]
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String("admin".to_string()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(2),
        ..Probe::default()
    }
}

fn broker_container(c: &Cluster) -> Container {
    let spec = c.spec();
    Container {
        name: "broker".to_string(),
        image: Some(spec.image.clone()),
        image_pull_policy: spec.image_pull_policy.map(|p| p.as_str().to_string()),
        command: Some(vec!["ferromq-broker".to_string()]),
        args: Some(broker_args(c)),
        // POD_NAME must come first: the args refer to it as $(POD_NAME).
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            field_env("POD_UID", "metadata.uid"),
        ]),
        ports: Some(vec![
            port("stomp", ports::STOMP),
            port("admin", ports::ADMIN),
            port("replication", ports::REPLICATION),
        ]),
        resources: spec.resources.clone(),
        security_context: Some(pod::broker_container_security()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: DATA_VOLUME.to_string(),
                mount_path: DATA_DIR.to_string(),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "config".to_string(),
                mount_path: CONFIG_DIR.to_string(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
        ]),
        // Opening RocksDB and catching up can take minutes after a crash;
        // liveness starts only once the process answers at all.
        startup_probe: Some(http_probe("/livez", 5, 120)),
        liveness_probe: Some(http_probe("/livez", 10, 3)),
        readiness_probe: Some(http_probe("/readyz", 5, 2)),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(step_down_command()),
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        ..Container::default()
    }
}

fn pod_spec(c: &Cluster) -> PodSpec {
    let spec = c.spec();
    let topology = &spec.topology_spread_constraints;
    PodSpec {
        service_account_name: Some(Names::broker_rbac(c)),
        security_context: Some(pod::broker_pod_security()),
        containers: vec![broker_container(c)],
        volumes: Some(vec![Volume {
            name: "config".to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: Names::broker_config(c),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        affinity: Some(
            spec.affinity
                .clone()
                .unwrap_or_else(|| spread_over_nodes(c, Component::Broker)),
        ),
        tolerations: pod::tolerations(c),
        node_selector: pod::node_selector(c),
        topology_spread_constraints: (!topology.is_empty()).then(|| topology.clone()),
        termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
        ..PodSpec::default()
    }
}

/// The broker StatefulSet.
pub fn broker_statefulset(c: &Cluster) -> StatefulSet {
    let annotations = &c.spec().pod_annotations;
    StatefulSet {
        metadata: object_meta(c, Names::broker_statefulset(c), Component::Broker),
        spec: Some(StatefulSetSpec {
            replicas: Some(c.replicas),
            service_name: Some(Names::broker_headless_service(c)),
            selector: selector(c, Component::Broker),
            pod_management_policy: Some("Parallel".to_string()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("OnDelete".to_string()),
                ..StatefulSetUpdateStrategy::default()
            }),
            persistent_volume_claim_retention_policy: Some(retain_claims()),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(c, Component::Broker)),
                    annotations: (!annotations.is_empty()).then(|| annotations.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod_spec(c)),
            },
            volume_claim_templates: Some(vec![data_claim(c, &c.spec().storage, Component::Broker)]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

/// Keep the volumes when the StatefulSet goes or shrinks: they hold
/// acknowledged messages, and deleting them is a person's decision.
pub fn retain_claims() -> StatefulSetPersistentVolumeClaimRetentionPolicy {
    StatefulSetPersistentVolumeClaimRetentionPolicy {
        when_deleted: Some("Retain".to_string()),
        when_scaled: Some("Retain".to_string()),
    }
}

#[cfg(test)]
mod tests;
