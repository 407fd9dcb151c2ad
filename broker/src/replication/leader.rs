//! The master's side of replication: one session per connected replica,
//! and the commit index computed from what each of them acknowledged.
//!
//! An entry of an earlier epoch counts as committed only through a later
//! entry of this master's own epoch (its barrier first): before that, a
//! quorum holding it proves nothing (Raft, figure 8).

use super::policy::{self, Progress, SyncPolicy};
use super::recent::Recent;
use super::session::{self, SessionContext, SessionEvent};
use crate::commit::Input;
use crate::store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

/// How often the leader wakes the committer (for completions held while
/// the lease lapsed) and checks that a quorum is connected.
const TICK: Duration = Duration::from_millis(100);

pub struct LeaderConfig {
    pub policy: SyncPolicy,
    pub cluster: usize,
    pub epoch: u64,
    /// The index of this epoch's barrier entry.
    pub barrier: u64,
    pub token: Option<String>,
    /// How long the master may go without a quorum of connected replicas
    /// before it gives up mastership.
    pub quorum_grace: Duration,
}

/// One replica as the master sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplicaView {
    pub node_id: String,
    pub progress: Progress,
    pub connected: bool,
}

/// Why the leader stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaderEnd {
    Stopped,
    /// A replica has accepted a newer master.
    Stale {
        epoch: u64,
    },
    /// No quorum of replicas for longer than the grace period.
    QuorumLost,
}

pub struct Leader {
    pub config: LeaderConfig,
    pub store: Arc<Store>,
    pub committer: mpsc::UnboundedSender<Input>,
    pub progress: watch::Receiver<Progress>,
    /// The newest entries, which the committer keeps for the sessions.
    pub recent: Arc<Recent>,
    /// The commit index, for sessions to pass on to replicas.
    pub commit: watch::Sender<u64>,
    /// The replicas, for status.
    pub view: watch::Sender<Vec<ReplicaView>>,
}

struct Tracked {
    session: u64,
    progress: Progress,
}

impl Leader {
    /// Runs until `stop` is set, a replica reveals a newer epoch, or the
    /// quorum is gone for too long.
    pub async fn run(
        self,
        mut conns: mpsc::Receiver<TcpStream>,
        mut stop: watch::Receiver<bool>,
    ) -> LeaderEnd {
        let (events_tx, mut events) = mpsc::channel(1024);
        let mut sessions = JoinSet::new();
        let mut replicas: BTreeMap<String, Tracked> = BTreeMap::new();
        let mut next_session = 0u64;
        let mut commit = 0u64;
        let mut quorum_seen = Instant::now();
        let need = (self.config.cluster / 2 + 1).saturating_sub(1);
        let mut tick = tokio::time::interval(TICK);
        let mut progress = self.progress.clone();
        let end = loop {
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break LeaderEnd::Stopped,
                Some(stream) = conns.recv() => {
                    next_session += 1;
                    let ctx = SessionContext {
                        id: next_session,
                        store: self.store.clone(),
                        epoch: self.config.epoch,
                        token: self.config.token.clone(),
                        written_acks: self.config.policy.wants_written_acks(),
                        progress: self.progress.clone(),
                        recent: self.recent.clone(),
                        commit: self.commit.subscribe(),
                        events: events_tx.clone(),
                    };
                    sessions.spawn(session::serve(stream, ctx));
                }
                Some(event) = events.recv() => match event {
                    SessionEvent::Joined { node_id, session } => {
                        info!(replica = %node_id, "replica connected");
                        replicas.insert(node_id, Tracked { session, progress: Progress::default() });
                        self.publish(&replicas);
                    }
                    SessionEvent::Ack { node_id, session, progress } => {
                        if let Some(t) = replicas.get_mut(&node_id).filter(|t| t.session == session) {
                            t.progress = progress;
                            self.publish(&replicas);
                        }
                    }
                    SessionEvent::Left { node_id, session } => {
                        if replicas.get(&node_id).is_some_and(|t| t.session == session) {
                            warn!(replica = %node_id, "replica disconnected");
                            replicas.remove(&node_id);
                            self.publish(&replicas);
                        }
                    }
                    SessionEvent::Stale { epoch } => break LeaderEnd::Stale { epoch },
                },
                _ = progress.changed() => {}
                _ = tick.tick() => {
                    let _ = self.committer.send(Input::Commit(commit));
                    if replicas.len() >= need {
                        quorum_seen = Instant::now();
                    } else if quorum_seen.elapsed() > self.config.quorum_grace {
                        break LeaderEnd::QuorumLost;
                    }
                }
            }
            let local = *self.progress.borrow();
            let acks: Vec<Progress> = replicas.values().map(|t| t.progress).collect();
            let candidate = self
                .config
                .policy
                .commit_index(local, &acks, self.config.cluster);
            if let Some(next) = policy::advance(commit, candidate, self.config.barrier) {
                commit = next;
                self.commit.send_replace(commit);
                let _ = self.committer.send(Input::Commit(commit));
            }
        };
        sessions.shutdown().await;
        self.view.send_replace(Vec::new());
        end
    }

    fn publish(&self, replicas: &BTreeMap<String, Tracked>) {
        let view: Vec<ReplicaView> = replicas
            .iter()
            .map(|(id, t)| ReplicaView {
                node_id: id.clone(),
                progress: t.progress,
                connected: true,
            })
            .collect();
        self.view.send_if_modified(|v| {
            let changed = *v != view;
            if changed {
                *v = view;
            }
            changed
        });
    }
}
