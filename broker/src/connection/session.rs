//! The STOMP session rules: turns a client's frames into router requests.
//!
//! Pure: no I/O, so every rule is unit tested without a socket.

use crate::router::{AckMode, AckRef, ConnId, Destination, Outgoing, Request, Settle, error_frame};
use ferromq_stomp::{Command, Frame, Version};
use std::collections::HashMap;

/// Operations one transaction may hold before COMMIT.
pub const MAX_TRANSACTION_OPS: usize = 100_000;

/// Headers the broker sets on MESSAGE frames itself, or that only mean
/// something on the SEND that carried them.
const NOT_FORWARDED: &[&str] = &[
    "destination",
    "receipt",
    "transaction",
    "content-length",
    "message-id",
    "subscription",
    "ack",
    "redelivered",
];

/// Session settings from the broker's configuration.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Heart-beat the broker offers: (can send every ms, wants every ms).
    pub heart_beat: (u64, u64),
    pub default_prefetch: usize,
}

/// What a CONNECT agreed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agreed {
    pub version: Version,
    /// Broker to client heart-beat interval in ms, 0 for none.
    pub send_every: u64,
    /// Client to broker heart-beat interval in ms, 0 for none.
    pub expect_every: u64,
}

/// A protocol error: the ERROR frame to send before closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub Frame);

fn refuse(message: impl AsRef<str>, frame: &Frame) -> Refusal {
    Refusal(error_frame(message.as_ref(), frame.headers.get("receipt")))
}

#[derive(Debug, Default)]
struct Transaction {
    sends: Vec<Outgoing>,
    settles: Vec<Settle>,
}

/// One connection's protocol state after CONNECT.
#[derive(Debug)]
pub struct Session {
    conn: ConnId,
    version: Version,
    config: SessionConfig,
    transactions: HashMap<String, Transaction>,
}

/// Answers a CONNECT or STOMP frame.
pub fn connect(frame: &Frame, config: &SessionConfig) -> Result<Agreed, Refusal> {
    if !matches!(frame.command, Command::Connect | Command::Stomp) {
        return Err(refuse(
            format!("expected CONNECT or STOMP, got {}", frame.command.as_str()),
            frame,
        ));
    }
    let Some(version) = Version::negotiate(frame.headers.get("accept-version")) else {
        let mut refusal = refuse("supported protocol versions are 1.0,1.1,1.2", frame);
        refusal.0.headers.push("version", "1.0,1.1,1.2");
        return Err(refusal);
    };
    let (cx, cy) = match frame.headers.get("heart-beat") {
        Some(raw) if version > Version::V1_0 => parse_heart_beat(raw)
            .ok_or_else(|| refuse(format!("invalid heart-beat header {raw:?}"), frame))?,
        _ => (0, 0),
    };
    let (sx, sy) = config.heart_beat;
    let every = |a: u64, b: u64| if a == 0 || b == 0 { 0 } else { a.max(b) };
    Ok(Agreed {
        version,
        send_every: every(sx, cy),
        expect_every: every(cx, sy),
    })
}

