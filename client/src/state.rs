//! What outlives a connection: operations waiting for receipts and active
//! subscriptions. The driver feeds it events; it decides what to send
//! again, what to answer and with which error. No I/O here.

use crate::conn::error_message;
use crate::driver::Cmd;
use crate::error::Error;
use crate::subscription::{AckMode, AckToken, Message};
use ferromq_stomp::{Command, Frame};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use tokio::time::Instant;

pub(crate) type Reply = oneshot::Sender<Result<(), Error>>;

/// An operation waiting for its RECEIPT.
pub(crate) enum Op {
    /// The SEND frame (with its `receipt`), kept to be sent again; the
    /// permit holds its place in the in-flight window until answered.
    Send {
        frame: Frame,
        _permit: OwnedSemaphorePermit,
    },
    Subscribe(String),
    Unsubscribe,
    Disconnect,
}

struct Pending {
    op: Op,
    reply: Reply,
    /// Written on some connection, so the broker may have applied it.
    written: bool,
    /// Since when it has waited for a connection, if it is waiting.
    waiting_since: Option<Instant>,
}

struct Sub {
    /// The SUBSCRIBE frame, without `receipt`, sent again on reconnect.
    frame: Frame,
    ack: AckMode,
    deliver: mpsc::UnboundedSender<Message>,
    /// The receipt its `subscribe()` call still waits for.
    receipt: Option<u64>,
}

#[derive(Default)]
pub(crate) struct State {
    next_receipt: u64,
    pending: BTreeMap<u64, Pending>,
    subs: BTreeMap<String, Sub>,
    /// Counts connections, so that an ack id is used only on its own.
    pub generation: u64,
}

