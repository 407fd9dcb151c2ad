//! One mastership: from winning the election to stepping down.
//!
//! The new master fences with its fresh epoch, lets replicas connect and
//! catch up, commits a barrier entry of its own epoch on a quorum (which
//! commits and applies everything before it), builds its router from the
//! queue state and only then serves clients. It stops serving when its
//! lease lapses, when a replica reveals a newer epoch, when it has had no
//! quorum for too long, on a switchover, or on SIGTERM.

use super::Shared;
use super::role::Role;
use super::status::Command;
use crate::commit::{CommitEvent, Input, Proposal};
use crate::connection::ConnectionContext;
use crate::election::zk::Zk;
use crate::lease::Lease;
use crate::replication::committer::{self, Start};
use crate::replication::leader::{Leader, LeaderConfig, LeaderEnd};
use crate::replication::policy::Progress;
use crate::replication::recent::{self, Recent};
use crate::router::Router;
use crate::store::Op;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// Why a mastership ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermEnd {
    /// The broker is shutting down.
    Stopped,
    /// Handed over on request: let another node win the next election.
    SteppedDown,
    LeaseLost,
    QuorumLost,
    Stale,
    Failed(String),
}

/// How long a switchover waits for a replica to catch up.
const HANDOVER_WAIT: Duration = Duration::from_secs(5);
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
/// How long stepping down waits for each part to stop.
const TEARDOWN_WAIT: Duration = Duration::from_secs(5);

/// Serves as master of `epoch` until the term ends.
pub async fn run(
    shared: &Shared,
    zk: Arc<Zk>,
    epoch: u64,
    lease: Lease,
    stop: &mut watch::Receiver<bool>,
    commands: &mut mpsc::Receiver<Command>,
) -> TermEnd {
    match serve(shared, zk, epoch, lease.clone(), stop, commands).await {
        Ok(end) => end,
        Err(e) => {
            lease.revoke();
            TermEnd::Failed(e)
        }
    }
}

async fn serve(
    shared: &Shared,
    zk: Arc<Zk>,
    epoch: u64,
    lease: Lease,
    stop: &mut watch::Receiver<bool>,
    commands: &mut mpsc::Receiver<Command>,
) -> Result<TermEnd, String> {
    let cc = &shared.cluster;
    let store = shared.store.clone();
    let err = |e: crate::store::StoreError| e.to_string();
    store.set_seen_epoch(epoch).map_err(err)?;
    let last = store.last_position().map_err(err)?;
    let applied = store.applied().map_err(err)?;
    let unapplied = store
        .read_log(applied.index + 1, (last.index - applied.index) as usize)
        .map_err(err)?;
    let (progress_tx, progress_rx) = watch::channel(Progress {
        mem: last.index,
        disk: last.index,
    });
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let recent = Arc::new(Recent::new(recent::DEFAULT_BYTES));
    let (commits, committer) = committer::spawn(Start {
        store: store.clone(),
        epoch,
        last,
        unapplied,
        local_disk: cc.sync.local_disk,
        log_retain: cc.log_retain,
        lease: lease.clone(),
        metrics: shared.metrics.clone(),
        events: events_tx,
        progress: progress_tx,
        recent: recent.clone(),
    })
    .map_err(|e| format!("cannot start the committer: {e}"))?;

    let (term_stop_tx, term_stop) = watch::channel(false);
    let (conns_tx, conns_rx) = mpsc::channel(16);
    shared.replication.send_replace(Some(conns_tx));
    let leader = Leader {
        config: LeaderConfig {
            policy: cc.sync,
            cluster: cc.replicas,
            epoch,
            barrier: last.index + 1,
            token: cc.security_token.clone(),
            quorum_grace: cc.session_timeout * 2,
        },
        store: store.clone(),
        committer: commits.clone(),
        progress: progress_rx,
        recent,
        commit: shared.commit.clone(),
        view: shared.replicas.clone(),
    };
    let mut leader = tokio::spawn(leader.run(conns_rx, term_stop.clone()));
    let barrier = Proposal {
        ops: vec![Op::Barrier],
        durable: true,
    };
    let _ = commits.send(Input::Propose(barrier));
    info!(
        epoch,
        barrier = last.index + 1,
        "elected: waiting for a quorum to commit the barrier"
    );

    let mut check = tokio::time::interval(Duration::from_millis(20));
    // Phase 1: the barrier commits on a quorum.
    let end = loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break Some(TermEnd::Stopped),
            end = &mut leader => break Some(leader_end(end)),
            event = events.recv() => match event {
                Some(CommitEvent::Committed(_)) => break None,
                Some(CommitEvent::Failed(e)) => break Some(TermEnd::Failed(e)),
                None => break Some(TermEnd::Failed("the committer stopped".into())),
            },
            Some(Command::StepDown(reply)) = commands.recv() => {
                let _ = reply.send(Err("this node is not serving yet".into()));
            }
            _ = check.tick() => if !lease.valid() { break Some(TermEnd::LeaseLost) },
        }
    };
    let end = match end {
        Some(end) => end,
        None => {
            serve_clients(
                shared,
                &store,
                epoch,
                &lease,
                commits.clone(),
                events,
                &mut leader,
                stop,
                commands,
            )
            .await?
        }
    };

    // Teardown: stop serving first, then stop replicating.
    shared.ready.store(false, Ordering::Release);
    shared.role.send_replace(Role::NoMaster);
    if end != TermEnd::Stopped && end != TermEnd::SteppedDown {
        lease.revoke();
    }
    let _ = term_stop_tx.send(true);
    if !leader.is_finished()
        && tokio::time::timeout(TEARDOWN_WAIT, &mut leader)
            .await
            .is_err()
    {
        leader.abort();
    }
    shared.replication.send_replace(None);
    let _ = commits.send(Input::Stop);
    drop(commits);
    let joined = tokio::task::spawn_blocking(move || committer.join());
    if tokio::time::timeout(TEARDOWN_WAIT, joined).await.is_err() {
        warn!("the committer did not stop in time");
    }
    lease.revoke();
    match tokio::time::timeout(TEARDOWN_WAIT, zk.resign()).await {
        Ok(Ok(())) => {}
        _ => warn!("could not remove the master znode; it goes with the session"),
    }
    info!(epoch, reason = ?end, "stepped down");
    Ok(end)
}

