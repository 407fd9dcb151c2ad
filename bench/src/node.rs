//! One `ferromq-broker` of the bench's three-node cluster: its flags, its
//! process, and what its admin port says.
//!
//! Node i (b1..b3) has a loopback address of its own, 127.0.0.1i, for
//! STOMP, admin HTTP and replication, as in tests/cluster, and keeps its
//! ports and data directory across a kill -9 and restart, as a real host
//! would: the restarted node rejoins as itself.

use crate::cpu_budget::CpuBudget;
use crate::http;
use crate::process::{Process, clear_ferromq_env, free_port_on};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a node may take to answer `/status` after it starts.
const ADMIN_UP: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(50);

/// Where the cluster's nodes find each other.
#[derive(Debug, Clone)]
pub struct Coordinates {
    pub bin: PathBuf,
    pub zk_address: String,
    pub zk_path: String,
    /// Each node's CPU limit, with `--cpus-per-node`.
    pub cpu: Option<CpuBudget>,
}

pub struct Node {
    /// `b1`, `b2`, `b3`: the broker's `--node-id`, as `/status` names it.
    pub id: String,
    /// `host:port` of STOMP, as `master_address` in `/status` gives it.
    pub client: String,
    pub admin: String,
    host: String,
    repl: String,
    dir: PathBuf,
    coords: Coordinates,
    /// Each start logs to a file of its own, so a killed run's log stays.
    starts: u32,
    process: Option<Process>,
}

impl Node {
    /// Node `i` (1-based) with fresh ports and its files under `root`.
    pub fn new(i: usize, root: &Path, coords: Coordinates) -> Result<Node> {
        let host = format!("127.0.0.1{i}");
        let port = || free_port_on(&host);
        let (client, admin, repl) = (port()?, port()?, port()?);
        Ok(Node {
            id: format!("b{i}"),
            client: format!("{host}:{client}"),
            admin: format!("{host}:{admin}"),
            repl: format!("{host}:{repl}"),
            dir: root.join(format!("b{i}")),
            host,
            coords,
            starts: 0,
            process: None,
        })
    }

    /// Starts the broker (on its existing data, if any) and waits until
    /// its admin port answers `/status`. It may still be a candidate
    /// then: which node is master is the cluster's question.
    pub async fn start(&mut self) -> Result<()> {
        if self.alive() {
            bail!("{} is already running", self.id);
        }
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let c = &self.coords;
        let mut cmd = Command::new(&c.bin);
        clear_ferromq_env(&mut cmd);
        cmd.arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(["--node-id", &self.id])
            .args(["--listen", &self.client, "--admin-listen", &self.admin])
            .args(["--bind", &self.repl, "--hostname", &self.host])
            .args(["--zk-address", &c.zk_address, "--zk-path", &c.zk_path])
            .args(["--zk-session-timeout", "2s", "--replicas", "3"])
            .args(["--sync", "quorum_disk"]);
        let cmd = CpuBudget::confine(c.cpu.as_ref(), &self.id, 1, cmd)?;
        self.starts += 1;
        let log = self.dir.join(format!("broker-{}.log", self.starts));
        let mut process = Process::spawn(&format!("ferromq {}", self.id), cmd, &log)?;
        let admin = self.admin.clone();
        process
            .wait_ready(ADMIN_UP, || async {
                http::get_json(&admin, "/status").await.map(drop)
            })
            .await?;
        self.process = Some(process);
        Ok(())
    }

    pub fn alive(&mut self) -> bool {
        match &mut self.process {
            Some(p) => matches!(p.exit_status(), Ok(None)),
            None => false,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::pid)
    }

    /// kill -9 by PID: the crash the failover figures are about.
    pub fn kill9(&mut self) -> Result<()> {
        match self.process.take() {
            Some(p) => p.kill9(),
            None => bail!("{} is not running", self.id),
        }
    }

    /// SIGTERM by PID (SIGKILL after a grace period).
    pub async fn stop(&mut self) -> Result<()> {
        match self.process.take() {
            Some(p) => p.stop().await,
            None => Ok(()),
        }
    }

    /// `GET /status`, parsed.
    pub async fn status(&self) -> Result<Value> {
        http::get_json(&self.admin, "/status").await
    }

    /// Whether `GET /readyz` answers 200 (a master that serves clients).
    pub async fn ready(&self) -> bool {
        matches!(http::status_code(&self.admin, "/readyz").await, Ok(200))
    }

    /// The end of the current log, to explain a failure.
    pub fn log_tail(&self) -> String {
        self.process
            .as_ref()
            .map(Process::log_tail)
            .unwrap_or_default()
    }

    /// Polls until `/status` says `role` (bounded); returns that status.
    pub async fn wait_role(&self, role: &str, limit: Duration) -> Result<Value> {
        let start = Instant::now();
        loop {
            let seen = self.status().await;
            if let Ok(st) = &seen
                && st["role"] == role
            {
                return seen;
            }
            if start.elapsed() > limit {
                let now = seen.map(|s| s["role"].to_string());
                bail!("{} not {role} after {limit:?} (last: {now:?})", self.id);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The log index a node has stored (`position.index` in `/status`).
pub fn position(status: &Value) -> u64 {
    status["position"]["index"].as_u64().unwrap_or(0)
}
