//! The workloads, each on its own fresh queue: producers with a window of
//! receipts, a consumer draining a pre-filled queue, and end to end.

use crate::cli::Flavor;
use crate::client::{
    Endpoint, Reader, Writer, ack_frame, connect, disconnect, queue_destination, round_trip,
    subscribe_frame,
};
use crate::produce::{ProducerSpec, Quota, Stamping, new_histogram, run_producer};
use crate::{e2e, pipelined};
use anyhow::{Context, Result};
use bytes::Bytes;
use ferromq_stomp::{Command, Frame};
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// MESSAGEs a consumer may hold unacknowledged.
pub const PREFETCH: u32 = 500;

/// One workload of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    #[value(name = "sync1")]
    Sync1,
    #[value(name = "sync4")]
    Sync4,
    #[value(name = "window64")]
    Window64,
    /// Window 64 on the bench's raw client even where `Plan::failover`
    /// is set: in cluster mode, the like-for-like row next to the
    /// ferromq-client one.
    #[value(name = "window64-raw")]
    Window64Raw,
    Drain,
    #[value(name = "e2e")]
    EndToEnd,
}

impl Workload {
    pub const ALL: [Workload; 6] = [
        Workload::Sync1,
        Workload::Sync4,
        Workload::Window64,
        Workload::Window64Raw,
        Workload::Drain,
        Workload::EndToEnd,
    ];

    /// A short name, also used in queue names.
    pub fn key(self) -> &'static str {
        match self {
            Workload::Sync1 => "sync1",
            Workload::Sync4 => "sync4",
            Workload::Window64 => "window64",
            Workload::Window64Raw => "window64-raw",
            Workload::Drain => "drain",
            Workload::EndToEnd => "e2e",
        }
    }

    /// What the row of the table says.
    pub fn label(self) -> &'static str {
        match self {
            Workload::Sync1 => "sync send, 1 producer x window 1",
            Workload::Sync4 => "sync send, 4 producers x window 1",
            Workload::Window64 => "send, 4 producers x window 64",
            Workload::Window64Raw => "send, 4 producers x window 64, raw client",
            Workload::Drain => "drain, 1 consumer, client-individual",
            Workload::EndToEnd => "end to end, 2x32 producers + 2 consumers",
        }
    }

    /// What the latency columns measure.
    pub fn latency_kind(self) -> &'static str {
        match self {
            Workload::Drain => "-",
            Workload::EndToEnd => "send to MESSAGE",
            _ => "receipt",
        }
    }
}

/// Everything a workload needs to know about the broker and the load.
#[derive(Clone)]
pub struct Plan {
    pub ep: Endpoint,
    pub flavor: Flavor,
    pub messages: u64,
    pub duration: Duration,
    pub body: Bytes,
    /// A ferromq-client URL: when set, producers with more than one SEND
    /// in flight use ferromq-client's `send_async` through it instead of
    /// the bench's raw connection to `ep.addr`.
    pub failover: Option<String>,
}

/// What a workload measured.
pub struct Outcome {
    /// Messages receipted (producers) or received (consumers).
    pub count: u64,
    pub elapsed: Duration,
    pub latency: Option<Histogram<u64>>,
    /// Drain only: MESSAGEs still delivered after every ACK was confirmed,
    /// i.e. ACKs the broker lost.
    pub redelivered: Option<u64>,
}

