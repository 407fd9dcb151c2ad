//! The router: one task owns every queue, topic, subscription and
//! delivery. Connections talk to it over channels; durable changes go
//! through the group committer and take effect, in order, once committed.

mod dispatch;
mod handle;
mod queue;
pub mod request;
mod settle;
mod state;

pub use request::{
    AckMode, AckRef, ConnId, Delivery, Destination, Outbound, Outgoing, Request, Settle,
};

use crate::commit::{CommitEvent, Input, Proposal};
use crate::metrics::Metrics;
use crate::status::{QueueStatus, Status, TopicStatus};
use crate::store::{MessageRecord, Op, Recovered, Store};
use ferromq_stomp::{Command, Frame};
use queue::Queue;
use state::{Conn, Subscription, Topic};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::mpsc;
use tracing::info;

/// Requests handled before deliveries are made, so that many sends share
/// one dispatch pass.
const REQUEST_BURST: usize = 256;
/// How often a cluster master looks for work stuck without a quorum.
const QUORUM_CHECK: Duration = Duration::from_millis(250);

#[derive(Debug, Error)]
pub enum RouterError {
    #[error("the store failed: {0}")]
    Store(String),
    #[error("the committer stopped")]
    CommitterGone,
}

/// What to do once a proposal commits.
#[derive(Debug, Default)]
struct Pending {
    conn: Option<ConnId>,
    enqueues: Vec<(Arc<str>, Arc<MessageRecord>)>,
    publishes: Vec<(Arc<str>, Arc<MessageRecord>)>,
    /// Queues a message left (acknowledged or expired).
    removes: Vec<Arc<str>>,
    receipt: Option<String>,
    close: bool,
    /// When the proposal was made, for the quorum timeout.
    since: Option<Instant>,
}

pub struct Router {
    node_id: String,
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    commits: mpsc::UnboundedSender<Input>,
    pending: VecDeque<Pending>,
    queues: HashMap<Arc<str>, Queue>,
    topics: HashMap<Arc<str>, Topic>,
    conns: HashMap<ConnId, Conn>,
    subs: HashMap<u64, Subscription>,
    next_sub: u64,
    next_seq: u64,
    dirty_queues: HashSet<Arc<str>>,
    dirty_subs: HashSet<u64>,
    /// Whether `run` opens the epoch with a barrier entry (a standalone
    /// broker); a cluster master commits its barrier before the router.
    open_epoch: bool,
    /// In a cluster: how long a durable proposal may wait for a quorum.
    quorum_timeout: Option<Duration>,
}

impl Router {
    pub fn new(
        node_id: String,
        store: Arc<Store>,
        recovered: &Recovered,
        metrics: Arc<Metrics>,
        commits: mpsc::UnboundedSender<Input>,
    ) -> Self {
        let queues = recovered
            .queues
            .iter()
            .map(|(name, disk)| {
                let name: Arc<str> = name.as_str().into();
                (name.clone(), Queue::recovered(name, *disk))
            })
            .collect();
        Router {
            node_id,
            store,
            metrics,
            commits,
            pending: VecDeque::new(),
            dirty_queues: HashSet::new(),
            dirty_subs: HashSet::new(),
            queues,
            topics: HashMap::new(),
            conns: HashMap::new(),
            subs: HashMap::new(),
            next_sub: 1,
            next_seq: recovered.next_seq.max(1),
            open_epoch: true,
            quorum_timeout: None,
        }
    }

    /// A router for a cluster master: its epoch is already open, a client
    /// whose durable work waits longer than `quorum_timeout` for the
    /// quorum gets an ERROR, and messages the previous master may have
    /// delivered go out marked `redelivered`.
    pub fn for_master(mut self, quorum_timeout: Duration) -> Self {
        self.open_epoch = false;
        self.quorum_timeout = Some(quorum_timeout);
        for q in self.queues.values_mut() {
            q.mark_recovered_redelivered();
        }
        self
    }

