//! Store tests against real RocksDB in a temporary directory.

use super::*;
use bytes::Bytes;
use std::sync::Arc;

fn msg(seq: u64, persistent: bool) -> Arc<MessageRecord> {
    Arc::new(MessageRecord {
        seq,
        headers: vec![("n".into(), seq.to_string())],
        body: Bytes::from(vec![b'x'; 16]),
        persistent,
        expires: None,
    })
}

fn entry(index: u64, ops: Vec<Op>) -> Entry {
    Entry {
        position: Position { epoch: 1, index },
        ops,
    }
}

fn enqueue(queue: &str, seq: u64, persistent: bool) -> Op {
    Op::Enqueue {
        queue: queue.into(),
        message: msg(seq, persistent),
    }
}

#[test]
fn committed_messages_survive_reopen() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|_| DecodeError("tempdir"))?;
    {
        let (store, rec) = Store::open(dir.path())?;
        assert_eq!(rec, Recovered::default());
        store.commit(&[
            entry(1, vec![enqueue("a", 1, true), enqueue("a", 2, true)]),
            entry(2, vec![enqueue("b", 3, true), enqueue("a", 4, false)]),
            entry(
                3,
                vec![Op::Remove {
                    queue: "a".into(),
                    seq: 1,
                }],
            ),
        ])?;
    }
    let (store, rec) = Store::open(dir.path())?;
    assert_eq!(rec.applied, Position { epoch: 1, index: 3 });
    assert_eq!(rec.next_seq, 4);
    assert_eq!(
        rec.queues["a"],
        QueueOnDisk {
            depth: 1,
            first_seq: 2,
            last_seq: 2
        }
    );
    assert_eq!(
        rec.queues["b"],
        QueueOnDisk {
            depth: 1,
            first_seq: 3,
            last_seq: 3
        }
    );
    let a = store.read_queue("a", 0, 10)?;
    assert_eq!(a.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![2]);
    assert_eq!(store.read_log(2, 10)?.len(), 2);
    Ok(())
}

#[test]
fn the_kept_summary_matches_a_fresh_read_of_the_disk() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|_| DecodeError("tempdir"))?;
    let kept = {
        let (store, _) = Store::open(dir.path())?;
        let remove = |queue: &str, seq| Op::Remove {
            queue: queue.into(),
            seq,
        };
        store.commit(&[
            entry(1, vec![enqueue("a", 1, true), enqueue("a", 2, true)]),
            entry(2, vec![enqueue("b", 3, true), enqueue("a", 4, false)]),
        ])?;
        // A replica applies what it appended: the same accounting.
        let applied = [
            entry(3, vec![remove("a", 1), enqueue("c", 5, true)]),
            entry(4, vec![remove("c", 5), enqueue("a", 6, true)]),
        ];
        store.append(&applied)?;
        store.apply(&applied)?;
        store.recover()?
    };
    let (_, read) = Store::open(dir.path())?;
    assert_eq!((kept.applied, kept.next_seq), (read.applied, read.next_seq));
    assert_eq!(
        kept.queues.keys().collect::<Vec<_>>(),
        read.queues.keys().collect::<Vec<_>>()
    );
    for (name, q) in &read.queues {
        let k = kept.queues[name];
        assert_eq!((k.depth, k.last_seq), (q.depth, q.last_seq), "{name}");
        // A bound below the first message is enough for readers.
        assert!(k.first_seq <= q.first_seq, "{name}");
    }
    Ok(())
}

#[test]
fn reads_page_through_a_queue_without_crossing_into_another() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|_| DecodeError("tempdir"))?;
    let (store, _) = Store::open(dir.path())?;
    let ops = (1..=10).map(|s| enqueue("q", s, true)).collect();
    store.commit(&[entry(1, ops), entry(2, vec![enqueue("q2", 11, true)])])?;
    let first = store.read_queue("q", 0, 4)?;
    assert_eq!(
        first.iter().map(|m| m.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    let rest = store.read_queue("q", 5, 100)?;
    assert_eq!(rest.len(), 6);
    assert!(rest.iter().all(|m| m.seq <= 10));
    Ok(())
}

#[test]
fn trimming_the_log_keeps_the_queue_state() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|_| DecodeError("tempdir"))?;
    let (store, _) = Store::open(dir.path())?;
    for i in 1..=5 {
        store.commit(&[entry(i, vec![enqueue("q", i, true)])])?;
    }
    store.trim_log(4)?;
    let log = store.read_log(0, 10)?;
    assert_eq!(
        log.iter().map(|e| e.position.index).collect::<Vec<_>>(),
        vec![4, 5]
    );
    assert_eq!(store.read_queue("q", 0, 10)?.len(), 5);
    Ok(())
}

#[test]
fn a_checkpoint_replaces_another_stores_state() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|_| DecodeError("tempdir"))?;
    let (master, _) = Store::open(&dir.path().join("master"))?;
    master.commit(&[
        entry(1, vec![Op::Barrier]),
        entry(2, vec![enqueue("a", 1, true), enqueue("a", 2, true)]),
    ])?;
    let (replica, _) = Store::open(&dir.path().join("replica"))?;
    replica.commit(&[entry(1, vec![enqueue("stale", 9, true)])])?;
    replica.set_seen_epoch(7)?;
    let out = master.scratch_dir("out")?;
    master.checkpoint(&out)?;
    replica.load_checkpoint(&out)?;
    let rec = replica.recover()?;
    assert_eq!(rec.applied, Position { epoch: 1, index: 2 });
    assert_eq!(rec.queues.keys().collect::<Vec<_>>(), vec!["a"]);
    assert_eq!(replica.last_position()?, Position { epoch: 1, index: 2 });
    assert_eq!(replica.epochs()?, vec![(1, 1)]);
    assert_eq!(
        replica.seen_epoch()?,
        7,
        "the fencing epoch never goes back"
    );
    Ok(())
}

#[test]
fn appends_must_follow_and_truncation_keeps_applied_entries() -> Result<(), StoreError> {
    let dir = tempfile::tempdir().map_err(|_| DecodeError("tempdir"))?;
    let (store, _) = Store::open(dir.path())?;
    store.append(&[
        entry(1, vec![Op::Barrier]),
        entry(2, vec![enqueue("q", 1, true)]),
    ])?;
    assert!(matches!(
        store.append(&[entry(4, vec![])]),
        Err(StoreError::Gap { last: 2, next: 4 })
    ));
    store.apply(&[entry(1, vec![Op::Barrier])])?;
    assert!(store.truncate_after(0).is_err());
    store.truncate_after(1)?;
    assert_eq!(store.last_position()?, Position { epoch: 1, index: 1 });
    store.append(&[entry(2, vec![])])?;
    Ok(())
}