impl Outcome {
    pub fn rate(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs one workload on `queue`, which must be new.
pub async fn run(plan: &Plan, workload: Workload, queue: &str) -> Result<Outcome> {
    let dest = queue_destination(queue);
    if plan.flavor.declare_queues_first() {
        declare(plan, &dest).await.context("declaring the queue")?;
    }
    match workload {
        Workload::Sync1 => produce(plan, &dest, 1, 1, None).await,
        Workload::Sync4 => produce(plan, &dest, 4, 1, None).await,
        Workload::Window64 => produce(plan, &dest, 4, 64, None).await,
        Workload::Window64Raw => {
            let raw = Plan {
                failover: None,
                ..plan.clone()
            };
            produce(&raw, &dest, 4, 64, None).await
        }
        Workload::Drain => drain(plan, &dest).await,
        Workload::EndToEnd => e2e::run(plan, &dest).await,
    }
}

/// Creates a queue alone, before any load: one SUBSCRIBE with the queue
/// headers, then a pause (RabbitMQ's quorum queue needs a moment).
async fn declare(plan: &Plan, dest: &str) -> Result<()> {
    let (mut reader, mut writer) = connect(&plan.ep).await?;
    let extra = plan.flavor.queue_headers();
    let subscribe = subscribe_frame(dest, "declare", 1, None, extra);
    round_trip(&mut reader, &mut writer, subscribe, "declared").await?;
    let unsubscribe = Frame::new(Command::Unsubscribe).header("id", "declare");
    round_trip(&mut reader, &mut writer, unsubscribe, "undeclared").await?;
    disconnect(reader, writer).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(())
}

/// `producers` connections, `window` SENDs in flight each, until
/// `plan.messages` are sent or `plan.duration` has passed.
pub async fn produce(
    plan: &Plan,
    dest: &str,
    producers: usize,
    window: usize,
    stamping: Option<Stamping>,
) -> Result<Outcome> {
    let spec = ProducerSpec {
        destination: dest.to_owned(),
        window,
        extra: plan.flavor.queue_headers(),
        body: plan.body.clone(),
        stamping,
    };
    let pipelined = plan.failover.as_deref().filter(|_| window > 1);
    let mut conns = Vec::with_capacity(producers);
    for _ in 0..producers {
        conns.push(match pipelined {
            Some(url) => Producer::Pipelined(pipelined::connect(url, &plan.ep, window).await?),
            None => {
                let (reader, writer) = connect(&plan.ep).await?;
                Producer::Raw(reader, writer)
            }
        });
    }
    let start = Instant::now();
    let quota = Arc::new(Quota::new(plan.messages, start + plan.duration));
    let mut tasks = JoinSet::new();
    for conn in conns {
        let (spec, quota) = (spec.clone(), quota.clone());
        match conn {
            Producer::Raw(reader, writer) => tasks.spawn(run_producer(reader, writer, spec, quota)),
            Producer::Pipelined(client) => {
                tasks.spawn(pipelined::run_producer(client, spec, quota))
            }
        };
    }
    let mut latency = new_histogram()?;
    let (mut count, mut last) = (0, start);
    while let Some(joined) = tasks.join_next().await {
        let stats = joined.context("producer task panicked")??;
        count += stats.acked;
        latency.add(&stats.latency).context("merging histograms")?;
        last = last.max(stats.last_receipt.unwrap_or(start));
    }
    Ok(Outcome {
        count,
        elapsed: last - start,
        latency: Some(latency),
        redelivered: None,
    })
}

/// One producer's connection, made before the clock starts.
enum Producer {
    Raw(Reader, Writer),
    Pipelined(ferromq_client::Client),
}

/// Pre-fills the queue (4 producers, window 64), then times one consumer
/// that ACKs every MESSAGE until the queue is empty and its DISCONNECT
/// receipt confirms that the broker has taken every ACK.
async fn drain(plan: &Plan, dest: &str) -> Result<Outcome> {
    let filled = produce(plan, dest, 4, 64, None)
        .await
        .context("pre-filling")?
        .count;
    let (mut reader, mut writer) = connect(&plan.ep).await?;
    let start = Instant::now();
    let extra = plan.flavor.queue_headers();
    writer.queue(&subscribe_frame(dest, "drain", PREFETCH, None, extra));
    writer.flush().await?;
    let mut received = 0;
    while received < filled {
        let frame = reader.next().await.context("draining")?;
        reader.batch(frame, |frame| {
            if frame.command == Command::Message {
                received += 1;
                writer.queue(&ack_frame(frame)?);
            }
            Ok(())
        })?;
        writer.flush().await?;
    }
    disconnect(reader, writer).await?;
    let elapsed = start.elapsed();
    let redelivered = leftovers(plan, dest)
        .await
        .context("checking the queue is empty")?;
    Ok(Outcome {
        count: received,
        elapsed,
        latency: None,
        redelivered: Some(redelivered),
    })
}

/// Subscribes again after a drain and counts what still arrives within a
/// second (ACKing it): a broker that kept every ACK delivers nothing.
async fn leftovers(plan: &Plan, dest: &str) -> Result<u64> {
    let (mut reader, mut writer) = connect(&plan.ep).await?;
    let extra = plan.flavor.queue_headers();
    let subscribe = subscribe_frame(dest, "check", PREFETCH, None, extra);
    round_trip(&mut reader, &mut writer, subscribe, "checking").await?;
    let mut count = 0;
    while let Ok(frame) = tokio::time::timeout(Duration::from_secs(1), reader.next()).await {
        let frame = frame?;
        if frame.command == Command::Message {
            count += 1;
            writer.queue(&ack_frame(&frame)?);
            writer.flush().await?;
        }
    }
    disconnect(reader, writer).await?;
    Ok(count)
}
