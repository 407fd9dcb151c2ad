//! The consuming side: subscriptions, delivered messages, ACK and NACK.

use crate::client::Receipt;
use crate::driver::Cmd;
use crate::error::Error;
use bytes::Bytes;
use ferromq_stomp::{Command, Frame, Headers};
use std::str::FromStr;
use tokio::sync::{mpsc, oneshot};

/// A subscription's acknowledgement mode, as STOMP names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// The broker counts a message acknowledged once it is sent.
    Auto,
    /// An ACK acknowledges that message and every earlier one.
    Client,
    /// An ACK acknowledges that message only.
    ClientIndividual,
}

impl AckMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Auto => "auto",
            AckMode::Client => "client",
            AckMode::ClientIndividual => "client-individual",
        }
    }
}

impl FromStr for AckMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(AckMode::Auto),
            "client" => Ok(AckMode::Client),
            "client-individual" => Ok(AckMode::ClientIndividual),
            _ => Err(format!(
                "invalid ack mode {s:?}: expected auto, client or client-individual"
            )),
        }
    }
}

/// Messages of one subscription, across reconnects.
#[derive(Debug)]
pub struct Subscription {
    id: String,
    messages: mpsc::UnboundedReceiver<Message>,
    cmds: Option<mpsc::Sender<Cmd>>,
}

impl Subscription {
    pub(crate) fn new(
        id: String,
        messages: mpsc::UnboundedReceiver<Message>,
        cmds: mpsc::Sender<Cmd>,
    ) -> Self {
        Subscription {
            id,
            messages,
            cmds: Some(cmds),
        }
    }

    /// The subscription's `id` header.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next message; `None` once the client closed or the broker
    /// refused the subscription.
    pub async fn next(&mut self) -> Option<Message> {
        self.messages.recv().await
    }

    /// Ends the subscription and waits for the broker to confirm; its
    /// unacknowledged messages go back to the queue.
    pub async fn unsubscribe(mut self) -> Result<(), Error> {
        let Some(cmds) = self.cmds.take() else {
            return Ok(());
        };
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Unsubscribe {
            id: self.id.clone(),
            reply: Some(reply),
        };
        cmds.send(cmd).await.map_err(|_| Error::Closed)?;
        Receipt { rx }.await
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(cmds) = self.cmds.take() {
            let id = std::mem::take(&mut self.id);
            let _ = cmds.try_send(Cmd::Unsubscribe { id, reply: None });
        }
    }
}

/// A delivered message.
#[derive(Debug)]
pub struct Message {
    pub destination: String,
    pub message_id: String,
    /// Set by the broker when it delivers a message again.
    pub redelivered: bool,
    pub headers: Headers,
    pub body: Bytes,
    pub(crate) ack: Option<AckToken>,
}

/// What ACK and NACK need: the id, and which connection it belongs to.
#[derive(Debug)]
pub(crate) struct AckToken {
    pub id: String,
    pub generation: u64,
    pub cmds: mpsc::WeakSender<Cmd>,
}

impl Message {
    /// Acknowledges the message (and, in `client` mode, every earlier one
    /// of its subscription). Returns once the ACK is written; a DISCONNECT
    /// receipt confirms it. Nothing to do in `auto` mode.
    pub async fn ack(&self) -> Result<(), Error> {
        self.settle(Command::Ack).await
    }

    /// Gives the message back to the broker for redelivery.
    pub async fn nack(&self) -> Result<(), Error> {
        self.settle(Command::Nack).await
    }

    async fn settle(&self, command: Command) -> Result<(), Error> {
        let Some(token) = &self.ack else {
            return Ok(());
        };
        let cmds = token.cmds.upgrade().ok_or(Error::Closed)?;
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Ack {
            frame: Frame::new(command).header("id", token.id.as_str()),
            generation: token.generation,
            reply,
        };
        cmds.send(cmd).await.map_err(|_| Error::Closed)?;
        Receipt { rx }.await
    }
}
