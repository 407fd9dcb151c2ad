//! The operator against a real API server on etcd, with kwok pods and a
//! real ZooKeeper. Run with
//! `tests/control-plane/run cargo test -p ferromq-operator -- --ignored --test-threads=1`
//! (or without the wrapper: each test then starts a control plane itself).

mod admin;
mod e2e;
mod support;

use ferromq_election::NodeState;
use ferromq_operator::crd::{ReplicatedBroker, condition, reason};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, Resource};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::control_plane::ControlPlane;
use support::zookeeper::{FakeElection, ZooKeeper, node, on_pod};
use support::{
    TestResult, broker, fake_admin, install_crd, namespace, pods, start_operator, wait_for,
};

const MINUTE: Duration = Duration::from_secs(60);

macro_rules! control_plane {
    () => {
        match ControlPlane::get().await? {
            Some(cp) => cp,
            None => return Ok(()),
        }
    };
}

/// Whether `name` exists and is controlled by the resource with `uid`.
async fn owned_by<K>(client: &Client, ns: &str, name: &str, uid: &str) -> Option<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned,
{
    let object = Api::<K>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .ok()?;
    let owners = object.meta().owner_references.clone().unwrap_or_default();
    owners
        .iter()
        .any(|o| o.uid == uid && o.controller == Some(true) && o.kind == "ReplicatedBroker")
        .then_some(object)
}

#[tokio::test]
#[ignore = "needs the control plane: tests/control-plane/run"]
async fn the_example_becomes_owned_objects_and_deleting_it_removes_them() -> TestResult {
    let cp = control_plane!();
    let client = &cp.client;
    let ns = "t-objects";
    install_crd(client).await?;
    namespace(client, ns).await?;
    let _operator = start_operator(client);
    let rb = broker(include_str!("../../examples/replicatedbroker.yaml"), ns)?;
    let api: Api<ReplicatedBroker> = Api::namespaced(client.clone(), ns);
    let created = api.create(&PostParams::default(), &rb).await?;
    let uid = created.metadata.uid.clone().unwrap_or_default();
    let built = ferromq_operator::build::build(&created)?;

    let sts: StatefulSet = wait_for("StatefulSet orders", MINUTE, || {
        owned_by(client, ns, "orders", &uid)
    })
    .await?;
    assert_eq!(sts.spec.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(
        sts.spec
            .as_ref()
            .and_then(|s| s.update_strategy.as_ref())
            .and_then(|u| u.type_.as_deref()),
        Some("OnDelete")
    );
    let want_template = built
        .statefulset
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| p.containers[0].image.clone());
    let got_template = sts
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| p.containers[0].image.clone());
    assert_eq!(got_template, want_template);
    let zk: StatefulSet = wait_for("StatefulSet orders-zookeeper", MINUTE, || {
        owned_by(client, ns, "orders-zookeeper", &uid)
    })
    .await?;
    assert_eq!(zk.spec.as_ref().and_then(|s| s.replicas), Some(3));
    for name in [
        "orders",
        "orders-headless",
        "orders-zookeeper",
        "orders-zookeeper-headless",
    ] {
        let service: Service = wait_for(name, MINUTE, || owned_by(client, ns, name, &uid)).await?;
        if name == "orders" {
            let selector = service.spec.and_then(|s| s.selector).unwrap_or_default();
            assert_eq!(
                selector.get("ferromq.io/role").map(String::as_str),
                Some("master")
            );
        }
    }
    for name in ["orders", "orders-zookeeper"] {
        wait_for(name, MINUTE, || {
            owned_by::<PodDisruptionBudget>(client, ns, name, &uid)
        })
        .await?;
    }
    wait_for("ServiceAccount", MINUTE, || {
        owned_by::<ServiceAccount>(client, ns, "orders-broker", &uid)
    })
    .await?;
    wait_for("Role", MINUTE, || {
        owned_by::<Role>(client, ns, "orders-broker", &uid)
    })
    .await?;
    wait_for("RoleBinding", MINUTE, || {
        owned_by::<RoleBinding>(client, ns, "orders-broker", &uid)
    })
    .await?;
    wait_for("ConfigMap", MINUTE, || {
        owned_by::<ConfigMap>(client, ns, "orders-config", &uid)
    })
    .await?;

    // The managed ZooKeeper's Service name does not resolve outside a
    // cluster: status says so instead of failing.
    let degraded = wait_for("Degraded=ZooKeeperUnavailable", MINUTE, || async {
        let rb = api.get("orders").await.ok()?;
        let c = rb
            .status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == condition::DEGRADED)?;
        (c.reason == reason::ZOOKEEPER_UNAVAILABLE).then_some(c)
    })
    .await?;
    assert!(
        degraded
            .message
            .contains("orders-zookeeper.t-objects.svc:2181"),
        "{}",
        degraded.message
    );

    api.delete("orders", &DeleteParams::default()).await?;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    wait_for("the owned objects to be collected", MINUTE, || async {
        let left = sets.list(&ListParams::default()).await.ok()?.items.len()
            + services
                .list(&ListParams::default())
                .await
                .ok()?
                .items
                .len();
        (left == 0).then_some(())
    })
    .await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the control plane: tests/control-plane/run"]
