//! A broker node in a replicated cluster: the listeners, the node loop
//! that follows ZooKeeper's election, and the shared state they use.

mod node;
pub mod pod_label;
pub mod role;
pub mod status;
mod term;

use crate::admin::{self, AdminState};
use crate::config::{ClusterConfig, Config};
use crate::connection::SessionConfig;
use crate::election::records::{NodeRecord, NodeState};
use crate::metrics::Metrics;
use crate::replication::follower::FollowState;
use crate::replication::leader::ReplicaView;
use crate::router::Request;
use crate::server::ServerError;
use crate::store::{Position, Store};
use role::Role;
use status::ClusterView;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

/// Requests queued from connections to the router before senders wait.
pub(crate) const REQUEST_QUEUE: usize = 8192;

/// What the node loop, the masters it becomes and the listeners share.
pub struct Shared {
    pub config: Config,
    pub cluster: ClusterConfig,
    pub session: SessionConfig,
    pub store: Arc<Store>,
    pub metrics: Arc<Metrics>,
    pub role: watch::Sender<Role>,
    pub ready: Arc<AtomicBool>,
    /// Where the replication listener hands replica connections: the
    /// current master term's leader, if any.
    pub replication: watch::Sender<Option<mpsc::Sender<TcpStream>>>,
    /// The serving router, for status.
    pub router: watch::Sender<Option<mpsc::Sender<Request>>>,
    pub commit: watch::Sender<u64>,
    pub replicas: watch::Sender<Vec<ReplicaView>>,
    pub follow: watch::Sender<FollowState>,
}

impl Shared {
    /// The STOMP address clients use for this node.
    pub fn client_address(&self) -> String {
        format!("{}:{}", self.cluster.hostname, self.config.listen.port())
    }

    /// This node's ZooKeeper record in `state`.
    pub fn record(&self, state: NodeState, position: Position, zk_epoch: u64) -> NodeRecord {
        let host = &self.cluster.hostname;
        NodeRecord {
            id: self.config.node_id.clone(),
            client: self.client_address(),
            replication: format!("{host}:{}", self.cluster.bind.port()),
            admin: format!("{host}:{}", self.config.admin_listen.port()),
            weight: self.cluster.weight,
            state,
            position,
            zk_epoch,
            eligible: true,
            pod_uid: self.cluster.pod.as_ref().and_then(|p| p.uid.clone()),
        }
    }
}

/// Runs a cluster node until `stop` completes.
pub async fn run(
    config: Config,
    cluster: ClusterConfig,
    stop: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let store = crate::server::open_store(&config)?;
    let listen = crate::server::listen;
    let stomp = listen(config.listen).await?;
    let admin_listener = listen(config.admin_listen).await?;
    let replication_listener = listen(cluster.bind).await?;
    let (role, role_rx) = watch::channel(Role::NoMaster);
    let shared = Arc::new(Shared {
        session: SessionConfig {
            heart_beat: config.heart_beat,
            default_prefetch: config.default_prefetch,
        },
        store: store.clone(),
        metrics: Arc::new(Metrics::new()),
        role,
        ready: Arc::new(AtomicBool::new(false)),
        replication: watch::channel(None).0,
        router: watch::channel(None).0,
        commit: watch::channel(0).0,
        replicas: watch::channel(Vec::new()).0,
        follow: watch::channel(FollowState::default()).0,
        config,
        cluster,
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let labeller = match &shared.cluster.pod {
        Some(pod) => Some(pod_label::Labeller::connect(pod).await?),
        None => None,
    };
    let (label_tx, label_rx) = watch::channel(None);
    let label = labeller.map(|l| {
        let task = tokio::spawn(l.run(role_rx.clone(), label_tx, stop_rx.clone()));
        (task, label_rx)
    });
    let (commands_tx, commands) = mpsc::channel(8);
    let view = ClusterView {
        node_id: shared.config.node_id.clone(),
        quorum: shared.cluster.quorum(),
        store,
        role: role_rx.clone(),
        follow: shared.follow.subscribe(),
        commit: shared.commit.subscribe(),
        replicas: shared.replicas.subscribe(),
        commands: commands_tx,
        label: label.as_ref().map(|(_, rx)| rx.clone()),
    };
    let admin_state = AdminState {
        router: shared.router.subscribe(),
        metrics: shared.metrics.clone(),
        ready: shared.ready.clone(),
        node_id: shared.config.node_id.clone(),
        cluster: Some(view),
    };
    let mut admin_stop = stop_rx.clone();
    let admin = tokio::spawn(admin::serve(admin_listener, admin_state, async move {
        let _ = admin_stop.wait_for(|s| *s).await;
    }));
    let clients = tokio::spawn(role::accept(
        stomp,
        role_rx,
        shared.config.limits,
        stop_rx.clone(),
    ));
    let replication = tokio::spawn(accept_replicas(
        replication_listener,
        shared.replication.subscribe(),
        stop_rx.clone(),
    ));
    info!(
        node_id = %shared.config.node_id,
        listen = %shared.config.listen,
        bind = %shared.cluster.bind,
        zk = %shared.cluster.zk_address,
        zk_path = %shared.cluster.zk_path,
        replicas = shared.cluster.replicas,
        sync = %shared.cluster.sync,
        "cluster node starting"
    );
    let node = tokio::spawn(node::run(shared.clone(), stop_rx, commands));
    stop.await;
    let _ = stop_tx.send(true);
    if let Err(e) = node.await {
        warn!(error = %e, "node loop failed");
    }
    let _ = stop_tx.send(true);
    // Bounded: an idle keep-alive HTTP connection must not hold the exit.
    let wait = std::time::Duration::from_secs(5);
    let _ = tokio::time::timeout(wait, clients).await;
    let _ = tokio::time::timeout(wait, replication).await;
    let _ = tokio::time::timeout(wait, admin).await;
    if let Some((task, _)) = label {
        let _ = tokio::time::timeout(wait, task).await;
    }
    info!("stopped");
    Ok(())
}

/// Hands each replica connection to the current master term, or drops it
/// when this node is not master.
async fn accept_replicas(
    listener: TcpListener,
    target: watch::Receiver<Option<mpsc::Sender<TcpStream>>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let to = target.borrow().clone();
                    if let Some(to) = to {
                        let _ = to.try_send(stream);
                    }
                }
                Err(e) => warn!(error = %e, "replication accept failed"),
            },
        }
    }
}
