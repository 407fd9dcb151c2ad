//! ACK and NACK: finding the deliveries they name and settling them.

use super::queue::Ready;
use super::request::{AckMode, AckRef, Destination, Settle};
use super::{ConnId, Pending, Router};
use crate::store::Op;
use std::collections::BTreeMap;

/// A delivery to settle: subscription key, delivery tag, and whether it
/// is a NACK.
pub(super) type Resolved = (u64, u64, bool);

/// The `message-id` of a message: the node that numbered it and its
/// sequence number.
pub fn message_id(node_id: &str, seq: u64) -> String {
    format!("ID:{node_id}-{seq}")
}

fn seq_of(message_id: &str) -> Option<u64> {
    message_id.rsplit_once('-')?.1.parse().ok()
}

impl Router {
    /// Finds every delivery the ACKs and NACKs name, or says which one
    /// names nothing awaiting acknowledgement. `client` subscriptions
    /// settle cumulatively.
    pub(super) fn resolve(
        &self,
        conn: ConnId,
        settles: &[Settle],
    ) -> Result<Vec<Resolved>, String> {
        let Some(c) = self.conns.get(&conn) else {
            return Ok(Vec::new());
        };
        let mut out = BTreeMap::new();
        for s in settles {
            let found = match &s.target {
                AckRef::Tag(raw) => raw
                    .parse::<u64>()
                    .ok()
                    .and_then(|tag| Some((*c.tags.get(&tag)?, tag))),
                AckRef::MessageId {
                    message_id,
                    subscription,
                } => seq_of(message_id).and_then(|seq| {
                    c.subs
                        .iter()
                        .filter(|(id, _)| subscription.as_deref().is_none_or(|s| s == &***id))
                        .find_map(|(_, &key)| Some((key, *self.subs.get(&key)?.by_seq.get(&seq)?)))
                }),
            };
            let Some((key, tag)) = found else {
                return Err(match &s.target {
                    AckRef::Tag(id) => format!("no message awaits acknowledgement with id {id:?}"),
                    AckRef::MessageId { message_id, .. } => {
                        format!("no message awaits acknowledgement with message-id {message_id:?}")
                    }
                });
            };
            let Some(sub) = self.subs.get(&key) else {
                continue;
            };
            if sub.ack == AckMode::Client {
                for &t in sub.inflight.range(..=tag).map(|(t, _)| t) {
                    out.insert((key, t), s.nack);
                }
            } else {
                out.insert((key, tag), s.nack);
            }
        }
        Ok(out.into_iter().map(|((k, t), n)| (k, t, n)).collect())
    }

    /// Settles resolved deliveries: ACKed queue messages leave their queue
    /// once `ops` commit; NACKed ones are delivered again.
    pub(super) fn settle(
        &mut self,
        conn: ConnId,
        resolved: Vec<Resolved>,
        then: &mut Pending,
        ops: &mut Vec<Op>,
    ) {
        for (key, tag, nack) in resolved {
            let Some(sub) = self.subs.get_mut(&key) else {
                continue;
            };
            let Some(message) = sub.take(tag) else {
                continue;
            };
            if let Some(c) = self.conns.get_mut(&conn) {
                c.tags.remove(&tag);
            }
            match &sub.destination {
                Destination::Queue(name) => {
                    let name = name.clone();
                    let q = self.queue(&name);
                    if nack {
                        q.requeue(message);
                    } else {
                        q.inflight = q.inflight.saturating_sub(1);
                        if message.persistent {
                            ops.push(Op::Remove {
                                queue: name.clone(),
                                seq: message.seq,
                            });
                        }
                        then.removes.push(name.clone());
                    }
                    self.dirty_queues.insert(name);
                }
                Destination::Topic(_) => {
                    if nack {
                        sub.backlog.push_front(Ready {
                            message,
                            redelivered: true,
                        });
                    }
                    self.dirty_subs.insert(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_carry_their_sequence_number() {
        assert_eq!(seq_of(&message_id("node-a-1", 42)), Some(42));
        assert_eq!(seq_of("garbage"), None);
    }
}
