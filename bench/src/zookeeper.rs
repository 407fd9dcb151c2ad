//! The three-server ZooKeeper ensemble a ferromq cluster elects its master
//! with: Debian's packaged server (`peers/zookeeper.sh`), one JVM per
//! server, all on 127.0.0.1, in a temp dir of its own, stopped by PID.
//!
//! tickTime is 200 ms, as in tests/cluster/zk.py, so that the brokers' 2 s
//! session timeout is negotiable (ZooKeeper allows 2 to 20 ticks by
//! default; the maximum is raised to 10 s) and a dead master's session
//! expires on time.

use crate::peers::{install, temp_dir};
use crate::process::{Process, free_port};
use anyhow::{Context, Result, bail};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SERVERS: usize = 3;
/// JVM start and the first leader election, on a loaded machine.
const READY: Duration = Duration::from_secs(120);
const POLL: Duration = Duration::from_millis(250);
/// How long a server may take to answer a four-letter word.
const FOUR_LETTER_TIMEOUT: Duration = Duration::from_secs(2);

struct Server {
    dir: PathBuf,
    client_port: u16,
    process: Process,
}

/// A running ensemble. Dropping it stops the servers (by PID) before
/// their directory is removed.
pub struct Ensemble {
    servers: Vec<Server>,
    dir: TempDir,
}

impl Ensemble {
    /// Installs ZooKeeper if needed, starts three servers and waits until
    /// one is leader and the other two follow it.
    pub async fn start(scripts: &Path, work_dir: &Path) -> Result<Ensemble> {
        let script = scripts.join("zookeeper.sh");
        if !script.is_file() {
            bail!("no start script at {}", script.display());
        }
        let dir = temp_dir(work_dir, "zookeeper")?;
        install("zookeeper", &script, dir.path()).await?;
        let ports = distinct_ports(SERVERS * 3)?;
        let peers: Vec<String> = (0..SERVERS)
            .map(|i| {
                let (quorum, election) = (ports[3 * i + 1], ports[3 * i + 2]);
                format!("server.{}=127.0.0.1:{quorum}:{election}", i + 1)
            })
            .collect();
        let mut servers = Vec::with_capacity(SERVERS);
        for i in 0..SERVERS {
            let server_dir = dir.path().join(format!("zk{}", i + 1));
            let client_port = ports[3 * i];
            write_config(&server_dir, i + 1, client_port, &peers)?;
            let mut cmd = Command::new("sh");
            cmd.arg(&script).arg("run").arg(&server_dir);
            cmd.env_remove("JVMFLAGS").env_remove("JAVA_TOOL_OPTIONS");
            let log = server_dir.join("server.log");
            let process = Process::spawn(&format!("zookeeper {}", i + 1), cmd, &log)?;
            servers.push(Server {
                dir: server_dir,
                client_port,
                process,
            });
        }
        let mut ensemble = Ensemble { servers, dir };
        ensemble.wait_ready().await?;
        eprintln!(
            "zookeeper: 3 servers at {}, pids {:?}, files in {}",
            ensemble.connect_string(),
            ensemble.pids(),
            ensemble.dir.path().display()
        );
        Ok(ensemble)
    }

    /// `host:port,...` as the brokers' `--zk-address` takes it.
    pub fn connect_string(&self) -> String {
        let addrs: Vec<String> = self
            .servers
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.client_port))
            .collect();
        addrs.join(",")
    }

    fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(|s| s.process.pid()).collect()
    }

    async fn wait_ready(&mut self) -> Result<()> {
        let start = Instant::now();
        loop {
            for (i, s) in self.servers.iter_mut().enumerate() {
                if let Some(status) = s.process.exit_status()? {
                    bail!(
                        "zookeeper {} exited ({status}){}",
                        i + 1,
                        s.process.log_tail()
                    );
                }
            }
            let mut modes = Vec::with_capacity(SERVERS);
            for s in &self.servers {
                modes.push(mode(s.client_port).await);
            }
            let leaders = modes
                .iter()
                .filter(|m| m.as_deref() == Some("leader"))
                .count();
            let followers = modes
                .iter()
                .filter(|m| m.as_deref() == Some("follower"))
                .count();
            if leaders == 1 && followers == SERVERS - 1 {
                return Ok(());
            }
            if start.elapsed() > READY {
                let dirs: Vec<String> = self
                    .servers
                    .iter()
                    .map(|s| s.dir.display().to_string())
                    .collect();
                bail!(
                    "no ZooKeeper leader with two followers after {READY:?} (modes {modes:?}; \
                     logs in {dirs:?}){}",
                    self.servers[0].process.log_tail()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops every server by PID, then removes the ensemble's files
    /// (unless `keep`: then its logs stay for a look at what went wrong).
    pub async fn stop(self, keep: bool) -> Result<()> {
        let mut failures = Vec::new();
        for s in self.servers {
            if let Err(e) = s.process.stop().await {
                failures.push(format!("{e:#}"));
            }
        }
        if keep {
            let kept = self.dir.keep();
            eprintln!("zookeeper: logs kept in {}", kept.display());
        } else {
            self.dir
                .close()
                .context("removing the ZooKeeper temp dir")?;
        }
        if !failures.is_empty() {
            bail!("stopping ZooKeeper: {}", failures.join("; "));
        }
        Ok(())
    }
}

/// `n` free ports on 127.0.0.1, no two the same (a port is free again as
/// soon as `free_port` lets go of it, so it could come back twice).
fn distinct_ports(n: usize) -> Result<Vec<u16>> {
    let mut seen = HashSet::new();
    for _ in 0..n * 20 {
        if seen.len() == n {
            break;
        }
        seen.insert(free_port()?);
    }
    if seen.len() < n {
        bail!("found only {} distinct free ports of {n}", seen.len());
    }
    Ok(seen.into_iter().collect())
}

fn write_config(dir: &Path, myid: usize, client_port: u16, peers: &[String]) -> Result<()> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    std::fs::write(data.join("myid"), format!("{myid}\n"))?;
    let mut lines = vec![
        "tickTime=200".to_owned(),
        "initLimit=10".to_owned(),
        "syncLimit=5".to_owned(),
        format!("dataDir={}", data.display()),
        format!("clientPort={client_port}"),
        "clientPortAddress=127.0.0.1".to_owned(),
        "minSessionTimeout=400".to_owned(),
        "maxSessionTimeout=10000".to_owned(),
        "admin.enableServer=false".to_owned(),
        "4lw.commands.whitelist=srvr".to_owned(),
        "maxClientCnxns=0".to_owned(),
        "autopurge.purgeInterval=0".to_owned(),
    ];
    lines.extend(peers.iter().cloned());
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, lines.join("\n") + "\n")
        .with_context(|| format!("writing {}", path.display()))
}

/// `leader`, `follower` or `standalone` from the `srvr` four-letter word;
/// `None` while the server does not serve.
async fn mode(port: u16) -> Option<String> {
    let reply = tokio::time::timeout(FOUR_LETTER_TIMEOUT, async {
        let mut sock = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        sock.write_all(b"srvr").await.ok()?;
        let mut out = Vec::new();
        sock.read_to_end(&mut out).await.ok()?;
        Some(String::from_utf8_lossy(&out).into_owned())
    })
    .await
    .ok()??;
    reply
        .lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(|m| m.trim().to_owned())
}
