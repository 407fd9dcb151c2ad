//! The producing side and the connection's lifetime: `Client`, `Receipt`.
//!
//! Every handle is a thin sender to the driver task that owns the
//! connection, so the handles hold no lock and may be used from any task.

use crate::driver::{Cmd, Driver};
use crate::error::Error;
use crate::subscription::{AckMode, Subscription};
use crate::url::FailoverUrl;
use bytes::Bytes;
use ferromq_stomp::{Command, Frame, Headers};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

/// How the client connects, beyond what the URL says.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub login: Option<String>,
    pub passcode: Option<String>,
    /// The CONNECT `host` header; the address's host when `None`.
    pub host: Option<String>,
    /// Heart-beats in ms: (this client can send every, wants every).
    pub heart_beat: (u64, u64),
    /// How long one address may take to answer CONNECT.
    pub connect_timeout: Duration,
    /// The most SENDs `send_async` keeps waiting for receipts.
    pub max_in_flight: usize,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            login: None,
            passcode: None,
            host: None,
            heart_beat: (10_000, 10_000),
            connect_timeout: Duration::from_secs(10),
            max_in_flight: 256,
        }
    }
}

/// A connection to a ferromq cluster that fails over by itself.
///
/// Delivery is at least once: a SEND whose receipt was lost with a
/// connection is sent again on the next one, so a message may arrive
/// twice. The broker marks only its own redeliveries `redelivered:true`;
/// a resent SEND is a new message to it, and the application must
/// tolerate the duplicate.
#[derive(Debug)]
pub struct Client {
    cmds: mpsc::Sender<Cmd>,
    window: Arc<Semaphore>,
    next_sub: AtomicU64,
    connected_to: watch::Receiver<Option<String>>,
}

impl Client {
    /// Parses `url` and connects to the first broker that serves.
    pub async fn connect(url: &str, options: ConnectOptions) -> Result<Client, Error> {
        let url = FailoverUrl::parse(url)?;
        let window = Arc::new(Semaphore::new(options.max_in_flight.max(1)));
        let (cmds, rx) = mpsc::channel(1024);
        let (connected_tx, connected_to) = watch::channel(None);
        let (driver, conn) =
            Driver::start(url, options, rx, cmds.downgrade(), connected_tx).await?;
        tokio::spawn(driver.run(conn));
        Ok(Client {
            cmds,
            window,
            next_sub: AtomicU64::new(1),
            connected_to,
        })
    }

    /// The `host:port` of the broker serving this client, if connected.
    pub fn connected_to(&self) -> Option<String> {
        self.connected_to.borrow().clone()
    }

    /// Sends a message and waits for the broker's receipt. Messages to a
    /// `/queue/` are `persistent:true` unless `headers` say otherwise.
    pub async fn send(
        &self,
        destination: &str,
        headers: Headers,
        body: impl Into<Bytes>,
    ) -> Result<(), Error> {
        self.send_async(destination, headers, body).await?.await
    }

    /// Sends a message without waiting for its receipt: waits only for a
    /// place in the in-flight window, and returns the receipt to await.
    pub async fn send_async(
        &self,
        destination: &str,
        mut headers: Headers,
        body: impl Into<Bytes>,
    ) -> Result<Receipt, Error> {
        let permit = Arc::clone(&self.window)
            .acquire_owned()
            .await
            .map_err(|_| Error::Closed)?;
        headers.set("destination", destination);
        headers.remove("receipt");
        if destination.starts_with("/queue/") && headers.get("persistent").is_none() {
            headers.push("persistent", "true");
        }
        let frame = Frame {
            command: Command::Send,
            headers,
            body: body.into(),
        };
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Send {
            frame,
            reply,
            permit,
        };
        self.cmds.send(cmd).await.map_err(|_| Error::Closed)?;
        Ok(Receipt { rx })
    }

    /// Subscribes to a destination; returns once the broker confirmed it.
    pub async fn subscribe(&self, destination: &str, ack: AckMode) -> Result<Subscription, Error> {
        self.subscribe_with(destination, ack, Headers::new()).await
    }

    /// Subscribes with extra SUBSCRIBE headers, such as
    /// `activemq.prefetchSize`; they are sent again on every reconnect.
    pub async fn subscribe_with(
        &self,
        destination: &str,
        ack: AckMode,
        mut headers: Headers,
    ) -> Result<Subscription, Error> {
        let id = format!("sub-{}", self.next_sub.fetch_add(1, Ordering::Relaxed));
        for name in ["destination", "id", "ack", "receipt"] {
            headers.remove(name);
        }
        headers.push("destination", destination);
        headers.push("id", id.as_str());
        headers.push("ack", ack.as_str());
        let frame = Frame {
            command: Command::Subscribe,
            headers,
            body: Bytes::new(),
        };
        let (deliver, messages) = mpsc::unbounded_channel();
        let (reply, rx) = oneshot::channel();
        let cmd = Cmd::Subscribe {
            id: id.clone(),
            ack,
            frame,
            deliver,
            reply,
        };
        self.cmds.send(cmd).await.map_err(|_| Error::Closed)?;
        Receipt { rx }.await?;
        Ok(Subscription::new(id, messages, self.cmds.clone()))
    }

    /// Sends DISCONNECT and waits for its receipt: then the broker has
    /// handled every frame sent before it, ACKs included.
    pub async fn disconnect(self) -> Result<(), Error> {
        let (reply, rx) = oneshot::channel();
        self.cmds
            .send(Cmd::Disconnect { reply })
            .await
            .map_err(|_| Error::Closed)?;
        Receipt { rx }.await
    }
}

/// A SEND's pending receipt: resolves to `Ok(())` once the broker
/// receipted the message. See [`Error`] for what a failure means.
#[must_use = "a receipt says whether the message was stored"]
#[derive(Debug)]
pub struct Receipt {
    pub(crate) rx: oneshot::Receiver<Result<(), Error>>,
}

impl Future for Receipt {
    type Output = Result<(), Error>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The driver answers every operation it took; a dropped answer
        // means it never took this one.
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(Error::Closed)))
    }
}
