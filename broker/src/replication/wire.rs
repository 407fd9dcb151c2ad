//! The replication protocol's messages and their framing.
//!
//! A replica connects to the master's `--bind` address and says `Hello`
//! (who it is, its token, how far its log got); the master answers
//! `Welcome` (its epoch, and the index up to which the replica's log
//! matches its own) or `Refused`, then streams `Entries` and `Heartbeat`s;
//! the replica answers with `Ack`s. Every message is framed as a u32
//! little-endian length, a type byte, then the payload. Entries travel as
//! the bytes the master's log stores.

use crate::encoding::{DecodeError, Reader, put_bytes, put_str, put_u32, put_u64};
use crate::store::{EpochStart, Position};
use bytes::Bytes;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest message accepted: bounds what a peer can make us buffer.
pub const MAX_MESSAGE: usize = 64 << 20;
/// Entries shipped in one message at most (by count and bytes).
pub const BATCH_ENTRIES: usize = 2_000;
pub const BATCH_BYTES: usize = 8 << 20;

/// A `take_while` test that keeps entries while they add up to at most
/// `max` bytes, and always the first: a batch never stalls on one entry.
pub fn within_bytes(max: usize) -> impl FnMut(&Bytes) -> bool {
    let mut bytes = 0;
    move |e| {
        bytes += e.len();
        bytes <= max || bytes == e.len()
    }
}

#[derive(Debug, Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("message of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("unknown message type {0}")]
    UnknownType(u8),
}

/// What a replica says first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub token: String,
    pub node_id: String,
    /// The highest epoch this replica has accepted a master of.
    pub seen_epoch: u64,
    pub last: Position,
    pub applied: Position,
    pub epochs: Vec<EpochStart>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    /// The master's epoch; the replica keeps its log up to `common` and
    /// drops the rest.
    Welcome {
        epoch: u64,
        common: u64,
        commit: u64,
        /// Whether the master's policy counts entries a replica has
        /// written but not yet fsynced: then the replica acknowledges
        /// both steps, else only the fsync.
        written_acks: bool,
    },
    Refused {
        reason: String,
    },
    /// Log entries following the replica's last one, and the master's
    /// commit index.
    Entries {
        commit: u64,
        entries: Vec<Bytes>,
    },
    Heartbeat {
        commit: u64,
    },
    /// How far the replica's log got: written, and fsynced.
    Ack {
        mem: u64,
        disk: u64,
    },
    /// The master's log no longer holds what the replica lacks: the files
    /// of a checkpoint of the master's store follow, in chunks.
    Checkpoint {
        epoch: u64,
    },
    Chunk {
        file: String,
        data: Vec<u8>,
    },
    CheckpointEnd,
}

impl Message {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        put_u32(out, 0);
        match self {
            Message::Hello(h) => {
                out.push(1);
                put_str(out, &h.token);
                put_str(out, &h.node_id);
                put_u64(out, h.seen_epoch);
                put_position(out, h.last);
                put_position(out, h.applied);
                put_u32(out, h.epochs.len() as u32);
                for &(epoch, first) in &h.epochs {
                    put_u64(out, epoch);
                    put_u64(out, first);
                }
            }
            Message::Welcome {
                epoch,
                common,
                commit,
                written_acks,
            } => {
                out.push(2);
                put_u64(out, *epoch);
                put_u64(out, *common);
                put_u64(out, *commit);
                out.push(u8::from(*written_acks));
            }
            Message::Refused { reason } => {
                out.push(3);
                put_str(out, reason);
            }
            Message::Entries { commit, entries } => {
                out.push(4);
                put_u64(out, *commit);
                put_u32(out, entries.len() as u32);
                for e in entries {
                    put_bytes(out, e);
                }
            }
            Message::Heartbeat { commit } => {
                out.push(5);
                put_u64(out, *commit);
            }
            Message::Ack { mem, disk } => {
                out.push(6);
                put_u64(out, *mem);
                put_u64(out, *disk);
            }
            Message::Checkpoint { epoch } => {
                out.push(7);
                put_u64(out, *epoch);
            }
            Message::Chunk { file, data } => {
                out.push(8);
                put_str(out, file);
                put_bytes(out, data);
            }
            Message::CheckpointEnd => out.push(9),
        }
        let len = (out.len() - start - 4) as u32;
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    }

    /// Decodes one message body (type byte and payload, no length).
    /// Entries stay slices of `body`, uncopied.
    pub fn decode(body: &Bytes) -> Result<Message, WireError> {
        let mut r = Reader::new(body);
        let m = match r.u8()? {
            1 => {
                let token = r.str()?.to_owned();
                let node_id = r.str()?.to_owned();
                let seen_epoch = r.u64()?;
                let last = read_position(&mut r)?;
                let applied = read_position(&mut r)?;
                let n = r.u32()? as usize;
                let mut epochs = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    epochs.push((r.u64()?, r.u64()?));
                }
                Message::Hello(Hello {
                    token,
                    node_id,
                    seen_epoch,
                    last,
                    applied,
                    epochs,
                })
            }
            2 => Message::Welcome {
                epoch: r.u64()?,
                common: r.u64()?,
                commit: r.u64()?,
                written_acks: r.u8()? != 0,
            },
            3 => Message::Refused {
                reason: r.str()?.to_owned(),
            },
            4 => {
                let commit = r.u64()?;
                let n = r.u32()? as usize;
                let mut entries = Vec::with_capacity(n.min(BATCH_ENTRIES));
                for _ in 0..n {
                    entries.push(body.slice_ref(r.bytes()?));
                }
                Message::Entries { commit, entries }
            }
            5 => Message::Heartbeat { commit: r.u64()? },
            6 => Message::Ack {
                mem: r.u64()?,
                disk: r.u64()?,
            },
            7 => Message::Checkpoint { epoch: r.u64()? },
            8 => Message::Chunk {
                file: r.str()?.to_owned(),
                data: r.bytes()?.to_vec(),
            },
            9 => Message::CheckpointEnd,
            other => return Err(WireError::UnknownType(other)),
        };
        r.end()?;
        Ok(m)
    }
}

