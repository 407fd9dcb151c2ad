//! The replicated log's own operations: appending without applying,
//! applying what a quorum committed, truncating a divergent suffix, and
//! the fencing epoch. Standalone brokers use [`Store::commit`] instead,
//! which appends and applies in one synced write.

use super::{CF_EPOCHS, CF_LOG, CF_MESSAGES, CF_META, Store, StoreError, keys};
use super::{DecodeError, Entry, Position};
use bytes::Bytes;
use rocksdb::{Direction, IteratorMode, WriteBatch, WriteOptions};

pub(super) const META_SEEN_EPOCH: &[u8] = b"seen_epoch";

/// Where one epoch starts in the log: `(epoch, first index)`.
pub type EpochStart = (u64, u64);

impl Store {
    /// Appends `entries` to the log without applying them; not synced
    /// (see [`Store::sync`]). Entries must follow the current last one.
    pub fn append(&self, entries: &[Entry]) -> Result<(), StoreError> {
        let raw: Vec<_> = entries.iter().map(|e| (e.position, e.encoded())).collect();
        self.append_raw(&raw)
    }

    /// [`Store::append`] for entries already encoded (as a replica
    /// receives them, and as the master ships them), each with its
    /// position.
    pub fn append_raw<B: AsRef<[u8]>>(&self, entries: &[(Position, B)]) -> Result<(), StoreError> {
        let Some(&(first, _)) = entries.first() else {
            return Ok(());
        };
        let mut batch = WriteBatch::default();
        let (log, epochs) = (self.cf(CF_LOG)?, self.cf(CF_EPOCHS)?);
        let last = self.last_position()?;
        if first.index != last.index + 1 {
            // A gap or an overlap would break the log-matching rule that
            // replication relies on: truncate first, then append.
            return Err(StoreError::Gap {
                last: last.index,
                next: first.index,
            });
        }
        let mut prev_epoch = last.epoch;
        for (at, bytes) in entries {
            batch.put_cf(log, at.index.to_be_bytes(), bytes);
            if at.epoch != prev_epoch {
                batch.put_cf(epochs, at.epoch.to_be_bytes(), at.index.to_be_bytes());
                prev_epoch = at.epoch;
            }
        }
        self.db.write(batch)?;
        Ok(())
    }

    /// Makes every write so far durable: one fsync of RocksDB's WAL.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush_wal(true)?;
        Ok(())
    }

    /// Applies committed entries to the queue state, without the WAL: the
    /// log already holds them, fsynced, and writing them a second time
    /// would only cost. The queue state and its applied position reach
    /// disk by atomic flushes; what a crash loses of them is redone from
    /// the log, since followers and a new master apply from the applied
    /// position on. (Trims skip the WAL too, so a crash never keeps a trim
    /// and loses the applies before it: see [`Store::trim_log`].)
    pub fn apply(&self, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(last) = entries.last() else {
            return Ok(());
        };
        let mut batch = WriteBatch::default();
        let messages = self.cf(CF_MESSAGES)?;
        let mut buf = Vec::new();
        for entry in entries {
            super::put_ops(&mut batch, messages, &entry.ops, &mut buf);
        }
        batch.put_cf(
            self.cf(CF_META)?,
            super::META_APPLIED,
            keys::position(last.position),
        );
        self.write_applying(batch, entries, &super::unlogged())
    }

    /// The last entry in the log, or the applied position when the log
    /// holds nothing newer (an empty store, or one restored from a
    /// checkpoint whose log was trimmed).
    pub fn last_position(&self) -> Result<Position, StoreError> {
        let applied = self.applied()?;
        let mut iter = self.db.iterator_cf(self.cf(CF_LOG)?, IteratorMode::End);
        match iter.next() {
            Some(item) => {
                let (_, value) = item?;
                let p = Entry::position_of(&value)?;
                Ok(if p.index >= applied.index { p } else { applied })
            }
            None => Ok(applied),
        }
    }

    /// The last entry applied to the queue state.
    pub fn applied(&self) -> Result<Position, StoreError> {
        match self.db.get_cf(self.cf(CF_META)?, super::META_APPLIED)? {
            Some(raw) => Ok(keys::decode_position(&raw).ok_or(DecodeError("applied position"))?),
            None => Ok(Position::default()),
        }
    }

    /// The first index still in the log (older entries were trimmed).
    pub fn first_log_index(&self) -> Result<Option<u64>, StoreError> {
        let mut iter = self.db.iterator_cf(self.cf(CF_LOG)?, IteratorMode::Start);
        match iter.next() {
            Some(item) => {
                let (key, _) = item?;
                Ok(Some(index_of(&key)?))
            }
            None => Ok(None),
        }
    }

    /// Where each epoch in the log starts, oldest first.
    pub fn epochs(&self) -> Result<Vec<EpochStart>, StoreError> {
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_EPOCHS)?, IteratorMode::Start)
        {
            let (key, value) = item?;
            out.push((index_of(&key)?, index_of(&value)?));
        }
        Ok(out)
    }

    /// Drops every log entry after `index` (a suffix the master does not
    /// have), synced. Applied entries are never dropped.
    pub fn truncate_after(&self, index: u64) -> Result<(), StoreError> {
        let applied = self.applied()?.index;
        if index < applied {
            return Err(StoreError::TruncateApplied { index, applied });
        }
        let mut batch = WriteBatch::default();
        let (log, epochs) = (self.cf(CF_LOG)?, self.cf(CF_EPOCHS)?);
        batch.delete_range_cf(log, (index + 1).to_be_bytes(), u64::MAX.to_be_bytes());
        for (epoch, first) in self.epochs()? {
            if first > index {
                batch.delete_cf(epochs, epoch.to_be_bytes());
            }
        }
        self.write_synced(batch)
    }

    /// Raw log entries from `from` on, as stored: what a master ships.
    pub fn read_log_raw(&self, from: u64, limit: usize) -> Result<Vec<Bytes>, StoreError> {
        let start = from.to_be_bytes();
        let mode = IteratorMode::From(&start, Direction::Forward);
        let mut out = Vec::new();
        for item in self.db.iterator_cf(self.cf(CF_LOG)?, mode).take(limit) {
            let (_, value) = item?;
            out.push(Bytes::from(value.into_vec()));
        }
        Ok(out)
    }

    /// The highest epoch this node has accepted a master of.
    pub fn seen_epoch(&self) -> Result<u64, StoreError> {
        match self.db.get_cf(self.cf(CF_META)?, META_SEEN_EPOCH)? {
            Some(raw) => Ok(index_of(&raw)?),
            None => Ok(0),
        }
    }

    /// Records that a master of `epoch` was accepted, synced: from now on
    /// older masters are refused.
    pub fn set_seen_epoch(&self, epoch: u64) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_META)?, META_SEEN_EPOCH, epoch.to_be_bytes());
        self.write_synced(batch)
    }

    pub(super) fn write_synced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        Ok(())
    }
}

fn index_of(raw: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = raw.try_into().map_err(|_| DecodeError("log index"))?;
    Ok(u64::from_be_bytes(bytes))
}
