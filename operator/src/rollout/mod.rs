//! Upgrades, one pod at a time, the master last, as one pure decision.
//!
//! The broker StatefulSet uses `OnDelete`, so a changed pod template
//! changes no pod until the operator deletes it. [`next_action`] looks at
//! the pods, the StatefulSet's `updateRevision` and the election, and says
//! what to do next; the controller does it and asks again on the next
//! reconcile. Nothing is deleted unless every pod is Ready and every
//! replica is caught up, so the rollout never takes a second pod away while
//! one is still coming back, and a quorum stays whole.

use crate::election::Election;
use crate::pods::PodView;
use ferromq_election::NodeState;

/// What the rollout should do now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RolloutAction {
    /// Every pod runs the StatefulSet's update revision.
    Done,
    /// Nothing can be done safely yet; the reason is for status and logs.
    Wait(String),
    /// Delete this pod; the StatefulSet makes it again from the new template.
    Delete { pod: String, master: bool },
    /// Ask the master to hand over (`POST http://<admin>/step-down`) so
    /// that it can be replaced as a replica.
    StepDown { pod: String, admin: String },
}

/// The inputs of one decision.
#[derive(Debug, Clone, Copy)]
pub struct Rollout<'a> {
    /// `status.updateRevision` of the broker StatefulSet.
    pub update_revision: Option<&'a str>,
    /// The broker pods that exist.
    pub pods: &'a [PodView],
    /// `spec.replicas`: pods that should exist (`<sts>-0` .. `<sts>-(n-1)`).
    pub replicas: i32,
    /// The election, when ZooKeeper could be read.
    pub election: Option<&'a Election>,
}

/// Pods still on an older template, highest ordinal first (the order a
/// StatefulSet itself would update them in).
pub fn outdated<'a>(pods: &'a [PodView], update_revision: &str) -> Vec<&'a PodView> {
    let mut old: Vec<&PodView> = pods
        .iter()
        .filter(|p| p.revision.as_deref() != Some(update_revision))
        .collect();
    old.sort_by_key(|p| std::cmp::Reverse(ordinal(&p.name)));
    old
}

/// A record naming another pod UID than the pod's was left by the pod's
/// previous incarnation, whose session has not expired yet. A record without
/// a UID (a broker not told its pod's) is taken as it is.
fn stale(record_uid: Option<&str>, pod_uid: Option<&str>) -> bool {
    matches!((record_uid, pod_uid), (Some(r), Some(p)) if r != p)
}

fn ordinal(pod: &str) -> Option<u32> {
    pod.rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

/// Decides the next step of the rollout.
pub fn next_action(r: Rollout) -> RolloutAction {
    let Some(revision) = r.update_revision else {
        return RolloutAction::Wait("the StatefulSet has no update revision yet".into());
    };
    let old = outdated(r.pods, revision);
    if old.is_empty() {
        return RolloutAction::Done;
    }
    let present = i32::try_from(r.pods.len()).unwrap_or(i32::MAX);
    if present < r.replicas {
        return RolloutAction::Wait(format!("{} of {} broker pods exist", present, r.replicas));
    }
    if let Some(pod) = r.pods.iter().find(|p| !p.available()) {
        return RolloutAction::Wait(format!("pod {} is not Ready", pod.name));
    }
    let Some(election) = r.election else {
        return RolloutAction::Wait("ZooKeeper cannot be read".into());
    };
    let Some(master) = election.master.as_ref() else {
        return RolloutAction::Wait("no master is elected".into());
    };
    let Some(master_node) = election.master_node() else {
        return RolloutAction::Wait(format!("master {} has no node record", master.id));
    };
    for pod in r.pods.iter().filter(|p| p.name != master.id) {
        match election.nodes.get(&pod.name) {
            None => return RolloutAction::Wait(format!("pod {} is not registered", pod.name)),
            Some(node) if stale(node.pod_uid.as_deref(), pod.uid.as_deref()) => {
                return RolloutAction::Wait(format!(
                    "pod {} is new; its node record is still the previous pod's",
                    pod.name
                ));
            }
            Some(node) if node.state != NodeState::Replica => {
                return RolloutAction::Wait(format!(
                    "pod {} is {}, not a replica",
                    pod.name,
                    node.state.as_str()
                ));
            }
            Some(node) if node.position.index < master_node.position.index => {
                return RolloutAction::Wait(format!(
                    "pod {} is catching up ({} entries behind)",
                    pod.name,
                    master_node.position.index - node.position.index
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(replica) = old.iter().find(|p| p.name != master.id) {
        return RolloutAction::Delete {
            pod: replica.name.clone(),
            master: false,
        };
    }
    // Only the master is left on the old template.
    if r.replicas <= 1 {
        // Nobody to hand over to: replacing it is the only way forward.
        return RolloutAction::Delete {
            pod: master.id.clone(),
            master: true,
        };
    }
    RolloutAction::StepDown {
        pod: master.id.clone(),
        admin: master.admin.clone(),
    }
}

#[cfg(test)]
mod tests;