impl State {
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty()
    }

    /// Records an operation; returns its receipt id (already set on the
    /// frame of a SEND).
    pub fn add(&mut self, mut op: Op, reply: Reply, connected: bool) -> u64 {
        self.next_receipt += 1;
        let id = self.next_receipt;
        if let Op::Send { frame, .. } = &mut op {
            frame.headers.set("receipt", receipt_header(id));
        }
        let pending = Pending {
            op,
            reply,
            written: connected,
            waiting_since: (!connected).then(Instant::now),
        };
        self.pending.insert(id, pending);
        id
    }

    /// The frame of a pending SEND, to write it.
    pub fn send_frame(&self, id: u64) -> Option<&Frame> {
        match self.pending.get(&id).map(|p| &p.op) {
            Some(Op::Send { frame, .. }) => Some(frame),
            _ => None,
        }
    }

    /// Starts a subscription; returns its SUBSCRIBE with a receipt.
    pub fn subscribe(&mut self, cmd: Cmd, connected: bool) -> Option<Frame> {
        let Cmd::Subscribe {
            id,
            ack,
            frame,
            deliver,
            reply,
        } = cmd
        else {
            return None;
        };
        let receipt = self.add(Op::Subscribe(id.clone()), reply, connected);
        let first = frame.clone().header("receipt", receipt_header(receipt));
        let sub = Sub {
            frame,
            ack,
            deliver,
            receipt: Some(receipt),
        };
        self.subs.insert(id, sub);
        Some(first)
    }

    /// Forgets a subscription; whether the broker knew it.
    pub fn unsubscribe(&mut self, id: &str) -> bool {
        self.subs.remove(id).is_some()
    }

    /// Everything a new connection must carry first: every subscription,
    /// then every unreceipted SEND, in the order they were first sent.
    pub fn restore(&mut self) -> Vec<Frame> {
        self.generation += 1;
        let mut frames: Vec<Frame> = Vec::new();
        for sub in self.subs.values() {
            let mut frame = sub.frame.clone();
            if let Some(r) = sub.receipt {
                frame.headers.push("receipt", receipt_header(r));
            }
            frames.push(frame);
        }
        // The new connection never had the subscriptions being ended.
        let ended: Vec<u64> = self.ids(|op| matches!(op, Op::Unsubscribe));
        for id in ended {
            self.answer(id, Ok(()));
        }
        for p in self.pending.values_mut() {
            p.waiting_since = None;
            p.written = true;
            if let Op::Send { frame, .. } = &p.op {
                frames.push(frame.clone());
            }
        }
        frames
    }

    /// A RECEIPT; returns whether it answered the DISCONNECT.
    pub fn on_receipt(&mut self, frame: &Frame) -> bool {
        let Some(id) = frame.headers.get("receipt-id").and_then(parse_receipt) else {
            return false;
        };
        let Some(p) = self.pending.get(&id) else {
            return false;
        };
        let disconnect = matches!(p.op, Op::Disconnect);
        if let Op::Subscribe(sub) = &p.op
            && let Some(s) = self.subs.get_mut(sub)
        {
            s.receipt = None;
        }
        self.answer(id, Ok(()));
        disconnect
    }

    /// A MESSAGE, handed to its subscription. Returns the UNSUBSCRIBE to
    /// send when nobody listens any more (a dropped `Subscription` whose
    /// own UNSUBSCRIBE did not fit the command channel), so that its
    /// messages go back to other consumers.
    pub fn deliver(&mut self, frame: Frame, cmds: &mpsc::WeakSender<Cmd>) -> Option<Frame> {
        let h = &frame.headers;
        let id = h.get("subscription")?.to_owned();
        let sub = self.subs.get(&id)?;
        let ack = match (sub.ack, h.get("ack")) {
            (AckMode::Auto, _) | (_, None) => None,
            (_, Some(id)) => Some(AckToken {
                id: id.to_owned(),
                generation: self.generation,
                cmds: cmds.clone(),
            }),
        };
        let message = Message {
            destination: h.get("destination").unwrap_or_default().to_owned(),
            message_id: h.get("message-id").unwrap_or_default().to_owned(),
            redelivered: h.get("redelivered") == Some("true"),
            ack,
            headers: frame.headers,
            body: frame.body,
        };
        if sub.deliver.send(message).is_ok() {
            return None;
        }
        self.subs.remove(&id);
        Some(Frame::new(Command::Unsubscribe).header("id", id))
    }

    /// An ERROR on an established connection: the frame it names fails
    /// (a refused SUBSCRIBE ends its subscription) and so does every SEND
    /// waiting on the connection, with the broker's message.
    pub fn on_error(&mut self, frame: &Frame) {
        let message = error_message(frame);
        let culprit = frame.headers.get("receipt-id").and_then(parse_receipt);
        if let Some(Op::Subscribe(sub)) =
            culprit.and_then(|id| self.pending.get(&id)).map(|p| &p.op)
        {
            self.subs.remove(sub);
        }
        let mut failed = self.ids(|op| matches!(op, Op::Send { .. }));
        failed.extend(culprit);
        for id in failed {
            self.answer(id, Err(Error::Server(message.clone())));
        }
    }

    /// The connection is gone: everything pending now waits for another.
    pub fn on_lost(&mut self) {
        let now = Instant::now();
        for p in self.pending.values_mut() {
            p.waiting_since.get_or_insert(now);
        }
    }

    /// Fails what waited for a connection longer than `timeout`.
    pub fn expire(&mut self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else { return };
        let now = Instant::now();
        let late: Vec<u64> = self
            .pending
            .iter()
            .filter(|(_, p)| p.waiting_since.is_some_and(|t| t + timeout <= now))
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.give_up(id, &format!("no connection within {timeout:?}"));
        }
    }

    /// When the next operation's `timeout` ends.
    pub fn next_expiry(&self, timeout: Option<Duration>) -> Option<Instant> {
        let timeout = timeout?;
        let since = self
            .pending
            .values()
            .filter_map(|p| p.waiting_since)
            .min()?;
        Some(since + timeout)
    }

    /// The client stops: answers everything and ends every subscription.
    pub fn fail_all(&mut self, reason: &str) {
        let ids: Vec<u64> = self.pending.keys().copied().collect();
        for id in ids {
            self.give_up(id, reason);
        }
        self.subs.clear();
    }

    fn give_up(&mut self, id: u64, reason: &str) {
        let Some(p) = self.pending.get(&id) else {
            return;
        };
        let error = match (&p.op, p.written) {
            (Op::Unsubscribe, _) => Ok(()),
            (Op::Send { .. } | Op::Disconnect, true) => Err(Error::Unknown(reason.to_owned())),
            _ => Err(Error::NotSent(reason.to_owned())),
        };
        if let Op::Subscribe(sub) = &p.op {
            self.subs.remove(sub);
        }
        self.answer(id, error);
    }

    fn answer(&mut self, id: u64, result: Result<(), Error>) {
        if let Some(p) = self.pending.remove(&id) {
            // The permit of a SEND goes back to the window here.
            let _ = p.reply.send(result);
        }
    }

    fn ids(&self, which: impl Fn(&Op) -> bool) -> Vec<u64> {
        let hits = self.pending.iter().filter(|(_, p)| which(&p.op));
        hits.map(|(id, _)| *id).collect()
    }
}

pub(crate) fn receipt_header(id: u64) -> String {
    format!("r-{id}")
}

fn parse_receipt(header: &str) -> Option<u64> {
    header.strip_prefix("r-")?.parse().ok()
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
