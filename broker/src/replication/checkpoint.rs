//! Shipping a checkpoint of the master's store to a replica that is too
//! far behind for the log, and loading it on the replica.

use super::wire::{self, Message, WireError};
use crate::store::{Store, StoreError};
use std::io::{Read, Write};
use std::path::Path;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::info;

/// Bytes of a file per message.
const CHUNK: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("checkpoint file: {0}")]
    Io(#[from] std::io::Error),
    #[error("unexpected message during a checkpoint: {0}")]
    Protocol(String),
}

/// Takes a checkpoint of `store` and sends it; the replica reconnects
/// afterwards with its new position.
pub async fn send<W: AsyncWrite + Unpin>(
    wr: &mut W,
    store: &Store,
    epoch: u64,
    session: u64,
) -> Result<(), CheckpointError> {
    let dir = store.scratch_dir(&format!("out-{session}"))?;
    let result = async {
        tokio::task::block_in_place(|| store.checkpoint(&dir))?;
        wire::write(wr, &Message::Checkpoint { epoch }).await?;
        let mut files = 0;
        let mut bytes = 0u64;
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let mut file = std::fs::File::open(&path)?;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = file.read(&mut buf)?;
                let chunk = Message::Chunk {
                    file: name.clone(),
                    data: buf[..n].to_vec(),
                };
                wire::write(wr, &chunk).await?;
                bytes += n as u64;
                if n == 0 {
                    break;
                }
            }
            files += 1;
        }
        wire::write(wr, &Message::CheckpointEnd).await?;
        info!(files, bytes, "checkpoint sent");
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Receives a checkpoint's files (after its `Checkpoint` message) and
/// loads them in place of this replica's state.
pub async fn receive<R: AsyncRead + Unpin>(
    rd: &mut R,
    store: &Store,
) -> Result<(), CheckpointError> {
    let dir = store.scratch_dir("in")?;
    std::fs::create_dir_all(&dir)?;
    let result = async {
        let mut open: Option<(String, std::fs::File)> = None;
        loop {
            match wire::read(rd).await? {
                Some(Message::Chunk { file, data }) => {
                    if !safe_name(&file) {
                        return Err(CheckpointError::Protocol(format!("file name {file:?}")));
                    }
                    if open.as_ref().is_none_or(|(name, _)| *name != file) {
                        if let Some((_, f)) = open.take() {
                            f.sync_all()?;
                        }
                        open = Some((file.clone(), std::fs::File::create(dir.join(&file))?));
                    }
                    if let Some((_, f)) = open.as_mut() {
                        f.write_all(&data)?;
                    }
                }
                Some(Message::CheckpointEnd) => break,
                other => return Err(CheckpointError::Protocol(format!("{other:?}"))),
            }
        }
        if let Some((_, f)) = open.take() {
            f.sync_all()?;
        }
        tokio::task::block_in_place(|| store.load_checkpoint(&dir))?;
        info!(position = ?store.last_position()?, "checkpoint loaded");
        Ok(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// A checkpoint file name: RocksDB's own, never a path.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && Path::new(name).file_name().is_some_and(|n| n == name)
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn only_plain_file_names_are_accepted() {
        assert!(safe_name("000012.sst"));
        assert!(safe_name("MANIFEST-000005"));
        assert!(!safe_name("../etc/passwd"));
        assert!(!safe_name(".hidden"));
        assert!(!safe_name("a/b"));
        assert!(!safe_name(""));
    }
}
