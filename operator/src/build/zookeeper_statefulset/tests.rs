use super::*;
use crate::build::test_support::{MINIMAL, cluster, parse, with_spec};
use crate::validate::Zookeeper;

fn statefulset(yaml: &str) -> StatefulSet {
    let rb = parse(yaml);
    let c = cluster(&rb);
    let Zookeeper::Managed(managed) = c.zookeeper else {
        panic!("managed ZooKeeper")
    };
    zookeeper_statefulset(&c, managed)
}

fn container(sts: &StatefulSet) -> &Container {
    &sts.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec")
        .containers[0]
}

fn env_value<'a>(container: &'a Container, name: &str) -> &'a str {
    let var = container
        .env
        .iter()
        .flatten()
        .find(|e| e.name == name)
        .expect(name);
    var.value.as_deref().expect("plain value")
}

#[test]
fn three_official_servers_started_in_parallel() {
    let sts = statefulset(MINIMAL);
    assert_eq!(sts.metadata.name.as_deref(), Some("orders-zookeeper"));
    let spec = sts.spec.as_ref().expect("spec");
    assert_eq!(spec.replicas, Some(3));
    assert_eq!(
        spec.service_name.as_deref(),
        Some("orders-zookeeper-headless")
    );
    assert_eq!(spec.pod_management_policy.as_deref(), Some("Parallel"));
    let container = container(&sts);
    assert_eq!(container.image.as_deref(), Some("zookeeper:3.9"));
    let ports: Vec<i32> = container
        .ports
        .iter()
        .flatten()
        .map(|p| p.container_port)
        .collect();
    assert_eq!(ports, [2181, 2888, 3888]);
}

#[test]
fn server_id_comes_from_the_pod_ordinal() {
    let sts = statefulset(MINIMAL);
    let command = container(&sts).command.clone().expect("command");
    assert_eq!(command[..2], ["bash".to_string(), "-c".to_string()]);
    assert!(
        command[2].starts_with("export ZOO_MY_ID=$$((${HOSTNAME##*-} + 1)) && "),
        "{}",
        command[2]
    );
    assert!(
        command[2].ends_with("exec /docker-entrypoint.sh zkServer.sh start-foreground"),
        "{}",
        command[2]
    );
}

#[test]
fn servers_list_every_pod_by_dns_name() {
    let sts = statefulset(MINIMAL);
    assert_eq!(
        env_value(container(&sts), "ZOO_SERVERS"),
        "server.1=orders-zookeeper-0.orders-zookeeper-headless.shop.svc:2888:3888;2181 \
         server.2=orders-zookeeper-1.orders-zookeeper-headless.shop.svc:2888:3888;2181 \
         server.3=orders-zookeeper-2.orders-zookeeper-headless.shop.svc:2888:3888;2181"
    );
    let single = statefulset(&with_spec(MINIMAL, "zookeeper: {managed: {replicas: 1}}"));
    assert_eq!(
        env_value(container(&single), "ZOO_SERVERS"),
        "server.1=orders-zookeeper-0.orders-zookeeper-headless.shop.svc:2888:3888;2181"
    );
}

#[test]
fn tick_grants_the_session_timeout() {
    for (timeout, tick) in [(1_000, 250), (2_000, 500), (8_000, 2_000), (40_000, 2_000)] {
        assert_eq!(
            tick_time(Duration::from_millis(timeout)),
            tick,
            "{timeout}ms"
        );
        // ZooKeeper grants sessions between 2 and 20 ticks.
        assert!(
            (2 * tick..=20 * tick).contains(&u128::from(timeout)),
            "{timeout}ms with a {tick}ms tick"
        );
    }
    let sts = statefulset(MINIMAL);
    let container = container(&sts);
    assert_eq!(env_value(container, "ZOO_TICK_TIME"), "500");
    assert_eq!(env_value(container, "ZOO_INIT_LIMIT"), "20");
    assert_eq!(env_value(container, "ZOO_SYNC_LIMIT"), "8");
}

#[test]
fn data_and_transaction_log_live_on_the_volume() {
    let sts = statefulset(&with_spec(
        MINIMAL,
        "zookeeper: {managed: {storage: {size: 5Gi, storageClassName: ssd}}}",
    ));
    let container = container(&sts);
    assert_eq!(env_value(container, "ZOO_DATA_DIR"), "/data");
    assert_eq!(env_value(container, "ZOO_DATA_LOG_DIR"), "/data");
    let mount = &container.volume_mounts.as_ref().expect("mounts")[0];
    assert_eq!(
        (mount.name.as_str(), mount.mount_path.as_str()),
        ("data", "/data")
    );
    let claims = sts
        .spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_ref())
        .expect("claims");
    let claim = claims[0].spec.as_ref().expect("claim spec");
    assert_eq!(claim.storage_class_name.as_deref(), Some("ssd"));
    assert_eq!(
        claim
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .expect("requests")["storage"]
            .0,
        "5Gi"
    );
}

#[test]
fn probes_ask_the_server_itself() {
    let sts = statefulset(MINIMAL);
    let container = container(&sts);
    let script = |probe: &Option<Probe>| {
        let exec = probe
            .as_ref()
            .and_then(|p| p.exec.as_ref())
            .and_then(|e| e.command.clone());
        exec.expect("exec probe").last().cloned().expect("script")
    };
    assert_eq!(
        script(&container.readiness_probe),
        "echo srvr | nc -w 2 127.0.0.1 2181 | grep -q 'Mode:'"
    );
    assert_eq!(
        script(&container.liveness_probe),
        "echo ruok | nc -w 2 127.0.0.1 2181 | grep -q 'imok'"
    );
    assert!(env_value(container, "ZOO_4LW_COMMANDS_WHITELIST").contains("srvr"));
}

#[test]
fn scheduling_follows_the_brokers_node_constraints() {
    let sts = statefulset(&with_spec(
        MINIMAL,
        "nodeSelector: {pool: brokers}\ntolerations: [{key: dedicated, operator: Exists}]",
    ));
    let pod = sts
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec");
    assert_eq!(
        pod.node_selector.as_ref().map(|n| n["pool"].as_str()),
        Some("brokers")
    );
    assert_eq!(pod.tolerations.as_ref().map(Vec::len), Some(1));
    let anti = pod
        .affinity
        .as_ref()
        .and_then(|a| a.pod_anti_affinity.as_ref())
        .expect("spread");
    let term = &anti
        .preferred_during_scheduling_ignored_during_execution
        .as_ref()
        .expect("preferred")[0];
    let labels = term
        .pod_affinity_term
        .label_selector
        .as_ref()
        .and_then(|s| s.match_labels.as_ref())
        .expect("labels");
    assert_eq!(labels["app.kubernetes.io/component"], "zookeeper");
}
