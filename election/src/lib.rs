//! ferromq's election state: what each node and the master write in
//! ZooKeeper under `--zk-path`,
//! as JSON so that `zkCli.sh get` shows it to a person:
//!
//! - `epoch` (persistent): the fencing token, a decimal number, raised by
//!   each new master with a versioned write;
//! - `nodes/<id>` (ephemeral): a [`NodeRecord`] per live node;
//! - `master` (ephemeral): the [`MasterRecord`] of the elected master.

use serde::{Deserialize, Serialize};

/// A position in the log: entries compare epoch first, then index.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Position {
    pub epoch: u64,
    pub index: u64,
}

pub const EPOCH: &str = "epoch";
pub const NODES: &str = "nodes";
pub const MASTER: &str = "master";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// Not following anyone: its position is frozen and it may be elected.
    Candidate,
    Replica,
    Master,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Candidate => "candidate",
            NodeState::Replica => "replica",
            NodeState::Master => "master",
        }
    }
}

/// One live node, as the others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub id: String,
    /// STOMP address clients use.
    pub client: String,
    /// Replication address replicas connect to.
    pub replication: String,
    /// Admin HTTP address.
    pub admin: String,
    pub weight: u32,
    pub state: NodeState,
    /// The node's last log position; frozen while a candidate.
    pub position: Position,
    /// The ZooKeeper epoch current when the node became a candidate: a
    /// record from an earlier election round does not count in this one.
    pub zk_epoch: u64,
    /// False for a while after a master stepped down for lack of a
    /// quorum, or handed over, so that another node takes over.
    pub eligible: bool,
    /// On Kubernetes, the UID of the pod the node runs in: a record left by
    /// a pod's previous incarnation (its session not yet expired) is not
    /// taken for the new pod's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_uid: Option<String>,
}

/// The elected master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MasterRecord {
    pub id: String,
    pub epoch: u64,
    pub client: String,
    pub replication: String,
    pub admin: String,
}

/// Parses the `epoch` znode's data; an empty one is epoch 0.
pub fn parse_epoch(data: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(data).ok()?.trim();
    if text.is_empty() {
        return Some(0);
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_plain_json() -> Result<(), serde_json::Error> {
        let r = NodeRecord {
            id: "b1".into(),
            client: "127.0.0.11:61613".into(),
            replication: "127.0.0.11:61619".into(),
            admin: "127.0.0.11:8161".into(),
            weight: 1,
            state: NodeState::Candidate,
            position: Position { epoch: 2, index: 7 },
            zk_epoch: 2,
            eligible: true,
            pod_uid: None,
        };
        let text = serde_json::to_string(&r)?;
        assert!(text.contains("\"state\":\"candidate\""), "{text}");
        assert!(!text.contains("pod_uid"), "{text}");
        assert_eq!(serde_json::from_str::<NodeRecord>(&text)?, r);
        let on_pod = NodeRecord {
            pod_uid: Some("6f1c".into()),
            ..r
        };
        let text = serde_json::to_string(&on_pod)?;
        assert_eq!(serde_json::from_str::<NodeRecord>(&text)?, on_pod);
        assert_eq!(parse_epoch(b" 12\n"), Some(12));
        assert_eq!(parse_epoch(b""), Some(0));
        assert_eq!(parse_epoch(b"x"), None);
        Ok(())
    }
}
