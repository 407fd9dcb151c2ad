//! The ferromq cluster under test: a ZooKeeper ensemble and three brokers
//! replicating with `--sync quorum_disk`, all on loopback, in one temp dir.
//!
//! "Which node is master" always means the agreed master: exactly one node
//! says `role: master` and answers `/readyz` with 200, and every other live
//! node names it as `master`. A node that merely claims mastership (a
//! deposed one that has not noticed yet) does not count.

use crate::cpu_budget::CpuBudget;
use crate::node::{Coordinates, Node, position};
use crate::peers::temp_dir;
use crate::zookeeper::Ensemble;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// A first election, or a new one after a master died, with a 2 s session
/// timeout; generous because the machine is shared.
pub const ELECTION: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(20);

pub struct Cluster {
    // Declared first: on an early drop the brokers die (by PID, in
    // `Process`'s drop) before ZooKeeper and before their files go.
    nodes: Vec<Node>,
    zk: Ensemble,
    dir: TempDir,
}

impl Cluster {
    /// Starts ZooKeeper and the three brokers, and waits for a master.
    pub async fn start(
        bin: &Path,
        scripts: &Path,
        work_dir: &Path,
        cpu: Option<&CpuBudget>,
    ) -> Result<Cluster> {
        let zk = Ensemble::start(scripts, work_dir).await?;
        let dir = temp_dir(work_dir, "cluster")?;
        let coords = Coordinates {
            bin: bin.to_path_buf(),
            zk_address: zk.connect_string(),
            zk_path: format!("/ferromq/bench-{}", std::process::id()),
            cpu: cpu.cloned(),
        };
        let mut nodes = Vec::with_capacity(3);
        for i in 1..=3 {
            nodes.push(Node::new(i, dir.path(), coords.clone())?);
        }
        let mut cluster = Cluster { nodes, zk, dir };
        for node in &mut cluster.nodes {
            node.start().await?;
        }
        let m = cluster.master(ELECTION).await?;
        let pids: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("{}={}", n.id, n.pid().unwrap_or_default()))
            .collect();
        eprintln!(
            "ferromq cluster: master {}, pids {}, zk path {}, files in {}",
            cluster.nodes[m].id,
            pids.join(" "),
            coords.zk_path,
            cluster.dir.path().display()
        );
        Ok(cluster)
    }

    /// The failover URL naming the three nodes in order, with `options`
    /// (such as `randomize=false`) after the `?`.
    pub fn failover_url(&self, options: &str) -> String {
        let addrs: Vec<String> = self
            .nodes
            .iter()
            .map(|n| format!("tcp://{}", n.client))
            .collect();
        let mut url = format!("failover:({})", addrs.join(","));
        if !options.is_empty() {
            url.push('?');
            url.push_str(options);
        }
        url
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    /// The agreed master among the running nodes, waited for (bounded).
    pub async fn master(&mut self, limit: Duration) -> Result<usize> {
        self.wait_master(None, limit).await
    }

    /// An agreed master other than node `old`, waited for (bounded).
    pub async fn new_master(&mut self, old: usize, limit: Duration) -> Result<usize> {
        self.wait_master(Some(old), limit).await
    }

    async fn wait_master(&mut self, not: Option<usize>, limit: Duration) -> Result<usize> {
        let start = Instant::now();
        loop {
            let why = match self.agreed_master().await {
                Ok(m) if Some(m) != not => return Ok(m),
                Ok(m) => format!("{} is still master", self.nodes[m].id),
                Err(e) => format!("{e:#}"),
            };
            if start.elapsed() > limit {
                bail!("no agreed master after {limit:?}: {why}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn agreed_master(&mut self) -> Result<usize> {
        let live: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive())
            .collect();
        let mut statuses = Vec::with_capacity(live.len());
        for &i in &live {
            statuses.push((i, self.nodes[i].status().await.ok()));
        }
        let masters: Vec<usize> = statuses
            .iter()
            .filter(|(_, s)| s.as_ref().is_some_and(|s| s["role"] == "master"))
            .map(|(i, _)| *i)
            .collect();
        let [m] = masters[..] else {
            let roles: Vec<String> = statuses
                .iter()
                .map(|(i, s)| {
                    let role = s.as_ref().map(|s| s["role"].to_string());
                    format!(
                        "{}: {}",
                        self.nodes[*i].id,
                        role.as_deref().unwrap_or("down")
                    )
                })
                .collect();
            bail!("roles {}", roles.join(", "));
        };
        let id = &self.nodes[m].id;
        if !self.nodes[m].ready().await {
            bail!("{id} says master but /readyz is not 200");
        }
        for (i, s) in &statuses {
            let named = s.as_ref().and_then(|s| s["master"].as_str());
            if *i != m && named != Some(id.as_str()) {
                bail!("{} names master {named:?}, not {id}", self.nodes[*i].id);
            }
        }
        Ok(m)
    }

    /// kill -9 of node `i`, by its PID.
    pub fn kill9(&mut self, i: usize) -> Result<()> {
        self.nodes[i].kill9()
    }

    /// Starts node `i` again on its data and ports.
    pub async fn restart(&mut self, i: usize) -> Result<()> {
        self.nodes[i].start().await
    }

    /// Waits (bounded) until node `i` is a replica whose stored position
    /// reached the master's commit index as it was when the wait began.
    pub async fn wait_caught_up(&mut self, i: usize, limit: Duration) -> Result<()> {
        let m = self.master(limit).await?;
        let master = &self.nodes[m];
        let target = master.status().await?["commit_index"]
            .as_u64()
            .with_context(|| format!("{}'s /status has no commit_index", master.id))?;
        let node = &self.nodes[i];
        let start = Instant::now();
        loop {
            let st = node.wait_role("replica", limit).await?;
            if position(&st) >= target {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!(
                    "{} at index {} after {limit:?}, not yet at {}'s commit index {target}{}",
                    node.id,
                    position(&st),
                    master.id,
                    node.log_tail()
                );
            }
            tokio::time::sleep(POLL * 10).await;
        }
    }

    /// Stops the brokers, then ZooKeeper, by PID. Removes every file,
    /// unless `keep` (something went wrong): then the brokers' and
    /// ZooKeeper's logs stay, and the error or the output says where.
    pub async fn stop(mut self, keep: bool) -> Result<()> {
        let mut failures = Vec::new();
        for node in &mut self.nodes {
            if let Err(e) = node.stop().await {
                failures.push(format!("{}: {e:#}", node.id));
            }
        }
        if let Err(e) = self.zk.stop(keep).await {
            failures.push(format!("{e:#}"));
        }
        if keep {
            let kept = self.dir.keep();
            eprintln!("ferromq cluster: logs kept in {}", kept.display());
        } else if let Err(e) = self.dir.close() {
            failures.push(format!("removing the cluster's temp dir: {e}"));
        }
        if !failures.is_empty() {
            bail!("stopping the cluster: {}", failures.join("; "));
        }
        Ok(())
    }
}
