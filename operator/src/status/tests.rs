use super::*;
use crate::crd::{condition, reason};
use crate::election::fixtures::{election, node};
use crate::pods::fixtures::pod;
use NodeState::{Candidate, Master, Replica};
use k8s_openapi::jiff::Timestamp;

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH))
}

fn pods() -> Vec<PodView> {
    vec![
        pod("orders-0", "r", "master"),
        pod("orders-1", "r", "replica"),
        pod("orders-2", "r", "replica"),
    ]
}

fn observed<'a>(
    pods: &'a [PodView],
    election: Result<&'a Election, String>,
    rollout: &'a RolloutAction,
) -> Observed<'a> {
    Observed {
        generation: Some(2),
        statefulset: "orders",
        replicas: 3,
        pods,
        ready_replicas: 3,
        election,
        rollout,
        paused: false,
        apply_error: None,
        previous: None,
        now: at(100),
    }
}

/// (type, status, reason) of each condition.
fn summary(s: &ReplicatedBrokerStatus) -> Vec<(String, String, String)> {
    s.conditions
        .iter()
        .map(|c| (c.type_.clone(), c.status.clone(), c.reason.clone()))
        .collect()
}

fn expect(conditions: [(&str, &str, &str); 4]) -> Vec<(String, String, String)> {
    conditions
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
fn a_settled_cluster_names_master_epoch_and_lag() {
    let e = election(
        "orders-1",
        4,
        [
            node("orders-0", Replica, 4, 9),
            node("orders-1", Master, 4, 12),
            node("orders-2", Replica, 4, 12),
        ],
    );
    let pods = pods();
    let s = status(&observed(&pods, Ok(&e), &RolloutAction::Done));
    assert_eq!(s.master.as_deref(), Some("orders-1"));
    assert_eq!(s.epoch, Some(4));
    assert_eq!(s.observed_generation, Some(2));
    let roles: Vec<_> = s
        .replicas
        .iter()
        .map(|r| (r.pod.as_str(), r.role, r.lag))
        .collect();
    assert_eq!(
        roles,
        [
            ("orders-0", ReplicaRole::Replica, Some(3)),
            ("orders-1", ReplicaRole::Master, Some(0)),
            ("orders-2", ReplicaRole::Replica, Some(0)),
        ]
    );
    assert_eq!(
        s.replicas[0].position,
        Some(LogPosition { epoch: 4, index: 9 })
    );
    assert_eq!(
        summary(&s),
        expect([
            (condition::AVAILABLE, "True", reason::SERVING),
            (condition::REPLICATED, "True", reason::REPLICAS_LAGGING),
            (condition::PROGRESSING, "False", reason::RECONCILED),
            (condition::DEGRADED, "False", reason::HEALTHY),
        ])
    );
    assert!(!settled(&s), "a lagging replica is still moving");
}

#[test]
fn table_of_conditions() {
    let in_sync = election(
        "orders-0",
        2,
        [
            node("orders-0", Master, 2, 5),
            node("orders-1", Replica, 2, 5),
            node("orders-2", Replica, 2, 5),
        ],
    );
    let lost = election(
        "orders-0",
        2,
        [
            node("orders-0", Master, 2, 5),
            node("orders-1", Candidate, 2, 5),
        ],
    );
    let leaderless = election("", 2, [node("orders-1", Candidate, 2, 5)]);
    let pods = pods();
    let done = RolloutAction::Done;
    let deleting = RolloutAction::Delete {
        pod: "orders-2".into(),
        master: false,
    };
    type Case<'a> = (&'a str, Observed<'a>, [(&'a str, &'a str, &'a str); 4]);
    let cases: Vec<Case> = vec![
        (
            "healthy",
            observed(&pods, Ok(&in_sync), &done),
            [
                (condition::AVAILABLE, "True", reason::SERVING),
                (condition::REPLICATED, "True", reason::IN_SYNC),
                (condition::PROGRESSING, "False", reason::RECONCILED),
                (condition::DEGRADED, "False", reason::HEALTHY),
            ],
        ),
        (
            "ZooKeeper unreachable",
            observed(
                &pods,
                Err("cannot reach ZooKeeper at zk:2181: timeout".into()),
                &done,
            ),
            [
                (
                    condition::AVAILABLE,
                    "Unknown",
                    reason::ZOOKEEPER_UNAVAILABLE,
                ),
                (
                    condition::REPLICATED,
                    "Unknown",
                    reason::ZOOKEEPER_UNAVAILABLE,
                ),
                (condition::PROGRESSING, "False", reason::RECONCILED),
                (condition::DEGRADED, "True", reason::ZOOKEEPER_UNAVAILABLE),
            ],
        ),
        (
            "no master",
            observed(&pods, Ok(&leaderless), &done),
            [
                (condition::AVAILABLE, "False", reason::NO_MASTER),
                (condition::REPLICATED, "False", reason::NO_MASTER),
                (condition::PROGRESSING, "False", reason::RECONCILED),
                (condition::DEGRADED, "True", reason::NO_MASTER),
            ],
        ),
        (
            "quorum lost",
            observed(&pods, Ok(&lost), &done),
            [
                (condition::AVAILABLE, "True", reason::SERVING),
                (condition::REPLICATED, "False", reason::QUORUM_LOST),
                (condition::PROGRESSING, "False", reason::RECONCILED),
                (condition::DEGRADED, "True", reason::QUORUM_LOST),
            ],
        ),
        (
            "rolling update with a pod down is not degraded",
            Observed {
                ready_replicas: 2,
                ..observed(&pods, Ok(&in_sync), &deleting)
            },
            [
                (condition::AVAILABLE, "True", reason::SERVING),
                (condition::REPLICATED, "True", reason::IN_SYNC),
                (condition::PROGRESSING, "True", reason::ROLLING_UPDATE),
                (condition::DEGRADED, "False", reason::HEALTHY),
            ],
        ),
        (
            "pods not ready outside a rollout",
            Observed {
                ready_replicas: 1,
                ..observed(&pods, Ok(&in_sync), &done)
            },
            [
                (condition::AVAILABLE, "True", reason::SERVING),
                (condition::REPLICATED, "True", reason::IN_SYNC),
                (condition::PROGRESSING, "True", reason::CREATING),
                (condition::DEGRADED, "True", reason::PODS_NOT_READY),
            ],
        ),
        (
            "paused",
            Observed {
                paused: true,
                ..observed(&pods, Ok(&in_sync), &deleting)
            },
            [
                (condition::AVAILABLE, "True", reason::SERVING),
                (condition::REPLICATED, "True", reason::IN_SYNC),
                (condition::PROGRESSING, "False", reason::PAUSED),
                (condition::DEGRADED, "False", reason::HEALTHY),
            ],
        ),
        (
            "apply failed",
            Observed {
                apply_error: Some("applying StatefulSet orders: forbidden"),
                ..observed(&pods, Ok(&in_sync), &done)
            },
            [
                (condition::AVAILABLE, "True", reason::SERVING),
                (condition::REPLICATED, "True", reason::IN_SYNC),
                (condition::PROGRESSING, "False", reason::RECONCILED),
                (condition::DEGRADED, "True", reason::RECONCILE_FAILED),
            ],
        ),
    ];
    for (name, o, want) in cases {
        assert_eq!(summary(&status(&o)), expect(want), "{name}");
    }
}

