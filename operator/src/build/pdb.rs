//! PodDisruptionBudgets that keep a quorum through drains and upgrades.
//!
//! Both the brokers and ZooKeeper need a strict majority (`n/2+1`) up; a
//! voluntary disruption may take the rest, `n - quorum`. A single pod is
//! its own quorum, so its budget allows no disruption at all: a drain then
//! waits for a person, which is the honest answer for one copy of the data.

use super::meta::{Component, Names, object_meta, quorum, selector};
use crate::crd::ManagedZookeeper;
use crate::validate::Cluster;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn keep_quorum(
    c: &Cluster,
    name: String,
    component: Component,
    replicas: i32,
) -> PodDisruptionBudget {
    PodDisruptionBudget {
        metadata: object_meta(c, name, component),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(replicas - quorum(replicas))),
            selector: Some(selector(c, component)),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    }
}

/// The brokers' budget.
pub fn broker_pdb(c: &Cluster) -> PodDisruptionBudget {
    keep_quorum(c, Names::broker_pdb(c), Component::Broker, c.replicas)
}

/// The managed ZooKeeper's budget.
pub fn zookeeper_pdb(c: &Cluster, managed: &ManagedZookeeper) -> PodDisruptionBudget {
    keep_quorum(
        c,
        Names::zookeeper_pdb(c),
        Component::Zookeeper,
        managed.replicas,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::test_support::{MINIMAL, cluster, parse, with_spec};
    use crate::validate::Zookeeper;

    fn max_unavailable(pdb: &PodDisruptionBudget) -> Option<IntOrString> {
        pdb.spec.as_ref().and_then(|s| s.max_unavailable.clone())
    }

    #[test]
    fn keeps_a_quorum_of_brokers() {
        for (replicas, allowed) in [(1, 0), (3, 1), (5, 2), (7, 3)] {
            let rb = parse(&with_spec(MINIMAL, &format!("replicas: {replicas}")));
            let pdb = broker_pdb(&cluster(&rb));
            assert_eq!(
                max_unavailable(&pdb),
                Some(IntOrString::Int(allowed)),
                "{replicas} brokers"
            );
        }
    }

    #[test]
    fn keeps_a_quorum_of_zookeeper_servers() {
        let rb = parse(&with_spec(MINIMAL, "zookeeper: {managed: {replicas: 5}}"));
        let c = cluster(&rb);
        let Zookeeper::Managed(managed) = c.zookeeper else {
            panic!("managed")
        };
        let pdb = zookeeper_pdb(&c, managed);
        assert_eq!(pdb.metadata.name.as_deref(), Some("orders-zookeeper"));
        assert_eq!(max_unavailable(&pdb), Some(IntOrString::Int(2)));
        let labels = pdb
            .spec
            .and_then(|s| s.selector)
            .and_then(|s| s.match_labels)
            .expect("selector");
        assert_eq!(labels["app.kubernetes.io/component"], "zookeeper");
    }
}
