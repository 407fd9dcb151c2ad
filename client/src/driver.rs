//! The one task that owns the connection: takes commands from the
//! handles, writes frames, reads the broker's, and when the connection
//! is lost finds the next broker and restores the session on it.

use crate::client::ConnectOptions;
use crate::conn::{self, Conn, Event, OpenError};
use crate::error::Error;
use crate::plan::{Plan, Step};
use crate::state::{Op, Reply, State, receipt_header};
use crate::subscription::{AckMode, Message};
use crate::url::FailoverUrl;
use ferromq_stomp::{Command, Frame};
use std::future::Future;
use tokio::sync::{OwnedSemaphorePermit, mpsc, watch};
use tracing::{debug, info, warn};

/// Commands from the handles to the driver.
pub(crate) enum Cmd {
    Send {
        frame: Frame,
        reply: Reply,
        permit: OwnedSemaphorePermit,
    },
    Subscribe {
        id: String,
        ack: AckMode,
        frame: Frame,
        deliver: mpsc::UnboundedSender<Message>,
        reply: Reply,
    },
    /// `reply` is `None` when a dropped `Subscription` ends itself.
    Unsubscribe {
        id: String,
        reply: Option<Reply>,
    },
    Ack {
        frame: Frame,
        generation: u64,
        reply: Reply,
    },
    Disconnect {
        reply: Reply,
    },
}

/// Commands handled before one flush, so that pipelined SENDs share
/// system calls.
const BATCH: usize = 64;

pub(crate) struct Driver {
    url: FailoverUrl,
    options: ConnectOptions,
    cmds: mpsc::Receiver<Cmd>,
    /// Given to messages for their ACKs; does not keep the driver alive.
    weak: mpsc::WeakSender<Cmd>,
    state: State,
    connected_to: watch::Sender<Option<String>>,
    /// No more commands are taken (every handle is gone, or DISCONNECT
    /// was asked for); the driver ends once nothing is pending.
    closing: bool,
    /// A DISCONNECT is written and awaits its receipt.
    disconnecting: bool,
    /// DISCONNECT is done, or asked for while no broker was connected.
    done: bool,
    last_error: String,
}

impl Driver {
    /// Makes the first connection, before any handle exists.
    pub async fn start(
        url: FailoverUrl,
        options: ConnectOptions,
        cmds: mpsc::Receiver<Cmd>,
        weak: mpsc::WeakSender<Cmd>,
        connected_to: watch::Sender<Option<String>>,
    ) -> Result<(Driver, Conn), Error> {
        let mut driver = Driver {
            url,
            options,
            cmds,
            weak,
            state: State::default(),
            connected_to,
            closing: false,
            disconnecting: false,
            done: false,
            last_error: String::new(),
        };
        let plan = Plan::startup(&driver.url.addresses, &driver.url.options);
        match driver.search(plan).await {
            Some(conn) => {
                // Known to the caller as soon as `connect` returns.
                driver.connected_to.send_replace(Some(conn.addr.clone()));
                Ok((driver, conn))
            }
            None => Err(Error::Connect(driver.last_error)),
        }
    }

    pub async fn run(mut self, mut conn: Conn) {
        loop {
            let Some(lost) = self.serve(&mut conn).await else {
                return;
            };
            self.connected_to.send_replace(None);
            warn!(broker = %conn.addr, reason = %lost, "connection lost");
            if self.disconnecting {
                // Leaving anyway: no reconnect just to say goodbye.
                self.state.fail_all(&lost);
                return;
            }
            self.last_error = lost;
            self.state.on_lost();
            let plan = Plan::reconnect(&self.url.addresses, &self.url.options);
            match self.search(plan).await {
                Some(next) => conn = next,
                None => return,
            }
        }
    }

    /// Uses one connection until it is lost (`Some(why)`) or the client
    /// is finished (`None`).
    async fn serve(&mut self, conn: &mut Conn) -> Option<String> {
        info!(broker = %conn.addr, "connected");
        self.connected_to.send_replace(Some(conn.addr.clone()));
        for frame in self.state.restore() {
            conn.queue(&frame);
        }
        if let Err(e) = conn.flush().await {
            return Some(e);
        }
        loop {
            if self.finished() {
                return None;
            }
            tokio::select! {
                cmd = self.cmds.recv(), if !self.closing => {
                    let Some(cmd) = cmd else {
                        self.closing = true;
                        continue;
                    };
                    self.command(cmd, Some(conn));
                    for _ in 1..BATCH {
                        match self.cmds.try_recv() {
                            Ok(cmd) => self.command(cmd, Some(conn)),
                            Err(_) => break,
                        }
                    }
                    if let Err(e) = conn.flush().await {
                        return Some(e);
                    }
                }
                event = conn.next_event() => match event {
                    Event::Lost(why) => return Some(why),
                    Event::Frame(frame) => match frame.command {
                        Command::Message => {
                            if let Some(unsubscribe) = self.state.deliver(frame, &self.weak) {
                                conn.queue(&unsubscribe);
                                if let Err(e) = conn.flush().await {
                                    return Some(e);
                                }
                            }
                        }
                        Command::Receipt => {
                            if self.state.on_receipt(&frame) {
                                self.state.fail_all("the client disconnected");
                                self.done = true;
                            }
                        }
                        Command::Error => {
                            let message = conn::error_message(&frame);
                            self.state.on_error(&frame);
                            return Some(format!("broker error: {message}"));
                        }
                        other => debug!(command = other.as_str(), "ignored frame"),
                    },
                },
            }
        }
    }

