//! The writing half of a connection: frames from the router to the socket,
//! batched, with heart-beats when the connection is otherwise quiet.

use crate::router::{ConnId, Delivery, Outbound, Request};
use ferromq_stomp::{Command, Version, encode, encode_parts};
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tracing::debug;

/// Bytes gathered before one socket write.
const WRITE_BATCH: usize = 256 * 1024;

pub struct Writer<W> {
    pub socket: W,
    pub conn: ConnId,
    pub version: Version,
    /// Send an EOL when nothing else was written for this long (0: never).
    pub heart_beat_ms: u64,
    pub outbox: mpsc::UnboundedReceiver<Outbound>,
    pub router: mpsc::Sender<Request>,
    /// Set once the socket is closed for writing.
    pub closed: watch::Sender<bool>,
    pub lease: Option<crate::lease::Lease>,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub async fn run(mut self) {
        if let Err(e) = self.write_loop().await {
            debug!(conn = self.conn, error = %e, "write failed");
        }
        let _ = self.socket.shutdown().await;
        let _ = self.closed.send(true);
    }

    async fn write_loop(&mut self) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(64 * 1024);
        let beat = Duration::from_millis(self.heart_beat_ms);
        loop {
            let next = if self.heart_beat_ms == 0 {
                self.outbox.recv().await
            } else {
                match tokio::time::timeout(beat, self.outbox.recv()).await {
                    Ok(next) => next,
                    Err(_) => {
                        self.socket.write_all(b"\n").await?;
                        continue;
                    }
                }
            };
            let Some(first) = next else {
                return Ok(());
            };
            let mut last_tag = None;
            let mut close = self.encode(first, &mut buf, &mut last_tag);
            while !close && buf.len() < WRITE_BATCH {
                match self.outbox.try_recv() {
                    Ok(out) => close = self.encode(out, &mut buf, &mut last_tag),
                    Err(_) => break,
                }
            }
            if self.lease.as_ref().is_some_and(|l| !l.valid()) {
                return Err(std::io::Error::other(
                    "the master's lease lapsed: nothing more is confirmed",
                ));
            }
            self.socket.write_all(&buf).await?;
            buf.clear();
            if let Some(upto) = last_tag {
                let written = Request::Written {
                    conn: self.conn,
                    upto,
                };
                if self.router.send(written).await.is_err() {
                    return Ok(());
                }
            }
            if close {
                self.socket.flush().await?;
                return Ok(());
            }
        }
    }

    /// Encodes one outbound item; returns whether the connection closes
    /// after it.
    fn encode(&self, out: Outbound, buf: &mut Vec<u8>, last_tag: &mut Option<u64>) -> bool {
        match out {
            Outbound::Message(d) => {
                *last_tag = Some(d.tag);
                encode_message(&d, self.version, buf);
                false
            }
            Outbound::Frame(f) => {
                encode(&f, self.version, buf);
                false
            }
            Outbound::Error(f) => {
                encode(&f, self.version, buf);
                true
            }
            Outbound::Close => true,
        }
    }
}

/// Encodes a MESSAGE frame straight from the stored message, without
/// building an intermediate frame.
pub fn encode_message(d: &Delivery, version: Version, buf: &mut Vec<u8>) {
    let tag = d.tag.to_string();
    let mut own = vec![
        ("subscription", &*d.subscription),
        ("message-id", &*d.message_id),
        ("destination", &*d.destination),
    ];
    if version == Version::V1_2 {
        own.push(("ack", &tag));
    }
    if d.redelivered {
        own.push(("redelivered", "true"));
    }
    let sender = d
        .message
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()));
    encode_parts(
        Command::Message,
        own.into_iter().chain(sender),
        &d.message.body,
        version,
        buf,
    );
}
