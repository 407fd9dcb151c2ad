use super::*;
use crate::build::test_support::{EXTERNAL, MINIMAL, cluster, parse, with_spec};
use k8s_openapi::api::core::v1::PodSpec;

fn spec_of(yaml: &str) -> StatefulSetSpec {
    broker_statefulset(&cluster(&parse(yaml)))
        .spec
        .expect("spec")
}

fn pod_of(spec: &StatefulSetSpec) -> &PodSpec {
    spec.template.spec.as_ref().expect("pod spec")
}

#[test]
fn parallel_on_delete_behind_the_headless_service() {
    let spec = spec_of(MINIMAL);
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(spec.service_name.as_deref(), Some("orders-headless"));
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    assert_eq!(
        spec.update_strategy.and_then(|u| u.type_).as_deref(),
        Some("OnDelete")
    );
    let labels = spec.selector.match_labels.expect("selector");
    assert_eq!(labels["app.kubernetes.io/component"], "broker");
    assert!(
        !labels.contains_key("ferromq.io/role"),
        "the role label moves; a selector cannot"
    );
}

#[test]
fn one_volume_per_pod_from_storage() {
    let spec = spec_of(EXTERNAL);
    let claims = spec.volume_claim_templates.expect("claims");
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].metadata.name.as_deref(), Some("data"));
    assert_eq!(
        claims[0].metadata.owner_references, None,
        "claims outlive the StatefulSet"
    );
    let claim = claims[0].spec.as_ref().expect("claim spec");
    assert_eq!(claim.storage_class_name.as_deref(), Some("fast-ssd"));
    assert_eq!(
        claim.access_modes.as_deref(),
        Some(&["ReadWriteOnce".to_string()][..])
    );
    let requests = claim
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .expect("requests");
    assert_eq!(requests["storage"].0, "20Gi");
    let retention = spec
        .persistent_volume_claim_retention_policy
        .expect("retention");
    assert_eq!(retention.when_deleted.as_deref(), Some("Retain"));

    let minimal = spec_of(MINIMAL).volume_claim_templates.expect("claims");
    let claim = minimal[0].spec.as_ref().expect("claim spec");
    assert_eq!(claim.storage_class_name, None);
    assert_eq!(
        claim
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .expect("requests")["storage"]
            .0,
        "1Gi"
    );
}

#[test]
fn container_runs_the_broker_with_its_ports_env_and_mounts() {
    let spec = spec_of(EXTERNAL);
    let pod = pod_of(&spec);
    assert_eq!(pod.service_account_name.as_deref(), Some("orders-broker"));
    let container = &pod.containers[0];
    assert_eq!(
        container.image.as_deref(),
        Some("registry.example/ferromq:1.2.3")
    );
    assert_eq!(container.image_pull_policy.as_deref(), Some("Always"));
    assert_eq!(
        container.command.as_deref(),
        Some(&["ferromq-broker".to_string()][..])
    );
    assert!(
        container
            .args
            .as_ref()
            .expect("args")
            .contains(&"--zk-address".to_string())
    );
    let ports: Vec<(Option<&str>, i32)> = container
        .ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref(), p.container_port))
        .collect();
    assert_eq!(
        ports,
        [
            (Some("stomp"), 61613),
            (Some("admin"), 8161),
            (Some("replication"), 61619)
        ]
    );
    let env: Vec<(&str, Option<&str>)> = container
        .env
        .iter()
        .flatten()
        .map(|e| {
            let field = e
                .value_from
                .as_ref()
                .and_then(|v| v.field_ref.as_ref())
                .map(|f| f.field_path.as_str());
            (e.name.as_str(), field)
        })
        .collect();
    assert_eq!(
        env,
        [
            ("POD_NAME", Some("metadata.name")),
            ("POD_NAMESPACE", Some("metadata.namespace")),
            ("POD_UID", Some("metadata.uid"))
        ]
    );
    let mounts: Vec<(&str, &str)> = container
        .volume_mounts
        .iter()
        .flatten()
        .map(|m| (m.name.as_str(), m.mount_path.as_str()))
        .collect();
    assert_eq!(mounts, [("data", "/data"), ("config", "/etc/ferromq")]);
    let config = pod
        .volumes
        .as_ref()
        .and_then(|v| v.first())
        .and_then(|v| v.config_map.as_ref());
    assert_eq!(config.map(|c| c.name.as_str()), Some("orders-config"));
    let limits = container
        .resources
        .as_ref()
        .and_then(|r| r.limits.as_ref())
        .expect("limits");
    assert_eq!(limits["memory"].0, "2Gi");
}