#[test]
fn transition_times_hold_while_the_status_holds() {
    let e = election("orders-0", 1, [node("orders-0", Master, 1, 1)]);
    let pods = pods();
    let done = RolloutAction::Done;
    let first = status(&observed(&pods, Ok(&e), &done));
    let later = status(&Observed {
        previous: Some(&first),
        now: at(200),
        ..observed(&pods, Ok(&e), &done)
    });
    let available = |s: &ReplicatedBrokerStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == condition::AVAILABLE)
            .map(|c| c.last_transition_time.clone())
    };
    assert_eq!(available(&later), Some(at(100)));
    let gone = election("", 2, []);
    let after = status(&Observed {
        previous: Some(&later),
        now: at(300),
        ..observed(&pods, Ok(&gone), &done)
    });
    assert_eq!(available(&after), Some(at(300)));
}

#[test]
fn an_outage_keeps_the_last_master_seen() {
    let e = election("orders-2", 7, [node("orders-2", Master, 7, 1)]);
    let pods = pods();
    let done = RolloutAction::Done;
    let before = status(&observed(&pods, Ok(&e), &done));
    let during = status(&Observed {
        previous: Some(&before),
        ..observed(&pods, Err("down".into()), &done)
    });
    assert_eq!(
        (during.master.as_deref(), during.epoch),
        (Some("orders-2"), Some(7))
    );
    assert_eq!(during.replicas, before.replicas);
}

#[test]
fn every_expected_pod_is_listed_down_when_unregistered() {
    let e = election("orders-0", 1, [node("orders-0", Master, 1, 3)]);
    let pods = pods();
    let s = status(&observed(&pods, Ok(&e), &RolloutAction::Done));
    let down: Vec<_> = s
        .replicas
        .iter()
        .filter(|r| r.role == ReplicaRole::Down)
        .map(|r| r.pod.as_str())
        .collect();
    assert_eq!(down, ["orders-1", "orders-2"]);
    assert_eq!(s.replicas[1].lag, None);
}

#[test]
fn a_refused_spec_keeps_what_was_seen_and_says_what_to_fix() {
    let (pods, rollout) = (pods(), RolloutAction::Done);
    let e = election("orders-0", 3, [node("orders-0", Master, 3, 9)]);
    let before = status(&observed(&pods, Ok(&e), &rollout));
    let refused = invalid_spec(Some(&before), Some(3), "spec.sync: unknown word", at(50));
    assert_eq!(refused.master.as_deref(), Some("orders-0"));
    assert_eq!(refused.observed_generation, Some(3));
    let degraded: Vec<_> = refused
        .conditions
        .iter()
        .filter(|c| c.type_ == condition::DEGRADED)
        .collect();
    assert_eq!(degraded.len(), 1);
    assert_eq!(
        (degraded[0].status.as_str(), degraded[0].reason.as_str()),
        ("True", reason::INVALID_SPEC)
    );
    assert_eq!(degraded[0].message, "spec.sync: unknown word");
    // Still refused a minute later: the transition time stays.
    let again = invalid_spec(Some(&refused), Some(3), "spec.sync: unknown word", at(110));
    let time = |s: &ReplicatedBrokerStatus| {
        s.conditions
            .iter()
            .find(|c| c.type_ == condition::DEGRADED)
            .map(|c| c.last_transition_time.clone())
    };
    assert_eq!(time(&again), time(&refused));
    // From no status at all, Degraded turns True now.
    assert_eq!(
        time(&invalid_spec(None, Some(1), "bad", at(50))),
        Some(at(50))
    );
}
