//! Which role label each broker pod should carry, from ZooKeeper.
//!
//! The client Service selects `ferromq.io/role=master`. The brokers move the
//! label themselves, but a broker killed with -9 never removes its own, so
//! the operator puts every pod right from the master record. The order is
//! the point: every pod that must lose `master` loses it before any pod
//! gains it, so the Service never selects a pod ZooKeeper does not name,
//! even for the moment between two patches.

use crate::build::meta::ROLE_MASTER;
use crate::pods::PodView;

/// The label value of every broker pod that is not the master.
pub const ROLE_REPLICA: &str = "replica";

/// One label patch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelChange {
    pub pod: String,
    pub role: &'static str,
}

/// The patches to make, in order: demotions first, the promotion last.
/// `master` is the pod the master record names (`None`: no master, so no
/// pod may carry the label).
pub fn label_changes(pods: &[PodView], master: Option<&str>) -> Vec<LabelChange> {
    let wanted = |pod: &PodView| {
        if Some(pod.name.as_str()) == master {
            ROLE_MASTER
        } else {
            ROLE_REPLICA
        }
    };
    let mut demotions = Vec::new();
    let mut promotions = Vec::new();
    for pod in pods {
        let role = wanted(pod);
        if pod.role.as_deref() == Some(role) {
            continue;
        }
        let change = LabelChange {
            pod: pod.name.clone(),
            role,
        };
        if role == ROLE_MASTER {
            promotions.push(change);
        } else {
            demotions.push(change);
        }
    }
    demotions.extend(promotions);
    demotions
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pods::fixtures::pod;

    fn change(pod: &str, role: &'static str) -> LabelChange {
        LabelChange {
            pod: pod.to_string(),
            role,
        }
    }

    #[test]
    fn table() {
        type Case = (
            &'static str,
            Vec<PodView>,
            Option<&'static str>,
            Vec<LabelChange>,
        );
        let cases: Vec<Case> = vec![
            (
                "settled: nothing to do",
                vec![pod("o-0", "r", "master"), pod("o-1", "r", "replica")],
                Some("o-0"),
                vec![],
            ),
            (
                "new pods get their labels",
                vec![pod("o-0", "r", ""), pod("o-1", "r", "")],
                Some("o-1"),
                vec![change("o-0", "replica"), change("o-1", "master")],
            ),
            (
                "failover: the old master is demoted before the new one is promoted",
                vec![
                    pod("o-0", "r", "replica"),
                    pod("o-1", "r", "replica"),
                    pod("o-2", "r", "master"),
                ],
                Some("o-0"),
                vec![change("o-2", "replica"), change("o-0", "master")],
            ),
            (
                "no master elected: nobody keeps the label",
                vec![pod("o-0", "r", "master"), pod("o-1", "r", "replica")],
                None,
                vec![change("o-0", "replica")],
            ),
            (
                "two pods labelled master: both demoted except the elected one",
                vec![pod("o-0", "r", "master"), pod("o-1", "r", "master")],
                Some("o-1"),
                vec![change("o-0", "replica")],
            ),
            (
                "a master outside the StatefulSet labels no pod",
                vec![pod("o-0", "r", "master")],
                Some("elsewhere"),
                vec![change("o-0", "replica")],
            ),
        ];
        for (name, pods, master, want) in cases {
            assert_eq!(label_changes(&pods, master), want, "{name}");
        }
    }
}
