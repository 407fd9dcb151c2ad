//! What the brokers wrote in ZooKeeper, read for status, the master label
//! and upgrades.
//!
//! The operator only reads: the election is the brokers' (see the
//! `ferromq-election` crate for the records). A session is opened per read
//! and closed after it, so an operator watching many brokers holds no
//! sessions between reconciles and a ZooKeeper that went away costs one
//! bounded wait, not a stuck client.

use crate::validate::{Cluster, Zookeeper};
use ferromq_election::{EPOCH, MASTER, MasterRecord, NODES, NodeRecord, parse_epoch};
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;
use zookeeper_client as zk;

/// How long one read of the election may take, connecting included: a
/// reconcile must not hang on an unreachable ensemble.
pub const READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Why the election could not be read. Shown in the Degraded condition.
#[derive(Debug, Error)]
pub enum ReadError {
    #[error("cannot reach ZooKeeper at {connect}: {source}")]
    Connect { connect: String, source: zk::Error },
    #[error("ZooKeeper at {connect} did not answer within {timeout:?}")]
    Timeout { connect: String, timeout: Duration },
    #[error("reading {path} from ZooKeeper: {source}")]
    Read { path: String, source: zk::Error },
    #[error("ZooKeeper node {path} holds {reason}")]
    BadData { path: String, reason: String },
}

/// The election as last read: the epoch, the master and every live node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Election {
    pub epoch: u64,
    pub master: Option<MasterRecord>,
    /// Node records by node id (the pod name).
    pub nodes: BTreeMap<String, NodeRecord>,
}

impl Election {
    /// The master's node record, whose position the others are compared to.
    pub fn master_node(&self) -> Option<&NodeRecord> {
        self.master.as_ref().and_then(|m| self.nodes.get(&m.id))
    }

    /// How far `node` is behind the master, in log entries; `None` without
    /// a master record to compare with.
    pub fn lag(&self, node: &NodeRecord) -> Option<i64> {
        let master = self.master_node()?;
        let behind = master.position.index.saturating_sub(node.position.index);
        Some(i64::try_from(behind).unwrap_or(i64::MAX))
    }
}

/// Where a ReplicatedBroker's election lives in ZooKeeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub connect: String,
    pub path: String,
}

impl Location {
    /// The managed ensemble's client Service (`<name>-zookeeper.<ns>.svc`),
    /// or the external connect string; the path the brokers were given.
    pub fn of(c: &Cluster) -> Location {
        let connect = match c.zookeeper {
            Zookeeper::Managed(_) => format!("{}-zookeeper.{}.svc:2181", c.name, c.namespace),
            Zookeeper::External(external) => external.connect.clone(),
        };
        Location {
            connect,
            path: c.zk_path.trim_end_matches('/').to_string(),
        }
    }
}

/// Reads the election under `location`, within [`READ_TIMEOUT`]. A path
/// that does not exist yet (no broker started) is an empty election.
pub async fn read(location: &Location) -> Result<Election, ReadError> {
    let timeout = READ_TIMEOUT;
    match tokio::time::timeout(timeout, read_unbounded(location)).await {
        Ok(result) => result,
        Err(_) => Err(ReadError::Timeout {
            connect: location.connect.clone(),
            timeout,
        }),
    }
}

async fn read_unbounded(location: &Location) -> Result<Election, ReadError> {
    let client = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(4))
        .with_connection_timeout(READ_TIMEOUT)
        .with_fail_eagerly()
        .connect(&location.connect)
        .await
        .map_err(|source| ReadError::Connect {
            connect: location.connect.clone(),
            source,
        })?;
    let root = &location.path;
    let epoch_path = format!("{root}/{EPOCH}");
    let epoch = match get(&client, &epoch_path).await? {
        Some(data) => parse_epoch(&data).ok_or_else(|| ReadError::BadData {
            path: epoch_path.clone(),
            reason: "no decimal number".to_string(),
        })?,
        None => 0,
    };
    let master_path = format!("{root}/{MASTER}");
    let master = match get(&client, &master_path).await? {
        Some(data) => Some(json(&master_path, &data)?),
        None => None,
    };
    let nodes_path = format!("{root}/{NODES}");
    let children = match client.list_children(&nodes_path).await {
        Ok(children) => children,
        Err(zk::Error::NoNode) => Vec::new(),
        Err(source) => return Err(read_error(&nodes_path, source)),
    };
    let mut nodes = BTreeMap::new();
    for child in children {
        let path = format!("{nodes_path}/{child}");
        // A node that left between the listing and the read is just gone.
        if let Some(data) = get(&client, &path).await? {
            let record: NodeRecord = json(&path, &data)?;
            nodes.insert(record.id.clone(), record);
        }
    }
    Ok(Election {
        epoch,
        master,
        nodes,
    })
}

/// A znode's data, `None` when it does not exist.
async fn get(client: &zk::Client, path: &str) -> Result<Option<Vec<u8>>, ReadError> {
    match client.get_data(path).await {
        Ok((data, _)) => Ok(Some(data)),
        Err(zk::Error::NoNode) => Ok(None),
        Err(source) => Err(read_error(path, source)),
    }
}

fn read_error(path: &str, source: zk::Error) -> ReadError {
    ReadError::Read {
        path: path.to_string(),
        source,
    }
}

fn json<T: serde::de::DeserializeOwned>(path: &str, data: &[u8]) -> Result<T, ReadError> {
    serde_json::from_slice(data).map_err(|e| ReadError::BadData {
        path: path.to_string(),
        reason: format!("unreadable JSON: {e}"),
    })
}

#[cfg(test)]
mod tests;

/// Election states written by hand, for the pure functions' table tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::Election;
    use ferromq_election::{MasterRecord, NodeRecord, NodeState, Position};

    pub fn node(id: &str, state: NodeState, epoch: u64, index: u64) -> NodeRecord {
        NodeRecord {
            id: id.to_string(),
            client: format!("{id}:61613"),
            replication: format!("{id}:61619"),
            admin: format!("{id}:8161"),
            weight: 1,
            state,
            position: Position { epoch, index },
            zk_epoch: epoch,
            eligible: true,
            pod_uid: None,
        }
    }

    /// An election whose master is `master` (no master record when empty).
    pub fn election(
        master: &str,
        epoch: u64,
        nodes: impl IntoIterator<Item = NodeRecord>,
    ) -> Election {
        Election {
            epoch,
            master: (!master.is_empty()).then(|| MasterRecord {
                id: master.to_string(),
                epoch,
                client: format!("{master}:61613"),
                replication: format!("{master}:61619"),
                admin: format!("{master}:8161"),
            }),
            nodes: nodes.into_iter().map(|n| (n.id.clone(), n)).collect(),
        }
    }
}