fn put_position(out: &mut Vec<u8>, p: Position) {
    put_u64(out, p.epoch);
    put_u64(out, p.index);
}

fn read_position(r: &mut Reader<'_>) -> Result<Position, DecodeError> {
    Ok(Position {
        epoch: r.u64()?,
        index: r.u64()?,
    })
}

/// Reads one message; `None` when the peer closed the connection cleanly.
pub async fn read<R: AsyncRead + Unpin>(rd: &mut R) -> Result<Option<Message>, WireError> {
    let mut len = [0u8; 4];
    match rd.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > MAX_MESSAGE {
        return Err(WireError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    rd.read_exact(&mut body).await?;
    Message::decode(&Bytes::from(body)).map(Some)
}

/// Writes one message and flushes it.
pub async fn write<W: AsyncWrite + Unpin>(wr: &mut W, m: &Message) -> Result<(), WireError> {
    let mut out = Vec::new();
    m.encode(&mut out);
    wr.write_all(&out).await?;
    wr.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Message> {
        vec![
            Message::Hello(Hello {
                token: "t".into(),
                node_id: "b1".into(),
                seen_epoch: 3,
                last: Position { epoch: 3, index: 9 },
                applied: Position { epoch: 2, index: 4 },
                epochs: vec![(1, 1), (3, 5)],
            }),
            Message::Welcome {
                epoch: 4,
                common: 7,
                commit: 6,
                written_acks: true,
            },
            Message::Refused {
                reason: "bad token".into(),
            },
            Message::Entries {
                commit: 5,
                entries: vec![Bytes::from_static(&[1, 2, 3]), Bytes::new()],
            },
            Message::Heartbeat { commit: 8 },
            Message::Ack { mem: 9, disk: 7 },
            Message::Checkpoint { epoch: 3 },
            Message::Chunk {
                file: "000012.sst".into(),
                data: vec![0, 1, 2],
            },
            Message::CheckpointEnd,
        ]
    }

    #[test]
    fn messages_round_trip_and_truncations_fail() {
        for m in samples() {
            let mut out = Vec::new();
            m.encode(&mut out);
            let body = Bytes::copy_from_slice(&out[4..]);
            assert_eq!(
                u32::from_le_bytes([out[0], out[1], out[2], out[3]]) as usize,
                body.len()
            );
            assert_eq!(Message::decode(&body).ok(), Some(m.clone()));
            for n in 0..body.len() {
                assert!(
                    Message::decode(&body.slice(..n)).is_err(),
                    "{m:?} prefix {n}"
                );
            }
        }
    }

    #[tokio::test]
    async fn framing_over_a_stream() {
        let (mut a, mut b) = tokio::io::duplex(1 << 16);
        for m in samples() {
            write(&mut a, &m).await.expect("write");
        }
        drop(a);
        for m in samples() {
            assert_eq!(read(&mut b).await.expect("read"), Some(m));
        }
        assert_eq!(read(&mut b).await.expect("eof"), None);
    }
}