#[test]
fn probes_use_the_admin_port() {
    let spec = spec_of(MINIMAL);
    let container = &pod_of(&spec).containers[0];
    let path = |probe: &Option<Probe>| {
        let get = probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("http probe");
        assert_eq!(get.port, IntOrString::String("admin".into()));
        get.path.clone().expect("path")
    };
    assert_eq!(path(&container.readiness_probe), "/readyz");
    assert_eq!(path(&container.liveness_probe), "/livez");
    assert_eq!(path(&container.startup_probe), "/livez");
}

#[test]
fn pre_stop_asks_the_master_to_step_down() {
    let spec = spec_of(MINIMAL);
    let pod = pod_of(&spec);
    let hook = pod.containers[0]
        .lifecycle
        .as_ref()
        .and_then(|l| l.pre_stop.as_ref());
    let command = hook
        .and_then(|h| h.exec.as_ref())
        .and_then(|e| e.command.as_ref())
        .expect("exec hook");
    let script = command.last().expect("script");
    assert!(script.contains("-X POST"), "{script}");
    assert!(
        script.contains("http://127.0.0.1:8161/step-down"),
        "{script}"
    );
    assert_eq!(
        pod.termination_grace_period_seconds,
        Some(TERMINATION_GRACE_SECONDS)
    );
}

#[test]
fn default_affinity_spreads_brokers_over_nodes() {
    let spec = spec_of(MINIMAL);
    let anti = pod_of(&spec)
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .expect("anti-affinity");
    let terms = anti
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .expect("preferred");
    assert_eq!(
        terms[0].pod_affinity_term.topology_key,
        "kubernetes.io/hostname"
    );
    assert_eq!(
        anti.required_during_scheduling_ignored_during_execution,
        None
    );
}

#[test]
fn pod_overrides_pass_through() {
    let yaml = with_spec(
        MINIMAL,
        "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: \
         {nodeSelectorTerms: [{matchExpressions: [{key: disk, operator: In, values: [ssd]}]}]}}}\n\
         topologySpreadConstraints: [{maxSkew: 1, topologyKey: zone, whenUnsatisfiable: DoNotSchedule}]\n\
         tolerations: [{key: dedicated, operator: Exists}]\n\
         nodeSelector: {pool: brokers}\n\
         podAnnotations: {team: payments}",
    );
    let spec = spec_of(&yaml);
    let pod = pod_of(&spec);
    let affinity = pod.affinity.as_ref().expect("affinity");
    assert!(
        affinity.node_affinity.is_some() && affinity.pod_anti_affinity.is_none(),
        "replaced, not merged"
    );
    assert_eq!(
        pod.topology_spread_constraints.as_ref().map(Vec::len),
        Some(1)
    );
    assert_eq!(
        pod.tolerations.as_ref().map(|t| t[0].key.as_deref()),
        Some(Some("dedicated"))
    );
    assert_eq!(
        pod.node_selector.as_ref().map(|n| n["pool"].as_str()),
        Some("brokers")
    );
    let annotations = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.annotations.as_ref())
        .expect("annotations");
    assert_eq!(annotations["team"], "payments");
}

#[test]
fn brokers_run_as_the_images_non_root_user_and_can_write_their_volume() {
    let spec = spec_of(MINIMAL);
    let pod = pod_of(&spec);
    let security = pod.security_context.as_ref().expect("pod securityContext");
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(65532));
    assert_eq!(
        security.fs_group,
        Some(65532),
        "the data volume must be writable"
    );
    let container = pod.containers[0]
        .security_context
        .as_ref()
        .expect("container securityContext");
    assert_eq!(container.read_only_root_filesystem, Some(true));
    assert_eq!(container.allow_privilege_escalation, Some(false));
    let dropped = container.capabilities.as_ref().and_then(|c| c.drop.clone());
    assert_eq!(dropped, Some(vec!["ALL".to_string()]));
}
