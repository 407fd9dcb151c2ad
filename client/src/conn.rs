//! One STOMP 1.2 connection to one broker: the CONNECT handshake, frames
//! in and out, and heart-beats. It knows nothing of failover; the driver
//! opens a new one when this one is lost.

use crate::client::ConnectOptions;
use bytes::{Buf, BytesMut};
use ferromq_stomp::{Command, Frame, Limits, Parsed, Version, encode, parse};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

/// How long a write may block before the connection counts as lost.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the client accepts from a broker: above the broker's own limits
/// on what clients send, since a MESSAGE adds the broker's headers.
const LIMITS: Limits = Limits {
    max_frame_bytes: 64 * 1024 * 1024,
    max_header_bytes: 1024 * 1024,
    max_headers: 1024,
};

/// Why a broker did not become this client's connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Unreachable, reset, timed out or not speaking STOMP 1.2.
    Io(String),
    /// The broker answered CONNECT with ERROR; a replica names the master.
    Refused {
        message: String,
        master: Option<String>,
    },
}

/// What came from the broker.
#[derive(Debug)]
pub(crate) enum Event {
    Frame(Frame),
    Lost(String),
}

pub(crate) struct Conn {
    pub addr: String,
    rd: OwnedReadHalf,
    wr: OwnedWriteHalf,
    buf: BytesMut,
    out: Vec<u8>,
    /// The heart-beat this client owes the broker.
    send_every: Option<Duration>,
    /// Silence after which the broker counts as gone.
    silence_limit: Option<Duration>,
    last_read: Instant,
    last_write: Instant,
}

/// Connects to `addr` and completes the handshake.
pub(crate) async fn open(addr: &str, opts: &ConnectOptions) -> Result<Conn, OpenError> {
    tokio::time::timeout(opts.connect_timeout, handshake(addr, opts))
        .await
        .unwrap_or_else(|_| {
            Err(OpenError::Io(format!(
                "{addr}: no CONNECTED within {:?}",
                opts.connect_timeout
            )))
        })
}

async fn handshake(addr: &str, opts: &ConnectOptions) -> Result<Conn, OpenError> {
    let io = |e: std::io::Error| OpenError::Io(format!("{addr}: {e}"));
    let stream = TcpStream::connect(addr).await.map_err(io)?;
    stream.set_nodelay(true).map_err(io)?;
    let (rd, wr) = stream.into_split();
    let now = Instant::now();
    let mut conn = Conn {
        addr: addr.to_owned(),
        rd,
        wr,
        buf: BytesMut::with_capacity(64 * 1024),
        out: Vec::with_capacity(64 * 1024),
        send_every: None,
        silence_limit: None,
        last_read: now,
        last_write: now,
    };
    let (cx, cy) = opts.heart_beat;
    let host = addr.rsplit_once(':').map_or(addr, |(h, _)| h);
    let mut connect = Frame::new(Command::Connect)
        .header("accept-version", "1.2")
        .header("host", opts.host.as_deref().unwrap_or(host))
        .header("heart-beat", format!("{cx},{cy}"));
    if let Some(login) = &opts.login {
        connect.headers.push("login", login.as_str());
    }
    if let Some(passcode) = &opts.passcode {
        connect.headers.push("passcode", passcode.as_str());
    }
    conn.queue(&connect);
    conn.flush().await.map_err(OpenError::Io)?;
    let reply = match conn.next_event().await {
        Event::Frame(f) => f,
        Event::Lost(why) => return Err(OpenError::Io(why)),
    };
    match reply.command {
        Command::Connected if reply.headers.get("version") == Some("1.2") => {}
        Command::Connected => {
            return Err(OpenError::Io(format!("{addr} does not speak STOMP 1.2")));
        }
        Command::Error => return Err(refusal(&reply)),
        other => {
            let got = other.as_str();
            return Err(OpenError::Io(format!("{addr} answered CONNECT with {got}")));
        }
    }
    let (sx, sy) = reply
        .headers
        .get("heart-beat")
        .and_then(|h| h.split_once(','))
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
        .unwrap_or((0u64, 0u64));
    let every = |a: u64, b: u64| (a > 0 && b > 0).then(|| Duration::from_millis(a.max(b)));
    conn.send_every = every(cx, sy);
    conn.silence_limit = every(sx, cy).map(|d| d * 2);
    Ok(conn)
}

