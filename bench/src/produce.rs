//! Producers: persistent SENDs with a receipt each, up to `window` in
//! flight per connection, receipts matched by `receipt-id`.

use crate::client::{Reader, Writer, disconnect, send_frame};
use anyhow::{Context, Result, bail};
use bytes::Bytes;
use ferromq_stomp::{Command, Frame};
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The header carrying a SEND's timestamp, in microseconds since the
/// workload's base instant, for end-to-end latency.
pub const STAMP_HEADER: &str = "bench-sent-us";

/// A latency histogram in microseconds, from 1 µs to 10 minutes.
pub fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).context("creating a histogram")
}

/// Records a latency, clamped to the histogram's range.
pub fn record(hist: &mut Histogram<u64>, since: Instant) {
    let us = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
    hist.saturating_record(us.max(1));
}

/// The messages all producers of a workload may send between them: a
/// count and a deadline, whichever runs out first.
pub struct Quota {
    limit: u64,
    taken: AtomicU64,
    deadline: Instant,
}

impl Quota {
    pub fn new(limit: u64, deadline: Instant) -> Self {
        Quota {
            limit,
            taken: AtomicU64::new(0),
            deadline,
        }
    }

    /// Claims one message; false once the count or the time is used up.
    pub fn take(&self) -> bool {
        Instant::now() < self.deadline && self.taken.fetch_add(1, Ordering::Relaxed) < self.limit
    }
}

/// What one producer sends and how.
#[derive(Clone)]
pub struct ProducerSpec {
    pub destination: String,
    pub window: usize,
    pub extra: &'static [(&'static str, &'static str)],
    pub body: Bytes,
    pub stamping: Option<Stamping>,
}

/// For end-to-end runs: each SEND carries `STAMP_HEADER`, relative to
/// `base`, and is counted in `sent` (the consumers wait for that many).
#[derive(Clone)]
pub struct Stamping {
    pub base: Instant,
    pub sent: Arc<AtomicU64>,
}

/// What one producer achieved.
pub struct ProducerStats {
    pub acked: u64,
    pub latency: Histogram<u64>,
    pub last_receipt: Option<Instant>,
}

/// Sends until the quota runs out, keeping up to `window` SENDs without a
/// receipt, then waits for the last receipts and disconnects.
pub async fn run_producer(
    mut reader: Reader,
    mut writer: Writer,
    spec: ProducerSpec,
    quota: Arc<Quota>,
) -> Result<ProducerStats> {
    let mut stats = ProducerStats {
        acked: 0,
        latency: new_histogram()?,
        last_receipt: None,
    };
    let mut in_flight: HashMap<u64, Instant> = HashMap::with_capacity(spec.window);
    let mut seq = 0u64;
    let mut exhausted = false;
    loop {
        while !exhausted && in_flight.len() < spec.window {
            if !quota.take() {
                exhausted = true;
                break;
            }
            seq += 1;
            let mut frame = send_frame(
                &spec.destination,
                &seq.to_string(),
                spec.extra,
                spec.body.clone(),
            );
            if let Some(stamping) = &spec.stamping {
                let us = stamping.base.elapsed().as_micros().to_string();
                frame.headers.push(STAMP_HEADER, us);
                stamping.sent.fetch_add(1, Ordering::Relaxed);
            }
            writer.queue(&frame);
            in_flight.insert(seq, Instant::now());
        }
        writer.flush().await?;
        if in_flight.is_empty() {
            break;
        }
        let frame = reader.next().await.context("waiting for a RECEIPT")?;
        on_frame(frame, &mut in_flight, &mut stats)?;
        while let Some(frame) = reader.buffered()? {
            on_frame(frame, &mut in_flight, &mut stats)?;
        }
    }
    disconnect(reader, writer).await?;
    Ok(stats)
}

fn on_frame(
    frame: Frame,
    in_flight: &mut HashMap<u64, Instant>,
    stats: &mut ProducerStats,
) -> Result<()> {
    if frame.command != Command::Receipt {
        return Ok(());
    }
    let id = frame.headers.get("receipt-id").unwrap_or_default();
    let Some(sent_at) = id.parse().ok().and_then(|n: u64| in_flight.remove(&n)) else {
        bail!("RECEIPT for {id:?}, which is not in flight");
    };
    record(&mut stats.latency, sent_at);
    stats.acked += 1;
    stats.last_receipt = Some(Instant::now());
    Ok(())
}
