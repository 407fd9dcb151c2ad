//! Admin HTTP: liveness, readiness, status and Prometheus metrics.

use crate::metrics::Metrics;
use crate::router::Request;
use crate::status::Status;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

#[derive(Clone)]
pub struct AdminState {
    pub router: mpsc::Sender<Request>,
    pub metrics: Arc<Metrics>,
    /// Whether the broker serves clients.
    pub ready: Arc<AtomicBool>,
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
        .with_state(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn readyz(State(s): State<AdminState>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n").into_response()
    }
}

async fn snapshot(s: &AdminState) -> Option<Status> {
    let (tx, rx) = oneshot::channel();
    s.router.send(Request::Status(tx)).await.ok()?;
    rx.await.ok()
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
