//! The broker's command line: the flags that make a pod one member of its
//! replicated broker.
//!
//! Everything shared by all pods is a flag; what differs per pod comes from
//! the pod itself: `$(POD_NAME)` (which Kubernetes expands from the
//! downward-API variable) names the node, its DNS name and its config file.

use super::broker_config::{CONFIG_DIR, config_file};
use super::meta::{Names, pod_dns};
use super::ports;
use crate::validate::{Cluster, Zookeeper, format_millis};

/// Where the data volume is mounted in a broker pod.
pub const DATA_DIR: &str = "/data";

/// The ZooKeeper connect string the brokers use: every managed server by
/// its stable DNS name (so a client can move between servers on its own),
/// or the external string as given.
pub fn zk_address(c: &Cluster) -> String {
    match c.zookeeper {
        Zookeeper::Managed(managed) => {
            let statefulset = Names::zookeeper_statefulset(c);
            let headless = Names::zookeeper_headless_service(c);
            (0..managed.replicas)
                .map(|ordinal| {
                    let pod = format!("{statefulset}-{ordinal}");
                    format!("{}:{}", pod_dns(c, &pod, &headless), ports::ZK_CLIENT)
                })
                .collect::<Vec<_>>()
                .join(",")
        }
        Zookeeper::External(external) => external.connect.clone(),
    }
}

/// The arguments after `ferromq-broker`.
pub fn broker_args(c: &Cluster) -> Vec<String> {
    let headless = Names::broker_headless_service(c);
    let hostname = pod_dns(c, "$(POD_NAME)", &headless);
    let pairs: [(&str, String); 12] = [
        ("--zk-address", zk_address(c)),
        ("--zk-path", c.zk_path.clone()),
        ("--zk-session-timeout", format_millis(c.session_timeout)),
        ("--replicas", c.replicas.to_string()),
        ("--bind", format!("0.0.0.0:{}", ports::REPLICATION)),
        ("--hostname", hostname),
        ("--node-id", "$(POD_NAME)".to_string()),
        ("--sync", c.spec().sync.clone()),
        ("--data-dir", DATA_DIR.to_string()),
        ("--listen", format!("0.0.0.0:{}", ports::STOMP)),
        ("--admin-listen", format!("0.0.0.0:{}", ports::ADMIN)),
        (
            "--config",
            format!("{CONFIG_DIR}/{}", config_file("$(POD_NAME)")),
        ),
    ];
    pairs
        .into_iter()
        .flat_map(|(flag, value)| [flag.to_string(), value])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::test_support::{EXTERNAL, MINIMAL, cluster, parse};

    fn flag(args: &[String], name: &str) -> String {
        let at = args.iter().position(|a| a == name).expect(name);
        args[at + 1].clone()
    }

    #[test]
    fn managed_zookeeper_flags() {
        let rb = parse(MINIMAL);
        let args = broker_args(&cluster(&rb));
        assert_eq!(
            flag(&args, "--zk-address"),
            "orders-zookeeper-0.orders-zookeeper-headless.shop.svc:2181,\
             orders-zookeeper-1.orders-zookeeper-headless.shop.svc:2181,\
             orders-zookeeper-2.orders-zookeeper-headless.shop.svc:2181"
        );
        assert_eq!(flag(&args, "--zk-path"), "/ferromq/shop/orders");
        assert_eq!(flag(&args, "--zk-session-timeout"), "2000ms");
        assert_eq!(flag(&args, "--replicas"), "3");
        assert_eq!(flag(&args, "--bind"), "0.0.0.0:61619");
        assert_eq!(
            flag(&args, "--hostname"),
            "$(POD_NAME).orders-headless.shop.svc"
        );
        assert_eq!(flag(&args, "--node-id"), "$(POD_NAME)");
        assert_eq!(flag(&args, "--sync"), "quorum_disk");
        assert_eq!(flag(&args, "--data-dir"), "/data");
        assert_eq!(flag(&args, "--listen"), "0.0.0.0:61613");
        assert_eq!(flag(&args, "--admin-listen"), "0.0.0.0:8161");
        assert_eq!(flag(&args, "--config"), "/etc/ferromq/$(POD_NAME).toml");
    }

    #[test]
    fn external_zookeeper_flags() {
        let rb = parse(EXTERNAL);
        let args = broker_args(&cluster(&rb));
        assert_eq!(
            flag(&args, "--zk-address"),
            "zk-0.zk.infra:2181,zk-1.zk.infra:2181"
        );
        assert_eq!(flag(&args, "--zk-path"), "/brokers/orders");
        assert_eq!(flag(&args, "--zk-session-timeout"), "1500ms");
        assert_eq!(flag(&args, "--replicas"), "5");
        assert_eq!(flag(&args, "--sync"), "local_disk,quorum_mem");
    }
}
