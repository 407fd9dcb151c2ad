//! End to end: three real broker processes (outside the cluster, named
//! like the pods, with `POD_NAME`, `POD_NAMESPACE` and the control plane's
//! kubeconfig, so they label their pods as in a cluster) elect through a
//! real ZooKeeper; the operator's status, the master label and the client
//! Service's endpoints follow, also after the master is killed with -9.
//! Every live broker turns Ready, which it does only once its own patch
//! has put its pod's label right.

use crate::support::control_plane::ControlPlane;
use crate::support::zookeeper::{FakeElection, ZooKeeper};
use crate::support::{
    TestResult, broker, http_get, install_crd, namespace, pods, start_operator, wait_for,
};
use ferromq_operator::crd::ReplicatedBroker;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn broker_bin() -> PathBuf {
    std::env::var_os("FERROMQ_BROKER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/ferromq/target/debug/ferromq-broker")
        })
}

fn port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// One broker process and its admin address.
struct Node {
    id: String,
    admin: String,
    child: Child,
}

/// Broker processes, killed on drop.
struct Brokers {
    children: Vec<Node>,
    dir: tempfile::TempDir,
}

impl Drop for Brokers {
    fn drop(&mut self) {
        for node in &mut self.children {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

fn start_brokers(
    zk: &str,
    path: &str,
    ns: &str,
    uids: &BTreeMap<String, String>,
    kubeconfig: &Path,
) -> Result<Brokers, Box<dyn std::error::Error>> {
    let bin = broker_bin();
    if !bin.exists() {
        return Err(format!(
            "no broker binary at {} (cargo build -p ferromq-broker, or set FERROMQ_BROKER_BIN)",
            bin.display()
        )
        .into());
    }
    let dir = tempfile::tempdir()?;
    let mut children = Vec::new();
    for i in 0..3 {
        let id = format!("orders-{i}");
        let data = dir.path().join(&id);
        std::fs::create_dir_all(&data)?;
        let log = std::fs::File::create(dir.path().join(format!("{id}.log")))?;
        let admin = format!("127.0.0.1:{}", port()?);
        let child = Command::new(&bin)
            .env("POD_NAME", &id)
            .env("POD_NAMESPACE", ns)
            .env("POD_UID", uids.get(&id).map(String::as_str).unwrap_or(""))
            .env("KUBECONFIG", kubeconfig)
            .arg("--data-dir")
            .arg(&data)
            .args(["--node-id", &id])
            .args(["--listen", &format!("127.0.0.1:{}", port()?)])
            .args(["--admin-listen", &admin])
            .args(["--bind", &format!("127.0.0.1:{}", port()?)])
            .args([
                "--hostname",
                "127.0.0.1",
                "--zk-address",
                zk,
                "--zk-path",
                path,
            ])
            .args([
                "--zk-session-timeout",
                "2s",
                "--replicas",
                "3",
                "--sync",
                "quorum_disk",
            ])
            .args(["--security-token", "e2e"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        children.push(Node { id, admin, child });
    }
    Ok(Brokers { children, dir })
}

/// Every live broker answers Ready, and its log shows it labelled its pod.
async fn all_ready(brokers: &Brokers, not: Option<&str>) -> Option<()> {
    for node in brokers
        .children
        .iter()
        .filter(|n| Some(n.id.as_str()) != not)
    {
        if http_get(&node.admin, "/readyz").await.map(|r| r.0) != Some(200) {
            return None;
        }
        let log = std::fs::read_to_string(brokers.dir.path().join(format!("{}.log", node.id)));
        if !log.ok()?.contains("pod labelled") {
            return None;
        }
    }
    Some(())
}

async fn master_everywhere(client: &Client, ns: &str, not: Option<&str>) -> Option<String> {
    let rb = Api::<ReplicatedBroker>::namespaced(client.clone(), ns)
        .get("orders")
        .await
        .ok()?;
    let master = rb.status?.master?;
    if Some(master.as_str()) == not {
        return None;
    }
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("ferromq.io/role=master"))
        .await
        .ok()?;
    let labelled: Vec<String> = pods
        .items
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    let slices = Api::<EndpointSlice>::namespaced(client.clone(), ns)
        .list(&ListParams::default().labels("kubernetes.io/service-name=orders"))
        .await
        .ok()?;
    let targets: Vec<String> = slices
        .items
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter_map(|e| e.target_ref.as_ref().and_then(|t| t.name.clone()))
        .collect();
    (labelled == [master.clone()] && targets == [master.clone()]).then_some(master)
}

#[tokio::test]
#[ignore = "needs the control plane (tests/control-plane/run) and a built ferromq-broker"]
async fn status_label_and_endpoints_follow_a_real_failover() -> TestResult {
    let Some(cp) = ControlPlane::get().await? else {
        return Ok(());
    };
    let client = &cp.client;
    let ns = "t-e2e";
    let path = format!("/ferromq/{ns}/orders");
    let zk = ZooKeeper::start()?;
    install_crd(client).await?;
    namespace(client, ns).await?;
    let _operator = start_operator(client);
    let yaml = format!(
        "apiVersion: ferromq.io/v1alpha1\nkind: ReplicatedBroker\nmetadata: {{name: orders}}\nspec:\n  zookeeper: {{external: {{connect: \"{}\", path: \"{path}\"}}}}\n",
        zk.connect
    );
    Api::<ReplicatedBroker>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &broker(&yaml, ns)?)
        .await?;
    // The pods' UIDs, as the downward API would give them (POD_UID).
    let uids = wait_for("the three broker pods", Duration::from_secs(60), || async {
        let uids: BTreeMap<String, String> = pods(client, ns)
            .await
            .into_iter()
            .map(|(name, (uid, _, _))| (name, uid))
            .collect();
        (uids.len() == 3).then_some(uids)
    })
    .await?;
    let mut brokers = start_brokers(&zk.connect, &path, ns, &uids, &cp.kubeconfig)?;
    let first = wait_for(
        "a master in status, label and endpoints",
        Duration::from_secs(90),
        || master_everywhere(client, ns, None),
    )
    .await?;
    wait_for(
        "every broker Ready, its pod labelled by itself",
        Duration::from_secs(30),
        || all_ready(&brokers, None),
    )
    .await?;
    let victim = brokers
        .children
        .iter_mut()
        .find(|n| n.id == first)
        .ok_or("master is no broker of ours")?;
    victim.child.kill()?;
    let second = wait_for(
        "the new master in status, label and endpoints",
        Duration::from_secs(20),
        || master_everywhere(client, ns, Some(&first)),
    )
    .await?;
    wait_for(
        "the survivors Ready, the new master labelled by itself",
        Duration::from_secs(30),
        || all_ready(&brokers, Some(&first)),
    )
    .await?;
    // Each broker's ZooKeeper record names its pod's UID, which is how the
    // operator's rollout tells a new pod's record from its predecessor's.
    let records = FakeElection::connect(&zk.connect, &path).await?;
    for (id, uid) in uids.iter().filter(|(id, _)| **id != first) {
        let record = records.get_node(id).await;
        assert_eq!(record.and_then(|r| r.pod_uid).as_ref(), Some(uid), "{id}");
    }
    eprintln!("master {first} killed; {second} took over");
    Ok(())
}
