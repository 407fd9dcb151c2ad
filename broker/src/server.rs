//! Wires the broker together: store, committer, router, listeners, and an
//! orderly shutdown.

use crate::admin::{self, AdminState};
use crate::cluster::REQUEST_QUEUE;
use crate::commit;
use crate::config::Config;
use crate::connection::{self, ConnectionContext, SessionConfig};
use crate::metrics::Metrics;
use crate::router::Router;
use crate::store::{Store, StoreError};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tracing::{info, warn};

/// How long shutdown waits for connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot open the store in {dir}: {source}")]
    Store { dir: String, source: StoreError },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot start the committer: {0}")]
    Committer(std::io::Error),
    #[error(transparent)]
    Router(#[from] crate::router::RouterError),
    #[error(transparent)]
    PodLabel(#[from] crate::cluster::pod_label::LabelError),
}

/// Runs the broker until `stop` completes, then drains: stops accepting,
/// lets connections finish what they asked, waits for every commit.
pub async fn run(config: Config, stop: impl Future<Output = ()>) -> Result<(), ServerError> {
    if let Some(cluster) = config.cluster.clone() {
        return crate::cluster::run(config, cluster, stop).await;
    }
    let (store, recovered) = open(&config)?;
    let epoch = recovered.applied.epoch + 1;
    info!(
        data_dir = %config.data_dir.display(),
        epoch,
        queues = recovered.queues.len(),
        "store opened"
    );
    let stomp = listen(config.listen).await?;
    let admin_listener = listen(config.admin_listen).await?;

    let metrics = Arc::new(Metrics::new());
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (commits, committer) = commit::spawn(
        store.clone(),
        recovered.applied,
        epoch,
        metrics.clone(),
        events_tx,
    )
    .map_err(ServerError::Committer)?;
    let (router_tx, router_rx) = mpsc::channel(REQUEST_QUEUE);
    let router = Router::new(
        config.node_id.clone(),
        store,
        &recovered,
        metrics.clone(),
        commits,
    );
    let router = tokio::spawn(router.run(router_rx, events_rx));

    let ready = Arc::new(AtomicBool::new(false));
    let (shutdown_tx, shutdown) = watch::channel(false);
    let admin_state = AdminState {
        router: watch::channel(Some(router_tx.clone())).1,
        metrics,
        ready: ready.clone(),
        node_id: config.node_id.clone(),
        cluster: None,
    };
    let mut admin_stop = shutdown.clone();
    let admin = tokio::spawn(admin::serve(admin_listener, admin_state, async move {
        let _ = admin_stop.wait_for(|s| *s).await;
    }));

    let ctx = ConnectionContext {
        router: router_tx,
        limits: config.limits,
        session: SessionConfig {
            heart_beat: config.heart_beat,
            default_prefetch: config.default_prefetch,
        },
        lease: None,
    };
    ready.store(true, Ordering::Release);
    info!(listen = %config.listen, admin = %config.admin_listen, node_id = %config.node_id, "serving");
    let mut connections = JoinSet::new();
    let mut next_conn = 1;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = stomp.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(connection::serve(stream, next_conn, ctx.clone(), shutdown.clone()));
                    next_conn += 1;
                }
                Err(e) => warn!(error = %e, "accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }

    info!(connections = connections.len(), "draining");
    ready.store(false, Ordering::Release);
    drop(stomp);
    let _ = shutdown_tx.send(true);
    drop(ctx);
    if tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        warn!("connections did not close in time");
        connections.shutdown().await;
    }
    let _ = admin.await;
    let result = match router.await {
        Ok(r) => r.map_err(ServerError::from),
        Err(e) => {
            warn!(error = %e, "router task failed");
            Ok(())
        }
    };
    let _ = tokio::task::spawn_blocking(move || committer.join()).await;
    info!("stopped");
    result
}

fn open(config: &Config) -> Result<(Arc<Store>, crate::store::Recovered), ServerError> {
    let store_err = |source| ServerError::Store {
        dir: config.data_dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(&config.data_dir).map_err(|e| store_err(StoreError::Io(e)))?;
    let (store, recovered) = Store::open(&config.data_dir).map_err(store_err)?;
    Ok((Arc::new(store), recovered))
}

/// Opens the store in the configured data directory.
pub fn open_store(config: &Config) -> Result<Arc<Store>, ServerError> {
    open(config).map(|(store, _)| store)
}

/// Binds a listener, naming the address when it cannot.
pub async fn listen(addr: std::net::SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Listen {
            addr: addr.to_string(),
            source,
        })
}
