//! The master's committer: group commit with the quorum in the loop.
//!
//! One thread numbers proposals into log entries, appends each batch (one
//! write), lets the replication senders ship it and hands it to the
//! syncer thread, which fsyncs it locally while the replicas do the same:
//! the local fsync, the replicas' round trip and this thread's own work
//! overlap. When the leader reports a higher commit index the thread
//! applies the committed entries to the queue state and completes their
//! proposals, strictly in proposal order, and only while the lease holds:
//! a master that may have lost its ZooKeeper session confirms nothing.

use super::policy::Progress;
use super::recent::Recent;
use super::syncer::{Syncer, SyncerParts};
use crate::commit::{CommitEvent, Input};
use crate::lease::Lease;
use crate::metrics::Metrics;
use crate::store::trim::Trimmer;
use crate::store::{Entry, Position, Store};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tracing::error;

const MAX_BATCH: usize = 4096;

/// What the committer starts from.
pub struct Start {
    pub store: Arc<Store>,
    pub epoch: u64,
    /// The last entry in the log.
    pub last: Position,
    /// Entries after the applied position, not yet known to be committed
    /// (they will be, through this epoch's barrier).
    pub unapplied: Vec<Entry>,
    pub local_disk: bool,
    /// Log entries kept behind the applied one, for replicas to catch up;
    /// a replica further behind gets a checkpoint.
    pub log_retain: u64,
    pub lease: Lease,
    pub metrics: Arc<Metrics>,
    pub events: mpsc::UnboundedSender<CommitEvent>,
    /// How far the local log got, for the leader and the senders.
    pub progress: watch::Sender<Progress>,
    /// The newest entries as appended, for the senders.
    pub recent: Arc<Recent>,
}

/// Starts the committer thread.
pub fn spawn(
    start: Start,
) -> std::io::Result<(mpsc::UnboundedSender<Input>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let syncer = match start.local_disk {
        true => Some(Syncer::spawn(SyncerParts {
            store: start.store.clone(),
            progress: start.progress.clone(),
            metrics: start.metrics.clone(),
            events: start.events.clone(),
        })?),
        false => None,
    };
    let handle = std::thread::Builder::new()
        .name("ferromq-commit".into())
        .spawn(move || Committer::new(start, syncer).run(rx))?;
    Ok((tx, handle))
}

struct Committer {
    s: Start,
    /// Fsyncs appended entries, when the policy wants the local disk.
    syncer: Option<Syncer>,
    index: u64,
    commit: u64,
    applied: u64,
    /// One slot per proposal in order: the index of its entry, or `None`
    /// for a proposal with nothing to write.
    slots: VecDeque<Option<u64>>,
    unapplied: VecDeque<Entry>,
    /// Proposals complete but not yet reported (the lease lapsed).
    held: usize,
    trim: Trimmer,
}

impl Committer {
    fn new(mut s: Start, syncer: Option<Syncer>) -> Self {
        let unapplied: VecDeque<Entry> = std::mem::take(&mut s.unapplied).into();
        let applied = unapplied
            .front()
            .map(|e| e.position.index - 1)
            .unwrap_or(s.last.index);
        Committer {
            index: s.last.index,
            commit: applied,
            applied,
            slots: VecDeque::new(),
            unapplied,
            held: 0,
            trim: Trimmer::new(s.log_retain, applied),
            s,
            syncer,
        }
    }

    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        let mut batch = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(i) => batch.push(i),
                    Err(_) => break,
                }
            }
            let stop = batch.iter().any(|i| matches!(i, Input::Stop));
            if let Err(e) = self.step(&mut batch) {
                error!(error = %e, "the store failed; no further writes are possible");
                let _ = self.s.events.send(CommitEvent::Failed(e.to_string()));
                return;
            }
            if self.held > 0 && self.s.lease.valid() {
                if self
                    .s
                    .events
                    .send(CommitEvent::Committed(self.held))
                    .is_err()
                {
                    return;
                }
                self.held = 0;
            }
            if stop {
                return;
            }
        }
    }

    fn step(&mut self, batch: &mut Vec<Input>) -> Result<(), crate::store::StoreError> {
        let mut entries = Vec::new();
        for input in batch.drain(..) {
            match input {
                Input::Propose(p) if p.durable => {
                    self.index += 1;
                    self.slots.push_back(Some(self.index));
                    entries.push(Entry {
                        position: Position {
                            epoch: self.s.epoch,
                            index: self.index,
                        },
                        ops: p.ops,
                    });
                }
                Input::Propose(_) => self.slots.push_back(None),
                Input::Commit(c) => self.commit = self.commit.max(c),
                Input::Stop => {}
            }
        }
        if let Some(first) = entries.first().map(|e| e.position.index) {
            // Encoded once: the same bytes go to the log and, from memory,
            // to every replica.
            let raw: Vec<(Position, Bytes)> =
                entries.iter().map(|e| (e.position, e.encoded())).collect();
            self.s.store.append_raw(&raw)?;
            self.s.recent.push(first, raw.into_iter().map(|(_, b)| b));
            self.s.progress.send_modify(|p| p.mem = self.index);
            if let Some(syncer) = &self.syncer {
                syncer.appended(self.index);
            }
            let m = &self.s.metrics;
            m.commit_batch_entries.observe(entries.len() as f64);
            self.unapplied.extend(entries);
        }
        self.apply()?;
        self.complete();
        self.trim()
    }

    /// Applies every entry the quorum committed.
    fn apply(&mut self) -> Result<(), crate::store::StoreError> {
        let upto = self.commit.min(self.index);
        if upto <= self.applied {
            return Ok(());
        }
        let done = super::take_committed(&mut self.unapplied, upto);
        self.s.store.apply(&done)?;
        self.applied = upto;
        Ok(())
    }

    /// Completes proposals, in order, whose entries are applied.
    fn complete(&mut self) {
        while let Some(slot) = self.slots.front() {
            match slot {
                Some(i) if *i > self.applied => break,
                _ => {
                    self.slots.pop_front();
                    self.held += 1;
                }
            }
        }
    }

    fn trim(&mut self) -> Result<(), crate::store::StoreError> {
        match self.trim.due(self.applied) {
            Some(below) => self.s.store.trim_log(below),
            None => Ok(()),
        }
    }
}
