//! The replica's side: follow one master, append what it ships, fsync in
//! groups, acknowledge, and apply what it says is committed, so that a
//! promoted replica already holds the queue state.

use super::checkpoint;
use super::wire::{self, Hello, Message, WireError};
use crate::store::trim::Trimmer;
use crate::store::{Entry, Position, Store, StoreError};
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{BufReader, BufWriter};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A master silent for this long (it heartbeats every 200 ms) is gone.
const SILENCE: Duration = Duration::from_secs(2);
const RECEIVED_BATCH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot reach the master at {addr}: {reason}")]
    Connect { addr: String, reason: String },
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the master refused this replica: {0}")]
    Refused(String),
    #[error("the master's epoch {master} is older than epoch {seen} already followed")]
    StaleMaster { master: u64, seen: u64 },
    #[error("protocol: {0}")]
    Protocol(String),
}

/// Who this replica is, as it introduces itself.
pub struct Me {
    pub node_id: String,
    pub token: String,
    /// Outgoing connections leave from this address, so that traffic
    /// between nodes can be told apart (and cut, in tests).
    pub source: Option<IpAddr>,
    /// Log entries kept behind the applied one, as on the master: this
    /// node may be the one others catch up from next.
    pub log_retain: u64,
}

/// How far the replica got, for status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowState {
    pub epoch: u64,
    pub last: Position,
    pub commit: u64,
    pub applied: u64,
    pub connected: bool,
}

/// Follows the master at `addr` until the connection ends or `stop` is
/// set. On return no write is in progress: the log is frozen.
pub async fn follow(
    store: Arc<Store>,
    addr: &str,
    me: &Me,
    state: &watch::Sender<FollowState>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), FollowError> {
    let stream = connect(addr, me.source).await?;
    let (rd, wr) = stream.into_split();
    let (mut rd, mut wr) = (BufReader::new(rd), BufWriter::new(wr));
    let last = store.last_position()?;
    let applied = store.applied()?;
    let hello = Hello {
        token: me.token.clone(),
        node_id: me.node_id.clone(),
        seen_epoch: store.seen_epoch()?,
        last,
        applied,
        epochs: store.epochs()?,
    };
    wire::write(&mut wr, &Message::Hello(hello.clone())).await?;
    let welcome = tokio::time::timeout(SILENCE, wire::read(&mut rd)).await;
    let (epoch, common, commit, written_acks) = match welcome {
        Ok(Ok(Some(Message::Welcome {
            epoch,
            common,
            commit,
            written_acks,
        }))) => (epoch, common, commit, written_acks),
        Ok(Ok(Some(Message::Refused { reason }))) => return Err(FollowError::Refused(reason)),
        Ok(Ok(Some(Message::Checkpoint { epoch }))) => {
            if epoch < hello.seen_epoch {
                return Err(FollowError::StaleMaster {
                    master: epoch,
                    seen: hello.seen_epoch,
                });
            }
            blocking(|| store.set_seen_epoch(epoch))?;
            info!(master = %addr, epoch, "catching up from a checkpoint of the master's store");
            checkpoint::receive(&mut rd, &store)
                .await
                .map_err(|e| FollowError::Protocol(format!("checkpoint: {e}")))?;
            return Ok(());
        }
        Ok(Err(e)) => return Err(e.into()),
        _ => return Err(FollowError::Protocol("no welcome from the master".into())),
    };
    if epoch < hello.seen_epoch {
        return Err(FollowError::StaleMaster {
            master: epoch,
            seen: hello.seen_epoch,
        });
    }
    // Fence first: from here on no older master is accepted.
    blocking(|| store.set_seen_epoch(epoch))?;
    blocking(|| store.sync())?;
    if common < last.index {
        info!(
            from = common + 1,
            to = last.index,
            "dropping entries the master does not have"
        );
        blocking(|| store.truncate_after(common))?;
    }
    let last = blocking(|| store.last_position())?;
    let unapplied: VecDeque<Entry> =
        blocking(|| store.read_log(applied.index + 1, (last.index - applied.index) as usize))?
            .into();
    let mut f = Follower {
        store,
        last,
        commit,
        applied: applied.index,
        synced: last.index,
        unapplied,
        epoch,
        written_acks,
        trim: Trimmer::new(me.log_retain, applied.index),
    };
    wire::write(
        &mut wr,
        &Message::Ack {
            mem: last.index,
            disk: last.index,
        },
    )
    .await?;
    info!(master = %addr, epoch, position = ?last, "following");
    f.apply()?;
    state.send_replace(f.state(true));
    let (tx, mut rx) = mpsc::channel(RECEIVED_BATCH * 4);
    let reader = tokio::spawn(async move {
        loop {
            let m = tokio::time::timeout(SILENCE, wire::read(&mut rd)).await;
            let m = match m {
                Ok(Ok(Some(m))) => Ok(m),
                Ok(Ok(None)) => Err(FollowError::Protocol(
                    "the master closed the connection".into(),
                )),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err(FollowError::Protocol(format!(
                    "the master was silent for {SILENCE:?}"
                ))),
            };
            let end = m.is_err();
            if tx.send(m).await.is_err() || end {
                return;
            }
        }
    });
    let result = loop {
        let first = tokio::select! {
            _ = stop.wait_for(|s| *s) => break Ok(()),
            m = rx.recv() => m,
        };
        let Some(first) = first else { break Ok(()) };
        let mut batch = vec![first];
        while batch.len() < RECEIVED_BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        match f.take(batch, &mut wr).await {
            Ok(()) => state.send_replace(f.state(true)),
            Err(e) => break Err(e),
        };
    };
    reader.abort();
    state.send_modify(|s| s.connected = false);
    debug!(?result, "stopped following");
    result
}