/// An ERROR answering CONNECT: a replica names the master's client
/// address in `master`; a node that knows no master yet names none.
fn refusal(error: &Frame) -> OpenError {
    let master = error.headers.get("master").map(str::trim);
    OpenError::Refused {
        message: error_message(error),
        master: master.filter(|m| !m.is_empty()).map(str::to_owned),
    }
}

/// The `message` header of an ERROR frame, with the body's first line if
/// it adds anything.
pub(crate) fn error_message(frame: &Frame) -> String {
    let message = frame.headers.get("message").unwrap_or("(no message)");
    let body = String::from_utf8_lossy(&frame.body);
    match body.lines().next().map(str::trim) {
        Some(line) if !line.is_empty() && line != message => format!("{message}: {line}"),
        _ => message.to_owned(),
    }
}

impl Conn {
    /// Adds a frame to what the next `flush` writes.
    pub fn queue(&mut self, frame: &Frame) {
        encode(frame, Version::V1_2, &mut self.out);
    }

    /// Writes every queued frame.
    pub async fn flush(&mut self) -> Result<(), String> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = tokio::time::timeout(WRITE_TIMEOUT, self.wr.write_all(&self.out)).await;
        self.out.clear();
        match write {
            Ok(Ok(())) => {
                self.last_write = Instant::now();
                Ok(())
            }
            Ok(Err(e)) => Err(format!("writing to {}: {e}", self.addr)),
            Err(_) => Err(format!(
                "writing to {} blocked for {WRITE_TIMEOUT:?}",
                self.addr
            )),
        }
    }

    /// The next frame from the broker, sending heart-beats while waiting.
    /// Cancel-safe: dropping the future loses no bytes.
    pub async fn next_event(&mut self) -> Event {
        loop {
            match parse(&self.buf, Version::V1_2, &LIMITS) {
                Ok(Parsed::Frame(frame, n)) => {
                    self.buf.advance(n);
                    return Event::Frame(frame);
                }
                Ok(Parsed::Heartbeat(n)) => {
                    self.buf.advance(n);
                    continue;
                }
                Ok(Parsed::Incomplete) => {}
                Err(e) => return Event::Lost(format!("bad frame from {}: {e}", self.addr)),
            }
            let silence = self.silence_limit.map(|d| self.last_read + d);
            let beat = self.send_every.map(|d| self.last_write + d);
            tokio::select! {
                read = self.rd.read_buf(&mut self.buf) => match read {
                    Ok(0) => return Event::Lost(format!("{} closed the connection", self.addr)),
                    Ok(_) => self.last_read = Instant::now(),
                    Err(e) => return Event::Lost(format!("reading from {}: {e}", self.addr)),
                },
                () = at(silence) => {
                    let ms = self.silence_limit.unwrap_or_default().as_millis();
                    return Event::Lost(format!("no heart-beat from {} in {ms} ms", self.addr));
                }
                () = at(beat) => {
                    // A single byte, written without waiting: nothing else
                    // is ever half-written here, and if the socket is full
                    // the broker is not short of bytes from us.
                    let _ = self.wr.try_write(b"\n");
                    self.last_write = Instant::now();
                }
            }
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
pub(crate) async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_refusal_names_the_master() {
        let error = Frame::new(Command::Error)
            .header("message", "this node is a replica")
            .header("master", " 10.0.0.2:61613 ");
        let expected = OpenError::Refused {
            message: "this node is a replica".into(),
            master: Some("10.0.0.2:61613".into()),
        };
        assert_eq!(refusal(&error), expected);
        let no_master = Frame::new(Command::Error)
            .header("message", "no master elected yet")
            .header("master", "")
            .body("election in progress\n");
        let expected = OpenError::Refused {
            message: "no master elected yet: election in progress".into(),
            master: None,
        };
        assert_eq!(refusal(&no_master), expected);
    }
}