async fn an_invalid_resource_is_rejected_with_its_message() -> TestResult {
    let cp = control_plane!();
    let client = &cp.client;
    install_crd(client).await?;
    namespace(client, "t-invalid").await?;
    let api: Api<ReplicatedBroker> = Api::namespaced(client.clone(), "t-invalid");
    let rb = broker(
        "apiVersion: ferromq.io/v1alpha1\nkind: ReplicatedBroker\nmetadata: {name: orders}\nspec: {replicas: 2}\n",
        "t-invalid",
    )?;
    let refused = api.create(&PostParams::default(), &rb).await;
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(message.contains("replicas must be odd"), "{message}");
    Ok(())
}

/// A three-broker resource on the local ZooKeeper, with a fake election in
/// which every pod is a caught-up replica and `orders-0` is master.
async fn external_broker(
    client: &Client,
    ns: &str,
    zk: &ZooKeeper,
    admin: &str,
) -> Result<(Api<ReplicatedBroker>, FakeElection), Box<dyn std::error::Error>> {
    let path = format!("/ferromq/{ns}/orders");
    let election = FakeElection::connect(&zk.connect, &path).await?;
    election.settle(&BTreeMap::new(), admin).await?;
    election.set_master("orders-0", 1, admin).await?;
    let yaml = format!(
        "apiVersion: ferromq.io/v1alpha1\nkind: ReplicatedBroker\nmetadata: {{name: orders}}\nspec:\n  replicas: 3\n  image: ferromq/ferromq:old\n  zookeeper: {{external: {{connect: \"{}\", path: \"{path}\"}}}}\n",
        zk.connect
    );
    let api: Api<ReplicatedBroker> = Api::namespaced(client.clone(), ns);
    api.create(&PostParams::default(), &broker(&yaml, ns)?)
        .await?;
    Ok((api, election))
}

async fn master_labelled(client: &Client, ns: &str, master: &str) -> Option<()> {
    let pods = pods(client, ns).await;
    let ok = pods.len() == 3
        && pods
            .iter()
            .all(|(name, (_, role, _))| (name == master) == (role == "master"));
    ok.then_some(())
}

