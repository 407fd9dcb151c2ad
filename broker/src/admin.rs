//! Admin HTTP: liveness, readiness, status, Prometheus metrics, and the
//! master's switchover.

use crate::cluster::status::{ClusterView, Command};
use crate::metrics::Metrics;
use crate::router::Request;
use crate::status::Status;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

#[derive(Clone)]
pub struct AdminState {
    /// The router serving clients, if this node serves.
    pub router: watch::Receiver<Option<mpsc::Sender<Request>>>,
    pub metrics: Arc<Metrics>,
    /// Whether the node is ready: serving clients, or a replica
    /// streaming from its master.
    pub ready: Arc<AtomicBool>,
    pub node_id: String,
    /// In a cluster: the node's role, positions and commands.
    pub cluster: Option<ClusterView>,
}

/// Serves the admin endpoints until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AdminState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/step-down", post(step_down))
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn readyz(State(s): State<AdminState>) -> Response {
    let labelled = s.cluster.as_ref().is_none_or(ClusterView::label_in_step);
    if s.ready.load(Ordering::Acquire) && labelled {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn snapshot(s: &AdminState) -> Option<Status> {
    let router = s.router.borrow().clone();
    let mut status = match router {
        Some(router) => {
            let (tx, rx) = oneshot::channel();
            router.send(Request::Status(tx)).await.ok()?;
            rx.await.ok()?
        }
        None if s.cluster.is_some() => Status::default(),
        None => return None,
    };
    status.node_id = s.node_id.clone();
    if let Some(cluster) = &s.cluster {
        status.role = cluster.role_name().into();
        status.cluster = Some(cluster.snapshot());
    }
    Some(status)
}

async fn status(State(s): State<AdminState>) -> Response {
    match snapshot(&s).await {
        Some(status) => Json(status).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "broker is stopping\n").into_response(),
    }
}

async fn metrics(State(s): State<AdminState>) -> Response {
    let status = snapshot(&s).await.unwrap_or_default();
    let body = s.metrics.render(&status);
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `POST /step-down`: the master stops serving, waits (bounded) for a
/// replica to hold every entry, and gives up mastership to it.
async fn step_down(State(s): State<AdminState>) -> Response {
    let Some(cluster) = &s.cluster else {
        return (
            StatusCode::CONFLICT,
            "a standalone broker has no replica to hand over to\n",
        )
            .into_response();
    };
    let (tx, rx) = oneshot::channel();
    if cluster.commands.send(Command::StepDown(tx)).await.is_err() {
        return (StatusCode::SERVICE_UNAVAILABLE, "broker is stopping\n").into_response();
    }
    match rx.await {
        Ok(Ok(message)) => (StatusCode::OK, format!("{message}\n")).into_response(),
        Ok(Err(message)) => (StatusCode::CONFLICT, format!("{message}\n")).into_response(),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "broker is stopping\n").into_response(),
    }
}