    /// Runs until every request sender is gone and every proposal has
    /// committed.
    pub async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut events: mpsc::UnboundedReceiver<CommitEvent>,
    ) -> Result<(), RouterError> {
        if self.open_epoch {
            // A fresh epoch starts with a barrier entry of its own.
            self.propose(Pending::default(), vec![Op::Barrier], true);
        }
        let mut open = true;
        let mut tick = tokio::time::interval(QUORUM_CHECK);
        while open || !self.pending.is_empty() {
            tokio::select! {
                biased;
                event = events.recv() => self.on_commit(event)?,
                _ = tick.tick(), if self.quorum_timeout.is_some() => self.check_quorum_timeout(),
                request = requests.recv(), if open => match request {
                    Some(r) => {
                        self.handle(r);
                        for _ in 0..REQUEST_BURST {
                            match requests.try_recv() {
                                Ok(r) => self.handle(r),
                                Err(_) => break,
                            }
                        }
                    }
                    None => open = false,
                },
            }
            if let Err(e) = self.dispatch_dirty() {
                return Err(RouterError::Store(e.to_string()));
            }
        }
        info!("router stopped: all commits done");
        Ok(())
    }

    fn on_commit(&mut self, event: Option<CommitEvent>) -> Result<(), RouterError> {
        match event {
            Some(CommitEvent::Committed(n)) => {
                for _ in 0..n {
                    if let Some(p) = self.pending.pop_front() {
                        self.complete(p);
                    }
                }
                Ok(())
            }
            Some(CommitEvent::Failed(e)) => {
                for conn in self.conns.values() {
                    conn.send(Outbound::Error(error_frame(
                        "the broker's store failed",
                        None,
                    )));
                }
                Err(RouterError::Store(e))
            }
            None => Err(RouterError::CommitterGone),
        }
    }

    /// Fails every connection whose durable work has waited longer than
    /// the quorum timeout: the client is told, and the outcome is unknown
    /// to it (the entry may still commit).
    fn check_quorum_timeout(&mut self) {
        let Some(limit) = self.quorum_timeout else {
            return;
        };
        let late: Vec<ConnId> = self
            .pending
            .iter()
            .take_while(|p| p.since.is_some_and(|t| t.elapsed() > limit))
            .filter_map(|p| p.conn)
            .collect();
        for conn in late {
            if let Some(c) = self.conns.get_mut(&conn).filter(|c| !c.failed) {
                c.failed = true;
                let message = format!(
                    "the quorum is unavailable: not confirmed within {limit:?}; the outcome is unknown"
                );
                c.send(Outbound::Error(error_frame(&message, None)));
            }
        }
    }

    /// Hands operations to the committer; `then` runs once they commit.
    /// With nothing to write and nothing ahead of it, `then` runs at once.
    fn propose(&mut self, mut then: Pending, ops: Vec<Op>, durable: bool) {
        if !durable && self.pending.is_empty() {
            self.complete(then);
            return;
        }
        then.since = Some(Instant::now());
        self.pending.push_back(then);
        if self
            .commits
            .send(Input::Propose(Proposal { ops, durable }))
            .is_err()
        {
            // The committer is gone; the router learns why from its events.
            self.pending.pop_back();
        }
    }

    fn complete(&mut self, p: Pending) {
        for (queue, message) in p.enqueues {
            self.queue(&queue).enqueue(message);
            self.dirty_queues.insert(queue);
        }
        for (topic, message) in p.publishes {
            self.publish(&topic, message);
        }
        for queue in p.removes {
            let q = self.queue(&queue);
            q.depth = q.depth.saturating_sub(1);
        }
        let Some(conn) = p.conn.and_then(|c| self.conns.get(&c)) else {
            return;
        };
        if let Some(id) = p.receipt {
            conn.send(Outbound::Frame(
                Frame::new(Command::Receipt).header("receipt-id", id),
            ));
        }
        if p.close {
            conn.send(Outbound::Close);
        }
    }

    fn queue(&mut self, name: &Arc<str>) -> &mut Queue {
        self.queues
            .entry(name.clone())
            .or_insert_with(|| Queue::new(name.clone()))
    }

    fn status(&self) -> Status {
        let queues = self.queues.iter().map(|(name, q)| {
            let s = QueueStatus {
                depth: q.depth,
                consumers: q.consumers.len(),
                inflight: q.inflight,
            };
            (name.to_string(), s)
        });
        let topics = self.topics.iter().map(|(name, t)| {
            let s = TopicStatus {
                subscribers: t.subscribers.len(),
            };
            (name.to_string(), s)
        });
        Status {
            node_id: self.node_id.clone(),
            role: "standalone".into(),
            connections: self.conns.len(),
            queues: queues.collect(),
            topics: topics.collect(),
            cluster: None,
        }
    }
}

/// An ERROR frame whose `message` header says what went wrong.
pub fn error_frame(message: &str, receipt: Option<&str>) -> Frame {
    let mut f = Frame::new(Command::Error).header("message", message);
    if let Some(r) = receipt {
        f = f.header("receipt-id", r);
    }
    f
}
