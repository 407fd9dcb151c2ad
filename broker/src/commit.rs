//! Group commit: one thread turns the router's proposals into log entries
//! and writes them, many per fsync.
//!
//! Proposals complete strictly in the order they were made, durable or
//! not, so receipts and deliveries never overtake what came before them.
//! While one batch is being written the next one gathers in the channel:
//! the busier the broker, the more clients share each fsync.

use crate::metrics::Metrics;
use crate::store::trim::{self, Trimmer};
use crate::store::{Entry, Op, Position, Store};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;
use tracing::{debug, error};

/// The most proposals written in one batch.
const MAX_BATCH: usize = 4096;

/// Operations that take effect together once committed.
#[derive(Debug)]
pub struct Proposal {
    pub ops: Vec<Op>,
    /// Whether the operations change durable state and must reach disk.
    pub durable: bool,
}

/// What the committer is told: new work, or (in a cluster) how far the
/// quorum has committed.
#[derive(Debug)]
pub enum Input {
    Propose(Proposal),
    /// Entries up to this index are committed on a quorum.
    Commit(u64),
    /// The mastership ends: finish the batch at hand, then stop.
    Stop,
}

/// What the committer reports back, in proposal order.
#[derive(Debug)]
pub enum CommitEvent {
    /// The next `n` proposals are committed.
    Committed(usize),
    /// The store failed: nothing more can be made durable.
    Failed(String),
}

/// Starts the committer of a standalone broker, where the local fsync is
/// the whole quorum. Entries continue the log after `last`, in `epoch`.
pub fn spawn(
    store: Arc<Store>,
    last: Position,
    epoch: u64,
    metrics: Arc<Metrics>,
    events: mpsc::UnboundedSender<CommitEvent>,
) -> std::io::Result<(mpsc::UnboundedSender<Input>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let handle = std::thread::Builder::new()
        .name("ferromq-commit".into())
        .spawn(move || run(store, last.index, epoch, metrics, rx, events))?;
    Ok((tx, handle))
}

fn run(
    store: Arc<Store>,
    mut index: u64,
    epoch: u64,
    metrics: Arc<Metrics>,
    mut rx: mpsc::UnboundedReceiver<Input>,
    events: mpsc::UnboundedSender<CommitEvent>,
) {
    let mut batch = Vec::new();
    let mut trim = Trimmer::new(trim::DEFAULT_RETAIN, index);
    while let Some(first) = rx.blocking_recv() {
        if let Input::Propose(p) = first {
            batch.push(p);
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Input::Propose(p)) => batch.push(p),
                Ok(Input::Commit(_) | Input::Stop) => {}
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let count = batch.len();
        let entries: Vec<Entry> = batch
            .drain(..)
            .filter(|p| p.durable)
            .map(|p| {
                index += 1;
                Entry {
                    position: Position { epoch, index },
                    ops: p.ops,
                }
            })
            .collect();
        if !entries.is_empty() {
            let started = Instant::now();
            if let Err(e) = store.commit(&entries) {
                error!(error = %e, "commit failed; no further writes are possible");
                let _ = events.send(CommitEvent::Failed(e.to_string()));
                return;
            }
            metrics
                .fsync_seconds
                .observe(started.elapsed().as_secs_f64());
            metrics.commit_batch_entries.observe(entries.len() as f64);
            debug!(entries = entries.len(), proposals = count, "group commit");
        }
        if events.send(CommitEvent::Committed(count)).is_err() {
            return;
        }
        if let Some(below) = trim.due(index)
            && let Err(e) = store.trim_log(below)
        {
            error!(error = %e, "log trim failed");
        }
    }
}
