//! The broker config: a ConfigMap with one TOML file per pod.
//!
//! A StatefulSet gives every pod the same template, so a per-pod setting
//! (the election weight from `spec.weight`) cannot be a flag. Each pod reads
//! `/etc/ferromq/<pod>.toml` instead (`--config`); flags still win over the
//! file. A pod without a weight gets a file with no settings, which the
//! broker reads as "nothing to add".

use super::meta::{Component, Names, object_meta};
use crate::validate::Cluster;
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// Where the ConfigMap is mounted in a broker pod.
pub const CONFIG_DIR: &str = "/etc/ferromq";

/// The file of pod `pod` in the ConfigMap.
pub fn config_file(pod: &str) -> String {
    format!("{pod}.toml")
}

/// The TOML file of one pod.
fn pod_config(weight: Option<i32>) -> String {
    let mut text = String::from(
        "# Written by ferromq-operator from the ReplicatedBroker; edits are overwritten.\n",
    );
    if let Some(weight) = weight {
        text.push_str(&format!("weight = {weight}\n"));
    }
    text
}

/// The ConfigMap the broker pods mount at [`CONFIG_DIR`].
pub fn broker_config(c: &Cluster) -> ConfigMap {
    let data: BTreeMap<String, String> = (0..c.replicas)
        .map(|ordinal| {
            let pod = Names::broker_pod(c, ordinal);
            (
                config_file(&pod),
                pod_config(c.weights.get(&ordinal).copied()),
            )
        })
        .collect();
    ConfigMap {
        metadata: object_meta(c, Names::broker_config(c), Component::Broker),
        data: Some(data),
        ..ConfigMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::test_support::{MINIMAL, cluster, parse, with_spec};

    #[test]
    fn one_file_per_pod() {
        let rb = parse(MINIMAL);
        let config = broker_config(&cluster(&rb));
        assert_eq!(config.metadata.name.as_deref(), Some("orders-config"));
        let data = config.data.expect("data");
        let files: Vec<&str> = data.keys().map(String::as_str).collect();
        assert_eq!(files, ["orders-0.toml", "orders-1.toml", "orders-2.toml"]);
        assert!(
            data.values().all(|file| !file.contains("weight")),
            "no weight unless asked: {data:?}"
        );
    }

    #[test]
    fn weights_go_to_their_pods() {
        let rb = parse(&with_spec(MINIMAL, "weight: {orders-0: 10, orders-2: 3}"));
        let data = broker_config(&cluster(&rb)).data.expect("data");
        assert!(data["orders-0.toml"].contains("\nweight = 10\n"));
        assert!(!data["orders-1.toml"].contains("weight"));
        assert!(data["orders-2.toml"].contains("\nweight = 3\n"));
    }
}