    /// Handles one command; writes go to `conn` when there is one.
    fn command(&mut self, cmd: Cmd, conn: Option<&mut Conn>) {
        let connected = conn.is_some();
        match cmd {
            Cmd::Send {
                frame,
                reply,
                permit,
            } => {
                let op = Op::Send {
                    frame,
                    _permit: permit,
                };
                let id = self.state.add(op, reply, connected);
                if let (Some(conn), Some(frame)) = (conn, self.state.send_frame(id)) {
                    conn.queue(frame);
                }
            }
            cmd @ Cmd::Subscribe { .. } => {
                let first = self.state.subscribe(cmd, connected);
                if let (Some(conn), Some(frame)) = (conn, first) {
                    conn.queue(&frame);
                }
            }
            Cmd::Unsubscribe { id, reply } => {
                let known = self.state.unsubscribe(&id);
                match (conn, reply) {
                    (Some(conn), Some(reply)) if known => {
                        let r = self.state.add(Op::Unsubscribe, reply, true);
                        let frame = Frame::new(Command::Unsubscribe)
                            .header("id", id)
                            .header("receipt", receipt_header(r));
                        conn.queue(&frame);
                    }
                    (Some(conn), None) if known => {
                        conn.queue(&Frame::new(Command::Unsubscribe).header("id", id));
                    }
                    (_, reply) => {
                        let _ = reply.map(|r| r.send(Ok(())));
                    }
                }
            }
            Cmd::Ack {
                frame,
                generation,
                reply,
            } => match conn {
                Some(conn) if generation == self.state.generation => {
                    conn.queue(&frame);
                    let _ = reply.send(Ok(()));
                }
                _ => {
                    let _ = reply.send(Err(Error::Stale));
                }
            },
            Cmd::Disconnect { reply } => {
                self.closing = true;
                match conn {
                    Some(conn) => {
                        self.disconnecting = true;
                        let r = self.state.add(Op::Disconnect, reply, true);
                        conn.queue(
                            &Frame::new(Command::Disconnect).header("receipt", receipt_header(r)),
                        );
                    }
                    None => {
                        self.state
                            .fail_all("the client disconnected before a broker answered");
                        let _ = reply.send(Ok(()));
                        self.done = true;
                    }
                }
            }
        }
    }

    fn finished(&self) -> bool {
        self.done || (self.closing && self.state.is_idle())
    }

    /// Looks for a broker that serves, taking commands while it waits.
    /// `None` when the plan gave up (everything pending is answered) or
    /// the client finished meanwhile.
    async fn search(&mut self, mut plan: Plan) -> Option<Conn> {
        loop {
            match plan.next() {
                Step::Try(addr) => {
                    let options = self.options.clone();
                    match self.meanwhile(conn::open(&addr, &options)).await? {
                        Ok(conn) => return Some(conn),
                        Err(OpenError::Refused { message, master }) => {
                            info!(broker = %addr, %message, master = ?master, "broker refused");
                            plan.answered();
                            if let Some(master) = master {
                                plan.redirect(&master);
                            }
                            self.last_error = format!("{addr}: {message}");
                        }
                        Err(OpenError::Io(e)) => {
                            debug!(error = %e, "connect failed");
                            self.last_error = e;
                        }
                    }
                }
                Step::Wait(delay) => self.meanwhile(tokio::time::sleep(delay)).await?,
                Step::GiveUp => {
                    let reason = format!("no broker would serve: {}", self.last_error);
                    // Before the first connection the caller gets the error.
                    if self.state.generation > 0 {
                        warn!(%reason, "giving up");
                    }
                    self.state.fail_all(&reason);
                    return None;
                }
            }
        }
    }

    /// Awaits `work` (a connection attempt, a wait between rounds) while
    /// queueing commands and failing operations whose `timeout` ends;
    /// `None` if the client finished meanwhile.
    async fn meanwhile<F: Future>(&mut self, work: F) -> Option<F::Output> {
        tokio::pin!(work);
        let timeout = self.url.options.timeout;
        loop {
            self.state.expire(timeout);
            if self.finished() {
                return None;
            }
            tokio::select! {
                out = &mut work => return Some(out),
                () = conn::at(self.state.next_expiry(timeout)) => {}
                cmd = self.cmds.recv(), if !self.closing => match cmd {
                    Some(cmd) => self.command(cmd, None),
                    None => self.closing = true,
                },
            }
        }
    }
}
