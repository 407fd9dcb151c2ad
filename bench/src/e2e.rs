//! End to end: producers and consumers at once on one queue. Latency runs
//! from a SEND being queued by its producer to its MESSAGE arriving at a
//! consumer; both sides share one process, so one monotonic clock.

use crate::client::subscribe_frame;
use crate::client::{IO_TIMEOUT, Reader, Writer, ack_frame, connect, disconnect, round_trip};
use crate::produce::{STAMP_HEADER, Stamping, new_histogram};
use crate::workloads::{Outcome, PREFETCH, Plan, produce};
use anyhow::{Context, Result, bail};
use ferromq_stomp::{Command, Frame};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const PRODUCERS: usize = 2;
const WINDOW: usize = 32;
const CONSUMERS: usize = 2;

/// How often an idle consumer checks whether the run is over.
const POLL: Duration = Duration::from_millis(50);

/// What the consumers need to know to stop: every SEND written has been
/// received once the producers are done.
struct Progress {
    sent: Arc<AtomicU64>,
    received: AtomicU64,
    producers_done: AtomicBool,
}

impl Progress {
    fn finished(&self) -> bool {
        self.producers_done.load(Ordering::Acquire)
            && self.received.load(Ordering::Relaxed) >= self.sent.load(Ordering::Relaxed)
    }
}

struct ConsumerStats {
    latency: Histogram<u64>,
    last_message: Option<Instant>,
}

/// Subscribes the consumers, then runs the producers; throughput is
/// messages received over the time from the start of the producers to the
/// last MESSAGE.
pub async fn run(plan: &Plan, dest: &str) -> Result<Outcome> {
    let base = Instant::now();
    let progress = Arc::new(Progress {
        sent: Arc::new(AtomicU64::new(0)),
        received: AtomicU64::new(0),
        producers_done: AtomicBool::new(false),
    });
    let extra = plan.flavor.queue_headers();
    let mut consumers = JoinSet::new();
    for i in 0..CONSUMERS {
        let (mut reader, mut writer) = connect(&plan.ep).await?;
        let subscribe = subscribe_frame(dest, &format!("c{i}"), PREFETCH, None, extra);
        round_trip(&mut reader, &mut writer, subscribe, "subscribed").await?;
        consumers.spawn(consume(reader, writer, base, progress.clone()));
    }
    let stamping = Stamping {
        base,
        sent: progress.sent.clone(),
    };
    let start = Instant::now();
    let produced = produce(plan, dest, PRODUCERS, WINDOW, Some(stamping)).await;
    progress.producers_done.store(true, Ordering::Release);
    if let Err(e) = produced {
        consumers.abort_all();
        return Err(e.context("producers"));
    }
    let mut latency = new_histogram()?;
    let mut last = start;
    while let Some(joined) = consumers.join_next().await {
        let stats = joined.context("consumer task panicked")??;
        latency.add(&stats.latency).context("merging histograms")?;
        last = last.max(stats.last_message.unwrap_or(start));
    }
    Ok(Outcome {
        count: progress.received.load(Ordering::Relaxed),
        elapsed: last - start,
        latency: Some(latency),
        redelivered: None,
    })
}

async fn consume(
    mut reader: Reader,
    mut writer: Writer,
    base: Instant,
    progress: Arc<Progress>,
) -> Result<ConsumerStats> {
    let mut stats = ConsumerStats {
        latency: new_histogram()?,
        last_message: None,
    };
    let mut last_activity = Instant::now();
    while !progress.finished() {
        let Ok(frame) = tokio::time::timeout(POLL, reader.next()).await else {
            if last_activity.elapsed() > IO_TIMEOUT {
                bail!("no MESSAGE for {IO_TIMEOUT:?} while some are still due");
            }
            continue;
        };
        let frame = frame.context("consuming")?;
        reader.batch(frame, |frame| {
            on_frame(frame, base, &progress, &mut writer, &mut stats)
        })?;
        writer.flush().await?;
        last_activity = Instant::now();
    }
    disconnect(reader, writer).await?;
    Ok(stats)
}

fn on_frame(
    frame: &Frame,
    base: Instant,
    progress: &Progress,
    writer: &mut Writer,
    stats: &mut ConsumerStats,
) -> Result<()> {
    if frame.command != Command::Message {
        return Ok(());
    }
    let now = Instant::now();
    let sent_us: u64 = frame
        .headers
        .get(STAMP_HEADER)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("MESSAGE without a valid {STAMP_HEADER} header"))?;
    let now_us = u64::try_from((now - base).as_micros()).unwrap_or(u64::MAX);
    stats
        .latency
        .saturating_record(now_us.saturating_sub(sent_us).max(1));
    stats.last_message = Some(now);
    progress.received.fetch_add(1, Ordering::Relaxed);
    writer.queue(&ack_frame(frame)?);
    Ok(())
}
