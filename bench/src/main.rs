//! ferromq-bench: the same STOMP workloads against ferromq and, side by
//! side, ActiveMQ and RabbitMQ on loopback, with the disk's fdatasync and
//! a loopback round trip measured in the same run as the physical floors.

mod baselines;
mod cli;
mod client;
mod e2e;
mod peers;
mod process;
mod produce;
mod report;
mod workloads;

use anyhow::{Context, Result};
use bytes::Bytes;
use clap::Parser;
use cli::{Args, Flavor, PeerKind};
use client::Endpoint;
use peers::Broker;
use report::Column;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use workloads::{Plan, Workload};

/// What to measure, in the order of the table's columns.
enum Subject {
    Ferromq,
    External(String, Flavor),
    Peer(PeerKind),
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let work_dir = args.work_dir();
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("creating {}", work_dir.display()))?;
    eprintln!("measuring the physical floors in {}", work_dir.display());
    let floors = match baselines::measure(&work_dir).await {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!("baselines failed: {e:#}");
            None
        }
    };
    let mut subjects = vec![match &args.target {
        Some(addr) => Subject::External(addr.clone(), args.target_flavor),
        None => Subject::Ferromq,
    }];
    let mut peers = args.peers.clone();
    peers.dedup();
    subjects.extend(peers.into_iter().map(Subject::Peer));

    let mut columns = Vec::new();
    for subject in subjects {
        columns.push(measure(&args, subject).await);
    }
    let heading = format!(
        "ferromq-bench: {} B persistent SENDs with a receipt each; up to {} messages or {} s \
         per workload, a fresh queue each",
        args.body_size, args.messages, args.duration
    );
    report::print(&heading, &args.workloads(), &columns, floors.as_ref());
    Ok(())
}

/// Starts the broker (unless external), runs every workload against it,
/// stops it. Never fails: what went wrong is recorded in the column.
async fn measure(args: &Args, subject: Subject) -> Column {
    let ep = Endpoint {
        addr: String::new(),
        login: args.login.clone(),
        passcode: args.passcode.clone(),
    };
    let name = match &subject {
        Subject::Ferromq => "ferromq",
        Subject::External(_, flavor) => flavor.name(),
        Subject::Peer(kind) => kind.name(),
    };
    eprintln!("== {name}");
    let started = match &subject {
        Subject::Ferromq => start_ferromq(args, &ep).await,
        Subject::External(addr, flavor) => Ok(Broker::external(addr, *flavor)),
        Subject::Peer(kind) => {
            Broker::start_peer(*kind, &args.peers_dir, &args.work_dir(), &ep).await
        }
    };
    let mut column = Column {
        name: name.to_owned(),
        unavailable: None,
        results: Vec::new(),
    };
    let broker = match started {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{name}: not measured: {e:#}");
            column.unavailable = Some(format!("{e:#}"));
            return column;
        }
    };
    let plan = Plan {
        ep: Endpoint {
            addr: broker.addr.clone(),
            ..ep
        },
        flavor: broker.flavor,
        messages: args.messages,
        duration: args.duration(),
        body: Bytes::from(vec![b'x'; args.body_size]),
    };
    let run_id = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let queue = |key: &str| format!("bench-{run_id}-{key}");
    if args.warmup > 0 {
        let warm = Plan {
            messages: args.warmup,
            ..plan.clone()
        };
        if let Err(e) = bounded(&warm, Workload::Drain, &queue("warmup")).await {
            eprintln!("  warm-up failed: {e:#}");
        }
    }
    for w in args.workloads() {
        let outcome = bounded(&plan, w, &queue(w.key())).await;
        match &outcome {
            Ok(o) => eprintln!("  {:<9} {}", w.key(), report::summary(o)),
            Err(e) => eprintln!("  {:<9} failed: {e:#}", w.key()),
        }
        column.results.push((w, outcome));
    }
    if let Err(e) = broker.stop().await {
        eprintln!("{name}: stopping: {e:#}");
    }
    column
}

async fn start_ferromq(args: &Args, ep: &Endpoint) -> Result<Broker> {
    let bin = peers::ferromq_bin(args.broker_bin.as_deref())?;
    Broker::start_ferromq(&bin, &args.work_dir(), ep).await
}

/// Runs a workload with an overall time limit, so that a broker that stops
/// answering cannot hang the run.
async fn bounded(plan: &Plan, w: Workload, queue: &str) -> Result<workloads::Outcome> {
    let limit = plan.duration * 3 + Duration::from_secs(60);
    tokio::time::timeout(limit, workloads::run(plan, w, queue))
        .await
        .with_context(|| format!("{} did not finish within {limit:?}", w.key()))?
}
