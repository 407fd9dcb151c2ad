//! ReplicatedBrokers written as a person would, for the builders' tests.

use crate::crd::ReplicatedBroker;
use crate::validate::{Cluster, validate};

/// The smallest resource: every default, as the API server would store it
/// once it has filled in name, namespace and uid.
pub const MINIMAL: &str = r#"
apiVersion: ferromq.io/v1alpha1
kind: ReplicatedBroker
metadata:
  name: orders
  namespace: shop
  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
spec: {}
"#;

/// Five brokers on an external ZooKeeper, with the options set.
pub const EXTERNAL: &str = r#"
apiVersion: ferromq.io/v1alpha1
kind: ReplicatedBroker
metadata:
  name: orders
  namespace: shop
  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427
spec:
  replicas: 5
  image: registry.example/ferromq:1.2.3
  imagePullPolicy: Always
  sync: local_disk,quorum_mem
  sessionTimeout: 1500ms
  zookeeper:
    external:
      connect: zk-0.zk.infra:2181,zk-1.zk.infra:2181
      path: /brokers/orders
  storage:
    size: 20Gi
    storageClassName: fast-ssd
  resources:
    requests: {cpu: 500m, memory: 1Gi}
    limits: {memory: 2Gi}
  tolerations:
  - {key: dedicated, operator: Equal, value: brokers, effect: NoSchedule}
  nodeSelector: {pool: brokers}
  podAnnotations: {prometheus.io/scrape: "true"}
"#;

/// Parses a ReplicatedBroker from YAML.
pub fn parse(yaml: &str) -> ReplicatedBroker {
    serde_saphyr::from_str(yaml).expect("test YAML is a ReplicatedBroker")
}

/// A validated view, for resources the test knows are valid.
pub fn cluster(rb: &ReplicatedBroker) -> Cluster<'_> {
    validate(rb).expect("test resource is valid")
}

/// `base` (whose spec is `spec: {}`) with `spec` as its spec instead, in
/// YAML flow or block form indented by two spaces.
pub fn with_spec(base: &str, spec: &str) -> String {
    let indented: String = spec.lines().map(|line| format!("\n  {line}")).collect();
    base.replace("spec: {}", &format!("spec:{indented}"))
}
