//! RocksDB key layouts.
//!
//! A message key is the queue name's length (u16, big-endian), the name,
//! then the sequence number (u64, big-endian): one queue's messages are
//! contiguous and in order, and no name can run into another's keys.

use super::Position;

pub fn queue_prefix(queue: &str) -> Vec<u8> {
    let name = queue.as_bytes();
    let len = u16::try_from(name.len()).unwrap_or(u16::MAX);
    let mut key = Vec::with_capacity(2 + name.len() + 8);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(&name[..usize::from(len)]);
    key
}

pub fn message(queue: &str, seq: u64) -> Vec<u8> {
    let mut key = queue_prefix(queue);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub fn decode_message(key: &[u8]) -> Option<(&str, u64)> {
    let len = usize::from(u16::from_be_bytes([*key.first()?, *key.get(1)?]));
    let name = std::str::from_utf8(key.get(2..2 + len)?).ok()?;
    let seq = key
        .get(2 + len..)?
        .try_into()
        .ok()
        .map(u64::from_be_bytes)?;
    Some((name, seq))
}

pub fn position(p: Position) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&p.epoch.to_be_bytes());
    out[8..].copy_from_slice(&p.index.to_be_bytes());
    out
}

pub fn decode_position(raw: &[u8]) -> Option<Position> {
    let epoch = raw.get(..8)?.try_into().ok().map(u64::from_be_bytes)?;
    let index = raw.get(8..16)?.try_into().ok().map(u64::from_be_bytes)?;
    Some(Position { epoch, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_keys_round_trip_and_sort_by_seq() {
        let a = message("orders", 2);
        let b = message("orders", 10);
        assert!(a < b);
        assert_eq!(decode_message(&b), Some(("orders", 10)));
        assert!(b.starts_with(&queue_prefix("orders")));
        assert!(!message("ordersx", 1).starts_with(&queue_prefix("orders")));
    }

    #[test]
    fn positions_round_trip() {
        let p = Position {
            epoch: 3,
            index: 99,
        };
        assert_eq!(decode_position(&position(p)), Some(p));
        assert_eq!(decode_position(b"short"), None);
    }
}
