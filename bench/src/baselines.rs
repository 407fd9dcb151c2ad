//! The two physical floors a synchronous persistent send cannot beat on
//! this machine: one fdatasync on the data disk and one loopback round trip.

use crate::produce::new_histogram;
use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const FSYNC_OPS: u64 = 3_000;
const FSYNC_TIME: Duration = Duration::from_secs(3);
const RTT_OPS: u64 = 10_000;
const PING_BYTES: usize = 64;

/// The floors measured in this run.
pub struct Baselines {
    pub dir: PathBuf,
    /// 4 KiB append + fdatasync.
    pub fsync: Histogram<u64>,
    pub fsync_per_sec: f64,
    /// A 64-byte ping-pong over TCP on 127.0.0.1.
    pub rtt: Histogram<u64>,
}

/// Measures both floors; `dir` must be on the disk the brokers write to.
pub async fn measure(dir: &Path) -> Result<Baselines> {
    let owned = dir.to_path_buf();
    let (fsync, fsync_per_sec) = tokio::task::spawn_blocking(move || fsync_floor(&owned))
        .await
        .context("fdatasync task panicked")??;
    let rtt = rtt_floor().await.context("loopback round trip")?;
    Ok(Baselines {
        dir: dir.to_path_buf(),
        fsync,
        fsync_per_sec,
        rtt,
    })
}

/// Appends 4 KiB blocks to a fresh file, each followed by fdatasync
/// (`sync_data` is fdatasync on Linux), as a write-ahead log does.
fn fsync_floor(dir: &Path) -> Result<(Histogram<u64>, f64)> {
    // A unique name: two benches may share the directory.
    let mut file = tempfile::Builder::new()
        .prefix("ferromq-bench-fdatasync-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let block = vec![0xa5u8; 4096];
    let mut hist = new_histogram()?;
    let start = Instant::now();
    let mut ops = 0;
    while ops < FSYNC_OPS && start.elapsed() < FSYNC_TIME {
        let t = Instant::now();
        file.write_all(&block).context("appending")?;
        file.as_file().sync_data().context("fdatasync")?;
        crate::produce::record(&mut hist, t);
        ops += 1;
    }
    let per_sec = ops as f64 / start.elapsed().as_secs_f64();
    file.close().context("removing the fdatasync file")?;
    Ok((hist, per_sec))
}

/// Ping-pong of a small message over loopback TCP, with Nagle off on both
/// ends as a broker and its clients have it.
async fn rtt_floor() -> Result<Histogram<u64>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let echo = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await?;
        sock.set_nodelay(true)?;
        let mut buf = [0u8; PING_BYTES];
        loop {
            if sock.read_exact(&mut buf).await.is_err() {
                return anyhow::Ok(());
            }
            sock.write_all(&buf).await?;
        }
    });
    let mut sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let mut buf = [0u8; PING_BYTES];
    let mut hist = new_histogram()?;
    for _ in 0..RTT_OPS {
        let t = Instant::now();
        sock.write_all(&buf).await?;
        sock.read_exact(&mut buf).await?;
        crate::produce::record(&mut hist, t);
    }
    drop(sock);
    echo.await.context("echo task panicked")??;
    Ok(hist)
}
