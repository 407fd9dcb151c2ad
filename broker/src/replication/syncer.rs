//! The master's local fsync, on a thread of its own: the committer
//! appends a batch, hands the syncer the index it reached and goes on
//! applying and completing what the quorum committed, while the syncer
//! makes the log durable and publishes how far it got as the master's
//! `disk` progress. Only then can the leader count the master's copy
//! under a `*_disk` policy, so nothing is confirmed before it is on disk.

use super::policy::Progress;
use crate::commit::CommitEvent;
use crate::metrics::Metrics;
use crate::store::Store;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::{mpsc as tokio_mpsc, watch};
use tracing::error;

/// What the syncer thread needs.
pub struct SyncerParts {
    pub store: Arc<Store>,
    /// The master's own progress; a clone of the committer's sender.
    pub progress: watch::Sender<Progress>,
    pub metrics: Arc<Metrics>,
    pub events: tokio_mpsc::UnboundedSender<CommitEvent>,
}

/// Hands appended indexes to the syncer thread; dropping it stops the
/// thread once it has synced what it was given.
pub struct Syncer {
    tx: mpsc::Sender<u64>,
}

impl Syncer {
    pub fn spawn(parts: SyncerParts) -> std::io::Result<Syncer> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("ferromq-fsync".into())
            .spawn(move || run(parts, rx))?;
        Ok(Syncer { tx })
    }

    /// The log holds entries up to `index`: make them durable.
    pub fn appended(&self, index: u64) {
        // A closed channel means the syncer failed; it has reported it.
        let _ = self.tx.send(index);
    }
}

fn run(p: SyncerParts, rx: mpsc::Receiver<u64>) {
    while let Ok(mut upto) = rx.recv() {
        // One fsync covers every append handed over meanwhile.
        while let Ok(more) = rx.try_recv() {
            upto = upto.max(more);
        }
        let started = Instant::now();
        if let Err(e) = p.store.sync() {
            error!(error = %e, "fsync failed; no further writes are possible");
            let _ = p.events.send(CommitEvent::Failed(e.to_string()));
            return;
        }
        p.metrics
            .fsync_seconds
            .observe(started.elapsed().as_secs_f64());
        p.progress.send_modify(|pr| pr.disk = pr.disk.max(upto));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn disk_progress_follows_appends() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (store, _) = Store::open(dir.path())?;
        let (progress, mut rx) = watch::channel(Progress::default());
        let (events, _events_rx) = tokio_mpsc::unbounded_channel();
        let syncer = Syncer::spawn(SyncerParts {
            store: Arc::new(store),
            progress,
            metrics: Arc::new(Metrics::new()),
            events,
        })?;
        syncer.appended(3);
        syncer.appended(7);
        let deadline = Instant::now() + Duration::from_secs(10);
        while rx.borrow_and_update().disk < 7 {
            assert!(Instant::now() < deadline, "disk progress never reached 7");
            std::thread::sleep(Duration::from_millis(5));
        }
        drop(syncer);
        Ok(())
    }
}
