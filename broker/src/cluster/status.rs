//! What a cluster node shows on `GET /status`, read from the watches the
//! node loop, the follower and the leader keep current.

use super::role::Role;
use crate::replication::follower::FollowState;
use crate::replication::leader::ReplicaView;
use crate::store::{EpochStart, Position, Store};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// A request to the node loop from the admin endpoint.
#[derive(Debug)]
pub enum Command {
    /// Hand mastership to the best caught-up replica.
    StepDown(oneshot::Sender<Result<String, String>>),
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ClusterStatus {
    pub epoch: u64,
    pub position: Position,
    pub commit_index: u64,
    pub master: Option<String>,
    pub master_address: Option<String>,
    pub quorum_available: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<ReplicaStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReplicaStatus {
    pub node_id: String,
    pub position: Position,
    /// Entries the replica has yet to fsync.
    pub lag: u64,
    pub connected: bool,
}

/// The node's watches, shared with the admin endpoint.
#[derive(Clone)]
pub struct ClusterView {
    pub node_id: String,
    pub quorum: usize,
    pub store: Arc<Store>,
    pub role: watch::Receiver<Role>,
    pub follow: watch::Receiver<FollowState>,
    pub commit: watch::Receiver<u64>,
    pub replicas: watch::Receiver<Vec<ReplicaView>>,
    pub commands: mpsc::Sender<Command>,
    /// On Kubernetes: the role label the pod is known to carry.
    pub label: Option<watch::Receiver<Option<&'static str>>>,
}

impl ClusterView {
    pub fn role_name(&self) -> &'static str {
        self.role.borrow().name()
    }

    /// Whether the pod's role label is what the role wants (always, off
    /// Kubernetes): a node is not Ready before.
    pub fn label_in_step(&self) -> bool {
        super::pod_label::in_step(&self.role.borrow(), self.label.as_ref())
    }

    pub fn snapshot(&self) -> ClusterStatus {
        let role = self.role.borrow().clone();
        let position = self.store.last_position().unwrap_or_default();
        let follow = *self.follow.borrow();
        let mut s = ClusterStatus {
            position,
            ..ClusterStatus::default()
        };
        match role {
            Role::Serving { epoch, client, .. } => {
                s.epoch = epoch;
                s.commit_index = *self.commit.borrow();
                s.master = Some(self.node_id.clone());
                s.master_address = Some(client);
                let epochs = self.store.epochs().unwrap_or_default();
                s.replicas = self
                    .replicas
                    .borrow()
                    .iter()
                    .map(|r| ReplicaStatus {
                        node_id: r.node_id.clone(),
                        position: Position {
                            epoch: epoch_of(&epochs, r.progress.disk),
                            index: r.progress.disk,
                        },
                        lag: position.index.saturating_sub(r.progress.disk),
                        connected: r.connected,
                    })
                    .collect();
                s.quorum_available = s.replicas.len() + 1 >= self.quorum;
            }
            Role::Replica { master } => {
                s.epoch = master.epoch;
                s.commit_index = follow.commit;
                s.master = Some(master.id);
                s.master_address = Some(master.client);
                s.quorum_available = follow.connected;
            }
            Role::NoMaster => {
                s.epoch = self.store.seen_epoch().unwrap_or_default();
                s.commit_index = follow.applied;
            }
        }
        s
    }
}

/// The epoch of the entry at `index`, from where each epoch starts.
fn epoch_of(epochs: &[EpochStart], index: u64) -> u64 {
    epochs
        .iter()
        .take_while(|&&(_, first)| first <= index)
        .last()
        .map_or(0, |&(e, _)| e)
}
