//! The broker Services: a headless one that gives each pod a stable DNS
//! name for replication, and the client one that reaches only the master.

use super::meta::{Component, Names, ROLE_LABEL, ROLE_MASTER, object_meta, selector_labels};
use super::ports;
use crate::validate::Cluster;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A TCP Service port that forwards to the container port of the same name.
pub fn service_port(name: &str, number: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_string()),
        port: number,
        target_port: Some(IntOrString::String(name.to_string())),
        protocol: Some("TCP".to_string()),
        ..ServicePort::default()
    }
}

/// `<name>-headless`: every broker pod, ready or not. A replica that is
/// catching up is not Ready yet, and is exactly the pod the master must
/// reach, so not-ready addresses are published.
pub fn broker_headless_service(c: &Cluster) -> Service {
    Service {
        metadata: object_meta(c, Names::broker_headless_service(c), Component::Broker),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(c, Component::Broker)),
            ports: Some(vec![
                service_port("replication", ports::REPLICATION),
                service_port("stomp", ports::STOMP),
                service_port("admin", ports::ADMIN),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<name>`: STOMP on the master only. The master's own broker sets
/// `ferromq.io/role=master` on its pod when elected and removes it when it
/// steps down; a replica never carries it, so clients never land on one.
pub fn broker_client_service(c: &Cluster) -> Service {
    let mut selector = selector_labels(c, Component::Broker);
    selector.insert(ROLE_LABEL.to_string(), ROLE_MASTER.to_string());
    Service {
        metadata: object_meta(c, Names::broker_client_service(c), Component::Broker),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(selector),
            ports: Some(vec![service_port("stomp", ports::STOMP)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::test_support::{MINIMAL, cluster, parse};

    #[test]
    fn headless_publishes_not_ready_pods() {
        let rb = parse(MINIMAL);
        let service = broker_headless_service(&cluster(&rb));
        assert_eq!(service.metadata.name.as_deref(), Some("orders-headless"));
        let spec = service.spec.expect("spec");
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(spec.publish_not_ready_addresses, Some(true));
        let selector = spec.selector.expect("selector");
        assert!(
            !selector.contains_key(ROLE_LABEL),
            "replication reaches every pod"
        );
        let ports: Vec<(Option<&str>, i32)> = spec
            .ports
            .iter()
            .flatten()
            .map(|p| (p.name.as_deref(), p.port))
            .collect();
        assert_eq!(
            ports,
            [
                (Some("replication"), 61619),
                (Some("stomp"), 61613),
                (Some("admin"), 8161)
            ]
        );
    }

    #[test]
    fn client_service_selects_only_the_master() {
        let rb = parse(MINIMAL);
        let service = broker_client_service(&cluster(&rb));
        assert_eq!(service.metadata.name.as_deref(), Some("orders"));
        let spec = service.spec.expect("spec");
        let selector = spec.selector.expect("selector");
        assert_eq!(
            selector.get("ferromq.io/role").map(String::as_str),
            Some("master")
        );
        assert_eq!(
            selector
                .get("app.kubernetes.io/instance")
                .map(String::as_str),
            Some("orders")
        );
        assert_eq!(
            selector
                .get("app.kubernetes.io/component")
                .map(String::as_str),
            Some("broker")
        );
        assert_eq!(
            spec.publish_not_ready_addresses, None,
            "a master that is not ready gets no clients"
        );
        let port = &spec.ports.expect("ports")[0];
        assert_eq!(
            (port.port, port.target_port.clone()),
            (61613, Some(IntOrString::String("stomp".into())))
        );
    }
}
