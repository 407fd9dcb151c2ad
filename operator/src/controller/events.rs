//! Events a person should see, derived from what changed.

use crate::crd::ReplicatedBrokerStatus;
use crate::rollout::RolloutAction;
use kube::runtime::events::{Event, EventType};

fn event(type_: EventType, reason: &str, action: &str, note: String) -> Event {
    Event {
        type_,
        reason: reason.to_string(),
        note: Some(note),
        action: action.to_string(),
        secondary: None,
    }
}

/// The Warning a person sees in `kubectl describe rb` for a bad spec.
pub fn invalid_spec_event(invalid: &crate::validate::ValidationError) -> Event {
    event(
        EventType::Warning,
        crate::crd::reason::INVALID_SPEC,
        "Validate",
        invalid.to_string(),
    )
}

/// An election the operator saw between two statuses: a new master or a
/// new epoch, or the master gone.
pub fn election_event(
    before: Option<&ReplicatedBrokerStatus>,
    after: &ReplicatedBrokerStatus,
) -> Option<Event> {
    let (old_master, old_epoch) = before.map_or((None, None), |b| (b.master.as_deref(), b.epoch));
    let (new_master, new_epoch) = (after.master.as_deref(), after.epoch);
    if (old_master, old_epoch) == (new_master, new_epoch) {
        return None;
    }
    let epoch = new_epoch.unwrap_or_default();
    match (old_master, new_master) {
        (_, Some(new)) => {
            let note = match old_master {
                Some(old) if old != new => {
                    format!("master changed from {old} to {new}, epoch {epoch}")
                }
                Some(_) => format!("{new} re-elected master, epoch {epoch}"),
                None => format!("{new} elected master, epoch {epoch}"),
            };
            Some(event(EventType::Normal, "MasterElected", "Elect", note))
        }
        (Some(old), None) => Some(event(
            EventType::Warning,
            "NoMaster",
            "Elect",
            format!("{old} is no longer master and no broker is elected"),
        )),
        (None, None) => None,
    }
}

/// The Event for a rollout step the operator takes.
pub fn rollout_event(action: &RolloutAction, revision: &str) -> Option<Event> {
    match action {
        RolloutAction::Delete { pod, master } => {
            let what = if *master { "master" } else { "replica" };
            Some(event(
                EventType::Normal,
                "ReplacingPod",
                "Upgrade",
                format!("replacing {what} {pod} with revision {revision}"),
            ))
        }
        RolloutAction::StepDown { pod, .. } => Some(event(
            EventType::Normal,
            "SteppingDown",
            "Upgrade",
            format!(
                "replicas run revision {revision}; asking master {pod} to step down before replacing it"
            ),
        )),
        RolloutAction::Done | RolloutAction::Wait(_) => None,
    }
}

/// A finished rollout: the previous status said RollingUpdate, now all
/// pods run the update revision.
pub fn rollout_done_event(revision: &str) -> Event {
    event(
        EventType::Normal,
        "UpgradeComplete",
        "Upgrade",
        format!("every broker pod runs revision {revision}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(master: Option<&str>, epoch: Option<i64>) -> ReplicatedBrokerStatus {
        ReplicatedBrokerStatus {
            master: master.map(str::to_string),
            epoch,
            ..Default::default()
        }
    }

    fn note(e: Option<Event>) -> Option<String> {
        e.and_then(|e| e.note)
    }

    #[test]
    fn elections_seen() {
        let a1 = seen(Some("orders-0"), Some(1));
        let b2 = seen(Some("orders-1"), Some(2));
        let a3 = seen(Some("orders-0"), Some(3));
        let none = seen(None, None);
        assert_eq!(note(election_event(Some(&a1), &a1)), None);
        assert_eq!(
            note(election_event(None, &a1)).as_deref(),
            Some("orders-0 elected master, epoch 1")
        );
        assert_eq!(
            note(election_event(Some(&a1), &b2)).as_deref(),
            Some("master changed from orders-0 to orders-1, epoch 2")
        );
        assert_eq!(
            note(election_event(Some(&a1), &a3)).as_deref(),
            Some("orders-0 re-elected master, epoch 3")
        );
        let lost = election_event(Some(&b2), &none);
        assert_eq!(lost.as_ref().map(|e| e.type_), Some(EventType::Warning));
        assert_eq!(note(election_event(None, &none)), None);
    }

    #[test]
    fn rollout_steps() {
        let delete = RolloutAction::Delete {
            pod: "orders-2".into(),
            master: false,
        };
        assert_eq!(
            note(rollout_event(&delete, "orders-7f")).as_deref(),
            Some("replacing replica orders-2 with revision orders-7f")
        );
        let step = RolloutAction::StepDown {
            pod: "orders-0".into(),
            admin: "x:1".into(),
        };
        assert_eq!(
            rollout_event(&step, "r").map(|e| e.reason),
            Some("SteppingDown".to_string())
        );
        assert!(rollout_event(&RolloutAction::Wait("x".into()), "r").is_none());
    }

    #[test]
    fn invalid_spec_is_a_warning_with_the_fix() {
        let event = invalid_spec_event(&crate::validate::ValidationError::ZookeeperMode);
        assert_eq!(event.type_, EventType::Warning);
        assert_eq!(event.reason, "InvalidSpec");
        assert!(
            event
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("set exactly one of"))
        );
    }
}
