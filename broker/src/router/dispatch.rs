//! Deliveries: queue messages round-robin to consumers with room in their
//! prefetch window, topic messages to every subscriber.

use super::queue::Ready;
use super::request::{Delivery, Outbound};
use super::settle::message_id;
use super::state::{Conn, InFlight, Subscription, TOPIC_BACKLOG};
use super::{ConnId, Pending, Router};
use crate::metrics::Metrics;
use crate::store::{MessageRecord, Op, StoreError};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn expired(message: &MessageRecord, now: u64) -> bool {
    message.expires.is_some_and(|at| at != 0 && at <= now)
}

impl Router {
    /// Delivers what the last requests and commits made deliverable.
    pub(super) fn dispatch_dirty(&mut self) -> Result<(), StoreError> {
        let now = now_ms();
        for name in std::mem::take(&mut self.dirty_queues) {
            self.dispatch_queue(&name, now)?;
        }
        for key in std::mem::take(&mut self.dirty_subs) {
            self.drain_backlog(key, now);
        }
        Ok(())
    }

    fn dispatch_queue(&mut self, name: &Arc<str>, now: u64) -> Result<(), StoreError> {
        let Some(q) = self.queues.get_mut(name) else {
            return Ok(());
        };
        let mut expired_persistent = Vec::new();
        while !q.consumers.is_empty() && q.has_ready() {
            let n = q.consumers.len();
            let start = q.next_consumer;
            let Some(i) = (0..n).map(|k| (start + k) % n).find(|&i| {
                self.subs
                    .get(&q.consumers[i])
                    .is_some_and(Subscription::has_room)
            }) else {
                break;
            };
            let Some(ready) = q.pop(&self.store)? else {
                break;
            };
            if expired(&ready.message, now) {
                self.metrics.messages_expired.inc();
                if ready.message.persistent {
                    expired_persistent.push(ready.message.seq);
                } else {
                    q.depth = q.depth.saturating_sub(1);
                }
                continue;
            }
            q.next_consumer = (i + 1) % n;
            q.inflight += 1;
            let key = q.consumers[i];
            if let Some(sub) = self.subs.get_mut(&key) {
                deliver(
                    &self.node_id,
                    &self.metrics,
                    &mut self.conns,
                    key,
                    sub,
                    ready,
                );
            }
        }
        if !expired_persistent.is_empty() {
            let then = Pending {
                removes: vec![name.clone(); expired_persistent.len()],
                ..Pending::default()
            };
            let ops = expired_persistent
                .into_iter()
                .map(|seq| Op::Remove {
                    queue: name.clone(),
                    seq,
                })
                .collect();
            self.propose(then, ops, true);
        }
        Ok(())
    }

    /// Gives a committed topic message to every current subscriber.
    pub(super) fn publish(&mut self, topic: &Arc<str>, message: Arc<MessageRecord>) {
        let Some(t) = self.topics.get(topic) else {
            return;
        };
        for &key in &t.subscribers {
            if let Some(sub) = self.subs.get_mut(&key) {
                if sub.backlog.len() == TOPIC_BACKLOG {
                    sub.backlog.pop_front();
                }
                sub.backlog.push_back(Ready {
                    message: message.clone(),
                    redelivered: false,
                });
                self.dirty_subs.insert(key);
            }
        }
    }

    fn drain_backlog(&mut self, key: u64, now: u64) {
        let Some(sub) = self.subs.get_mut(&key) else {
            return;
        };
        while sub.has_room() {
            let Some(ready) = sub.backlog.pop_front() else {
                break;
            };
            if expired(&ready.message, now) {
                self.metrics.messages_expired.inc();
                continue;
            }
            deliver(
                &self.node_id,
                &self.metrics,
                &mut self.conns,
                key,
                sub,
                ready,
            );
        }
    }
}

/// Hands one message to a subscription's connection.
fn deliver(
    node_id: &str,
    metrics: &Metrics,
    conns: &mut HashMap<ConnId, Conn>,
    key: u64,
    sub: &mut Subscription,
    ready: Ready,
) {
    let Some(c) = conns.get_mut(&sub.conn) else {
        return;
    };
    let tag = c.next_tag;
    c.next_tag += 1;
    c.tags.insert(tag, key);
    let seq = ready.message.seq;
    sub.inflight.insert(
        tag,
        InFlight {
            message: ready.message.clone(),
        },
    );
    sub.by_seq.insert(seq, tag);
    metrics.messages_out.inc();
    c.send(Outbound::Message(Delivery {
        tag,
        subscription: sub.id.clone(),
        destination: sub.destination_header.clone(),
        message_id: message_id(node_id, seq).into(),
        message: ready.message,
        redelivered: ready.redelivered,
    }));
}
