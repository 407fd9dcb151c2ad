//! Catch-up by checkpoint, for a replica whose missing entries the
//! master's log no longer holds: the master takes a RocksDB checkpoint (a
//! consistent copy of its files, hard-linked where it can), ships the
//! files, and the replica loads them in place of its own state.
//!
//! Loading is crash-safe: a marker is fsynced before the old state is
//! cleared and removed in the same synced write that completes the new
//! one; a store found with the marker at open is emptied, and the
//! replica catches up again.

use super::{CF_EPOCHS, CF_LOG, CF_MESSAGES, CF_META, META_APPLIED, Store, StoreError};
use rocksdb::{IteratorMode, WriteBatch, WriteOptions};
use std::path::{Path, PathBuf};
use tracing::warn;

const META_INSTALLING: &[u8] = b"installing";
/// Bytes written per batch while loading a checkpoint.
const LOAD_BATCH: usize = 4 << 20;

impl Store {
    /// A directory inside the data directory for checkpoint files, named
    /// `name`; emptied first. It sits on the same filesystem, so that
    /// RocksDB can hard-link instead of copying.
    pub fn scratch_dir(&self, name: &str) -> Result<PathBuf, StoreError> {
        let dir = self.dir.join(".checkpoints").join(name);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        if let Some(parent) = dir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(dir)
    }

    /// Writes a consistent checkpoint of the whole store into `dir`
    /// (which must not exist yet).
    pub fn checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        rocksdb::checkpoint::Checkpoint::new(&self.db)?.create_checkpoint(dir)?;
        Ok(())
    }

    /// Replaces this store's log, queue state and epochs with those of the
    /// checkpoint in `dir`. The highest epoch seen only ever grows.
    pub fn load_checkpoint(&self, dir: &Path) -> Result<(), StoreError> {
        let (other, _) = Store::open(dir)?;
        let seen = self.seen_epoch()?.max(other.seen_epoch()?);
        let mut marker = WriteBatch::default();
        marker.put_cf(self.cf(CF_META)?, META_INSTALLING, b"1");
        self.write_synced(marker)?;
        self.clear()?;
        for name in [CF_LOG, CF_MESSAGES, CF_EPOCHS] {
            let (from, to) = (other.cf(name)?, self.cf(name)?);
            let mut batch = WriteBatch::default();
            for item in other.db.iterator_cf(from, IteratorMode::Start) {
                let (key, value) = item?;
                batch.put_cf(to, key, value);
                if batch.size_in_bytes() >= LOAD_BATCH {
                    self.db.write(std::mem::take(&mut batch))?;
                }
            }
            self.db.write(batch)?;
        }
        let mut done = WriteBatch::default();
        let meta = self.cf(CF_META)?;
        done.put_cf(meta, META_APPLIED, super::keys::position(other.applied()?));
        done.put_cf(meta, super::log::META_SEEN_EPOCH, seen.to_be_bytes());
        done.delete_cf(meta, META_INSTALLING);
        self.write_synced(done)?;
        self.rescan()
    }

    /// Empties a store whose checkpoint load was interrupted.
    pub(super) fn finish_interrupted_install(&self) -> Result<(), StoreError> {
        if self
            .db
            .get_cf(self.cf(CF_META)?, META_INSTALLING)?
            .is_none()
        {
            return Ok(());
        }
        warn!("a checkpoint load was interrupted: starting empty, to catch up again");
        self.clear()?;
        let mut done = WriteBatch::default();
        done.delete_cf(self.cf(CF_META)?, META_INSTALLING);
        self.write_synced(done)
    }

    /// Deletes every log entry, message, epoch and the applied position.
    fn clear(&self) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let max = u64::MAX.to_be_bytes();
        batch.delete_range_cf(self.cf(CF_LOG)?, 0u64.to_be_bytes(), max);
        batch.delete_range_cf(self.cf(CF_EPOCHS)?, 0u64.to_be_bytes(), max);
        // Message keys start with a big-endian u16 name length.
        batch.delete_range_cf(self.cf(CF_MESSAGES)?, &[0u8][..], &[0xffu8; 3][..]);
        batch.delete_cf(self.cf(CF_META)?, META_APPLIED);
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts)?;
        Ok(())
    }
}
