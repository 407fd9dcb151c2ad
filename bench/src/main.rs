//! ferromq-bench: the same STOMP workloads against ferromq and, side by
//! side, ActiveMQ and RabbitMQ on loopback, with the disk's fdatasync and
//! a loopback round trip measured in the same run as the physical floors.
//! With `--cluster`, a three-node ferromq cluster is the first column and
//! its master is killed repeatedly to measure the failover stall.

mod baselines;
mod cli;
mod client;
mod cluster;
mod cpu_budget;
mod e2e;
mod failover;
mod http;
mod measure;
mod node;
mod peers;
mod pipelined;
mod process;
mod produce;
mod report;
mod stall_load;
mod workloads;
mod zookeeper;

use anyhow::{Context, Result};
use clap::Parser;
use cli::Args;
use measure::Subject;

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
    let mut subjects = match (&args.target, args.cluster) {
        (_, true) => vec![Subject::Cluster, Subject::Ferromq],
        (Some(addr), false) => vec![Subject::External(addr.clone(), args.target_flavor)],
        (None, false) => vec![Subject::Ferromq],
    };
    let mut peers = args.peers.clone();
    peers.dedup();
    subjects.extend(peers.into_iter().map(Subject::Peer));

    let budget = args
        .cpus_per_node
        .map(cpu_budget::CpuBudget::new)
        .transpose()?;
    let mut columns = Vec::new();
    let mut stalls = None;
    for subject in subjects {
        let (column, report) = measure::measure(&args, subject, budget.as_ref()).await;
        columns.push(column);
        stalls = stalls.or(report);
    }
    let heading = format!(
        "ferromq-bench{}: {} B persistent SENDs with a receipt each; up to {} messages or {} s \
         per workload, a fresh queue each{}",
        if args.cluster { " --cluster" } else { "" },
        args.body_size,
        args.messages,
        args.duration,
        match &budget {
            Some(b) => format!("; every broker node limited to {} CPUs", b.cpus()),
            None => String::new(),
        }
    );
    let clients = if args.cluster {
        cluster_clients(&args)
    } else {
        Vec::new()
    };
    report::print(
        &heading,
        &args.workloads(),
        &columns,
        &clients,
        floors.as_ref(),
    );
    if let Some(report) = &stalls {
        failover::print(report);
    }
    Ok(())
}

/// Which client each row used in cluster mode, for the table's footnotes.
fn cluster_clients(args: &Args) -> Vec<String> {
    vec![
        "clients: sync1, sync4, window64-raw and drain use the bench's raw STOMP client in every \
         column (ferromq-cluster: connected to the agreed master);"
            .to_owned(),
        format!(
            "  window64 and the e2e producers use ferromq-client send_async, same windows, in both \
             ferromq columns (cluster: failover:(3 nodes)?{}, standalone: tcp://), \
             the raw client for the peers; e2e consumers are raw everywhere",
            args.failover_options
        ),
    ]
}
