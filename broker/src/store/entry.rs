//! Log entries and their binary encoding.
//!
//! The same bytes go to the local log, to replicas, and (for messages) to
//! the queue state, so the format is explicit and versioned rather than
//! left to a serialisation library's defaults.

pub use crate::encoding::DecodeError;
use crate::encoding::{Reader, put_bytes, put_str, put_u32, put_u64};
use bytes::Bytes;
use std::sync::Arc;

const FORMAT_VERSION: u8 = 1;

pub use ferromq_election::Position;

/// A message as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Broker-wide sequence number: orders a queue and names the message.
    pub seq: u64,
    /// The sender's headers, as sent (less those the broker sets).
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub persistent: bool,
    /// Expiry time in epoch milliseconds.
    pub expires: Option<u64>,
}

/// One change to the broker's durable state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A message joins a queue.
    Enqueue {
        queue: Arc<str>,
        message: Arc<MessageRecord>,
    },
    /// A message leaves a queue: acknowledged or expired.
    Remove { queue: Arc<str>, seq: u64 },
    /// Marks the start of a master's (or a standalone broker's) epoch.
    Barrier,
}

/// One log entry: its operations take effect together or not at all
/// (a transaction's sends and acks share one entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub position: Position,
    pub ops: Vec<Op>,
}

impl Entry {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(FORMAT_VERSION);
        put_u64(out, self.position.epoch);
        put_u64(out, self.position.index);
        put_u32(out, self.ops.len() as u32);
        for op in &self.ops {
            match op {
                Op::Enqueue { queue, message } => {
                    out.push(1);
                    put_str(out, queue);
                    message.encode(out);
                }
                Op::Remove { queue, seq } => {
                    out.push(2);
                    put_str(out, queue);
                    put_u64(out, *seq);
                }
                Op::Barrier => out.push(3),
            }
        }
    }

    /// The encoding, in a buffer of its own: what the log stores and
    /// replication ships.
    pub fn encoded(&self) -> Bytes {
        let mut out = Vec::new();
        self.encode(&mut out);
        Bytes::from(out)
    }

    /// The position in an encoded entry's header, the rest left unread.
    pub fn position_of(bytes: &[u8]) -> Result<Position, DecodeError> {
        Self::read_header(&mut Reader::new(bytes))
    }

    fn read_header(r: &mut Reader<'_>) -> Result<Position, DecodeError> {
        if r.u8()? != FORMAT_VERSION {
            return Err(DecodeError("unknown entry format"));
        }
        Ok(Position {
            epoch: r.u64()?,
            index: r.u64()?,
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Entry, DecodeError> {
        let mut r = Reader::new(bytes);
        let position = Self::read_header(&mut r)?;
        let n = r.u32()? as usize;
        let mut ops = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            ops.push(match r.u8()? {
                1 => Op::Enqueue {
                    queue: r.str()?.into(),
                    message: Arc::new(MessageRecord::read(&mut r)?),
                },
                2 => Op::Remove {
                    queue: r.str()?.into(),
                    seq: r.u64()?,
                },
                3 => Op::Barrier,
                _ => return Err(DecodeError("unknown operation")),
            });
        }
        r.end()?;
        Ok(Entry { position, ops })
    }
}

impl MessageRecord {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.seq);
        out.push(u8::from(self.persistent) | (u8::from(self.expires.is_some()) << 1));
        if let Some(at) = self.expires {
            put_u64(out, at);
        }
        put_u32(out, self.headers.len() as u32);
        for (k, v) in &self.headers {
            put_str(out, k);
            put_str(out, v);
        }
        put_bytes(out, &self.body);
    }

    pub fn decode(bytes: &[u8]) -> Result<MessageRecord, DecodeError> {
        let mut r = Reader::new(bytes);
        let m = MessageRecord::read(&mut r)?;
        r.end()?;
        Ok(m)
    }

    fn read(r: &mut Reader<'_>) -> Result<MessageRecord, DecodeError> {
        let seq = r.u64()?;
        let flags = r.u8()?;
        let expires = if flags & 2 != 0 { Some(r.u64()?) } else { None };
        let n = r.u32()? as usize;
        let mut headers = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            headers.push((r.str()?.to_owned(), r.str()?.to_owned()));
        }
        Ok(MessageRecord {
            seq,
            headers,
            body: Bytes::copy_from_slice(r.bytes()?),
            persistent: flags & 1 != 0,
            expires,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Entry {
        let message = Arc::new(MessageRecord {
            seq: 7,
            headers: vec![("k".into(), "v:é".into())],
            body: Bytes::from_static(b"a\0b"),
            persistent: true,
            expires: Some(123),
        });
        Entry {
            position: Position { epoch: 2, index: 9 },
            ops: vec![
                Op::Enqueue {
                    queue: "q".into(),
                    message,
                },
                Op::Remove {
                    queue: "q".into(),
                    seq: 3,
                },
                Op::Barrier,
            ],
        }
    }

    #[test]
    fn entries_round_trip() {
        let mut out = Vec::new();
        sample().encode(&mut out);
        assert_eq!(Entry::decode(&out), Ok(sample()));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let mut out = Vec::new();
        sample().encode(&mut out);
        for n in 0..out.len() {
            assert!(Entry::decode(&out[..n]).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn positions_compare_epoch_first() {
        let a = Position {
            epoch: 1,
            index: 100,
        };
        let b = Position { epoch: 2, index: 1 };
        assert!(a < b);
    }
}