fn leader_end(end: Result<LeaderEnd, tokio::task::JoinError>) -> TermEnd {
    match end {
        Ok(LeaderEnd::Stale { epoch }) => {
            warn!(newer = epoch, "a replica follows a newer master");
            TermEnd::Stale
        }
        Ok(LeaderEnd::QuorumLost) => TermEnd::QuorumLost,
        Ok(LeaderEnd::Stopped) => TermEnd::Stopped,
        Err(e) => TermEnd::Failed(e.to_string()),
    }
}

/// Phase 2: the router serves clients until the term ends.
#[allow(clippy::too_many_arguments)]
async fn serve_clients(
    shared: &Shared,
    store: &Arc<crate::store::Store>,
    epoch: u64,
    lease: &Lease,
    commits: mpsc::UnboundedSender<Input>,
    events: mpsc::UnboundedReceiver<CommitEvent>,
    leader: &mut tokio::task::JoinHandle<LeaderEnd>,
    stop: &mut watch::Receiver<bool>,
    commands: &mut mpsc::Receiver<Command>,
) -> Result<TermEnd, String> {
    let cc = &shared.cluster;
    let mut recovered = store.recover().map_err(|e| e.to_string())?;
    // Sequence numbers of each epoch start above every earlier epoch's.
    recovered.next_seq = recovered.next_seq.max(epoch << 40);
    let (router_tx, router_rx) = mpsc::channel(super::REQUEST_QUEUE);
    let router = Router::new(
        cc.name().to_owned(),
        store.clone(),
        &recovered,
        shared.metrics.clone(),
        commits,
    )
    .for_master(cc.quorum_timeout);
    let mut router = tokio::spawn(router.run(router_rx, events));
    let (drain_tx, drain) = watch::channel(false);
    let ctx = ConnectionContext {
        router: router_tx.clone(),
        limits: shared.config.limits,
        session: shared.session,
        lease: Some(lease.clone()),
    };
    shared.router.send_replace(Some(router_tx));
    shared.role.send_replace(Role::Serving {
        ctx,
        drain,
        epoch,
        client: shared.client_address(),
    });
    shared.ready.store(true, Ordering::Release);
    info!(
        epoch,
        queues = recovered.queues.len(),
        "serving clients as master"
    );
    let mut check = tokio::time::interval(Duration::from_millis(20));
    let end = loop {
        tokio::select! {
            _ = stopped(stop) => {
                // Drain: connections answer what they sent, the router
                // waits for its commits, then the term ends.
                let _ = drain_tx.send(true);
                shared.router.send_replace(None);
                let limit = DRAIN_TIMEOUT.min(cc.quorum_timeout);
                let _ = tokio::time::timeout(limit, &mut router).await;
                break TermEnd::Stopped;
            }
            end = &mut *leader => break leader_end(end),
            r = &mut router => break TermEnd::Failed(match r {
                Ok(Ok(())) => "the router stopped".into(),
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
            }),
            Some(Command::StepDown(reply)) = commands.recv() => {
                let caught_up = handover(shared, store).await;
                let _ = reply.send(Ok(format!(
                    "stepping down; {}",
                    if caught_up { "a replica is caught up" } else { "no replica caught up in time" }
                )));
                break TermEnd::SteppedDown;
            }
            _ = check.tick() => if !lease.valid() { break TermEnd::LeaseLost },
        }
    };
    shared.router.send_replace(None);
    router.abort();
    Ok(end)
}

/// Stops taking client work, then waits (bounded) until a replica holds
/// every entry, so that the next election picks it.
async fn handover(shared: &Shared, store: &Arc<crate::store::Store>) -> bool {
    shared.ready.store(false, Ordering::Release);
    shared.role.send_replace(Role::NoMaster);
    let deadline = Instant::now() + HANDOVER_WAIT;
    let mut replicas = shared.replicas.subscribe();
    while Instant::now() < deadline {
        let last = store.last_position().map(|p| p.index).unwrap_or(u64::MAX);
        if replicas.borrow().iter().any(|r| r.progress.disk >= last) {
            return true;
        }
        let _ = tokio::time::timeout(Duration::from_millis(50), replicas.changed()).await;
    }
    false
}

/// Completes once `stop` is set.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
