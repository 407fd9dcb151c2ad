//! The router's answer to each request.

use super::request::{AckMode, Destination, Outgoing, Request, Settle};
use super::state::{Conn, Subscription};
use super::{ConnId, Outbound, Pending, Router, error_frame};
use crate::store::{MessageRecord, Op};
use std::sync::Arc;
use tracing::debug;

impl Router {
    pub(super) fn handle(&mut self, request: Request) {
        match request {
            Request::Connect { conn, outbox } => {
                self.conns.insert(conn, Conn::new(outbox));
                self.metrics.connections.inc();
            }
            Request::Status(reply) => {
                let _ = reply.send(self.status());
            }
            Request::Disconnected { conn } => self.disconnect(conn),
            other => {
                let conn = conn_of(&other);
                match self.conns.get(&conn) {
                    Some(c) if !c.failed => self.handle_connected(other),
                    _ => debug!(conn, "request from a closed connection ignored"),
                }
            }
        }
    }

    fn handle_connected(&mut self, request: Request) {
        let (conn, receipt, result) = match request {
            Request::Subscribe {
                conn,
                id,
                destination,
                ack,
                prefetch,
                receipt,
            } => {
                let r = self.subscribe(conn, id, destination, ack, prefetch);
                (conn, receipt, r)
            }
            Request::Unsubscribe { conn, id, receipt } => {
                let r = self.unsubscribe(conn, &id);
                (conn, receipt, r)
            }
            Request::Apply {
                conn,
                sends,
                settles,
                receipt,
            } => {
                // On success the receipt waits for the commit.
                match self.apply(conn, sends, &settles, receipt.clone()) {
                    Ok(()) => return,
                    Err(e) => (conn, receipt, Err(e)),
                }
            }
            Request::Receipt {
                conn,
                receipt,
                close,
            } => {
                self.receipt(conn, receipt, close);
                return;
            }
            Request::Written { conn, upto } => {
                self.written(conn, upto);
                return;
            }
            Request::Connect { .. } | Request::Status(_) | Request::Disconnected { .. } => return,
        };
        match result {
            Ok(()) => self.receipt(conn, receipt, false),
            Err(message) => self.fail(conn, &message, receipt.as_deref()),
        }
    }

    /// Sends a receipt once everything proposed before it has committed.
    fn receipt(&mut self, conn: ConnId, receipt: Option<String>, close: bool) {
        if receipt.is_none() && !close {
            return;
        }
        let then = Pending {
            conn: Some(conn),
            receipt,
            close,
            ..Pending::default()
        };
        self.propose(then, Vec::new(), false);
    }

    /// Sends an ERROR frame; the connection closes after it.
    fn fail(&mut self, conn: ConnId, message: &str, receipt: Option<&str>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.failed = true;
            c.send(Outbound::Error(error_frame(message, receipt)));
        }
    }

    fn subscribe(
        &mut self,
        conn: ConnId,
        id: String,
        destination: Destination,
        ack: AckMode,
        prefetch: usize,
    ) -> Result<(), String> {
        let key = self.next_sub;
        let id: Arc<str> = id.into();
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        if c.subs.contains_key(&id) {
            return Err(format!("subscription id {id:?} is already in use"));
        }
        self.next_sub += 1;
        c.subs.insert(id.clone(), key);
        match &destination {
            Destination::Queue(q) => {
                self.queue(q).consumers.push(key);
                self.dirty_queues.insert(q.clone());
            }
            Destination::Topic(t) => {
                self.topics
                    .entry(t.clone())
                    .or_default()
                    .subscribers
                    .push(key);
            }
        }
        let sub = Subscription {
            conn,
            id,
            destination_header: destination.to_string().into(),
            destination,
            ack,
            prefetch: prefetch.max(1),
            inflight: Default::default(),
            by_seq: Default::default(),
            backlog: Default::default(),
        };
        self.subs.insert(key, sub);
        Ok(())
    }

    fn unsubscribe(&mut self, conn: ConnId, id: &str) -> Result<(), String> {
        let key = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.subs.remove(id))
            .ok_or_else(|| format!("no subscription with id {id:?}"))?;
        self.drop_subscription(key);
        Ok(())
    }

    /// Ends a subscription: its unsettled queue messages are redelivered.
    pub(super) fn drop_subscription(&mut self, key: u64) {
        let Some(sub) = self.subs.remove(&key) else {
            return;
        };
        let conn = self.conns.get_mut(&sub.conn);
        if let Some(c) = conn {
            for tag in sub.inflight.keys() {
                c.tags.remove(tag);
            }
        }
        match &sub.destination {
            Destination::Queue(name) => {
                let q = self.queue(name);
                q.consumers.retain(|&k| k != key);
                for f in sub.inflight.into_values() {
                    q.requeue(f.message);
                }
                self.dirty_queues.insert(name.clone());
            }
            Destination::Topic(name) => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.subscribers.retain(|&k| k != key);
                }
            }
        }
    }

    fn disconnect(&mut self, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else {
            return;
        };
        self.metrics.connections.dec();
        for key in c.subs.into_values() {
            self.drop_subscription(key);
        }
    }

    /// Sends and settles, taking effect together once committed.
    fn apply(
        &mut self,
        conn: ConnId,
        sends: Vec<Outgoing>,
        settles: &[Settle],
        receipt: Option<String>,
    ) -> Result<(), String> {
        let resolved = self.resolve(conn, settles)?;
        let mut then = Pending {
            conn: Some(conn),
            receipt,
            ..Pending::default()
        };
        let mut ops = Vec::new();
        for send in sends {
            self.metrics.messages_in.inc();
            let message = Arc::new(MessageRecord {
                seq: self.next_seq,
                headers: send.headers,
                body: send.body,
                persistent: send.persistent,
                expires: send.expires,
            });
            self.next_seq += 1;
            match send.destination {
                Destination::Queue(queue) => {
                    if message.persistent {
                        ops.push(Op::Enqueue {
                            queue: queue.clone(),
                            message: message.clone(),
                        });
                    }
                    then.enqueues.push((queue, message));
                }
                Destination::Topic(topic) => then.publishes.push((topic, message)),
            }
        }
        self.settle(conn, resolved, &mut then, &mut ops);
        let durable = !ops.is_empty();
        self.propose(then, ops, durable);
        Ok(())
    }

    /// Settles auto-acknowledged deliveries once they are on the wire.
    fn written(&mut self, conn: ConnId, upto: u64) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let mut done = Vec::new();
        for &key in c.subs.values() {
            if let Some(sub) = self.subs.get(&key).filter(|s| s.ack == AckMode::Auto) {
                done.extend(
                    sub.inflight
                        .range(..=upto)
                        .map(|(&tag, _)| (key, tag, false)),
                );
            }
        }
        if done.is_empty() {
            return;
        }
        let mut then = Pending::default();
        let mut ops = Vec::new();
        self.settle(conn, done, &mut then, &mut ops);
        let durable = !ops.is_empty();
        self.propose(then, ops, durable);
    }
}

fn conn_of(r: &Request) -> ConnId {
    match r {
        Request::Connect { conn, .. }
        | Request::Subscribe { conn, .. }
        | Request::Unsubscribe { conn, .. }
        | Request::Apply { conn, .. }
        | Request::Receipt { conn, .. }
        | Request::Written { conn, .. }
        | Request::Disconnected { conn } => *conn,
        Request::Status(_) => 0,
    }
}
