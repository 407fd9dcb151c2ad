//! Producers on ferromq-client, the failover client applications use:
//! `send_async` keeps up to `window` SENDs waiting for receipts, as the
//! bench's own producers do on a raw connection, so the two are measured
//! the same way.
//!
//! A SEND counts from the moment it is handed to the client (after a
//! place in the window was free) to its receipt, like the raw producer's
//! from queueing the frame. The bench holds its own window of `window`
//! permits, taken before a SEND is stamped and given back when its
//! receipt is seen, so that the end-to-end stamp is not taken while the
//! SEND still waits for room.

use crate::client::Endpoint;
use crate::produce::{ProducerSpec, ProducerStats, Quota, STAMP_HEADER, new_histogram, record};
use anyhow::{Context, Result, anyhow};
use ferromq_client::{Client, ConnectOptions, Headers, Receipt};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

/// Connects one client through `url` (a failover URL, or `tcp://...`).
/// `max_in_flight` is the window, so the client never holds a SEND back
/// that the bench's own window let through.
pub async fn connect(url: &str, ep: &Endpoint, window: usize) -> Result<Client> {
    let options = ConnectOptions {
        login: Some(ep.login.clone()),
        passcode: Some(ep.passcode.clone()),
        max_in_flight: window,
        ..ConnectOptions::default()
    };
    Client::connect(url, options)
        .await
        .with_context(|| format!("connecting ferromq-client to {url}"))
}

/// A SEND handed to the client, waiting for its receipt.
struct InFlight {
    sent_at: Instant,
    receipt: Receipt,
    _permit: OwnedSemaphorePermit,
}

/// Sends until the quota runs out, up to `spec.window` in flight, then
/// waits for the last receipts and disconnects.
pub async fn run_producer(
    client: Client,
    spec: ProducerSpec,
    quota: Arc<Quota>,
) -> Result<ProducerStats> {
    let window = Arc::new(Semaphore::new(spec.window.max(1)));
    // Unbounded, but never holds more than `window` entries: each one
    // carries a permit.
    let (tx, rx) = mpsc::unbounded_channel::<InFlight>();
    let collector = tokio::spawn(collect(rx));
    while quota.take() {
        let permit = Arc::clone(&window)
            .acquire_owned()
            .await
            .context("the window closed")?;
        let mut headers = Headers::new();
        for (k, v) in spec.extra {
            headers.push(*k, *v);
        }
        if let Some(stamping) = &spec.stamping {
            let us = stamping.base.elapsed().as_micros().to_string();
            headers.push(STAMP_HEADER, us);
            stamping.sent.fetch_add(1, Ordering::Relaxed);
        }
        let receipt = client
            .send_async(&spec.destination, headers, spec.body.clone())
            .await
            .context("send_async")?;
        let entry = InFlight {
            sent_at: Instant::now(),
            receipt,
            _permit: permit,
        };
        if tx.send(entry).is_err() {
            // The collector stopped on a failed receipt; it says why.
            break;
        }
    }
    drop(tx);
    let stats = collector.await.context("receipt collector panicked")??;
    client
        .disconnect()
        .await
        .map_err(|e| anyhow!("DISCONNECT: {e}"))?;
    Ok(stats)
}

/// Awaits the receipts in the order the SENDs were made: one connection
/// receipts in order, so the wait for one is never behind a later one.
async fn collect(mut rx: mpsc::UnboundedReceiver<InFlight>) -> Result<ProducerStats> {
    let mut stats = ProducerStats {
        acked: 0,
        latency: new_histogram()?,
        last_receipt: None,
    };
    while let Some(entry) = rx.recv().await {
        entry
            .receipt
            .await
            .map_err(|e| anyhow!("a SEND was not receipted: {e}"))?;
        record(&mut stats.latency, entry.sent_at);
        stats.acked += 1;
        stats.last_receipt = Some(Instant::now());
    }
    Ok(stats)
}
