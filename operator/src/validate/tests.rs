use super::*;
use crate::build::test_support::{EXTERNAL, MINIMAL, parse, with_spec};

fn refusal(spec: &str) -> ValidationError {
    let rb = parse(&with_spec(MINIMAL, spec));
    validate(&rb).expect_err(spec)
}

#[test]
fn minimal_resource_gets_the_defaults() {
    let rb = parse(MINIMAL);
    let c = validate(&rb).expect("valid");
    assert_eq!((c.name, c.namespace, c.replicas), ("orders", "shop", 3));
    assert_eq!(c.session_timeout, Duration::from_secs(2));
    assert_eq!(c.zk_path, "/ferromq/shop/orders");
    assert!(
        matches!(c.zookeeper, Zookeeper::Managed(m) if m.replicas == 3 && m.image == "zookeeper:3.9")
    );
    assert!(c.weights.is_empty());
    assert_eq!(c.owner.kind, "ReplicatedBroker");
    assert_eq!(c.owner.controller, Some(true));
}

#[test]
fn external_resource_keeps_its_path() {
    let rb = parse(EXTERNAL);
    let c = validate(&rb).expect("valid");
    assert_eq!(c.zk_path, "/brokers/orders");
    assert_eq!(c.session_timeout, Duration::from_millis(1500));
    assert!(matches!(c.zookeeper, Zookeeper::External(_)));
}

#[test]
fn external_path_defaults_per_namespace_and_name() {
    let rb = parse(&with_spec(
        MINIMAL,
        "zookeeper: {external: {connect: 'zk:2181'}}",
    ));
    assert_eq!(
        validate(&rb).expect("valid").zk_path,
        "/ferromq/shop/orders"
    );
}

#[test]
fn metadata_must_come_from_the_api_server() {
    let rb = parse(&MINIMAL.replace("  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n", ""));
    assert_eq!(
        validate(&rb).expect_err("no uid"),
        ValidationError::MissingMetadata("uid")
    );
    let rb = parse(&MINIMAL.replace("  namespace: shop\n", ""));
    assert_eq!(
        validate(&rb).expect_err("no namespace"),
        ValidationError::MissingMetadata("namespace")
    );
}

#[test]
fn names_must_fit() {
    for name in ["1orders", "Orders", "orders-", "orders.eu", &"a".repeat(41)] {
        let rb = parse(&MINIMAL.replace("name: orders", &format!("name: '{name}'")));
        assert_eq!(
            validate(&rb).expect_err(name),
            ValidationError::Name(name.to_string())
        );
    }
    let rb = parse(&MINIMAL.replace("name: orders", &format!("name: {}", "a".repeat(40))));
    assert!(validate(&rb).is_ok());
}

#[test]
fn replicas_must_be_odd_and_small() {
    for replicas in [0, 2, 4, 9, -1] {
        let error = refusal(&format!("replicas: {replicas}"));
        assert_eq!(
            error,
            ValidationError::Replicas {
                field: "spec.replicas",
                value: replicas
            }
        );
        assert!(
            error.to_string().contains("use an odd number from 1 to 7"),
            "{error}"
        );
    }
    let error = refusal("zookeeper: {managed: {replicas: 2}}");
    assert_eq!(
        error,
        ValidationError::Replicas {
            field: "spec.zookeeper.managed.replicas",
            value: 2
        }
    );
}

#[test]
fn sync_names_the_bad_word() {
    let error = refusal("sync: quorum_disk,fast");
    assert_eq!(
        error,
        ValidationError::Sync {
            value: "quorum_disk,fast".into(),
            word: "fast".into()
        }
    );
    assert!(
        error.to_string().contains("local_mem, local_disk"),
        "{error}"
    );
}

#[test]
fn session_timeout_must_parse_and_be_in_range() {
    for timeout in ["2", "2 s", "500ms", "41s", "1h"] {
        let error = refusal(&format!("sessionTimeout: '{timeout}'"));
        assert_eq!(error, ValidationError::SessionTimeout(timeout.to_string()));
        assert!(error.to_string().contains("from 1s to 40s"), "{error}");
    }
}

#[test]
fn zookeeper_needs_exactly_one_mode() {
    assert_eq!(refusal("zookeeper: {}"), ValidationError::ZookeeperMode);
    assert_eq!(
        refusal("zookeeper: {managed: {}, external: {connect: 'zk:2181'}}"),
        ValidationError::ZookeeperMode
    );
}

#[test]
fn connect_string_must_be_host_port_pairs() {
    for connect in [
        "zk", "zk:", ":2181", "zk:0", "zk:65536", "zk:2181,", "z k:2181",
    ] {
        let error = refusal(&format!(
            "zookeeper: {{external: {{connect: '{connect}'}}}}"
        ));
        assert!(
            matches!(error, ValidationError::Connect { .. }),
            "{connect}: {error}"
        );
    }
    let rb = parse(&with_spec(
        MINIMAL,
        "zookeeper: {external: {connect: '[::1]:2181,zk-1:2182'}}",
    ));
    assert!(validate(&rb).is_ok());
}

#[test]
fn zookeeper_path_must_be_absolute_and_clean() {
    for path in ["ferromq", "/", "/a/", "/a//b", "/a/./b", "/a/../b"] {
        let error = refusal(&format!(
            "zookeeper: {{external: {{connect: 'zk:2181', path: '{path}'}}}}"
        ));
        assert_eq!(error, ValidationError::ZookeeperPath(path.to_string()));
    }
}

#[test]
fn quantities_must_parse() {
    let error = refusal("storage: {size: 10GB}");
    assert_eq!(
        error.to_string(),
        "spec.storage.size \"10GB\" is not a Kubernetes quantity like 10Gi or 500m: its suffix is not one of \
         Ki Mi Gi Ti Pi Ei, n u m k M G T P E or an exponent like e3"
    );
    let error = refusal("resources: {limits: {memory: lots}}");
    assert!(
        matches!(&error, ValidationError::Quantity { field, .. } if field == "spec.resources.limits.memory"),
        "{error}"
    );
    let error = refusal("zookeeper: {managed: {resources: {requests: {cpu: '-1'}}}}");
    assert!(
        error
            .to_string()
            .contains("spec.zookeeper.managed.resources.requests.cpu"),
        "{error}"
    );
    assert_eq!(
        refusal("storage: {size: '0'}"),
        ValidationError::ZeroStorage {
            field: "spec.storage.size",
            value: "0".into()
        }
    );
}

#[test]
fn weights_name_pods_of_this_broker() {
    let rb = parse(&with_spec(MINIMAL, "weight: {orders-0: 10, orders-2: 1}"));
    let c = validate(&rb).expect("valid");
    assert_eq!(c.weights, BTreeMap::from([(0, 10), (2, 1)]));
    for pod in ["orders-3", "orders-01", "orders-+1", "other-0", "orders"] {
        let error = refusal(&format!("weight: {{'{pod}': 5}}"));
        assert_eq!(
            error,
            ValidationError::WeightPod {
                pod: pod.into(),
                first: "orders-0".into(),
                last: "orders-2".into()
            }
        );
    }
    assert_eq!(
        refusal("weight: {orders-1: 0}"),
        ValidationError::Weight {
            pod: "orders-1".into(),
            value: 0
        }
    );
}
