//! A small async STOMP 1.2 client over tokio, built on ferromq-stomp's
//! pure codec. Reading and writing are separate halves so that a producer
//! can keep many SENDs in flight and match RECEIPTs as they come back.

use anyhow::{Context, Result, bail};
use bytes::{Buf, Bytes, BytesMut};
use ferromq_stomp::{Command, Frame, Limits, Parsed, Version, encode, parse};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// How long any single read or write may wait before the bench gives up
/// on the broker.
pub const IO_TIMEOUT: Duration = Duration::from_secs(20);

const VERSION: Version = Version::V1_2;

/// Login details and the address of the broker.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: String,
    pub login: String,
    pub passcode: String,
}

/// The receiving half: bytes in, frames out.
pub struct Reader {
    rd: OwnedReadHalf,
    buf: BytesMut,
    limits: Limits,
}

/// The sending half: frames are queued in a buffer and written by `flush`,
/// so that a burst of frames costs one system call.
pub struct Writer {
    wr: OwnedWriteHalf,
    out: Vec<u8>,
}

/// Opens a TCP connection and completes the STOMP handshake.
pub async fn connect(ep: &Endpoint) -> Result<(Reader, Writer)> {
    let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(&ep.addr))
        .await
        .with_context(|| format!("connecting to {} timed out", ep.addr))?
        .with_context(|| format!("connecting to {}", ep.addr))?;
    stream.set_nodelay(true)?;
    let (rd, wr) = stream.into_split();
    let mut reader = Reader {
        rd,
        buf: BytesMut::with_capacity(64 * 1024),
        limits: Limits::default(),
    };
    let mut writer = Writer {
        wr,
        out: Vec::with_capacity(64 * 1024),
    };
    // RabbitMQ reads `host` as the virtual host; "/" is its default one.
    let connect = Frame::new(Command::Connect)
        .header("accept-version", "1.2")
        .header("host", "/")
        .header("login", ep.login.as_str())
        .header("passcode", ep.passcode.as_str())
        .header("heart-beat", "0,0");
    writer.queue(&connect);
    writer.flush().await?;
    let reply = reader.next().await.context("waiting for CONNECTED")?;
    if reply.command != Command::Connected {
        bail!("expected CONNECTED, got {}", reply.command.as_str());
    }
    Ok((reader, writer))
}

impl Reader {
    /// The next frame, waiting for the broker if needed. Heart-beats are
    /// skipped; an ERROR frame becomes an error.
    pub async fn next(&mut self) -> Result<Frame> {
        loop {
            if let Some(frame) = self.buffered()? {
                return Ok(frame);
            }
            let n = tokio::time::timeout(IO_TIMEOUT, self.rd.read_buf(&mut self.buf))
                .await
                .context("no frame from the broker in time")?
                .context("reading from the broker")?;
            if n == 0 {
                bail!("the broker closed the connection");
            }
        }
    }

    /// A frame already in the buffer, without waiting for the network.
    pub fn buffered(&mut self) -> Result<Option<Frame>> {
        loop {
            match parse(&self.buf, VERSION, &self.limits)? {
                Parsed::Heartbeat(n) => self.buf.advance(n),
                Parsed::Incomplete => return Ok(None),
                Parsed::Frame(frame, n) => {
                    self.buf.advance(n);
                    if frame.command == Command::Error {
                        bail!("broker ERROR: {}", describe_error(&frame));
                    }
                    return Ok(Some(frame));
                }
            }
        }
    }

    /// Hands `first`, then every frame already buffered behind it, to
    /// `each`: a batch the caller answers with one write.
    pub fn batch(
        &mut self,
        first: Frame,
        mut each: impl FnMut(&Frame) -> Result<()>,
    ) -> Result<()> {
        let mut frame = first;
        loop {
            each(&frame)?;
            match self.buffered()? {
                Some(next) => frame = next,
                None => return Ok(()),
            }
        }
    }
}

fn describe_error(frame: &Frame) -> String {
    let message = frame.headers.get("message").unwrap_or("(no message)");
    let body = String::from_utf8_lossy(&frame.body);
    let body = body.trim();
    if body.is_empty() {
        message.to_owned()
    } else {
        format!("{message}: {}", body.chars().take(300).collect::<String>())
    }
}

impl Writer {
    /// Appends a frame to the output buffer.
    pub fn queue(&mut self, frame: &Frame) {
        encode(frame, VERSION, &mut self.out);
    }

    /// Writes every queued frame.
    pub async fn flush(&mut self) -> Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        tokio::time::timeout(IO_TIMEOUT, self.wr.write_all(&self.out))
            .await
            .context("writing to the broker timed out")?
            .context("writing to the broker")?;
        self.out.clear();
        Ok(())
    }
}

/// The STOMP destination of a queue.
pub fn queue_destination(queue: &str) -> String {
    format!("/queue/{queue}")
}

/// A persistent SEND asking for a receipt.
pub fn send_frame(destination: &str, receipt: &str, extra: &[(&str, &str)], body: Bytes) -> Frame {
    let mut frame = Frame::new(Command::Send)
        .header("destination", destination)
        .header("persistent", "true")
        .header("receipt", receipt)
        .body(body);
    for (k, v) in extra {
        frame.headers.push(*k, *v);
    }
    frame
}

/// A SUBSCRIBE with `ack:client-individual`. The prefetch is given in both
/// ActiveMQ's and RabbitMQ's spelling; other brokers ignore the headers.
pub fn subscribe_frame(
    destination: &str,
    id: &str,
    prefetch: u32,
    receipt: Option<&str>,
    extra: &[(&str, &str)],
) -> Frame {
    let prefetch = prefetch.to_string();
    let mut frame = Frame::new(Command::Subscribe)
        .header("destination", destination)
        .header("id", id)
        .header("ack", "client-individual")
        .header("activemq.prefetchSize", prefetch.as_str())
        .header("prefetch-count", prefetch);
    if let Some(r) = receipt {
        frame.headers.push("receipt", r);
    }
    for (k, v) in extra {
        frame.headers.push(*k, *v);
    }
    frame
}

/// The ACK for a MESSAGE, or an error if the MESSAGE has no `ack` header.
pub fn ack_frame(message: &Frame) -> Result<Frame> {
    let id = message
        .headers
        .get("ack")
        .context("MESSAGE without an ack header (ack:client-individual needs one)")?;
    Ok(Frame::new(Command::Ack).header("id", id))
}

/// Sends a frame carrying `receipt` and waits for that receipt, skipping
/// whatever else arrives first (e.g. MESSAGEs still in flight).
pub async fn round_trip(
    reader: &mut Reader,
    writer: &mut Writer,
    frame: Frame,
    receipt: &str,
) -> Result<()> {
    writer.queue(&frame.header("receipt", receipt));
    writer.flush().await?;
    loop {
        let f = reader.next().await?;
        if f.command == Command::Receipt && f.headers.get("receipt-id") == Some(receipt) {
            return Ok(());
        }
    }
}

/// A graceful DISCONNECT: once its receipt arrives, the broker has handled
/// every frame sent before it (ACKs included).
pub async fn disconnect(mut reader: Reader, mut writer: Writer) -> Result<()> {
    round_trip(
        &mut reader,
        &mut writer,
        Frame::new(Command::Disconnect),
        "bye",
    )
    .await
    .context("DISCONNECT")
}