struct Follower {
    store: Arc<Store>,
    epoch: u64,
    last: Position,
    commit: u64,
    applied: u64,
    /// The last index known to be fsynced.
    synced: u64,
    unapplied: VecDeque<Entry>,
    /// Acknowledge entries once written, before the fsync, too.
    written_acks: bool,
    trim: Trimmer,
}

impl Follower {
    fn state(&self, connected: bool) -> FollowState {
        FollowState {
            epoch: self.epoch,
            last: self.last,
            commit: self.commit,
            applied: self.applied,
            connected,
        }
    }

    /// Appends everything in `batch` with one fsync, acknowledges, applies.
    async fn take<W>(
        &mut self,
        batch: Vec<Result<Message, FollowError>>,
        wr: &mut W,
    ) -> Result<(), FollowError>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        let mut entries = Vec::new();
        let mut raw_entries = Vec::new();
        for m in batch {
            match m? {
                Message::Entries {
                    commit,
                    entries: raw,
                } => {
                    self.commit = self.commit.max(commit);
                    for bytes in raw {
                        let e = Entry::decode(&bytes).map_err(StoreError::from)?;
                        let expected = self.last.index + entries.len() as u64 + 1;
                        if e.position.index != expected || e.position.epoch > self.epoch {
                            return Err(FollowError::Protocol(format!(
                                "entry {:?} where index {expected} was expected",
                                e.position
                            )));
                        }
                        raw_entries.push((e.position, bytes));
                        entries.push(e);
                    }
                }
                Message::Heartbeat { commit } => self.commit = self.commit.max(commit),
                other => return Err(FollowError::Protocol(format!("unexpected {other:?}"))),
            }
        }
        if let Some(last) = entries.last() {
            let last = last.position;
            let store = &self.store;
            // The bytes as the master's log stores them: no re-encoding.
            blocking(|| store.append_raw(&raw_entries))?;
            self.last = last;
            // Written: enough for `quorum_mem`; then fsynced, for `*_disk`.
            if self.written_acks {
                let written = Message::Ack {
                    mem: last.index,
                    disk: self.synced,
                };
                wire::write(wr, &written).await?;
            }
            blocking(|| store.sync())?;
            self.synced = last.index;
            let synced = Message::Ack {
                mem: last.index,
                disk: last.index,
            };
            wire::write(wr, &synced).await?;
            self.unapplied.extend(entries);
        } else {
            // Answer heartbeats, so the master knows this replica is alive.
            let ack = Message::Ack {
                mem: self.last.index,
                disk: self.synced,
            };
            wire::write(wr, &ack).await?;
        }
        self.apply()
    }

    fn apply(&mut self) -> Result<(), FollowError> {
        let upto = self.commit.min(self.last.index);
        if upto <= self.applied {
            return Ok(());
        }
        let done = super::take_committed(&mut self.unapplied, upto);
        let store = &self.store;
        blocking(|| store.apply(&done))?;
        self.applied = upto;
        if let Some(below) = self.trim.due(upto) {
            blocking(|| store.trim_log(below))?;
        }
        Ok(())
    }
}

async fn connect(addr: &str, source: Option<IpAddr>) -> Result<TcpStream, FollowError> {
    let fail = |reason: String| FollowError::Connect {
        addr: addr.to_owned(),
        reason,
    };
    let target: SocketAddr = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))?;
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(|e| fail(e.to_string()))?;
    if let Some(ip) = source.filter(|ip| ip.is_ipv4() == target.is_ipv4()) {
        socket
            .bind(SocketAddr::new(ip, 0))
            .map_err(|e| fail(format!("cannot bind {ip}: {e}")))?;
    }
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, socket.connect(target))
        .await
        .map_err(|_| fail("timed out".into()))?
        .map_err(|e| fail(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// Runs a store call on this worker thread, letting the runtime move
/// other tasks away while it blocks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}
