//! This node's ZooKeeper session and the few operations the election
//! needs. Every write that decides something is conditional: the epoch is
//! raised with a versioned set, and the master is created in the same
//! multi-operation that checks the version of every candidate record the
//! decision was based on, so a decision made on stale reads fails.

use super::records::{self, EPOCH, MASTER, MasterRecord, NODES, NodeRecord};
use std::time::Duration;
use thiserror::Error;
use zookeeper_client as zk;

#[derive(Debug, Error)]
pub enum ZkError {
    #[error("ZooKeeper: {0}")]
    Zk(#[from] zk::Error),
    #[error("ZooKeeper at {address}: {source}")]
    Connect { address: String, source: zk::Error },
    #[error("ZooKeeper node {path} holds unreadable data: {reason}")]
    BadData { path: String, reason: String },
    #[error("ZooKeeper did not answer within {0:?}")]
    Timeout(Duration),
}

/// Where the cluster lives in ZooKeeper and how to reach it.
#[derive(Debug, Clone)]
pub struct ZkSettings {
    pub address: String,
    pub path: String,
    pub password: Option<String>,
    pub session_timeout: Duration,
}

/// A record and the version it was read at.
pub type Versioned<T> = (T, i32);

pub struct Zk {
    client: zk::Client,
    root: String,
    secured: bool,
}

impl Zk {
    /// Opens a session and makes sure the cluster's paths exist.
    pub async fn connect(s: &ZkSettings) -> Result<Zk, ZkError> {
        let mut connector = zk::Client::connector().with_session_timeout(s.session_timeout);
        if let Some(password) = &s.password {
            connector = connector.with_auth("digest", format!("ferromq:{password}").as_bytes());
        }
        let client = connector
            .connect(&s.address)
            .await
            .map_err(|source| ZkError::Connect {
                address: s.address.clone(),
                source,
            })?;
        let zk = Zk {
            client,
            root: s.path.trim_end_matches('/').to_owned(),
            secured: s.password.is_some(),
        };
        zk.ensure_paths().await?;
        Ok(zk)
    }

    fn acls(&self) -> zk::Acls<'static> {
        if self.secured {
            zk::Acls::creator_all()
        } else {
            zk::Acls::anyone_all()
        }
    }

    pub fn path(&self, child: &str) -> String {
        format!("{}/{child}", self.root)
    }

    async fn ensure_paths(&self) -> Result<(), ZkError> {
        let acls = self.acls();
        let persistent = zk::CreateMode::Persistent.with_acls(acls);
        match self.client.mkdir(&self.path(NODES), &persistent).await {
            Ok(()) | Err(zk::Error::NodeExists) => {}
            Err(e) => return Err(e.into()),
        }
        match self
            .client
            .create(&self.path(EPOCH), b"0", &persistent)
            .await
        {
            Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn session_id(&self) -> i64 {
        self.client.session_id().0
    }

    pub fn state_watcher(&self) -> zk::StateWatcher {
        self.client.state_watcher()
    }

    /// A cheap request whose answer proves the session alive when it was
    /// sent.
    pub async fn touch(&self) -> Result<(), ZkError> {
        self.client.check_stat(&self.root).await?;
        Ok(())
    }

    /// Publishes this node's record (ephemeral), replacing one left by an
    /// earlier session of the same node.
    pub async fn register(&self, record: &NodeRecord) -> Result<(), ZkError> {
        let path = self.path(&format!("{NODES}/{}", record.id));
        let data = json(record);
        let ephemeral = zk::CreateMode::Ephemeral.with_acls(self.acls());
        match self.client.create(&path, &data, &ephemeral).await {
            Ok(_) => Ok(()),
            Err(zk::Error::NodeExists) => {
                match self.client.delete(&path, None).await {
                    Ok(()) | Err(zk::Error::NoNode) => {}
                    Err(e) => return Err(e.into()),
                }
                self.client.create(&path, &data, &ephemeral).await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Rewrites this node's record.
    pub async fn update(&self, record: &NodeRecord) -> Result<(), ZkError> {
        let path = self.path(&format!("{NODES}/{}", record.id));
        self.client.set_data(&path, &json(record), None).await?;
        Ok(())
    }

    /// The current epoch and the version of its znode.
    pub async fn epoch(&self) -> Result<Versioned<u64>, ZkError> {
        let path = self.path(EPOCH);
        let (data, stat) = self.client.get_data(&path).await?;
        let epoch = records::parse_epoch(&data).ok_or_else(|| ZkError::BadData {
            path,
            reason: "not a number".into(),
        })?;
        Ok((epoch, stat.version))
    }

    /// The elected master, and the session that owns its znode.
    pub async fn master(&self) -> Result<Option<(MasterRecord, i64)>, ZkError> {
        let path = self.path(MASTER);
        match self.client.get_data(&path).await {
            Ok((data, stat)) => Ok(Some((parse(&path, &data)?, stat.ephemeral_owner))),
            Err(zk::Error::NoNode) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Every node's record; unreadable ones are skipped.
    pub async fn nodes(&self) -> Result<Vec<Versioned<NodeRecord>>, ZkError> {
        let dir = self.path(NODES);
        let mut out = Vec::new();
        for child in self.client.list_children(&dir).await? {
            let path = format!("{dir}/{child}");
            match self.client.get_data(&path).await {
                Ok((data, stat)) => {
                    if let Ok(r) = parse::<NodeRecord>(&path, &data) {
                        out.push((r, stat.version));
                    }
                }
                Err(zk::Error::NoNode) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// Takes mastership in one atomic step: every record in `basis` must
    /// still be at its version, the epoch znode at `epoch_version`; then
    /// the epoch becomes `new_epoch`, the master znode is created and this
    /// node's record says master. `false` when another change came first.
    pub async fn elect(
        &self,
        basis: &[(String, i32)],
        epoch_version: i32,
        master: &MasterRecord,
        me: &NodeRecord,
    ) -> Result<bool, ZkError> {
        let mut w = self.client.new_multi_writer();
        for (id, version) in basis {
            w.add_check_version(&self.path(&format!("{NODES}/{id}")), *version)?;
        }
        let epoch = master.epoch.to_string();
        w.add_set_data(&self.path(EPOCH), epoch.as_bytes(), Some(epoch_version))?;
        let ephemeral = zk::CreateMode::Ephemeral.with_acls(self.acls());
        w.add_create(&self.path(MASTER), &json(master), &ephemeral)?;
        w.add_set_data(&self.path(&format!("{NODES}/{}", me.id)), &json(me), None)?;
        match w.commit().await {
            Ok(_) => Ok(true),
            Err(zk::MultiWriteError::OperationFailed {
                source: zk::Error::BadVersion | zk::Error::NodeExists | zk::Error::NoNode,
                ..
            }) => Ok(false),
            Err(e) => Err(zk::Error::from(e).into()),
        }
    }

    /// Deletes the master znode if this session owns it.
    pub async fn resign(&self) -> Result<(), ZkError> {
        if let Some((_, owner)) = self.master().await?
            && owner == self.session_id()
        {
            match self.client.delete(&self.path(MASTER), None).await {
                Ok(()) | Err(zk::Error::NoNode) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(path: &str, data: &[u8]) -> Result<T, ZkError> {
    serde_json::from_slice(data).map_err(|e| ZkError::BadData {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}