fn parse_heart_beat(raw: &str) -> Option<(u64, u64)> {
    let (a, b) = raw.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

impl Session {
    pub fn new(conn: ConnId, version: Version, config: SessionConfig) -> Self {
        Session {
            conn,
            version,
            config,
            transactions: HashMap::new(),
        }
    }

    /// Turns one frame into at most one router request; `Ok(None)` when the
    /// frame only changes the session.
    pub fn on_frame(&mut self, frame: Frame) -> Result<Option<Request>, Refusal> {
        let conn = self.conn;
        let receipt = frame.headers.get("receipt").map(str::to_owned);
        let request = match frame.command {
            Command::Send => {
                let send = self.outgoing(&frame)?;
                if let Some(tx) = self.transaction(&frame)? {
                    tx.sends.push(send);
                    return self.receipt_only(receipt);
                }
                Request::Apply {
                    conn,
                    sends: vec![send],
                    settles: Vec::new(),
                    receipt,
                }
            }
            Command::Ack | Command::Nack => {
                if frame.command == Command::Nack && self.version == Version::V1_0 {
                    return Err(refuse("NACK is not part of STOMP 1.0", &frame));
                }
                let settle = self.settle(&frame)?;
                if let Some(tx) = self.transaction(&frame)? {
                    tx.settles.push(settle);
                    return self.receipt_only(receipt);
                }
                Request::Apply {
                    conn,
                    sends: Vec::new(),
                    settles: vec![settle],
                    receipt,
                }
            }
            Command::Subscribe => self.subscribe(&frame, receipt)?,
            Command::Unsubscribe => {
                let id = frame.headers.get("id").or_else(|| match self.version {
                    Version::V1_0 => frame.headers.get("destination"),
                    _ => None,
                });
                let id = id.ok_or_else(|| refuse("UNSUBSCRIBE requires an id header", &frame))?;
                Request::Unsubscribe {
                    conn,
                    id: id.to_owned(),
                    receipt,
                }
            }
            Command::Begin => {
                let name = required(&frame, "transaction")?;
                if self.transactions.contains_key(name) {
                    return Err(refuse(
                        format!("transaction {name:?} is already open"),
                        &frame,
                    ));
                }
                self.transactions
                    .insert(name.to_owned(), Transaction::default());
                return self.receipt_only(receipt);
            }
            Command::Commit | Command::Abort => {
                let name = required(&frame, "transaction")?;
                let tx = self
                    .transactions
                    .remove(name)
                    .ok_or_else(|| refuse(format!("no open transaction {name:?}"), &frame))?;
                if frame.command == Command::Abort {
                    return self.receipt_only(receipt);
                }
                Request::Apply {
                    conn,
                    sends: tx.sends,
                    settles: tx.settles,
                    receipt,
                }
            }
            Command::Disconnect => Request::Receipt {
                conn,
                receipt,
                close: true,
            },
            Command::Connect | Command::Stomp => {
                return Err(refuse("already connected", &frame));
            }
            Command::Connected | Command::Message | Command::Receipt | Command::Error => {
                let what = frame.command.as_str();
                return Err(refuse(format!("{what} is a server frame"), &frame));
            }
        };
        Ok(Some(request))
    }

    fn receipt_only(&self, receipt: Option<String>) -> Result<Option<Request>, Refusal> {
        Ok(receipt.map(|r| Request::Receipt {
            conn: self.conn,
            receipt: Some(r),
            close: false,
        }))
    }

    /// The open transaction a frame names, if it names one.
    fn transaction(&mut self, frame: &Frame) -> Result<Option<&mut Transaction>, Refusal> {
        let Some(name) = frame.headers.get("transaction") else {
            return Ok(None);
        };
        let tx = self
            .transactions
            .get_mut(name)
            .ok_or_else(|| refuse(format!("no open transaction {name:?}"), frame))?;
        if tx.sends.len() + tx.settles.len() >= MAX_TRANSACTION_OPS {
            return Err(refuse(
                format!("transaction {name:?} holds more than {MAX_TRANSACTION_OPS} operations"),
                frame,
            ));
        }
        Ok(Some(tx))
    }

    fn outgoing(&self, frame: &Frame) -> Result<Outgoing, Refusal> {
        let destination =
            Destination::parse(required(frame, "destination")?).map_err(|e| refuse(e, frame))?;
        let expires = match frame.headers.get("expires").map(str::trim) {
            None | Some("0") => None,
            Some(raw) => Some(raw.parse::<u64>().map_err(|_| {
                refuse(
                    format!("invalid expires header {raw:?}: expected epoch milliseconds"),
                    frame,
                )
            })?),
        };
        let headers = frame
            .headers
            .iter()
            .filter(|(k, _)| !NOT_FORWARDED.contains(k))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(Outgoing {
            destination,
            headers,
            body: frame.body.clone(),
            persistent: frame.headers.get("persistent") == Some("true"),
            expires,
        })
    }

    fn settle(&self, frame: &Frame) -> Result<Settle, Refusal> {
        let nack = frame.command == Command::Nack;
        let target = match (self.version, frame.headers.get("id")) {
            (Version::V1_2, Some(id)) => AckRef::Tag(id.to_owned()),
            _ => AckRef::MessageId {
                message_id: required(frame, "message-id")?.to_owned(),
                subscription: frame.headers.get("subscription").map(str::to_owned),
            },
        };
        Ok(Settle { target, nack })
    }

    fn subscribe(&self, frame: &Frame, receipt: Option<String>) -> Result<Request, Refusal> {
        let raw_destination = required(frame, "destination")?;
        let destination = Destination::parse(raw_destination).map_err(|e| refuse(e, frame))?;
        let id = match (frame.headers.get("id"), self.version) {
            (Some(id), _) => id,
            (None, Version::V1_0) => raw_destination,
            (None, _) => return Err(refuse("SUBSCRIBE requires an id header", frame)),
        };
        let ack = match frame.headers.get("ack").unwrap_or("auto") {
            "auto" => AckMode::Auto,
            "client" => AckMode::Client,
            "client-individual" => AckMode::ClientIndividual,
            other => {
                return Err(refuse(
                    format!(
                        "invalid ack mode {other:?}: expected auto, client or client-individual"
                    ),
                    frame,
                ));
            }
        };
        let prefetch = match frame.headers.get("activemq.prefetchSize") {
            None => self.config.default_prefetch,
            Some(raw) => raw
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| {
                    refuse(
                        format!(
                            "invalid activemq.prefetchSize {raw:?}: expected a positive integer"
                        ),
                        frame,
                    )
                })?,
        };
        Ok(Request::Subscribe {
            conn: self.conn,
            id: id.to_owned(),
            destination,
            ack,
            prefetch,
            receipt,
        })
    }
}

fn required<'a>(frame: &'a Frame, header: &str) -> Result<&'a str, Refusal> {
    frame.headers.get(header).ok_or_else(|| {
        refuse(
            format!("{} requires a {header} header", frame.command.as_str()),
            frame,
        )
    })
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
