//! The node loop: one ZooKeeper session after another; in each, follow
//! the elected master, or stand as a candidate with a frozen position and
//! become master when the election rule picks this node.

use super::Shared;
use super::role::Role;
use super::status::Command;
use super::term::{self, TermEnd};
use crate::election::choose::{candidates, choose, next_epoch};
use crate::election::records::{MasterRecord, NodeRecord, NodeState};
use crate::election::zk::{Zk, ZkError, ZkSettings};
use crate::lease::Lease;
use crate::replication::follower::{self, Me};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};
use zookeeper_client::SessionState;

/// How often a candidate or replica looks at ZooKeeper again.
const POLL: Duration = Duration::from_millis(100);

struct Node {
    shared: Arc<Shared>,
    settings: ZkSettings,
    /// Not eligible for election until then (after a handover or a
    /// mastership lost for want of a quorum).
    holdoff: Option<Instant>,
    /// The last reason following failed, so that a retry loop logs it once.
    last_failure: Option<String>,
}

pub async fn run(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    mut commands: mpsc::Receiver<Command>,
) {
    let cc = &shared.cluster;
    let settings = ZkSettings {
        address: cc.zk_address.clone(),
        path: cc.zk_path.clone(),
        password: cc.zk_password.clone(),
        session_timeout: cc.session_timeout,
    };
    let mut node = Node {
        shared: shared.clone(),
        settings,
        holdoff: None,
        last_failure: None,
    };
    let mut backoff = POLL;
    while !*stop.borrow() {
        let connect = node.within(Zk::connect(&node.settings));
        let zk = tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            zk = connect => zk,
        };
        let zk = match zk {
            Ok(zk) => Arc::new(zk),
            Err(e) => {
                warn!(error = %e, "cannot open a ZooKeeper session; retrying");
                let _ = tokio::time::timeout(backoff, stop.wait_for(|s| *s)).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        backoff = POLL;
        info!(
            session = format!("{:x}", zk.session_id()),
            "ZooKeeper session open"
        );
        if let Err(e) = node.session(&zk, &mut stop, &mut commands).await {
            warn!(error = %e, "ZooKeeper session ended");
        }
        node.shared.role.send_replace(Role::NoMaster);
        node.shared.ready.store(false, Ordering::Release);
    }
}

impl Node {
    async fn within<T>(&self, f: impl Future<Output = Result<T, ZkError>>) -> Result<T, ZkError> {
        let limit = self.settings.session_timeout;
        tokio::time::timeout(limit, f)
            .await
            .map_err(|_| ZkError::Timeout(limit))?
    }

    fn eligible(&mut self) -> bool {
        if self.holdoff.is_some_and(|t| Instant::now() >= t) {
            self.holdoff = None;
        }
        self.holdoff.is_none()
    }

    /// One ZooKeeper session; returns when it is gone or the node stops.
    async fn session(
        &mut self,
        zk: &Arc<Zk>,
        stop: &mut watch::Receiver<bool>,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<(), ZkError> {
        let state = zk.state_watcher();
        let alive = move || {
            !matches!(
                state.peek_state(),
                SessionState::Expired | SessionState::Closed | SessionState::AuthFailed
            )
        };
        let store = self.shared.store.clone();
        let (zk_epoch, _) = self.within(zk.epoch()).await?;
        let mut me = self
            .shared
            .record(NodeState::Candidate, last(&store), zk_epoch);
        me.eligible = self.eligible();
        self.within(zk.register(&me)).await?;
        while alive() && !*stop.borrow() {
            while let Ok(Command::StepDown(reply)) = commands.try_recv() {
                let _ = reply.send(Err("this node is not the master".into()));
            }
            match self.within(zk.master()).await {
                Err(e) => {
                    warn!(error = %e, "cannot read the master from ZooKeeper");
                    tokio::time::sleep(POLL).await;
                }
                Ok(Some((master, _))) if master.id != me.id => {
                    self.follow(zk, &mut me, master, stop, commands).await;
                }
                Ok(Some((_, owner))) => {
                    if owner == zk.session_id() {
                        self.within(zk.resign()).await?;
                    }
                    // Otherwise it is left by this node's previous
                    // session and goes when that session expires.
                    tokio::time::sleep(POLL).await;
                }
                Ok(None) => self.stand(zk, &mut me, stop, commands).await?,
            }
        }
        Ok(())
    }

    /// Follows `master` until it changes, the follower fails, or the node
    /// stops. On return the log is frozen.
    async fn follow(
        &mut self,
        zk: &Arc<Zk>,
        me: &mut NodeRecord,
        master: MasterRecord,
        stop: &watch::Receiver<bool>,
        commands: &mut mpsc::Receiver<Command>,
    ) {
        let shared = self.shared.clone();
        self.holdoff = None;
        shared.role.send_replace(Role::Replica {
            master: master.clone(),
        });
        if me.state != NodeState::Replica {
            me.state = NodeState::Replica;
            me.position = last(&shared.store);
            me.eligible = true;
            let _ = self.within(zk.update(me)).await;
        }
        let who = Me {
            node_id: me.id.clone(),
            token: shared.cluster.security_token.clone().unwrap_or_default(),
            source: shared.cluster.hostname.parse().ok(),
            log_retain: shared.cluster.log_retain,
        };
        let (stop_follow, follow_stop) = watch::channel(false);
        let follow = follower::follow(
            shared.store.clone(),
            &master.replication,
            &who,
            &shared.follow,
            follow_stop,
        );
        tokio::pin!(follow);
        let mut poll = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                Some(Command::StepDown(reply)) = commands.recv() => {
                    let _ = reply.send(Err(format!("this node is a replica; the master is {}", master.id)));
                }
                r = &mut follow => {
                    match r {
                        Err(e) => {
                            let e = e.to_string();
                            if self.last_failure.as_ref() != Some(&e) {
                                warn!(master = %master.id, error = %e, "replication from the master stopped; retrying");
                            } else {
                                debug!(master = %master.id, error = %e, "replication from the master stopped again");
                            }
                            self.last_failure = Some(e);
                        }
                        Ok(()) => self.last_failure = None,
                    }
                    shared.ready.store(false, Ordering::Release);
                    tokio::time::sleep(POLL * 2).await;
                    return;
                }
                _ = poll.tick() => {
                    shared.ready.store(shared.follow.borrow().connected, Ordering::Release);
                    let now = self.within(zk.master()).await;
                    let same = matches!(&now, Ok(Some((m, _))) if *m == master);
                    let unknown = now.is_err();
                    if *stop.borrow() || (!same && !unknown) {
                        let _ = stop_follow.send(true);
                        let _ = (&mut follow).await;
                        shared.ready.store(false, Ordering::Release);
                        if !same {
                            info!(master = %master.id, "the master is gone");
                        }
                        return;
                    }
                }
            }
        }
    }

    /// Stands as a candidate in the current round; becomes master if the
    /// election rule picks this node and the conditional write succeeds.
    async fn stand(
        &mut self,
        zk: &Arc<Zk>,
        me: &mut NodeRecord,
        stop: &mut watch::Receiver<bool>,
        commands: &mut mpsc::Receiver<Command>,
    ) -> Result<(), ZkError> {
        let shared = self.shared.clone();
        shared.role.send_replace(Role::NoMaster);
        shared.ready.store(false, Ordering::Release);
        let (zk_epoch, _) = self.within(zk.epoch()).await?;
        me.state = NodeState::Candidate;
        me.position = last(&shared.store);
        me.zk_epoch = zk_epoch;
        me.eligible = self.eligible();
        self.within(zk.update(me)).await?;
        info!(position = ?me.position, epoch = zk_epoch, eligible = me.eligible, "no master: standing as a candidate");
        loop {
            let stopping = *stop.borrow();
            if stopping || self.within(zk.master()).await?.is_some() {
                return Ok(());
            }
            while let Ok(Command::StepDown(reply)) = commands.try_recv() {
                let _ = reply.send(Err("this node is not the master".into()));
            }
            let (epoch, version) = self.within(zk.epoch()).await?;
            if epoch != me.zk_epoch {
                return Ok(());
            }
            let eligible = self.eligible();
            if eligible != me.eligible {
                me.eligible = eligible;
                self.within(zk.update(me)).await?;
            }
            let nodes = self.within(zk.nodes()).await?;
            let records: Vec<NodeRecord> = nodes.iter().map(|(r, _)| r.clone()).collect();
            let round = candidates(&records, epoch);
            if let Some(winner) = choose(&round, shared.cluster.quorum())
                && winner.id == me.id
            {
                let basis: Vec<(String, i32)> = nodes
                    .iter()
                    .filter(|(r, _)| round.iter().any(|c| c.id == r.id))
                    .map(|(r, v)| (r.id.clone(), *v))
                    .collect();
                let seen = shared.store.seen_epoch().unwrap_or(0);
                let new_epoch = next_epoch(epoch, &round, seen);
                let mut record = me.clone();
                record.state = NodeState::Master;
                let master = MasterRecord {
                    id: me.id.clone(),
                    epoch: new_epoch,
                    client: me.client.clone(),
                    replication: me.replication.clone(),
                    admin: me.admin.clone(),
                };
                let sent = Instant::now();
                if self
                    .within(zk.elect(&basis, version, &master, &record))
                    .await?
                {
                    info!(
                        epoch = new_epoch,
                        candidates = round.len(),
                        "won the election"
                    );
                    *me = record;
                    let end = self.master(zk, new_epoch, sent, stop, commands).await;
                    if matches!(end, TermEnd::SteppedDown | TermEnd::QuorumLost) {
                        self.holdoff = Some(Instant::now() + shared.cluster.session_timeout * 2);
                    }
                    me.state = NodeState::Candidate;
                    return Ok(());
                }
            }
            let _ = tokio::time::timeout(POLL, stop.wait_for(|s| *s)).await;
        }
    }

    /// Runs a mastership with a lease renewed by answers from ZooKeeper.
    async fn master(
        &self,
        zk: &Arc<Zk>,
        epoch: u64,
        elected_at: Instant,
        stop: &mut watch::Receiver<bool>,
        commands: &mut mpsc::Receiver<Command>,
    ) -> TermEnd {
        let timeout = self.settings.session_timeout;
        let span = timeout * 3 / 4;
        let lease = Lease::new();
        lease.extend_to(elected_at + span);
        let renewer = {
            let (zk, lease) = (zk.clone(), lease.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval(timeout / 5);
                loop {
                    every.tick().await;
                    let sent = Instant::now();
                    if let Ok(Ok(())) = tokio::time::timeout(timeout / 2, zk.touch()).await {
                        lease.extend_to(sent + span);
                    }
                }
            })
        };
        let end = term::run(&self.shared, zk.clone(), epoch, lease, stop, commands).await;
        renewer.abort();
        end
    }
}

fn last(store: &crate::store::Store) -> crate::store::Position {
    store.last_position().unwrap_or_default()
}
