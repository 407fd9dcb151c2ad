//! Connections and subscriptions as the router tracks them.

use super::queue::Ready;
use super::request::{AckMode, Destination, Outbound};
use crate::store::MessageRecord;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::mpsc;

/// A connected client.
#[derive(Debug)]
pub struct Conn {
    pub outbox: mpsc::UnboundedSender<Outbound>,
    /// Subscription keys by the client's subscription id.
    pub subs: HashMap<Arc<str>, u64>,
    /// The subscription each outstanding delivery tag belongs to.
    pub tags: HashMap<u64, u64>,
    pub next_tag: u64,
    /// Set once an ERROR was sent: further requests are ignored.
    pub failed: bool,
}

impl Conn {
    pub fn new(outbox: mpsc::UnboundedSender<Outbound>) -> Self {
        Conn {
            outbox,
            subs: HashMap::new(),
            tags: HashMap::new(),
            next_tag: 1,
            failed: false,
        }
    }

    /// Sends a frame; a connection whose writer is gone is about to be
    /// reported disconnected, so a failure needs no handling here.
    pub fn send(&self, out: Outbound) {
        let _ = self.outbox.send(out);
    }
}

/// A message delivered and not yet settled.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub message: Arc<MessageRecord>,
}

#[derive(Debug)]
pub struct Subscription {
    pub conn: super::ConnId,
    pub id: Arc<str>,
    pub destination: Destination,
    /// The destination as written in MESSAGE frames.
    pub destination_header: Arc<str>,
    pub ack: AckMode,
    pub prefetch: usize,
    /// Deliveries awaiting settlement, by tag.
    pub inflight: BTreeMap<u64, InFlight>,
    /// Delivery tag by message sequence number (ACKs by `message-id`).
    pub by_seq: HashMap<u64, u64>,
    /// Topic messages waiting for room in the prefetch window.
    pub backlog: VecDeque<Ready>,
}

impl Subscription {
    pub fn has_room(&self) -> bool {
        self.inflight.len() < self.prefetch
    }

    /// Removes a delivery; returns its message.
    pub fn take(&mut self, tag: u64) -> Option<Arc<MessageRecord>> {
        let f = self.inflight.remove(&tag)?;
        self.by_seq.remove(&f.message.seq);
        Some(f.message)
    }
}

/// A topic: every subscriber gets a copy of each message.
#[derive(Debug, Default)]
pub struct Topic {
    pub subscribers: Vec<u64>,
}

/// The most topic messages held for one slow subscriber; older ones are
/// dropped, as topics promise delivery only to subscribers keeping up.
pub const TOPIC_BACKLOG: usize = 100_000;
