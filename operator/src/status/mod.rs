//! The status a ReplicatedBroker shows, as a pure function of what the
//! operator observed: the election in ZooKeeper, the pods, the StatefulSet
//! and the rollout's next step. The controller only writes the result.

mod conditions;

pub use conditions::conditions;

use crate::crd::{LogPosition, ReplicaRole, ReplicaStatus, ReplicatedBrokerStatus};
use crate::election::Election;
use crate::pods::PodView;
use crate::rollout::RolloutAction;
use ferromq_election::{NodeRecord, NodeState, Position};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Everything one status is computed from.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// `metadata.generation` of the resource.
    pub generation: Option<i64>,
    /// The broker StatefulSet's name: pods are `<statefulset>-<ordinal>`.
    pub statefulset: &'a str,
    pub replicas: i32,
    pub pods: &'a [PodView],
    /// `status.readyReplicas` of the broker StatefulSet.
    pub ready_replicas: i32,
    /// The election, or why it could not be read.
    pub election: Result<&'a Election, String>,
    pub rollout: &'a RolloutAction,
    pub paused: bool,
    /// Why applying the built objects failed, if it did.
    pub apply_error: Option<&'a str>,
    /// The status before, so conditions keep their transition times and a
    /// ZooKeeper outage keeps the last master seen.
    pub previous: Option<&'a ReplicatedBrokerStatus>,
    pub now: Time,
}

/// The status to write.
pub fn status(o: &Observed) -> ReplicatedBrokerStatus {
    let (master, epoch, replicas) = match &o.election {
        Ok(election) => (
            election.master.as_ref().map(|m| m.id.clone()),
            election
                .master
                .as_ref()
                .map(|m| i64::try_from(m.epoch).unwrap_or(i64::MAX)),
            replica_statuses(o, election),
        ),
        // As last seen: the conditions say that it could not be checked.
        Err(_) => match o.previous {
            Some(p) => (p.master.clone(), p.epoch, p.replicas.clone()),
            None => (None, None, Vec::new()),
        },
    };
    ReplicatedBrokerStatus {
        master,
        epoch,
        replicas,
        ready_replicas: o.ready_replicas,
        observed_generation: o.generation,
        conditions: conditions(o),
    }
}

/// The status of a resource whose spec the operator refuses: what was
/// last seen, with `Degraded` saying what to fix.
pub fn invalid_spec(
    previous: Option<&ReplicatedBrokerStatus>,
    generation: Option<i64>,
    message: &str,
    now: Time,
) -> ReplicatedBrokerStatus {
    use crate::crd::{condition, reason};
    let draft = (
        condition::DEGRADED,
        "True",
        reason::INVALID_SPEC,
        message.to_string(),
    );
    let degraded = conditions::condition(previous, generation, &now, draft);
    let mut s = previous.cloned().unwrap_or_default();
    s.conditions.retain(|c| c.type_ != condition::DEGRADED);
    s.conditions.push(degraded);
    s.observed_generation = generation;
    s
}

/// Pod names the StatefulSet should have, in ordinal order.
pub fn pod_names(statefulset: &str, replicas: i32) -> Vec<String> {
    (0..replicas.max(0))
        .map(|i| format!("{statefulset}-{i}"))
        .collect()
}

fn replica_statuses(o: &Observed, election: &Election) -> Vec<ReplicaStatus> {
    let master = election.master.as_ref().map(|m| m.id.as_str());
    pod_names(o.statefulset, o.replicas)
        .into_iter()
        .map(|pod| {
            let node = election.nodes.get(&pod);
            let role = match node {
                None => ReplicaRole::Down,
                Some(_) if Some(pod.as_str()) == master => ReplicaRole::Master,
                Some(n) => role(n),
            };
            ReplicaStatus {
                position: node.map(|n| position(n.position)),
                lag: node.and_then(|n| election.lag(n)),
                role,
                pod,
            }
        })
        .collect()
}

fn role(node: &NodeRecord) -> ReplicaRole {
    match node.state {
        NodeState::Master => ReplicaRole::Master,
        NodeState::Replica => ReplicaRole::Replica,
        NodeState::Candidate => ReplicaRole::Candidate,
    }
}

fn position(p: Position) -> LogPosition {
    LogPosition {
        epoch: i64::try_from(p.epoch).unwrap_or(i64::MAX),
        index: i64::try_from(p.index).unwrap_or(i64::MAX),
    }
}

/// Whether things are moving (an election, a rollout, pods coming up), so
/// the controller looks again soon rather than at the stable pace.
pub fn settled(status: &ReplicatedBrokerStatus) -> bool {
    use crate::crd::{condition, reason};
    let is = |kind: &str, state: &str, why: &str| {
        status
            .conditions
            .iter()
            .any(|c| c.type_ == kind && c.status == state && c.reason == why)
    };
    is(condition::AVAILABLE, "True", reason::SERVING)
        && is(condition::REPLICATED, "True", reason::IN_SYNC)
        && !status.conditions.iter().any(|c| {
            (c.type_ == condition::PROGRESSING || c.type_ == condition::DEGRADED)
                && c.status == "True"
        })
}

#[cfg(test)]
mod tests;
