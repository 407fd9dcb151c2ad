//! The managed ZooKeeper StatefulSet, of the official `zookeeper` image.
//!
//! That image writes `zoo.cfg` and `myid` from `ZOO_*` variables at start,
//! so no ConfigMap is needed: the servers' list is an environment variable
//! and each pod derives `ZOO_MY_ID` from its ordinal (`orders-zookeeper-2`
//! is server 3) in a one-line wrapper around the image's entrypoint.

use super::meta::{Component, Names, labels, object_meta, pod_dns, selector};
use super::pod::{self, DATA_VOLUME, data_claim, env, port, spread_over_nodes};
use super::ports;
use crate::crd::ManagedZookeeper;
use crate::validate::Cluster;
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{
    Container, ExecAction, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::time::Duration;

/// Sets the server id from the pod ordinal, then runs the image's own
/// entrypoint (which fixes volume ownership and drops root). `$$` is a `$`
/// that Kubernetes' own `$(VAR)` expansion leaves alone.
const START: &str = "export ZOO_MY_ID=$$((${HOSTNAME##*-} + 1)) && exec /docker-entrypoint.sh zkServer.sh start-foreground";

/// The ZooKeeper tick for a broker session timeout. ZooKeeper grants
/// sessions from 2 to 20 ticks and expires them at tick granularity, so a
/// tick of a quarter of the timeout grants the timeout asked for and
/// expires it within 25% of it. Between 250ms and ZooKeeper's usual 2s.
pub fn tick_time(session_timeout: Duration) -> u128 {
    (session_timeout.as_millis() / 4).clamp(250, 2_000)
}

/// `server.N=<pod dns>:2888:3888;2181` for every server, space-separated.
pub fn zoo_servers(c: &Cluster, managed: &ManagedZookeeper) -> String {
    let statefulset = Names::zookeeper_statefulset(c);
    let headless = Names::zookeeper_headless_service(c);
    (0..managed.replicas)
        .map(|ordinal| {
            let host = pod_dns(c, &format!("{statefulset}-{ordinal}"), &headless);
            format!(
                "server.{}={host}:{}:{};{}",
                ordinal + 1,
                ports::ZK_FOLLOWER,
                ports::ZK_ELECTION,
                ports::ZK_CLIENT
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A probe that sends a four-letter word and expects `reply` in the answer.
fn four_letter_probe(word: &str, reply: &str, period: i32, failures: i32) -> Probe {
    let script = format!(
        "echo {word} | nc -w 2 127.0.0.1 {} | grep -q '{reply}'",
        ports::ZK_CLIENT
    );
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["bash".to_string(), "-c".to_string(), script]),
        }),
        period_seconds: Some(period),
        failure_threshold: Some(failures),
        timeout_seconds: Some(5),
        ..Probe::default()
    }
}

fn zookeeper_container(c: &Cluster, managed: &ManagedZookeeper) -> Container {
    let tick = tick_time(c.session_timeout);
    // initLimit: 10s for a follower to load the leader's snapshot;
    // syncLimit: 4s of silence before a follower is dropped.
    let ticks = |millis: u128| millis.div_ceil(tick).to_string();
    Container {
        name: "zookeeper".to_string(),
        image: Some(managed.image.clone()),
        command: Some(vec![
            "bash".to_string(),
            "-c".to_string(),
            START.to_string(),
        ]),
        env: Some(vec![
            env("ZOO_SERVERS", zoo_servers(c, managed)),
            env("ZOO_TICK_TIME", tick.to_string()),
            env("ZOO_INIT_LIMIT", ticks(10_000)),
            env("ZOO_SYNC_LIMIT", ticks(4_000)),
            // The transaction log on the volume too: on the image's
            // default (/datalog, not a volume) a restart would lose it.
            env("ZOO_DATA_DIR", "/data"),
            env("ZOO_DATA_LOG_DIR", "/data"),
            env("ZOO_AUTOPURGE_PURGEINTERVAL", "1"),
            env("ZOO_ADMINSERVER_ENABLED", "false"),
            env("ZOO_4LW_COMMANDS_WHITELIST", "ruok,srvr,mntr"),
            // Bind quorum ports on every address: a pod's own DNS name may
            // not resolve yet when it starts.
            env("ZOO_CFG_EXTRA", "quorumListenOnAllIPs=true"),
        ]),
        ports: Some(vec![
            port("client", ports::ZK_CLIENT),
            port("follower", ports::ZK_FOLLOWER),
            port("election", ports::ZK_ELECTION),
        ]),
        resources: managed.resources.clone(),
        volume_mounts: Some(vec![VolumeMount {
            name: DATA_VOLUME.to_string(),
            mount_path: "/data".to_string(),
            ..VolumeMount::default()
        }]),
        // Ready once it serves, i.e. is part of a quorum ("Mode: leader",
        // "Mode: follower" or "Mode: standalone"); alive while it answers.
        readiness_probe: Some(four_letter_probe("srvr", "Mode:", 5, 2)),
        liveness_probe: Some(Probe {
            initial_delay_seconds: Some(15),
            ..four_letter_probe("ruok", "imok", 10, 6)
        }),
        ..Container::default()
    }
}

/// The ZooKeeper StatefulSet. `Parallel`, since a server is Ready only in
/// a quorum: started one by one, the first would wait for the others
/// forever.
pub fn zookeeper_statefulset(c: &Cluster, managed: &ManagedZookeeper) -> StatefulSet {
    StatefulSet {
        metadata: object_meta(c, Names::zookeeper_statefulset(c), Component::Zookeeper),
        spec: Some(StatefulSetSpec {
            replicas: Some(managed.replicas),
            service_name: Some(Names::zookeeper_headless_service(c)),
            selector: selector(c, Component::Zookeeper),
            pod_management_policy: Some("Parallel".to_string()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_string()),
                ..StatefulSetUpdateStrategy::default()
            }),
            persistent_volume_claim_retention_policy: Some(
                super::broker_statefulset::retain_claims(),
            ),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(c, Component::Zookeeper)),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![zookeeper_container(c, managed)],
                    affinity: Some(spread_over_nodes(c, Component::Zookeeper)),
                    tolerations: pod::tolerations(c),
                    node_selector: pod::node_selector(c),
                    // The image's zookeeper user; lets it write the volume.
                    security_context: Some(PodSecurityContext {
                        fs_group: Some(1000),
                        ..PodSecurityContext::default()
                    }),
                    ..PodSpec::default()
                }),
            },
            volume_claim_templates: Some(vec![data_claim(
                c,
                &managed.storage,
                Component::Zookeeper,
            )]),
            ..StatefulSetSpec::default()
        }),
        ..StatefulSet::default()
    }
}

#[cfg(test)]
mod tests;
