//! One queue's messages: a bounded in-memory window over its backlog,
//! which stays on disk.

use crate::store::{MessageRecord, QueueOnDisk, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Persistent messages kept in memory per queue before new ones stay on
/// disk only.
const MEMORY_WINDOW: usize = 2_000;
/// Messages read from disk at a time.
const PAGE: usize = 500;

/// A message waiting for a consumer.
#[derive(Debug, Clone)]
pub struct Ready {
    pub message: Arc<MessageRecord>,
    pub redelivered: bool,
}

#[derive(Debug)]
pub struct Queue {
    pub name: Arc<str>,
    /// Ready messages in memory, by sequence number.
    ready: BTreeMap<u64, Ready>,
    /// Persistent messages from this sequence number on are on disk only.
    paged_from: Option<u64>,
    /// The highest sequence number applied to this queue; anything newer
    /// on disk is not committed as far as the router knows.
    last_seq: u64,
    /// Messages not yet acknowledged: ready, on disk or delivered.
    pub depth: u64,
    /// Messages delivered and not yet settled.
    pub inflight: usize,
    /// Messages up to this sequence number may have been delivered by an
    /// earlier master: they go out marked `redelivered`.
    redeliver_upto: u64,
    /// Subscriptions, served round-robin.
    pub consumers: Vec<u64>,
    pub next_consumer: usize,
}

impl Queue {
    pub fn new(name: Arc<str>) -> Self {
        Queue {
            name,
            ready: BTreeMap::new(),
            paged_from: None,
            last_seq: 0,
            redeliver_upto: 0,
            depth: 0,
            inflight: 0,
            consumers: Vec::new(),
            next_consumer: 0,
        }
    }

    /// A queue whose backlog was found on disk at startup.
    pub fn recovered(name: Arc<str>, disk: QueueOnDisk) -> Self {
        Queue {
            paged_from: Some(disk.first_seq),
            last_seq: disk.last_seq,
            depth: disk.depth,
            ..Queue::new(name)
        }
    }

    /// Marks every message found on disk as possibly delivered before: a
    /// new master cannot know what its predecessor sent.
    pub fn mark_recovered_redelivered(&mut self) {
        self.redeliver_upto = self.last_seq;
    }

    /// A committed message joins the queue.
    pub fn enqueue(&mut self, message: Arc<MessageRecord>) {
        self.depth += 1;
        self.last_seq = self.last_seq.max(message.seq);
        if message.persistent && (self.paged_from.is_some() || self.ready.len() >= MEMORY_WINDOW) {
            self.paged_from.get_or_insert(message.seq);
            return;
        }
        let ready = Ready {
            message,
            redelivered: false,
        };
        self.ready.insert(ready.message.seq, ready);
    }

    /// A delivered message comes back, to be delivered again first.
    pub fn requeue(&mut self, message: Arc<MessageRecord>) {
        self.inflight = self.inflight.saturating_sub(1);
        let ready = Ready {
            message,
            redelivered: true,
        };
        self.ready.insert(ready.message.seq, ready);
    }

    /// Takes the oldest message, reading the next page from disk when the
    /// oldest one is there.
    pub fn pop(&mut self, store: &Store) -> Result<Option<Ready>, StoreError> {
        if let Some(from) = self.paged_from
            && self
                .ready
                .first_key_value()
                .is_none_or(|(&seq, _)| seq > from)
        {
            self.page_in(store, from)?;
        }
        Ok(self.ready.pop_first().map(|(_, r)| r))
    }

    fn page_in(&mut self, store: &Store, from: u64) -> Result<(), StoreError> {
        let page = store.read_queue(&self.name, from, PAGE)?;
        let full = page.len() == PAGE;
        let mut next = None;
        for m in page {
            if m.seq > self.last_seq {
                // Written but not yet reported committed: it will arrive
                // through `enqueue`.
                next = None;
                break;
            }
            next = Some(m.seq + 1);
            let ready = Ready {
                redelivered: m.seq <= self.redeliver_upto,
                message: Arc::new(m),
            };
            self.ready.insert(ready.message.seq, ready);
        }
        self.paged_from = match next {
            Some(n) if full && n <= self.last_seq => Some(n),
            _ => None,
        };
        Ok(())
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty() || self.paged_from.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Entry, Op, Position};
    use bytes::Bytes;

    fn msg(seq: u64, persistent: bool) -> Arc<MessageRecord> {
        Arc::new(MessageRecord {
            seq,
            headers: Vec::new(),
            body: Bytes::new(),
            persistent,
            expires: None,
        })
    }

    #[test]
    fn a_long_backlog_stays_on_disk_and_comes_back_in_order() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|_| crate::store::DecodeError("tempdir"))?;
        let (store, _) = Store::open(dir.path())?;
        let mut q = Queue::new("q".into());
        let total = MEMORY_WINDOW as u64 * 2 + 7;
        let ops = (1..=total)
            .map(|s| Op::Enqueue {
                queue: "q".into(),
                message: msg(s, true),
            })
            .collect();
        store.commit(&[Entry {
            position: Position { epoch: 1, index: 1 },
            ops,
        }])?;
        for s in 1..=total {
            q.enqueue(msg(s, true));
        }
        q.enqueue(msg(total + 1, false));
        assert!(q.ready.len() <= MEMORY_WINDOW + 1);
        let mut got = Vec::new();
        while let Some(r) = q.pop(&store)? {
            got.push(r.message.seq);
            assert!(q.ready.len() <= MEMORY_WINDOW + PAGE + 1);
        }
        assert_eq!(got, (1..=total + 1).collect::<Vec<_>>());
        assert_eq!(q.depth, total + 1);
        Ok(())
    }

    #[test]
    fn requeued_messages_go_first_and_are_marked() -> Result<(), StoreError> {
        let dir = tempfile::tempdir().map_err(|_| crate::store::DecodeError("tempdir"))?;
        let (store, _) = Store::open(dir.path())?;
        let mut q = Queue::new("q".into());
        q.enqueue(msg(1, false));
        q.enqueue(msg(2, false));
        let first = q.pop(&store)?.map(|r| r.message);
        q.inflight += 1;
        if let Some(m) = first {
            q.requeue(m);
        }
        let again = q.pop(&store)?;
        assert_eq!(
            again.as_ref().map(|r| (r.message.seq, r.redelivered)),
            Some((1, true))
        );
        Ok(())
    }
}
