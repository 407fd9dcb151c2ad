//! The managed ZooKeeper's Services: a headless one through which servers
//! find each other (and brokers find every server by name), and a client
//! one for tools such as `zkCli.sh -server orders-zookeeper:2181`.

use super::broker_services::service_port;
use super::meta::{Component, Names, object_meta, selector_labels};
use super::ports;
use crate::validate::Cluster;
use k8s_openapi::api::core::v1::{Service, ServiceSpec};

/// `<name>-zookeeper-headless`, with not-ready addresses: a server is
/// Ready only once it is in a quorum, and it cannot join one before its
/// peers can resolve it.
pub fn zookeeper_headless_service(c: &Cluster) -> Service {
    Service {
        metadata: object_meta(
            c,
            Names::zookeeper_headless_service(c),
            Component::Zookeeper,
        ),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            publish_not_ready_addresses: Some(true),
            selector: Some(selector_labels(c, Component::Zookeeper)),
            ports: Some(vec![
                service_port("client", ports::ZK_CLIENT),
                service_port("follower", ports::ZK_FOLLOWER),
                service_port("election", ports::ZK_ELECTION),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// `<name>-zookeeper`: the client port of the servers that are serving.
pub fn zookeeper_client_service(c: &Cluster) -> Service {
    Service {
        metadata: object_meta(c, Names::zookeeper_client_service(c), Component::Zookeeper),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(selector_labels(c, Component::Zookeeper)),
            ports: Some(vec![service_port("client", ports::ZK_CLIENT)]),
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
    fn headless_service_carries_the_quorum_ports() {
        let rb = parse(MINIMAL);
        let service = zookeeper_headless_service(&cluster(&rb));
        assert_eq!(
            service.metadata.name.as_deref(),
            Some("orders-zookeeper-headless")
        );
        let spec = service.spec.expect("spec");
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(spec.publish_not_ready_addresses, Some(true));
        let ports: Vec<i32> = spec.ports.iter().flatten().map(|p| p.port).collect();
        assert_eq!(ports, [2181, 2888, 3888]);
        assert_eq!(
            spec.selector.expect("selector")["app.kubernetes.io/component"],
            "zookeeper"
        );
    }

    #[test]
    fn client_service_is_the_client_port() {
        let rb = parse(MINIMAL);
        let service = zookeeper_client_service(&cluster(&rb));
        assert_eq!(service.metadata.name.as_deref(), Some("orders-zookeeper"));
        let ports: Vec<i32> = service
            .spec
            .expect("spec")
            .ports
            .iter()
            .flatten()
            .map(|p| p.port)
            .collect();
        assert_eq!(ports, [2181]);
    }
}
