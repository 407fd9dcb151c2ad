//! The operator's admin HTTP endpoint, for the Deployment's probes and for
//! Prometheus:
//!
//! - `GET /livez`: 200 while the process runs;
//! - `GET /readyz`: 200 once the controller has listed ReplicatedBrokers
//!   from the API server and its watch has synced at least once, 503 before;
//! - `GET /metrics`: Prometheus (OpenMetrics) text, see [`metrics`].

pub mod metrics;

pub use metrics::{Metrics, Outcome};

use crate::crd::ReplicatedBroker;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kube::runtime::reflector::Store;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use thiserror::Error;
use tokio::net::TcpListener;

/// Where the admin endpoint listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the controller tells the admin endpoint: whether it is ready, its
/// metrics, and its cache of ReplicatedBrokers (counted at each scrape).
#[derive(Default)]
pub struct Telemetry {
    ready: AtomicBool,
    pub metrics: Metrics,
    brokers: OnceLock<Store<ReplicatedBroker>>,
}

impl Telemetry {
    /// Marks the controller ready. Readiness is not taken back when a watch
    /// later fails: the watcher retries on its own, and restarting the pod
    /// would not reach the API server any sooner.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Gives the controller's cache of ReplicatedBrokers, whose size is the
    /// `managed_resources` gauge. Only the first call counts.
    pub fn watch(&self, brokers: Store<ReplicatedBroker>) {
        let _ = self.brokers.set(brokers);
    }

    /// The metrics as text, with the gauge of managed resources fresh.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        if let Some(brokers) = self.brokers.get() {
            self.metrics.set_managed(brokers.state().len());
        }
        self.metrics.render()
    }
}

/// The admin endpoint could not start or stopped.
#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot listen on {address} (--admin-listen): {source}")]
    Bind {
        address: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("the admin endpoint stopped: {0}")]
    Serve(#[source] std::io::Error),
}

/// Binds the admin listener, so a taken port fails before anything else
/// starts.
pub async fn bind(address: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(address)
        .await
        .map_err(|source| Error::Bind { address, source })
}

/// Serves the admin endpoint on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, telemetry: Arc<Telemetry>) -> Result<(), Error> {
    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "admin endpoint listening");
    }
    axum::serve(listener, router(telemetry))
        .await
        .map_err(Error::Serve)
}

/// The routes, over the shared telemetry.
pub fn router(telemetry: Arc<Telemetry>) -> Router {
    Router::new()
        .route("/livez", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(telemetry)
}

async fn readyz(State(t): State<Arc<Telemetry>>) -> Response {
    if t.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "waiting for the first sync of ReplicatedBrokers with the API server\n",
        )
            .into_response()
    }
}

async fn metrics(State(t): State<Arc<Telemetry>>) -> Response {
    match t.render() {
        Ok(body) => ([(header::CONTENT_TYPE, OPENMETRICS)], body).into_response(),
        Err(error) => {
            tracing::warn!(%error, "cannot encode the metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// `GET path` over a fresh connection; the status code and the body.
    async fn get(address: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut response = String::new();
        stream.read_to_string(&mut response).await?;
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let code = head
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        Ok((code, body.to_string()))
    }

    #[tokio::test]
    async fn probes_and_metrics_over_http() -> Result<(), Box<dyn std::error::Error>> {
        let listener = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = listener.local_addr()?;
        let telemetry = Arc::new(Telemetry::default());
        let server = tokio::spawn(serve(listener, telemetry.clone()));

        assert_eq!(get(address, "/livez").await?, (200, "ok\n".into()));
        let (code, body) = get(address, "/readyz").await?;
        assert_eq!(code, 503, "{body}");
        assert!(body.contains("first sync"), "{body}");

        telemetry.set_ready();
        assert_eq!(get(address, "/readyz").await?, (200, "ready\n".into()));

        telemetry
            .metrics
            .reconciled(Outcome::Error("invalid_spec"), std::time::Duration::ZERO);
        let (code, body) = get(address, "/metrics").await?;
        assert_eq!(code, 200);
        assert!(
            body.contains("ferromq_operator_reconcile_errors_total{error=\"invalid_spec\"} 1"),
            "{body}"
        );
        assert_eq!(get(address, "/nope").await?.0, 404);
        server.abort();
        Ok(())
    }

    #[tokio::test]
    async fn a_taken_port_names_the_flag() -> Result<(), Box<dyn std::error::Error>> {
        let taken = bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let address = taken.local_addr()?;
        let error = bind(address).await.err().ok_or("bound a taken port")?;
        assert!(
            error
                .to_string()
                .starts_with(&format!("cannot listen on {address} (--admin-listen): ")),
            "{error}"
        );
        Ok(())
    }
}
