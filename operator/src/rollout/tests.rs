use super::*;
use crate::election::fixtures::{election, node};
use crate::pods::fixtures::pod;
use NodeState::{Candidate, Master, Replica};

fn delete(pod: &str) -> RolloutAction {
    RolloutAction::Delete {
        pod: pod.to_string(),
        master: false,
    }
}

fn wait(why: &str) -> RolloutAction {
    RolloutAction::Wait(why.to_string())
}

/// Three pods, `o-0` master; every replica caught up at index 10.
fn settled() -> Election {
    election(
        "o-0",
        2,
        [
            node("o-0", Master, 2, 10),
            node("o-1", Replica, 2, 10),
            node("o-2", Replica, 2, 10),
        ],
    )
}

#[test]
fn table() {
    let caught_up = settled();
    let mut lagging = settled();
    if let Some(n) = lagging.nodes.get_mut("o-1") {
        n.position.index = 7;
    }
    let mut candidate = settled();
    if let Some(n) = candidate.nodes.get_mut("o-2") {
        n.state = Candidate;
    }
    let mut unregistered = settled();
    unregistered.nodes.remove("o-1");
    let leaderless = election("", 2, [node("o-1", Candidate, 2, 10)]);
    let mut handed_over = settled();
    handed_over.master = election("o-2", 3, []).master;
    for (id, state) in [("o-0", Replica), ("o-2", Master)] {
        if let Some(n) = handed_over.nodes.get_mut(id) {
            n.state = state;
        }
    }
    let mut not_ready = pod("o-1", "new", "replica");
    not_ready.ready = false;

    let all_old = [
        pod("o-0", "old", "master"),
        pod("o-1", "old", "replica"),
        pod("o-2", "old", "replica"),
    ];
    let one_done = [
        pod("o-0", "old", "master"),
        pod("o-1", "old", "replica"),
        pod("o-2", "new", "replica"),
    ];
    let replicas_done = [
        pod("o-0", "old", "master"),
        pod("o-1", "new", "replica"),
        pod("o-2", "new", "replica"),
    ];
    let coming_back = [
        pod("o-0", "old", "master"),
        not_ready,
        pod("o-2", "new", "replica"),
    ];
    let all_new = [
        pod("o-0", "new", "master"),
        pod("o-1", "new", "replica"),
        pod("o-2", "new", "replica"),
    ];
    let after_handover = [
        pod("o-0", "old", "replica"),
        pod("o-1", "new", "replica"),
        pod("o-2", "new", "master"),
    ];

    let cases: Vec<(&str, &[PodView], Option<&Election>, RolloutAction)> = vec![
        (
            "nothing to update",
            &all_new,
            Some(&caught_up),
            RolloutAction::Done,
        ),
        (
            "done even without ZooKeeper",
            &all_new,
            None,
            RolloutAction::Done,
        ),
        (
            "highest replica first",
            &all_old,
            Some(&caught_up),
            delete("o-2"),
        ),
        (
            "then the next replica",
            &one_done,
            Some(&caught_up),
            delete("o-1"),
        ),
        (
            "a replaced pod must be Ready",
            &coming_back,
            Some(&caught_up),
            wait("pod o-1 is not Ready"),
        ),
        (
            "a replica must catch up",
            &one_done,
            Some(&lagging),
            wait("pod o-1 is catching up (3 entries behind)"),
        ),
        (
            "a candidate is not following",
            &all_old,
            Some(&candidate),
            wait("pod o-2 is candidate, not a replica"),
        ),
        (
            "an unregistered pod blocks",
            &all_old,
            Some(&unregistered),
            wait("pod o-1 is not registered"),
        ),
        (
            "no master, no step",
            &all_old,
            Some(&leaderless),
            wait("no master is elected"),
        ),
        (
            "without ZooKeeper, no step",
            &all_old,
            None,
            wait("ZooKeeper cannot be read"),
        ),
        (
            "the master last, by stepping down",
            &replicas_done,
            Some(&caught_up),
            RolloutAction::StepDown {
                pod: "o-0".into(),
                admin: "o-0:8161".into(),
            },
        ),
        (
            "after the handover the old master is a replica",
            &after_handover,
            Some(&handed_over),
            delete("o-0"),
        ),
        (
            "a missing pod blocks",
            &all_old[..2],
            Some(&caught_up),
            wait("2 of 3 broker pods exist"),
        ),
    ];
    for (name, pods, election, want) in cases {
        let got = next_action(Rollout {
            update_revision: Some("new"),
            pods,
            replicas: 3,
            election,
        });
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn without_an_update_revision_it_waits() {
    let pods = [pod("o-0", "old", "master")];
    let got = next_action(Rollout {
        update_revision: None,
        pods: &pods,
        replicas: 1,
        election: None,
    });
    assert_eq!(got, wait("the StatefulSet has no update revision yet"));
}

#[test]
fn a_single_broker_is_replaced_without_a_handover() {
    let e = election("o-0", 1, [node("o-0", Master, 1, 4)]);
    let pods = [pod("o-0", "old", "master")];
    let got = next_action(Rollout {
        update_revision: Some("new"),
        pods: &pods,
        replicas: 1,
        election: Some(&e),
    });
    assert_eq!(
        got,
        RolloutAction::Delete {
            pod: "o-0".into(),
            master: true
        }
    );
}

#[test]
fn a_record_left_by_the_previous_pod_is_not_the_new_pods() {
    let mut e = settled();
    if let Some(n) = e.nodes.get_mut("o-2") {
        n.pod_uid = Some("uid-old".into());
    }
    let mut new_pod = pod("o-2", "new", "replica");
    new_pod.uid = Some("uid-new".into());
    let mut pods = [
        pod("o-0", "old", "master"),
        pod("o-1", "old", "replica"),
        new_pod,
    ];
    let decide = |pods: &[PodView], e: &Election| {
        next_action(Rollout {
            update_revision: Some("new"),
            pods,
            replicas: 3,
            election: Some(e),
        })
    };
    assert_eq!(
        decide(&pods, &e),
        wait("pod o-2 is new; its node record is still the previous pod's")
    );
    // The new pod's broker registers: now its own record counts.
    if let Some(n) = e.nodes.get_mut("o-2") {
        n.pod_uid = Some("uid-new".into());
    }
    assert_eq!(decide(&pods, &e), delete("o-1"));
    // A broker that was not told its pod's UID is taken at its word.
    if let Some(n) = e.nodes.get_mut("o-2") {
        n.pod_uid = None;
    }
    assert_eq!(decide(&pods, &e), delete("o-1"));
    pods[2].uid = None;
    assert_eq!(decide(&pods, &e), delete("o-1"));
}

#[test]
fn outdated_pods_highest_ordinal_first() {
    let pods = [
        pod("o-2", "a", ""),
        pod("o-10", "a", ""),
        pod("o-1", "b", ""),
    ];
    let names: Vec<&str> = outdated(&pods, "b")
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["o-10", "o-2"]);
}
