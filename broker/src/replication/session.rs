//! One replica's session on the master: the handshake that finds where
//! its log matches ours, then entries and heartbeats out, acks in.

use super::checkpoint;
use super::divergence::{LogShape, common_prefix};
use super::policy::Progress;
use super::recent::Recent;
use super::wire::{self, BATCH_BYTES, BATCH_ENTRIES, Hello, Message, WireError, within_bytes};
use crate::store::{Entry, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tracing::{Instrument, debug, info, info_span, warn};

/// A heartbeat (with the commit index) when nothing else was sent.
pub const HEARTBEAT: Duration = Duration::from_millis(200);
/// A replica silent for this long is considered gone.
pub const SILENCE: Duration = Duration::from_secs(3);

pub struct SessionContext {
    pub id: u64,
    pub store: Arc<Store>,
    pub epoch: u64,
    pub token: Option<String>,
    /// Whether the policy counts written-but-not-fsynced entries.
    pub written_acks: bool,
    pub progress: watch::Receiver<Progress>,
    /// The newest entries, shipped from memory while a replica keeps up.
    pub recent: Arc<Recent>,
    pub commit: watch::Receiver<u64>,
    pub events: mpsc::Sender<SessionEvent>,
}

#[derive(Debug)]
pub enum SessionEvent {
    Joined {
        node_id: String,
        session: u64,
    },
    Ack {
        node_id: String,
        session: u64,
        progress: Progress,
    },
    Left {
        node_id: String,
        session: u64,
    },
    /// The replica follows a newer epoch: this master is stale.
    Stale {
        epoch: u64,
    },
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Refused(String),
    #[error("the replica said nothing for {0:?}")]
    Silent(Duration),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
}

pub async fn serve(stream: TcpStream, ctx: SessionContext) {
    let peer = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let _ = stream.set_nodelay(true);
    let span = info_span!("replica", peer, session = ctx.id);
    async move {
        let (rd, wr) = stream.into_split();
        let (mut rd, mut wr) = (BufReader::new(rd), BufWriter::new(wr));
        let hello = match tokio::time::timeout(SILENCE, wire::read(&mut rd)).await {
            Ok(Ok(Some(Message::Hello(h)))) => h,
            other => {
                debug!(?other, "no hello from replica");
                return;
            }
        };
        let node_id = hello.node_id.clone();
        match run(&mut rd, &mut wr, &ctx, hello).await {
            Err(SessionError::Refused(reason)) => {
                warn!(replica = %node_id, %reason, "replica refused");
                let _ = wire::write(&mut wr, &Message::Refused { reason }).await;
            }
            Err(e) => debug!(replica = %node_id, error = %e, "replica session ended"),
            Ok(()) => {}
        }
        let left = SessionEvent::Left {
            node_id,
            session: ctx.id,
        };
        let _ = ctx.events.send(left).await;
    }
    .instrument(span)
    .await;
}

async fn run<R, W>(
    rd: &mut R,
    wr: &mut W,
    ctx: &SessionContext,
    hello: Hello,
) -> Result<(), SessionError>
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    if let Some(token) = &ctx.token
        && !constant_time_eq(token.as_bytes(), hello.token.as_bytes())
    {
        return Err(SessionError::Refused("wrong security token".into()));
    }
    if hello.seen_epoch > ctx.epoch {
        let stale = SessionEvent::Stale {
            epoch: hello.seen_epoch,
        };
        let _ = ctx.events.send(stale).await;
        return Err(SessionError::Refused(format!(
            "this master's epoch {} is older than epoch {} the replica follows",
            ctx.epoch, hello.seen_epoch
        )));
    }
    let epochs = ctx.store.epochs()?;
    let last = ctx.store.last_position()?;
    let common = common_prefix(
        LogShape {
            epochs: &epochs,
            last: last.index,
        },
        LogShape {
            epochs: &hello.epochs,
            last: hello.last.index,
        },
    );
    let first = ctx.store.first_log_index()?.unwrap_or(last.index + 1);
    if common < hello.applied.index || common + 1 < first {
        info!(
            replica = %hello.node_id,
            common,
            applied = hello.applied.index,
            log_starts = first,
            "the log no longer holds what the replica lacks: sending a checkpoint"
        );
        return checkpoint::send(wr, &ctx.store, ctx.epoch, ctx.id)
            .await
            .map_err(|e| SessionError::Checkpoint(e.to_string()));
    }
    let commit = *ctx.commit.borrow();
    wire::write(
        wr,
        &Message::Welcome {
            epoch: ctx.epoch,
            common,
            commit,
            written_acks: ctx.written_acks,
        },
    )
    .await?;
    let joined = SessionEvent::Joined {
        node_id: hello.node_id.clone(),
        session: ctx.id,
    };
    let _ = ctx.events.send(joined).await;
    tokio::select! {
        r = ship(wr, ctx, common + 1) => r,
        r = read_acks(rd, ctx, &hello.node_id) => r,
    }
}

/// Sends entries from `next` on as the local log grows, and heartbeats.
async fn ship<W>(wr: &mut W, ctx: &SessionContext, mut next: u64) -> Result<(), SessionError>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut progress = ctx.progress.clone();
    let mut commit = ctx.commit.clone();
    loop {
        let written = progress.borrow_and_update().mem;
        if next <= written {
            let limit = BATCH_ENTRIES.min((written - next + 1) as usize);
            let entries = match ctx.recent.read(next, limit, BATCH_BYTES) {
                Some(entries) => entries,
                None => (ctx.store.read_log_raw(next, limit)?.into_iter())
                    .take_while(within_bytes(BATCH_BYTES))
                    .collect(),
            };
            let first = entries.first().and_then(|e| Entry::position_of(e).ok());
            if first.map(|p| p.index) != Some(next) {
                return Err(SessionError::Refused(format!(
                    "entry {next} is no longer in this master's log"
                )));
            }
            next += entries.len() as u64;
            let commit = *commit.borrow_and_update();
            wire::write(wr, &Message::Entries { commit, entries }).await?;
            continue;
        }
        tokio::select! {
            r = progress.changed() => match r {
                // New entries carry the commit index themselves.
                Ok(()) => continue,
                Err(_) => return Ok(()),
            },
            r = commit.changed() => if r.is_err() { return Ok(()) },
            _ = tokio::time::sleep(HEARTBEAT) => {}
        }
        let commit = *commit.borrow_and_update();
        wire::write(wr, &Message::Heartbeat { commit }).await?;
    }
}

async fn read_acks<R>(rd: &mut R, ctx: &SessionContext, node_id: &str) -> Result<(), SessionError>
where
    R: tokio::io::AsyncRead + Unpin,
{
    loop {
        let message = tokio::time::timeout(SILENCE, wire::read(rd))
            .await
            .map_err(|_| SessionError::Silent(SILENCE))??;
        match message {
            Some(Message::Ack { mem, disk }) => {
                let ack = SessionEvent::Ack {
                    node_id: node_id.to_owned(),
                    session: ctx.id,
                    progress: Progress { mem, disk },
                };
                if ctx.events.send(ack).await.is_err() {
                    return Ok(());
                }
            }
            Some(other) => debug!(?other, "unexpected message from a replica"),
            None => return Ok(()),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
