//! What the control-plane tests share: the CRD, a namespace, the operator
//! running beside the test, waiting, a fake broker admin port, and the
//! broker pods as the API server has them.

pub mod control_plane;
pub mod zookeeper;

use ferromq_operator::crd::ReplicatedBroker;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, CustomResourceExt};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Installs the CRD (server-side apply) and waits until it is served.
pub async fn install_crd(client: &Client) -> TestResult {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = ReplicatedBroker::crd();
    let name = crd.metadata.name.clone().unwrap_or_default();
    api.patch(
        &name,
        &PatchParams::apply("ferromq-tests").force(),
        &Patch::Apply(&crd),
    )
    .await?;
    wait_for(
        "the CRD to be Established",
        Duration::from_secs(30),
        || async {
            let crd = api.get(&name).await.ok()?;
            let established = crd
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        },
    )
    .await
}

/// A fresh namespace.
pub async fn namespace(client: &Client, name: &str) -> TestResult {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": name}}))?;
    api.create(&PostParams::default(), &ns).await?;
    Ok(())
}

/// Runs the operator in this test's runtime until the test ends.
pub fn start_operator(client: &Client) -> tokio::task::JoinHandle<()> {
    let client = client.clone();
    tokio::spawn(async move {
        if let Err(e) = ferromq_operator::controller::run_until(client, false).await {
            eprintln!("operator stopped: {e}");
        }
    })
}

/// Polls `check` every 250 ms until it gives a value, or fails after `within`.
pub async fn wait_for<T, F, Fut>(
    what: &str,
    within: Duration,
    mut check: F,
) -> Result<T, Box<dyn std::error::Error>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + within;
    loop {
        if let Some(value) = check().await {
            return Ok(value);
        }
        if Instant::now() > deadline {
            return Err(format!("timed out after {within:?} waiting for {what}").into());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// A ReplicatedBroker from YAML, in `namespace`.
pub fn broker(yaml: &str, namespace: &str) -> Result<ReplicatedBroker, Box<dyn std::error::Error>> {
    let mut rb: ReplicatedBroker = serde_saphyr::from_str(yaml)?;
    rb.metadata.namespace = Some(namespace.to_string());
    Ok(rb)
}

/// The status code and body of `GET path` on `addr`, or `None` if the
/// request failed.
pub async fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).await.ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((code, body.to_string()))
}

/// A broker's admin port that answers `POST /step-down` with 200 and
/// reports each request on the channel, as the real broker would before
/// handing over.
pub async fn fake_admin() -> std::io::Result<(String, mpsc::UnboundedReceiver<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0; 2048];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            if String::from_utf8_lossy(&buf[..n]).starts_with("POST /step-down ") {
                let _ = tx.send(());
            }
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhanded over\n")
                .await;
        }
    });
    Ok((address, rx))
}

/// Pod name -> (uid, role label, revision).
pub async fn pods(client: &Client, ns: &str) -> BTreeMap<String, (String, String, String)> {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let list = api
        .list(&ListParams::default().labels("app.kubernetes.io/component=broker"))
        .await;
    let mut out = BTreeMap::new();
    for pod in list.map(|l| l.items).unwrap_or_default() {
        let labels = pod.metadata.labels.clone().unwrap_or_default();
        let label = |k: &str| labels.get(k).cloned().unwrap_or_default();
        out.insert(
            pod.metadata.name.clone().unwrap_or_default(),
            (
                pod.metadata.uid.clone().unwrap_or_default(),
                label("ferromq.io/role"),
                label("controller-revision-hash"),
            ),
        );
    }
    out
}
