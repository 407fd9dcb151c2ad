//! What outlives a connection: operations waiting for receipts and active
//! subscriptions. The driver feeds it events; it decides what to send
//! again, what to answer and with which error. No I/O here.

use crate::client::{AckMode, AckToken, Message};
use crate::conn::error_message;
use crate::driver::Cmd;
use crate::error::Error;
use ferromq_stomp::Frame;
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

    /// A MESSAGE, handed to its subscription.
    pub fn deliver(&mut self, frame: Frame, cmds: &mpsc::WeakSender<Cmd>) {
        let h = &frame.headers;
        let Some(sub) = h.get("subscription").and_then(|s| self.subs.get(s)) else {
            return;
        };
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
        let _ = sub.deliver.send(message);
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
mod tests {
    use super::*;
    use ferromq_stomp::Command;
    use std::sync::Arc;
    use tokio::sync::Semaphore;

    fn send(state: &mut State, connected: bool) -> (u64, oneshot::Receiver<Result<(), Error>>) {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned();
        let permit = permit.expect("a free permit");
        let (tx, rx) = oneshot::channel();
        let frame = Frame::new(Command::Send).header("destination", "/queue/q");
        let op = Op::Send {
            frame,
            _permit: permit,
        };
        (state.add(op, tx, connected), rx)
    }

    #[test]
    fn unreceipted_sends_are_restored_in_order_and_errors_fail_them() {
        let mut s = State::default();
        let (a, _ra) = send(&mut s, true);
        let (b, mut rb) = send(&mut s, true);
        s.on_receipt(&Frame::new(Command::Receipt).header("receipt-id", receipt_header(a)));
        s.on_lost();
        let (_c, mut rc) = send(&mut s, false);
        let restored: Vec<String> = s
            .restore()
            .iter()
            .filter_map(|f| f.headers.get("receipt").map(str::to_owned))
            .collect();
        assert_eq!(restored, ["r-2", "r-3"]);
        s.on_error(&Frame::new(Command::Error).header("message", "quorum unavailable"));
        let failed = Err(Error::Server("quorum unavailable".into()));
        assert_eq!(rb.try_recv().ok(), Some(failed.clone()));
        assert_eq!(rc.try_recv().ok(), Some(failed));
        assert!(s.is_idle() && b == 2);
    }

    #[test]
    fn giving_up_tells_written_from_never_sent() {
        let mut s = State::default();
        let (_, mut written) = send(&mut s, true);
        s.on_lost();
        let (_, mut queued) = send(&mut s, false);
        s.fail_all("gave up");
        assert_eq!(
            written.try_recv().ok(),
            Some(Err(Error::Unknown("gave up".into())))
        );
        assert_eq!(
            queued.try_recv().ok(),
            Some(Err(Error::NotSent("gave up".into())))
        );
    }
}
