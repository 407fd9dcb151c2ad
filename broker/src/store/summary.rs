//! What the queues hold on disk, in memory: read once at open (or after a
//! checkpoint replaces the state), then kept current by every write that
//! applies entries. A replica promoted to master starts its router from
//! it at once, instead of reading its whole backlog again.

use super::entry::Op;
use super::keys;
use super::{DecodeError, QueueOnDisk, StoreError};
use rocksdb::{DB, IteratorMode};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Summary {
    /// One past the highest message sequence number stored.
    pub next_seq: u64,
    pub queues: BTreeMap<String, QueueOnDisk>,
}

impl Summary {
    /// Reads the keys of the `messages` column family.
    pub fn scan(db: &DB, messages: &rocksdb::ColumnFamily) -> Result<Summary, StoreError> {
        let mut s = Summary::default();
        let mut last_queue: Option<String> = None;
        for item in db.iterator_cf(messages, IteratorMode::Start) {
            let (key, _) = item?;
            let (queue, seq) = keys::decode_message(&key).ok_or(DecodeError("message key"))?;
            s.next_seq = s.next_seq.max(seq + 1);
            // Keys are sorted by queue: one map lookup per queue.
            if last_queue.as_deref() != Some(queue) {
                last_queue = Some(queue.to_owned());
                s.queues.insert(
                    queue.to_owned(),
                    QueueOnDisk {
                        depth: 0,
                        first_seq: seq,
                        last_seq: seq,
                    },
                );
            }
            if let Some(q) = s.queues.get_mut(queue) {
                q.depth += 1;
                q.last_seq = seq;
            }
        }
        Ok(s)
    }

    /// Accounts for `ops`, just written. A queue's `first_seq` stays a
    /// lower bound once its first message is removed: readers seek from
    /// it, so a bound is enough.
    pub fn record(&mut self, ops: &[Op]) {
        for op in ops {
            match op {
                Op::Enqueue { queue, message } if message.persistent => {
                    let seq = message.seq;
                    self.next_seq = self.next_seq.max(seq + 1);
                    match self.queues.get_mut(queue.as_ref() as &str) {
                        Some(q) => {
                            q.depth += 1;
                            q.first_seq = q.first_seq.min(seq);
                            q.last_seq = q.last_seq.max(seq);
                        }
                        None => {
                            let q = QueueOnDisk {
                                depth: 1,
                                first_seq: seq,
                                last_seq: seq,
                            };
                            self.queues.insert(queue.to_string(), q);
                        }
                    }
                }
                Op::Remove { queue, .. } => {
                    let name: &str = queue.as_ref();
                    if let Some(q) = self.queues.get_mut(name) {
                        q.depth = q.depth.saturating_sub(1);
                        if q.depth == 0 {
                            self.queues.remove(name);
                        }
                    }
                }
                Op::Enqueue { .. } | Op::Barrier => {}
            }
        }
    }
}
