//! The four conditions, each from the same observation.

use super::Observed;
use crate::build::meta::quorum;
use crate::crd::ReplicatedBrokerStatus;
use crate::crd::{condition, reason};
use crate::election::Election;
use crate::rollout::RolloutAction;
use ferromq_election::NodeState;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// `Available`, `Replicated`, `Progressing` and `Degraded`, in that order.
pub fn conditions(o: &Observed) -> Vec<Condition> {
    let election = o.election.as_ref().map(|e| *e).map_err(String::as_str);
    let (available, replicated) = match election {
        Ok(e) => (available(e), replicated(o, e)),
        Err(why) => {
            let unknown = |kind| {
                (
                    kind,
                    "Unknown",
                    reason::ZOOKEEPER_UNAVAILABLE,
                    why.to_string(),
                )
            };
            (
                unknown(condition::AVAILABLE),
                unknown(condition::REPLICATED),
            )
        }
    };
    let progressing = progressing(o);
    let degraded = degraded(o, election, &available, &replicated, &progressing);
    [available, replicated, progressing, degraded]
        .into_iter()
        .map(|(kind, state, why, message)| make(o, kind, state, why, message))
        .collect()
}

type Draft = (&'static str, &'static str, &'static str, String);

fn available(e: &Election) -> Draft {
    match &e.master {
        Some(m) => (
            condition::AVAILABLE,
            "True",
            reason::SERVING,
            format!("{} is master in epoch {}", m.id, m.epoch),
        ),
        None => (
            condition::AVAILABLE,
            "False",
            reason::NO_MASTER,
            "no broker is elected master".to_string(),
        ),
    }
}

fn replicated(o: &Observed, e: &Election) -> Draft {
    let kind = condition::REPLICATED;
    let Some(master) = &e.master else {
        return (
            kind,
            "False",
            reason::NO_MASTER,
            "no master to replicate from".into(),
        );
    };
    let mut following = 0;
    let mut behind = Vec::new();
    for pod in super::pod_names(o.statefulset, o.replicas) {
        match e.nodes.get(&pod) {
            _ if pod == master.id => following += 1,
            Some(n) if n.state == NodeState::Replica => {
                following += 1;
                match e.lag(n) {
                    Some(0) | None => {}
                    Some(lag) => behind.push(format!("{pod} is {lag} entries behind")),
                }
            }
            Some(n) => behind.push(format!("{pod} is {}", n.state.as_str())),
            None => behind.push(format!("{pod} is not registered")),
        }
    }
    let need = quorum(o.replicas);
    if following < need {
        let message = format!(
            "{following} of {} pods follow {} (a quorum is {need}): {}",
            o.replicas,
            master.id,
            behind.join(", ")
        );
        (kind, "False", reason::QUORUM_LOST, message)
    } else if behind.is_empty() {
        let message = format!("all {} pods follow {}", o.replicas, master.id);
        (kind, "True", reason::IN_SYNC, message)
    } else {
        (kind, "True", reason::REPLICAS_LAGGING, behind.join(", "))
    }
}

fn progressing(o: &Observed) -> Draft {
    let kind = condition::PROGRESSING;
    if o.paused {
        return (
            kind,
            "False",
            reason::PAUSED,
            "reconciling is paused".into(),
        );
    }
    match o.rollout {
        RolloutAction::Delete { pod, .. } => (
            kind,
            "True",
            reason::ROLLING_UPDATE,
            format!("replacing {pod}"),
        ),
        RolloutAction::StepDown { pod, .. } => (
            kind,
            "True",
            reason::ROLLING_UPDATE,
            format!("master {pod} hands over before it is replaced"),
        ),
        RolloutAction::Wait(why) if o.ready_replicas >= o.replicas => (
            kind,
            "True",
            reason::ROLLING_UPDATE,
            format!("waiting: {why}"),
        ),
        _ if o.ready_replicas < o.replicas => (
            kind,
            "True",
            reason::CREATING,
            format!(
                "{} of {} broker pods are Ready",
                o.ready_replicas, o.replicas
            ),
        ),
        _ => (
            kind,
            "False",
            reason::RECONCILED,
            "every object matches the spec".into(),
        ),
    }
}

fn degraded(
    o: &Observed,
    election: Result<&Election, &str>,
    available: &Draft,
    replicated: &Draft,
    progressing: &Draft,
) -> Draft {
    let kind = condition::DEGRADED;
    if let Some(error) = o.apply_error {
        return (kind, "True", reason::RECONCILE_FAILED, error.to_string());
    }
    if let Err(why) = election {
        return (kind, "True", reason::ZOOKEEPER_UNAVAILABLE, why.to_string());
    }
    if available.1 != "True" {
        return (kind, "True", available.2, available.3.clone());
    }
    if replicated.1 != "True" {
        return (kind, "True", replicated.2, replicated.3.clone());
    }
    // Pods down during a rollout are its doing, not a fault.
    if o.ready_replicas < o.replicas && progressing.2 != reason::ROLLING_UPDATE {
        let message = format!(
            "{} of {} broker pods are Ready",
            o.ready_replicas, o.replicas
        );
        return (kind, "True", reason::PODS_NOT_READY, message);
    }
    (
        kind,
        "False",
        reason::HEALTHY,
        "nothing needs attention".into(),
    )
}

fn make(o: &Observed, kind: &str, state: &str, why: &str, message: String) -> Condition {
    let draft = (kind, state, why, message);
    condition(o.previous, o.generation, &o.now, draft)
}

/// A condition, keeping the previous transition time while its status holds.
pub(super) fn condition(
    previous: Option<&ReplicatedBrokerStatus>,
    generation: Option<i64>,
    now: &Time,
    (kind, state, why, message): (&str, &str, &str, String),
) -> Condition {
    let before = previous
        .and_then(|p| p.conditions.iter().find(|c| c.type_ == kind))
        .filter(|c| c.status == state);
    Condition {
        type_: kind.to_string(),
        status: state.to_string(),
        reason: why.to_string(),
        message,
        observed_generation: generation,
        last_transition_time: before
            .map_or_else(|| now.clone(), |c| c.last_transition_time.clone()),
    }
}
