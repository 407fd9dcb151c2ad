//! The load the failover figures are read from: one producer sending
//! persistent messages one at a time (window 1) through ferromq-client,
//! each with a unique id, and a log of when each receipt came; then a
//! drain that checks every receipted id came back.

use crate::client::{Endpoint, ack_frame, connect, disconnect, queue_destination, subscribe_frame};
use crate::workloads::PREFETCH;
use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use ferromq_client::{Client, ConnectOptions, Error, Headers};
use ferromq_stomp::Command;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The header carrying a message's id, checked by the drain.
pub const ID_HEADER: &str = "bench-id";
/// A drain ends after this long without a MESSAGE.
const DRAIN_IDLE: Duration = Duration::from_secs(3);
/// A drain gives up after this long in all.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

/// What the producer saw, shared with the rounds that read it.
#[derive(Default)]
pub struct ReceiptLog {
    /// (id, when its receipt came), in receipt order.
    receipted: Mutex<Vec<(u64, Instant)>>,
    /// SENDs the client answered with an error: not receipted, so not
    /// owed back, but worth reporting.
    errors: Mutex<Vec<String>>,
}

impl ReceiptLog {
    pub fn count(&self) -> usize {
        self.receipted.lock().map(|r| r.len()).unwrap_or(0)
    }

    /// The longest wait between two consecutive receipts from the last
    /// one at or before `kill` to the first one after `settled` (a moment
    /// when the new master was known to serve); `None` until that one has
    /// come. A gap, not "first receipt after the kill": a receipt the old
    /// master wrote just before it died can be read just after the kill.
    pub fn stall(&self, kill: Instant, settled: Instant) -> Option<Duration> {
        let r = self.receipted.lock().ok()?;
        let from = r.partition_point(|(_, at)| *at <= kill).checked_sub(1)?;
        let to = r.partition_point(|(_, at)| *at <= settled);
        if to >= r.len() {
            return None;
        }
        r[from..=to].windows(2).map(|w| w[1].1 - w[0].1).max()
    }

    pub fn ids(&self) -> Vec<u64> {
        let r = self.receipted.lock();
        r.map(|r| r.iter().map(|(id, _)| *id).collect())
            .unwrap_or_default()
    }

    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

/// The running producer; `stop` ends it after the SEND in progress.
pub struct Producer {
    pub log: Arc<ReceiptLog>,
    stop: Arc<AtomicBool>,
    task: JoinHandle<Result<()>>,
}

impl Producer {
    /// Connects through `url` and starts sending to `queue`.
    pub async fn start(url: &str, ep: &Endpoint, queue: &str, body: Bytes) -> Result<Producer> {
        let options = ConnectOptions {
            login: Some(ep.login.clone()),
            passcode: Some(ep.passcode.clone()),
            ..ConnectOptions::default()
        };
        let client = Client::connect(url, options)
            .await
            .with_context(|| format!("connecting ferromq-client to {url}"))?;
        let log = Arc::new(ReceiptLog::default());
        let stop = Arc::new(AtomicBool::new(false));
        let dest = queue_destination(queue);
        let task = tokio::spawn(send_loop(client, dest, body, log.clone(), stop.clone()));
        Ok(Producer { log, stop, task })
    }

    /// Stops sending; waits (bounded) for the SEND in progress.
    pub async fn stop(self, limit: Duration) -> Result<()> {
        self.stop.store(true, Ordering::Release);
        let abort = self.task.abort_handle();
        match tokio::time::timeout(limit, self.task).await {
            Ok(joined) => joined.context("producer task panicked")?,
            Err(_) => {
                abort.abort();
                bail!("the producer did not finish its last SEND within {limit:?}")
            }
        }
    }
}

async fn send_loop(
    client: Client,
    dest: String,
    body: Bytes,
    log: Arc<ReceiptLog>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    let mut id = 0u64;
    while !stop.load(Ordering::Acquire) {
        id += 1;
        let mut headers = Headers::new();
        headers.push(ID_HEADER, id.to_string());
        match client.send(&dest, headers, body.clone()).await {
            Ok(()) => {
                if let Ok(mut r) = log.receipted.lock() {
                    r.push((id, Instant::now()));
                }
            }
            Err(Error::Closed) => bail!("the client closed"),
            Err(e) => {
                if let Ok(mut errors) = log.errors.lock() {
                    errors.push(format!("id {id}: {e}"));
                }
                // A broker ERROR closes the connection; the client finds
                // the next one by itself. Do not spin meanwhile.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    client
        .disconnect()
        .await
        .map_err(|e| anyhow!("DISCONNECT: {e}"))
}

/// What a drain found.
pub struct Drained {
    /// Distinct ids delivered.
    pub ids: HashSet<u64>,
    /// MESSAGEs whose id had come already (a SEND resent after a
    /// failover, which at-least-once delivery allows).
    pub duplicates: u64,
}

/// Consumes `queue` on the broker at `ep` (the master) until it has been
/// quiet for a while, acknowledging everything.
pub async fn drain(ep: &Endpoint, queue: &str) -> Result<Drained> {
    let (mut reader, mut writer) = connect(ep).await?;
    let dest = queue_destination(queue);
    writer.queue(&subscribe_frame(&dest, "drain", PREFETCH, None, &[]));
    writer.flush().await?;
    let mut found = Drained {
        ids: HashSet::new(),
        duplicates: 0,
    };
    let start = Instant::now();
    while start.elapsed() < DRAIN_LIMIT {
        let Ok(frame) = tokio::time::timeout(DRAIN_IDLE, reader.next()).await else {
            break;
        };
        let frame = frame.context("draining")?;
        // Everything already buffered, then one write for all its ACKs.
        reader.batch(frame, |frame| {
            if frame.command == Command::Message {
                let id = frame
                    .headers
                    .get(ID_HEADER)
                    .and_then(|v| v.parse().ok())
                    .with_context(|| format!("a MESSAGE without a valid {ID_HEADER} header"))?;
                if !found.ids.insert(id) {
                    found.duplicates += 1;
                }
                writer.queue(&ack_frame(frame)?);
            }
            Ok(())
        })?;
        writer.flush().await?;
    }
    disconnect(reader, writer).await?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_at(base: Instant, ms: &[u64]) -> ReceiptLog {
        let log = ReceiptLog::default();
        if let Ok(mut r) = log.receipted.lock() {
            for (id, m) in ms.iter().enumerate() {
                r.push((id as u64, base + Duration::from_millis(*m)));
            }
        }
        log
    }

    #[test]
    fn the_stall_is_the_longest_gap_around_the_kill() {
        let base = Instant::now();
        let at = |ms| base + Duration::from_millis(ms);
        // A receipt read just after the kill (12) does not end the stall.
        let log = log_at(base, &[0, 5, 10, 12, 2600, 2601]);
        assert_eq!(
            log.stall(at(11), at(2500)),
            Some(Duration::from_millis(2588))
        );
        // Nothing after the moment the new master was seen: not yet.
        let log = log_at(base, &[0, 5, 10]);
        assert_eq!(log.stall(at(11), at(2500)), None);
        // No receipt before the kill: no stall to speak of.
        assert_eq!(log.stall(base - Duration::from_millis(1), at(1)), None);
    }
}
