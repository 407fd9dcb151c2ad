//! Applies and trims skip the WAL. This test crashes a real process that
//! wrote to a store and checks, on reopening, that the queue state on disk
//! matches its applied position and that the log still holds every entry
//! after it, so the lost applies can be redone.

use super::*;
use bytes::Bytes;
use std::process::{Command, Stdio};
use std::sync::Arc;

const DIR_VAR: &str = "FERROMQ_TEST_CRASH_DIR";
const ENTRIES: u64 = 200;
/// Entries applied before the flush that makes them durable.
const FLUSHED: u64 = 100;
/// The log is trimmed below this before the flush.
const TRIMMED: u64 = 51;

/// Entry `i` enqueues message `i` and, past the first hundred, removes
/// message `i - 100`: the queue ends with messages 101..=200.
fn entry(i: u64) -> Entry {
    let mut ops = vec![Op::Enqueue {
        queue: "q".into(),
        message: Arc::new(MessageRecord {
            seq: i,
            headers: vec![],
            body: Bytes::from(vec![b'x'; 64]),
            persistent: true,
            expires: None,
        }),
    }];
    if i > 100 {
        ops.push(Op::Remove {
            queue: "q".into(),
            seq: i - 100,
        });
    }
    Entry {
        position: Position { epoch: 1, index: i },
        ops,
    }
}

/// The crashing writer, run as a child process by the test below: appends
/// and fsyncs the log, applies the first hundred entries and trims half
/// of them, flushes, then applies and trims the rest and aborts with no
/// chance to flush again.
#[test]
#[ignore = "the child process of a_crash_loses_only_what_the_log_can_redo"]
fn crashing_writer() -> Result<(), StoreError> {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return Ok(());
    };
    let dir = std::path::PathBuf::from(dir);
    let (store, _) = Store::open(&dir.join("store"))?;
    let entries: Vec<Entry> = (1..=ENTRIES).map(entry).collect();
    store.append(&entries)?;
    store.sync()?;
    let (flushed, rest) = entries.split_at(FLUSHED as usize);
    store.apply(flushed)?;
    store.trim_log(TRIMMED)?;
    let cfs = [CF_LOG, CF_MESSAGES, CF_META, CF_EPOCHS]
        .into_iter()
        .map(|name| store.cf(name))
        .collect::<Result<Vec<_>, _>>()?;
    store
        .db
        .flush_cfs_opt(&cfs, &rocksdb::FlushOptions::default())?;
    for chunk in rest.chunks(10) {
        store.apply(chunk)?;
    }
    store.trim_log(ENTRIES + 1)?;
    std::fs::write(dir.join("written"), b"")?;
    std::process::abort();
}

#[test]
fn a_crash_loses_only_what_the_log_can_redo() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let status = Command::new(std::env::current_exe()?)
        .args([
            "--ignored",
            "--exact",
            "store::crash_tests::crashing_writer",
        ])
        .env(DIR_VAR, dir.path())
        .stdout(Stdio::null())
        .status()?;
    assert!(
        dir.path().join("written").exists(),
        "the writer did not get to its crash: {status}"
    );
    assert!(!status.success(), "the writer was meant to abort");

    let (store, rec) = Store::open(&dir.path().join("store"))?;
    assert_eq!(
        rec.applied.index, FLUSHED,
        "the applies after the flush had no WAL"
    );
    assert_eq!(
        rec.queues["q"].depth, FLUSHED,
        "the queue state on disk is the one its applied position names"
    );
    assert_eq!(
        store.first_log_index()?,
        Some(TRIMMED),
        "the flushed trim holds, the later one was lost with its applies"
    );
    let redo = store.read_log(rec.applied.index + 1, ENTRIES as usize)?;
    assert_eq!(redo.len() as u64, ENTRIES - FLUSHED);
    store.apply(&redo)?;
    let q = store.recover()?.queues["q"];
    assert_eq!((q.depth, q.last_seq), (100, ENTRIES));
    let seqs: Vec<u64> = store
        .read_queue("q", 0, 1_000)?
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(seqs, (FLUSHED + 1..=ENTRIES).collect::<Vec<_>>());
    Ok(())
}
