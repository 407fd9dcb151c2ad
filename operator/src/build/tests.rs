use super::*;
use crate::build::test_support::{EXTERNAL, MINIMAL, parse};

#[test]
fn managed_zookeeper_makes_twelve_objects() {
    let objects = build(&parse(MINIMAL)).expect("valid");
    let names: Vec<(&str, &str)> = objects
        .metadata()
        .into_iter()
        .map(|(kind, meta)| (kind, meta.name.as_deref().expect("named")))
        .collect();
    assert_eq!(
        names,
        [
            ("Service", "orders-zookeeper-headless"),
            ("Service", "orders-zookeeper"),
            ("StatefulSet", "orders-zookeeper"),
            ("PodDisruptionBudget", "orders-zookeeper"),
            ("ServiceAccount", "orders-broker"),
            ("Role", "orders-broker"),
            ("RoleBinding", "orders-broker"),
            ("ConfigMap", "orders-config"),
            ("Service", "orders-headless"),
            ("Service", "orders"),
            ("StatefulSet", "orders"),
            ("PodDisruptionBudget", "orders"),
        ]
    );
}

#[test]
fn external_zookeeper_makes_no_zookeeper_objects() {
    let objects = build(&parse(EXTERNAL)).expect("valid");
    assert!(objects.zookeeper.is_none());
    assert_eq!(objects.metadata().len(), 8);
}

#[test]
fn every_object_is_owned_labelled_and_namespaced() {
    for yaml in [MINIMAL, EXTERNAL] {
        let objects = build(&parse(yaml)).expect("valid");
        for (kind, meta) in objects.metadata() {
            let what = format!("{kind} {:?}", meta.name);
            assert_eq!(meta.namespace.as_deref(), Some("shop"), "{what}");
            let owners = meta.owner_references.as_deref().expect("owned");
            assert_eq!(owners.len(), 1, "{what}");
            let owner = &owners[0];
            assert_eq!(
                (
                    owner.api_version.as_str(),
                    owner.kind.as_str(),
                    owner.name.as_str()
                ),
                ("ferromq.io/v1alpha1", "ReplicatedBroker", "orders"),
                "{what}"
            );
            assert_eq!(owner.uid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427", "{what}");
            assert_eq!(
                (owner.controller, owner.block_owner_deletion),
                (Some(true), Some(true)),
                "{what}"
            );
            let labels = meta.labels.as_ref().expect("labelled");
            assert_eq!(labels["app.kubernetes.io/name"], "ferromq", "{what}");
            assert_eq!(labels["app.kubernetes.io/instance"], "orders", "{what}");
            assert_eq!(
                labels["app.kubernetes.io/managed-by"], "ferromq-operator",
                "{what}"
            );
            assert!(
                ["broker", "zookeeper"].contains(&labels["app.kubernetes.io/component"].as_str()),
                "{what}"
            );
        }
    }
}

#[test]
fn invalid_resource_builds_nothing() {
    let rb = parse(&MINIMAL.replace("spec: {}", "spec: {replicas: 4}"));
    assert!(matches!(
        build(&rb),
        Err(ValidationError::Replicas { value: 4, .. })
    ));
}

#[test]
fn every_object_serializes_with_api_version_and_kind_for_server_side_apply() {
    let objects = build(&parse(MINIMAL)).expect("valid");
    let zk = objects.zookeeper.as_ref().expect("managed");
    let values = [
        serde_json::to_value(&zk.headless_service),
        serde_json::to_value(&zk.client_service),
        serde_json::to_value(&zk.statefulset),
        serde_json::to_value(&zk.pdb),
        serde_json::to_value(&objects.service_account),
        serde_json::to_value(&objects.role),
        serde_json::to_value(&objects.role_binding),
        serde_json::to_value(&objects.config),
        serde_json::to_value(&objects.headless_service),
        serde_json::to_value(&objects.client_service),
        serde_json::to_value(&objects.statefulset),
        serde_json::to_value(&objects.pdb),
    ];
    let kinds: Vec<(String, String)> = values
        .into_iter()
        .map(|v| {
            let v = v.expect("serializes");
            (
                v["apiVersion"].as_str().expect("apiVersion").into(),
                v["kind"].as_str().expect("kind").into(),
            )
        })
        .collect();
    let expected = [
        ("v1", "Service"),
        ("v1", "Service"),
        ("apps/v1", "StatefulSet"),
        ("policy/v1", "PodDisruptionBudget"),
        ("v1", "ServiceAccount"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("v1", "ConfigMap"),
        ("v1", "Service"),
        ("v1", "Service"),
        ("apps/v1", "StatefulSet"),
        ("policy/v1", "PodDisruptionBudget"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, k)| (a.to_string(), k.to_string()))
        .collect();
    assert_eq!(kinds, expected);
}
