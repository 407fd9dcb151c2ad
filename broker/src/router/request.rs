//! What connections ask of the router, and what the router sends back.

use crate::store::MessageRecord;
use ferromq_stomp::Frame;
use std::fmt;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Identifies one client connection for the life of the process.
pub type ConnId = u64;

/// A queue or topic, parsed from a `destination` header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Destination {
    Queue(Arc<str>),
    Topic(Arc<str>),
}

impl Destination {
    /// The longest destination name accepted.
    pub const MAX_NAME_BYTES: usize = 1024;

    /// Parses `/queue/NAME` or `/topic/NAME`.
    pub fn parse(raw: &str) -> Result<Destination, String> {
        let (kind, name): (fn(Arc<str>) -> Destination, &str) =
            if let Some(name) = raw.strip_prefix("/queue/") {
                (Destination::Queue, name)
            } else if let Some(name) = raw.strip_prefix("/topic/") {
                (Destination::Topic, name)
            } else {
                return Err(format!(
                    "destination {raw:?} must start with /queue/ or /topic/"
                ));
            };
        if name.is_empty() || name.len() > Self::MAX_NAME_BYTES {
            return Err(format!(
                "destination name must be 1 to {} bytes",
                Self::MAX_NAME_BYTES
            ));
        }
        Ok(kind(name.into()))
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Queue(n) => write!(f, "/queue/{n}"),
            Destination::Topic(n) => write!(f, "/topic/{n}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    /// Acknowledged once written to the client's socket.
    Auto,
    /// An ACK covers every earlier message of the subscription.
    Client,
    /// An ACK covers one message.
    ClientIndividual,
}

/// A message a client sends, before the router numbers it.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub destination: Destination,
    pub headers: Vec<(String, String)>,
    pub body: bytes::Bytes,
    pub persistent: bool,
    pub expires: Option<u64>,
}

/// How an ACK or NACK names the message it settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckRef {
    /// STOMP 1.2: the MESSAGE's `ack` header.
    Tag(String),
    /// STOMP 1.0/1.1: `message-id`, and `subscription` when given.
    MessageId {
        message_id: String,
        subscription: Option<String>,
    },
}

/// An ACK or NACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settle {
    pub target: AckRef,
    pub nack: bool,
}

/// Work a connection hands to the router.
#[derive(Debug)]
pub enum Request {
    Connect {
        conn: ConnId,
        outbox: mpsc::UnboundedSender<Outbound>,
    },
    Subscribe {
        conn: ConnId,
        id: String,
        destination: Destination,
        ack: AckMode,
        prefetch: usize,
        receipt: Option<String>,
    },
    Unsubscribe {
        conn: ConnId,
        id: String,
        receipt: Option<String>,
    },
    /// Sends and acks that take effect together: one SEND or ACK, or a
    /// whole transaction at COMMIT.
    Apply {
        conn: ConnId,
        sends: Vec<Outgoing>,
        settles: Vec<Settle>,
        receipt: Option<String>,
    },
    /// A receipt with no other effect (BEGIN, ABORT, DISCONNECT), sent once
    /// everything the connection asked before it is done; `close` ends the
    /// connection after it.
    Receipt {
        conn: ConnId,
        receipt: Option<String>,
        close: bool,
    },
    /// The connection's writer put MESSAGE frames up to this delivery tag on
    /// the wire: auto-acknowledged deliveries are settled.
    Written {
        conn: ConnId,
        upto: u64,
    },
    /// The connection is gone: its unacknowledged messages return.
    Disconnected {
        conn: ConnId,
    },
    Status(oneshot::Sender<crate::status::Status>),
}

/// What the router sends a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    Message(Delivery),
    Frame(Frame),
    /// An ERROR frame; the connection closes after it.
    Error(Frame),
    /// Close the connection once everything before this is written.
    Close,
}

/// One MESSAGE frame to write.
#[derive(Debug)]
pub struct Delivery {
    pub tag: u64,
    pub subscription: Arc<str>,
    pub destination: Arc<str>,
    pub message_id: Arc<str>,
    pub message: Arc<MessageRecord>,
    pub redelivered: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        assert_eq!(
            Destination::parse("/queue/a.b"),
            Ok(Destination::Queue("a.b".into()))
        );
        assert_eq!(
            Destination::parse("/topic/t"),
            Ok(Destination::Topic("t".into()))
        );
        assert!(Destination::parse("/queue/").is_err());
        assert!(Destination::parse("queue/a").is_err());
        assert!(Destination::parse(&format!("/queue/{}", "x".repeat(1025))).is_err());
    }
}
