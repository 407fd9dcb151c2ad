//! A real standalone ZooKeeper (Debian's `zookeeper` package) on loopback,
//! and a fake election written into it the way brokers write theirs.

use ferromq_election::{MasterRecord, NodeRecord, NodeState, Position};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zookeeper_client as zk;

const JARS: [&str; 3] = ["zookeeper.jar", "zookeeper-jute.jar", "slf4j-simple.jar"];

/// One ZooKeeper server process, killed (by its own pid) when dropped.
pub struct ZooKeeper {
    child: Child,
    pub connect: String,
    _dir: tempfile::TempDir,
}

impl ZooKeeper {
    pub fn start() -> Result<ZooKeeper, String> {
        let jars: Vec<String> = JARS
            .iter()
            .map(|j| format!("/usr/share/java/{j}"))
            .collect();
        if let Some(missing) = jars.iter().find(|j| !Path::new(j).exists()) {
            return Err(format!(
                "ZooKeeper not installed (apt-get install zookeeper): no {missing}"
            ));
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let config = format!(
            "tickTime=200\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             minSessionTimeout=400\nmaxSessionTimeout=10000\nadmin.enableServer=false\n",
            dir.path().display()
        );
        let cfg = dir.path().join("zoo.cfg");
        std::fs::write(&cfg, config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("zk.log")).map_err(|e| e.to_string())?;
        let child = Command::new("java")
            .args([
                "-Xmx192m",
                "-XX:+UseSerialGC",
                "-Djava.net.preferIPv4Stack=true",
                "-cp",
            ])
            .arg(jars.join(":"))
            .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting java: {e}"))?;
        let zk = ZooKeeper {
            child,
            connect: format!("127.0.0.1:{port}"),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(&zk.connect).is_err() {
            if Instant::now() > deadline {
                return Err("ZooKeeper did not listen within 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(zk)
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes election records under one path, as brokers would (persistent
/// znodes here: the test, not a session, decides when they go).
pub struct FakeElection {
    client: zk::Client,
    root: String,
}

pub fn node(id: &str, state: NodeState, index: u64, admin: &str) -> NodeRecord {
    NodeRecord {
        id: id.into(),
        client: format!("127.0.0.1:{}", 61000),
        replication: "127.0.0.1:61619".into(),
        admin: admin.into(),
        weight: 1,
        state,
        position: Position { epoch: 1, index },
        zk_epoch: 1,
        eligible: true,
        pod_uid: None,
    }
}

/// [`node`], naming its pod's UID when `uids` has it (as POD_UID would).
pub fn on_pod(
    uids: &BTreeMap<String, String>,
    id: &str,
    state: NodeState,
    index: u64,
    admin: &str,
) -> NodeRecord {
    NodeRecord {
        pod_uid: uids.get(id).cloned(),
        ..node(id, state, index, admin)
    }
}

impl FakeElection {
    /// `orders-0` master, `orders-1` and `orders-2` replicas, all at index
    /// 10: a settled cluster of three.
    pub async fn settle(
        &self,
        uids: &BTreeMap<String, String>,
        admin: &str,
    ) -> Result<(), zk::Error> {
        for id in ["orders-0", "orders-1", "orders-2"] {
            let state = match id {
                "orders-0" => NodeState::Master,
                _ => NodeState::Replica,
            };
            self.set_node(&on_pod(uids, id, state, 10, admin)).await?;
        }
        Ok(())
    }

    pub async fn connect(connect: &str, root: &str) -> Result<FakeElection, zk::Error> {
        let client = zk::Client::connect(connect).await?;
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        match client.mkdir(&format!("{root}/nodes"), &persistent).await {
            Ok(()) | Err(zk::Error::NodeExists) => {}
            Err(e) => return Err(e),
        }
        Ok(FakeElection {
            client,
            root: root.into(),
        })
    }

    async fn put(&self, path: &str, data: &[u8]) -> Result<(), zk::Error> {
        let persistent = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        match self.client.create(path, data, &persistent).await {
            Ok(_) => Ok(()),
            Err(zk::Error::NodeExists) => self.client.set_data(path, data, None).await.map(|_| ()),
            Err(e) => Err(e),
        }
    }

    /// The record `id` has now, as the operator would read it.
    pub async fn get_node(&self, id: &str) -> Option<NodeRecord> {
        let path = format!("{}/nodes/{id}", self.root);
        let (data, _) = self.client.get_data(&path).await.ok()?;
        serde_json::from_slice(&data).ok()
    }

    pub async fn set_node(&self, record: &NodeRecord) -> Result<(), zk::Error> {
        let data = serde_json::to_vec(record).unwrap_or_default();
        self.put(&format!("{}/nodes/{}", self.root, record.id), &data)
            .await
    }

    /// Makes `id` master in `epoch`, with `admin` as its admin address.
    pub async fn set_master(&self, id: &str, epoch: u64, admin: &str) -> Result<(), zk::Error> {
        let record = MasterRecord {
            id: id.into(),
            epoch,
            client: "127.0.0.1:61000".into(),
            replication: "127.0.0.1:61619".into(),
            admin: admin.into(),
        };
        self.put(
            &format!("{}/epoch", self.root),
            epoch.to_string().as_bytes(),
        )
        .await?;
        let data = serde_json::to_vec(&record).unwrap_or_default();
        self.put(&format!("{}/master", self.root), &data).await
    }
}