#[tokio::test]
#[ignore = "needs the control plane: tests/control-plane/run"]
async fn an_image_change_rolls_replicas_first_and_the_master_last() -> TestResult {
    let cp = control_plane!();
    let client = &cp.client;
    let ns = "t-upgrade";
    let zk = ZooKeeper::start()?;
    install_crd(client).await?;
    namespace(client, ns).await?;
    let _operator = start_operator(client);
    let (admin, mut step_downs) = fake_admin().await?;
    let (api, election) = external_broker(client, ns, &zk, &admin).await?;
    wait_for("orders-0 labelled master", MINUTE, || {
        master_labelled(client, ns, "orders-0")
    })
    .await?;
    let status = wait_for("status naming orders-0", MINUTE, || async {
        let s = api.get("orders").await.ok()?.status?;
        (s.master.as_deref() == Some("orders-0") && s.ready_replicas == 3).then_some(s)
    })
    .await?;
    assert_eq!(status.epoch, Some(1));

    let mut uids: BTreeMap<String, String> = pods(client, ns)
        .await
        .into_iter()
        .map(|(n, (u, _, _))| (n, u))
        .collect();
    // Brokers on Kubernetes put their pod's UID in their records (POD_UID).
    // A replaced pod's record stays the old pod's until the new broker
    // registers, as an ephemeral znode outlives a killed broker by its
    // session timeout.
    election.settle(&uids, &admin).await?;
    let patch = serde_json::json!({"spec": {"image": "ferromq/ferromq:new"}});
    api.patch("orders", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;

    // Each replaced replica's broker registers 6 entries behind some time
    // after its pod appears and catches up 3 s later: nothing else may be
    // replaced meanwhile.
    let mut steps: Vec<(String, Instant)> = Vec::new();
    let mut lagging: Vec<(String, Instant)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while steps
        .iter()
        .filter(|(s, _)| s.starts_with("orders-"))
        .count()
        < 3
    {
        assert!(
            Instant::now() < deadline,
            "rollout did not finish: {steps:?}"
        );
        if step_downs.try_recv().is_ok() && !steps.iter().any(|(s, _)| s == "step-down") {
            steps.push(("step-down".into(), Instant::now()));
            election
                .set_node(&on_pod(&uids, "orders-0", NodeState::Replica, 10, &admin))
                .await?;
            election
                .set_node(&on_pod(&uids, "orders-2", NodeState::Master, 10, &admin))
                .await?;
            election.set_master("orders-2", 2, &admin).await?;
        }
        for (name, (uid, _, _)) in pods(client, ns).await {
            if uids.get(&name) != Some(&uid) {
                uids.insert(name.clone(), uid);
                steps.push((name.clone(), Instant::now()));
                if name != "orders-0" {
                    election
                        .set_node(&on_pod(&uids, &name, NodeState::Replica, 4, &admin))
                        .await?;
                    lagging.push((name, Instant::now()));
                }
            }
        }
        for (name, since) in &lagging {
            if since.elapsed() > Duration::from_secs(3) {
                election
                    .set_node(&on_pod(&uids, name, NodeState::Replica, 10, &admin))
                    .await?;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let order: Vec<&str> = steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(order, ["orders-2", "orders-1", "step-down", "orders-0"]);
    for pair in steps.windows(2) {
        if pair[0].0 != "step-down" && pair[1].0 != "step-down" {
            let gap = pair[1].1 - pair[0].1;
            assert!(
                gap >= Duration::from_secs(3),
                "{} replaced {gap:?} after {}, before it caught up",
                pair[1].0,
                pair[0].0
            );
        }
    }
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let revision = sets
        .get("orders")
        .await?
        .status
        .and_then(|s| s.update_revision)
        .unwrap_or_default();
    wait_for(
        "every pod on the new revision, orders-2 master",
        MINUTE,
        || async {
            let pods = pods(client, ns).await;
            let all_new = pods.values().all(|(_, _, r)| *r == revision);
            (all_new && master_labelled(client, ns, "orders-2").await.is_some()).then_some(())
        },
    )
    .await?;
    let done = wait_for(
        "status: master orders-2, rollout finished",
        MINUTE,
        || async {
            let s = api.get("orders").await.ok()?.status?;
            let progressing = s
                .conditions
                .iter()
                .find(|c| c.type_ == condition::PROGRESSING)?;
            (s.master.as_deref() == Some("orders-2") && progressing.reason == reason::RECONCILED)
                .then_some(s)
        },
    )
    .await?;
    assert_eq!(done.epoch, Some(2));
    // Clients reach only the new master.
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), ns);
    wait_for(
        "the client Service's endpoints to name orders-2 only",
        MINUTE,
        || async {
            let list = slices
                .list(&ListParams::default().labels("kubernetes.io/service-name=orders"))
                .await
                .ok()?;
            let targets: Vec<String> = list
                .items
                .iter()
                .flat_map(|s| s.endpoints.iter())
                .filter_map(|e| e.target_ref.as_ref().and_then(|t| t.name.clone()))
                .collect();
            (targets == ["orders-2"]).then_some(())
        },
    )
    .await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs the control plane: tests/control-plane/run"]
async fn pause_stops_changes_but_status_stays_fresh() -> TestResult {
    let cp = control_plane!();
    let client = &cp.client;
    let ns = "t-pause";
    let zk = ZooKeeper::start()?;
    install_crd(client).await?;
    namespace(client, ns).await?;
    let _operator = start_operator(client);
    let (admin, _step_downs) = fake_admin().await?;
    let (api, election) = external_broker(client, ns, &zk, &admin).await?;
    wait_for("orders-0 labelled master", MINUTE, || {
        master_labelled(client, ns, "orders-0")
    })
    .await?;

    let pause = serde_json::json!({"spec": {"paused": true}});
    api.patch("orders", &PatchParams::default(), &Patch::Merge(&pause))
        .await?;
    wait_for("Progressing=Paused", MINUTE, || async {
        let s = api.get("orders").await.ok()?.status?;
        s.conditions
            .iter()
            .any(|c| c.type_ == condition::PROGRESSING && c.reason == reason::PAUSED)
            .then_some(())
    })
    .await?;
    let patch = serde_json::json!({"spec": {"image": "ferromq/ferromq:new"}});
    api.patch("orders", &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    election
        .set_node(&node("orders-0", NodeState::Replica, 10, &admin))
        .await?;
    election
        .set_node(&node("orders-1", NodeState::Master, 10, &admin))
        .await?;
    election.set_master("orders-1", 2, &admin).await?;
    let fresh = wait_for("status naming orders-1 while paused", MINUTE, || async {
        let s = api.get("orders").await.ok()?.status?;
        (s.master.as_deref() == Some("orders-1")).then_some(s)
    })
    .await?;
    assert_eq!(fresh.epoch, Some(2));
    tokio::time::sleep(Duration::from_secs(3)).await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), ns);
    let image = sets
        .get("orders")
        .await?
        .spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers[0].image.clone());
    assert_eq!(
        image,
        Some(Some("ferromq/ferromq:old".to_string())),
        "paused, yet the StatefulSet changed"
    );
    assert!(
        master_labelled(client, ns, "orders-0").await.is_some(),
        "paused, yet labels changed"
    );

    let resume = serde_json::json!({"spec": {"paused": false}});
    api.patch("orders", &PatchParams::default(), &Patch::Merge(&resume))
        .await?;
    wait_for("orders-1 labelled master after resuming", MINUTE, || {
        master_labelled(client, ns, "orders-1")
    })
    .await?;
    Ok(())
}
