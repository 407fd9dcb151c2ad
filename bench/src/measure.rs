//! One column of the table: start a broker (or a cluster), run every
//! workload against it, stop it. Only one runs at a time, so the
//! columns do not compete for the machine.

use crate::cli::{Args, Flavor, PeerKind};
use crate::client::Endpoint;
use crate::cluster::{Cluster, ELECTION};
use crate::cpu_budget::CpuBudget;
use crate::failover::{self, StallReport};
use crate::peers::{self, Broker};
use crate::report::Column;
use crate::workloads::{self, Outcome, Plan, Workload};
use anyhow::{Context, Result};
use bytes::Bytes;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What to measure, in the order of the table's columns.
pub enum Subject {
    /// Standalone ferromq; with `--cluster` its windowed producers use
    /// ferromq-client too, as the cluster's do.
    Ferromq,
    /// Three ferromq nodes and ZooKeeper; also runs the failover rounds.
    Cluster,
    External(String, Flavor),
    Peer(PeerKind),
}

impl Subject {
    pub fn name(&self, cluster_mode: bool) -> String {
        let name = match self {
            Subject::Ferromq if cluster_mode => "ferromq-standalone",
            Subject::Ferromq => "ferromq",
            Subject::Cluster => "ferromq-cluster",
            Subject::External(_, flavor) => flavor.name(),
            Subject::Peer(PeerKind::Rabbitmq) if cluster_mode => "rabbitmq-cluster",
            Subject::Peer(kind) => kind.name(),
        };
        name.to_owned()
    }
}

/// A started subject: a broker, or the cluster with the address of its
/// master and its failover URL.
enum Running {
    Broker(Broker),
    Cluster(Box<Cluster>, String),
}

/// Measures one subject. Never fails: what went wrong is recorded in the
/// column. The failover report comes only from the cluster.
pub async fn measure(
    args: &Args,
    subject: Subject,
    cpu: Option<&CpuBudget>,
) -> (Column, Option<StallReport>) {
    let ep = Endpoint {
        addr: String::new(),
        login: args.login.clone(),
        passcode: args.passcode.clone(),
    };
    let name = subject.name(args.cluster);
    eprintln!("== {name}");
    let mut column = Column {
        name: name.clone(),
        unavailable: None,
        results: Vec::new(),
    };
    let (mut running, mut plan) = match start(args, &subject, &ep, cpu).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("{name}: not measured: {e:#}");
            column.unavailable = Some(format!("{e:#}"));
            return (column, None);
        }
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
        if let Running::Cluster(cluster, _) = &mut running
            && let Err(e) = follow_master(cluster, &mut plan).await
        {
            column.results.push((w, Err(e)));
            continue;
        }
        let outcome = bounded(&plan, w, &queue(w.key())).await;
        match &outcome {
            Ok(o) => eprintln!("  {:<12} {}", w.key(), crate::report::summary(o)),
            Err(e) => eprintln!("  {:<12} failed: {e:#}", w.key()),
        }
        column.results.push((w, outcome));
    }
    let mut stalls = None;
    let stopped = match running {
        Running::Broker(broker) => broker.stop().await,
        Running::Cluster(mut cluster, url) => {
            let mut failed = column.results.iter().any(|(_, r)| r.is_err());
            if args.failover_rounds > 0 {
                eprintln!("  failover: {} rounds of kill -9", args.failover_rounds);
                let (rounds, body) = (args.failover_rounds, plan.body.clone());
                let q = queue("failover");
                match failover::run(&mut cluster, rounds, &url, &ep, &q, body).await {
                    Ok(report) => {
                        failed |= report.went_wrong();
                        stalls = Some(report);
                    }
                    Err(e) => {
                        eprintln!("  failover rounds not run: {e:#}");
                        failed = true;
                    }
                }
            }
            cluster.stop(failed).await
        }
    };
    if let Err(e) = stopped {
        eprintln!("{name}: stopping: {e:#}");
    }
    (column, stalls)
}

/// Starts the subject and says how to reach it.
async fn start(
    args: &Args,
    subject: &Subject,
    ep: &Endpoint,
    cpu: Option<&CpuBudget>,
) -> Result<(Running, Plan)> {
    let (running, addr, flavor, failover) = match subject {
        Subject::Ferromq => {
            let bin = peers::ferromq_bin(args.broker_bin.as_deref())?;
            let broker = Broker::start_ferromq(&bin, &args.work_dir(), ep, cpu).await?;
            let url = args.cluster.then(|| format!("tcp://{}", broker.addr));
            let addr = broker.addr.clone();
            (Running::Broker(broker), addr, Flavor::Ferromq, url)
        }
        Subject::Cluster => {
            let bin = peers::ferromq_bin(args.broker_bin.as_deref())?;
            let mut cluster = Cluster::start(&bin, &args.peers_dir, &args.work_dir(), cpu).await?;
            let m = cluster.master(ELECTION).await?;
            let addr = cluster.node(m).client.clone();
            let url = cluster.failover_url(&args.failover_options);
            eprintln!("ferromq cluster: failover URL {url}");
            let running = Running::Cluster(Box::new(cluster), url.clone());
            (running, addr, Flavor::Ferromq, Some(url))
        }
        Subject::External(addr, flavor) => {
            let broker = Broker::external(addr, *flavor);
            (Running::Broker(broker), addr.clone(), *flavor, None)
        }
        Subject::Peer(kind) => {
            let work_dir = args.work_dir();
            let broker =
                Broker::start_peer(*kind, args.cluster, &args.peers_dir, &work_dir, ep, cpu)
                    .await?;
            let (addr, flavor) = (broker.addr.clone(), broker.flavor);
            (Running::Broker(broker), addr, flavor, None)
        }
    };
    let plan = Plan {
        ep: Endpoint { addr, ..ep.clone() },
        flavor,
        messages: args.messages,
        duration: args.duration(),
        body: Bytes::from(vec![b'x'; args.body_size]),
        failover,
    };
    Ok((running, plan))
}

/// Points the raw client at the cluster's agreed master before a
/// workload. Mastership should never move during the workloads (nothing
/// is killed then); if it did, this says so, and the later rows still
/// measure the cluster instead of failing on a node that now refuses.
async fn follow_master(cluster: &mut Cluster, plan: &mut Plan) -> Result<()> {
    let m = cluster.master(ELECTION).await?;
    let addr = &cluster.node(m).client;
    if *addr != plan.ep.addr {
        eprintln!(
            "  the master moved: now {} ({addr}), was at {}",
            cluster.node(m).id,
            plan.ep.addr
        );
        plan.ep.addr = addr.clone();
    }
    Ok(())
}

/// Runs a workload with an overall time limit, so that a broker that stops
/// answering cannot hang the run.
async fn bounded(plan: &Plan, w: Workload, queue: &str) -> Result<Outcome> {
    let limit = plan.duration * 3 + Duration::from_secs(60);
    tokio::time::timeout(limit, workloads::run(plan, w, queue))
        .await
        .with_context(|| format!("{} did not finish within {limit:?}", w.key()))?
}
