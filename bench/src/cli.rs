//! Command-line flags.

use crate::workloads::Workload;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// Drives the same STOMP workloads against ferromq and, side by side,
/// against ActiveMQ and RabbitMQ started on loopback.
#[derive(Debug, Parser)]
#[command(name = "ferromq-bench", version)]
pub struct Args {
    /// A peer broker to start and compare with (repeatable). With
    /// `--cluster`, `rabbitmq` is a three-node RabbitMQ cluster.
    #[arg(long = "peer", value_enum)]
    pub peers: Vec<PeerKind>,

    /// Measure a three-node ferromq cluster (ZooKeeper election, quorum
    /// replication with quorum_disk) next to a standalone ferromq, then
    /// kill -9 its master `--failover-rounds` times and report the stall
    /// a client sees.
    #[arg(long, conflicts_with = "target")]
    pub cluster: bool,

    /// With `--cluster`: kill -9 rounds for the failover stall; 0 skips it.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub failover_rounds: u32,

    /// With `--cluster`: the options of the failover URL the cluster's
    /// ferromq-client connections use (after the `?`).
    #[arg(long, value_name = "OPTIONS", default_value = "randomize=false")]
    pub failover_options: String,

    /// Give every broker node the bench starts this many CPUs (a cgroup CFS
    /// quota of its own; a peer cluster's script gets three times it), so
    /// that a cluster's nodes are compared with a standalone node of the
    /// same size, as on machines of their own. Needs root and a cgroup CPU
    /// controller. ZooKeeper and the clients are not limited.
    #[arg(long, value_name = "CPUS")]
    pub cpus_per_node: Option<f64>,

    /// Measure an already running STOMP broker at HOST:PORT instead of
    /// starting ferromq.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<String>,

    /// Which broker `--target` is: decides the queue headers it is sent.
    #[arg(long, value_enum, default_value_t = Flavor::Ferromq)]
    pub target_flavor: Flavor,

    /// The ferromq broker binary [default: `ferromq-broker` next to this
    /// executable].
    #[arg(long, value_name = "PATH")]
    pub broker_bin: Option<PathBuf>,

    /// Where the peers' start scripts live.
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/peers"))]
    pub peers_dir: PathBuf,

    /// Where temporary data directories go; the disk baseline is measured
    /// there too [default: the system temp dir].
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,

    /// Messages per workload (the drain workload pre-fills this many).
    #[arg(long, default_value_t = 20_000)]
    pub messages: u64,

    /// Time limit per workload, in seconds: producers stop sending when it
    /// runs out even if fewer than `--messages` were sent.
    #[arg(long, value_name = "SECS", default_value_t = 15)]
    pub duration: u64,

    /// Messages sent and drained on a throw-away queue before measuring
    /// (JIT and cache warm-up); 0 to skip.
    #[arg(long, default_value_t = 2_000)]
    pub warmup: u64,

    /// Run only this workload (repeatable) [default: all].
    #[arg(long = "only", value_enum, value_name = "WORKLOAD")]
    pub only: Vec<Workload>,

    /// Message body size in bytes.
    #[arg(long, default_value_t = 1024)]
    pub body_size: usize,

    /// STOMP login and passcode sent in CONNECT.
    #[arg(long, default_value = "guest")]
    pub login: String,
    #[arg(long, default_value = "guest")]
    pub passcode: String,
}

impl Args {
    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.duration)
    }

    /// The workloads to run, in table order. By default the raw-client
    /// twin of window 64 runs only with `--cluster`: elsewhere the
    /// window-64 row already is on the raw client.
    pub fn workloads(&self) -> Vec<Workload> {
        Workload::ALL
            .into_iter()
            .filter(|w| match self.only.is_empty() {
                true => self.cluster || *w != Workload::Window64Raw,
                false => self.only.contains(w),
            })
            .collect()
    }

    pub fn work_dir(&self) -> PathBuf {
        self.work_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}

/// A peer broker the bench can start itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeerKind {
    Activemq,
    Rabbitmq,
}

impl PeerKind {
    pub fn name(self) -> &'static str {
        match self {
            PeerKind::Activemq => "activemq",
            PeerKind::Rabbitmq => "rabbitmq",
        }
    }

    pub fn flavor(self) -> Flavor {
        match self {
            PeerKind::Activemq => Flavor::Activemq,
            PeerKind::Rabbitmq => Flavor::Rabbitmq,
        }
    }
}

/// Broker-specific STOMP details the workloads must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Flavor {
    Ferromq,
    Activemq,
    Rabbitmq,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Ferromq => "ferromq",
            Flavor::Activemq => "activemq",
            Flavor::Rabbitmq => "rabbitmq",
        }
    }

    /// Headers on every SEND and SUBSCRIBE that make the queue durable and
    /// replicated: RabbitMQ creates a quorum queue from them.
    pub fn queue_headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Flavor::Rabbitmq => &[
                ("x-queue-type", "quorum"),
                ("durable", "true"),
                ("auto-delete", "false"),
            ],
            Flavor::Ferromq | Flavor::Activemq => &[],
        }
    }

    /// RabbitMQ 3.10 drops connections that create the same quorum queue
    /// at once, so each queue is declared once, alone, before the load.
    pub fn declare_queues_first(self) -> bool {
        self == Flavor::Rabbitmq
    }
}
