//! How the store sets RocksDB up: memory for memtables, flushes that cut
//! every column family at one point, and table files written past the
//! page cache where the filesystem allows it.

use super::{CF_EPOCHS, CF_LOG, CF_MESSAGES, CF_META};
use rocksdb::{ColumnFamilyDescriptor, Options};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use tracing::info;

/// Memory for RocksDB memtables, all column families together.
const MEMTABLE_BUDGET: usize = 128 << 20;
/// The log's memtable: several times what the log keeps (see
/// [`super::trim`]), so that most entries are trimmed while still in
/// memory and a flush drops them instead of writing them to a table file.
const LOG_MEMTABLE: usize = 64 << 20;
const MESSAGES_MEMTABLE: usize = 32 << 20;
const SMALL_MEMTABLE: usize = 4 << 20;
const PROBE: &str = ".direct-io-probe";
/// What `O_DIRECT` writes must be aligned to, on any common device.
const BLOCK: usize = 4096;

/// The options to open the store in `dir` with, and its column families.
pub(super) fn options(dir: &Path) -> (Options, Vec<ColumnFamilyDescriptor>) {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_keep_log_file_num(4);
    // Memtables are the store's main memory use: bound them across
    // column families so a deep backlog cannot grow the process.
    opts.set_db_write_buffer_size(MEMTABLE_BUDGET);
    // Applies and trims skip the WAL (see [`super::Store::apply`]): they
    // reach disk only by flushes, which must cut every column family at
    // the same point, so that the queue state, its applied position and
    // the log never disagree after a crash.
    opts.set_atomic_flush(true);
    // Flushes and compactions write whole table files that are read back
    // rarely, if ever: through the page cache they cost a copy of every
    // byte and the kernel's writeback of it, the largest CPU cost of a
    // node under load. Durability is the same: table files are fsynced
    // either way.
    opts.set_use_direct_io_for_flush_and_compaction(direct_io_works(dir));
    let cfs = [CF_LOG, CF_MESSAGES, CF_META, CF_EPOCHS]
        .into_iter()
        .map(|name| {
            let mut cf = Options::default();
            cf.set_write_buffer_size(match name {
                CF_LOG => LOG_MEMTABLE,
                CF_MESSAGES => MESSAGES_MEMTABLE,
                _ => SMALL_MEMTABLE,
            });
            ColumnFamilyDescriptor::new(name, cf)
        })
        .collect();
    (opts, cfs)
}

/// Whether files in `dir` take `O_DIRECT` writes: some filesystems refuse
/// it (tmpfs before Linux 6.6, some FUSE ones), and RocksDB would then fail
/// its first flush. The probe writes one aligned block, as RocksDB does.
fn direct_io_works(dir: &Path) -> bool {
    if std::fs::create_dir_all(dir).is_err() {
        // Opening the store reports the real error.
        return false;
    }
    let probe = dir.join(PROBE);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_DIRECT)
        .open(&probe)
        .and_then(|mut file| file.write_all(aligned_block(&vec![0; 2 * BLOCK])));
    let _ = std::fs::remove_file(&probe);
    match written {
        Ok(()) => true,
        Err(e) => {
            info!(dir = %dir.display(), error = %e, "no direct I/O here: table files go through the page cache");
            false
        }
    }
}

/// The block-aligned `BLOCK` bytes inside `buf`, which holds twice that.
fn aligned_block(buf: &[u8]) -> &[u8] {
    let skip = (BLOCK - buf.as_ptr() as usize % BLOCK) % BLOCK;
    &buf[skip..skip + BLOCK]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_opens_and_flushes_whatever_the_probe_finds() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let store_dir = dir.path().join("store");
        // Whatever the probe finds, a store opens there and flushes.
        let (store, _) = super::super::Store::open(&store_dir).map_err(std::io::Error::other)?;
        assert!(!store_dir.join(PROBE).exists(), "the probe is removed");
        store.db.flush().map_err(std::io::Error::other)?;
        Ok(())
    }

    #[test]
    fn the_probe_block_is_aligned() {
        for len in [2 * BLOCK, 2 * BLOCK + 1] {
            let buf = vec![0; len];
            let block = aligned_block(&buf);
            assert_eq!((block.len(), block.as_ptr() as usize % BLOCK), (BLOCK, 0));
        }
    }
}
