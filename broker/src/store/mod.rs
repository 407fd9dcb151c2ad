//! RocksDB storage: the log of entries and the queue state they apply to.
//!
//! Column families:
//! - `log`: index (big-endian) -> encoded [`Entry`]; kept for a while so
//!   that entries can be shipped to replicas, then trimmed;
//! - `messages`: (queue, seq) -> encoded [`MessageRecord`], the durable
//!   backlog of every queue, read page by page so memory stays flat;
//! - `meta`: the last applied position and the highest epoch accepted;
//! - `epochs`: epoch -> index of its first entry, for finding where two
//!   logs diverge.
//!
//! The store knows nothing of the network or of STOMP.

mod checkpoint;
mod entry;
mod keys;
mod log;
mod summary;
pub mod trim;
mod tuning;

pub use entry::{DecodeError, Entry, MessageRecord, Op, Position};
pub use log::EpochStart;

use rocksdb::{DB, Direction, IteratorMode, WriteBatch, WriteOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use summary::Summary;
use thiserror::Error;

const CF_LOG: &str = "log";
const CF_MESSAGES: &str = "messages";
const CF_META: &str = "meta";
const CF_EPOCHS: &str = "epochs";
const META_APPLIED: &[u8] = b"applied";

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] rocksdb::Error),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("column family {0} is missing")]
    MissingColumnFamily(&'static str),
    #[error("log entry {next} does not follow the last one, {last}")]
    Gap { last: u64, next: u64 },
    #[error("cannot truncate the log to {index}: entries up to {applied} are applied")]
    TruncateApplied { index: u64, applied: u64 },
}

/// What a queue holds on disk when the broker starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOnDisk {
    pub depth: u64,
    pub first_seq: u64,
    pub last_seq: u64,
}

/// The state found on disk at open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// The last entry applied to the queue state.
    pub applied: Position,
    /// One past the highest message sequence number on disk.
    pub next_seq: u64,
    pub queues: BTreeMap<String, QueueOnDisk>,
}

/// The broker's durable state.
pub struct Store {
    db: DB,
    dir: std::path::PathBuf,
    /// The queue state's shape. Writers that apply entries hold the lock
    /// across the write and the update, so a reader never sees one
    /// without the other.
    summary: Mutex<Summary>,
}

impl Store {
    /// Opens (or creates) the store in `dir` and reads what it holds.
    pub fn open(dir: &Path) -> Result<(Store, Recovered), StoreError> {
        let (opts, cfs) = tuning::options(dir);
        let db = DB::open_cf_descriptors(&opts, dir, cfs)?;
        let store = Store {
            db,
            dir: dir.to_path_buf(),
            summary: Mutex::default(),
        };
        store.finish_interrupted_install()?;
        store.rescan()?;
        let recovered = store.recover()?;
        Ok((store, recovered))
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or(StoreError::MissingColumnFamily(name))
    }

    /// The queue state: at open, and when a replica is promoted and its
    /// router starts.
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        let summary = self.summary();
        Ok(Recovered {
            applied: self.applied()?,
            next_seq: summary.next_seq,
            queues: summary.queues.clone(),
        })
    }

    fn summary(&self) -> MutexGuard<'_, Summary> {
        self.summary.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads the queue state's shape from disk again.
    fn rescan(&self) -> Result<(), StoreError> {
        let mut summary = self.summary();
        *summary = Summary::scan(&self.db, self.cf(CF_MESSAGES)?)?;
        Ok(())
    }

    /// Writes `batch`, which applies `entries`, and accounts for them.
    fn write_applying(
        &self,
        batch: WriteBatch,
        entries: &[Entry],
        opts: &WriteOptions,
    ) -> Result<(), StoreError> {
        let mut summary = self.summary();
        self.db.write_opt(batch, opts)?;
        for entry in entries {
            summary.record(&entry.ops);
        }
        Ok(())
    }

    /// Appends `entries` to the log and applies them to the queue state in
    /// one atomic write, fsynced before it returns: one call serves a whole
    /// group commit.
    pub fn commit(&self, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let mut batch = WriteBatch::default();
        let (log, messages) = (self.cf(CF_LOG)?, self.cf(CF_MESSAGES)?);
        let mut buf = Vec::new();
        for entry in entries {
            buf.clear();
            entry.encode(&mut buf);
            batch.put_cf(log, entry.position.index.to_be_bytes(), &buf);
            if entry.ops.first() == Some(&Op::Barrier) {
                // Every epoch opens with a barrier entry.
                batch.put_cf(
                    self.cf(CF_EPOCHS)?,
                    entry.position.epoch.to_be_bytes(),
                    entry.position.index.to_be_bytes(),
                );
            }
            put_ops(&mut batch, messages, &entry.ops, &mut buf);
        }
        batch.put_cf(
            self.cf(CF_META)?,
            META_APPLIED,
            keys::position(last.position),
        );
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.write_applying(batch, entries, &opts)
    }

    /// Reads up to `limit` messages of `queue` with sequence numbers from
    /// `from_seq` on, in order.
    pub fn read_queue(
        &self,
        queue: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let start = keys::message(queue, from_seq);
        let prefix = keys::queue_prefix(queue);
        let mode = IteratorMode::From(&start, Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_MESSAGES)?, mode) {
            let (key, value) = item?;
            if !key.starts_with(&prefix) || out.len() == limit {
                break;
            }
            out.push(MessageRecord::decode(&value)?);
        }
        Ok(out)
    }

    /// Reads the log from `from_index` on, up to `limit` entries.
    pub fn read_log(&self, from_index: u64, limit: usize) -> Result<Vec<Entry>, StoreError> {
        let start = from_index.to_be_bytes();
        let mode = IteratorMode::From(&start, Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_LOG)?, mode).take(limit) {
            let (_, value) = item?;
            out.push(Entry::decode(&value)?);
        }
        Ok(out)
    }

    /// Drops log entries below `index`; their effects live on in the queue
    /// state. Without the WAL, like [`Store::apply`]: a trim then reaches
    /// disk only by an atomic flush, together with every apply written
    /// before it, and a crash that loses those applies loses the trim too,
    /// so the log still holds what must be redone. Trimmed entries mostly
    /// die in the memtable and are never written to a table file.
    pub fn trim_log(&self, index: u64) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(self.cf(CF_LOG)?, 0u64.to_be_bytes(), index.to_be_bytes());
        self.db.write_opt(batch, &unlogged())?;
        Ok(())
    }
}

/// Options for writes that skip the WAL: what they lose in a crash is
/// redone from the log.
fn unlogged() -> WriteOptions {
    let mut opts = WriteOptions::default();
    opts.disable_wal(true);
    opts
}

/// Adds what `ops` do to the queue state to `batch`.
fn put_ops(
    batch: &mut WriteBatch,
    messages: &rocksdb::ColumnFamily,
    ops: &[Op],
    buf: &mut Vec<u8>,
) {
    for op in ops {
        match op {
            Op::Enqueue { queue, message } if message.persistent => {
                buf.clear();
                message.encode(buf);
                batch.put_cf(messages, keys::message(queue, message.seq), &buf);
            }
            Op::Remove { queue, seq } => {
                batch.delete_cf(messages, keys::message(queue, *seq));
            }
            Op::Enqueue { .. } | Op::Barrier => {}
        }
    }
}

#[cfg(test)]
mod crash_tests;
#[cfg(test)]
mod tests;
