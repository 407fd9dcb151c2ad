//! The brokers under test: ferromq started from its binary, ActiveMQ and
//! RabbitMQ started by the scripts in `bench/peers/`, or a broker someone
//! else runs. Each one the bench starts lives in its own temp dir and is
//! stopped by its PID.

use crate::cli::{Flavor, PeerKind};
use crate::client::{Endpoint, connect, disconnect};
use crate::cpu_budget::CpuBudget;
use crate::http::status_code;
use crate::process::{Process, clear_ferromq_env, free_port, free_port_range};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

const FERROMQ_READY: Duration = Duration::from_secs(60);
const PEER_READY: Duration = Duration::from_secs(180);
const PEER_INSTALL: Duration = Duration::from_secs(900);

/// A broker to measure.
pub struct Broker {
    pub flavor: Flavor,
    pub addr: String,
    // Declared before `dir`: on an early drop the process dies before its
    // data directory is removed.
    process: Option<Process>,
    dir: Option<TempDir>,
}

impl Broker {
    /// A broker the bench did not start and will not stop.
    pub fn external(addr: &str, flavor: Flavor) -> Broker {
        Broker {
            flavor,
            addr: addr.to_owned(),
            process: None,
            dir: None,
        }
    }

    /// Starts `ferromq-broker` with a fresh data dir under `work_dir` and
    /// waits for `GET /readyz` = 200 and a STOMP handshake.
    pub async fn start_ferromq(
        bin: &Path,
        work_dir: &Path,
        ep: &Endpoint,
        cpu: Option<&CpuBudget>,
    ) -> Result<Broker> {
        let dir = temp_dir(work_dir, "ferromq")?;
        let data = dir.path().join("data");
        let addr = format!("127.0.0.1:{}", free_port()?);
        let admin = format!("127.0.0.1:{}", free_port()?);
        let mut cmd = Command::new(bin);
        clear_ferromq_env(&mut cmd);
        cmd.arg("--data-dir")
            .arg(&data)
            .args(["--listen", &addr, "--admin-listen", &admin])
            .args(["--node-id", "bench"]);
        let cmd = CpuBudget::confine(cpu, "standalone", 1, cmd)?;
        let log = dir.path().join("broker.log");
        let mut process = Process::spawn("ferromq", cmd, &log)?;
        let ep = Endpoint {
            addr: addr.clone(),
            ..ep.clone()
        };
        process
            .wait_ready(FERROMQ_READY, || async {
                match status_code(&admin, "/readyz").await? {
                    200 => stomp_handshake(&ep).await,
                    code => bail!("GET /readyz answered {code}"),
                }
            })
            .await?;
        eprintln!("ferromq: pid {}, data in {}", process.pid(), data.display());
        Ok(Broker {
            flavor: Flavor::Ferromq,
            addr,
            process: Some(process),
            dir: Some(dir),
        })
    }

    /// Installs the peer if needed, starts it on loopback with its script
    /// and waits until its STOMP port answers a CONNECT (and, for a
    /// cluster, until the script says every node has joined).
    pub async fn start_peer(
        kind: PeerKind,
        cluster: bool,
        scripts: &Path,
        work_dir: &Path,
        ep: &Endpoint,
        cpu: Option<&CpuBudget>,
    ) -> Result<Broker> {
        let launch = Launch::of(kind, cluster);
        let name = launch.script;
        let script = scripts.join(format!("{name}.sh"));
        if !script.is_file() {
            bail!("no start script at {}", script.display());
        }
        let dir = temp_dir(work_dir, name)?;
        install(name, &script, dir.path()).await?;
        let port = free_port_range(launch.ports)?;
        let addr = format!("127.0.0.1:{port}");
        let data = dir.path().join("data");
        let mut cmd = Command::new("sh");
        cmd.arg(&script).arg("run").arg(&data).arg(port.to_string());
        let cmd = CpuBudget::confine(cpu, name, launch.nodes, cmd)?;
        let log = dir.path().join(format!("{name}.log"));
        let mut process = Process::spawn(name, cmd, &log)?;
        let ep = Endpoint {
            addr: addr.clone(),
            ..ep.clone()
        };
        let ready = data.join("ready");
        process
            .wait_ready(PEER_READY, || async {
                if launch.ready_file && !ready.exists() {
                    bail!("{} does not exist yet", ready.display());
                }
                stomp_handshake(&ep).await
            })
            .await?;
        eprintln!(
            "{name}: pid {}, files in {}",
            process.pid(),
            dir.path().display()
        );
        Ok(Broker {
            flavor: kind.flavor(),
            addr,
            process: Some(process),
            dir: Some(dir),
        })
    }

    /// Stops the broker if the bench started it, then removes its files.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(process) = self.process.take() {
            process.stop().await?;
        }
        if let Some(dir) = self.dir.take() {
            dir.close().context("removing the broker's temp dir")?;
        }
        Ok(())
    }
}

/// The ferromq binary: `--broker-bin`, or `ferromq-broker` next to this
/// executable (both are built into the same target directory).
pub fn ferromq_bin(flag: Option<&Path>) -> Result<PathBuf> {
    let bin = match flag {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()
            .context("locating this executable")?
            .with_file_name("ferromq-broker"),
    };
    if !bin.is_file() {
        bail!(
            "no broker binary at {} (build it with `cargo build --release -p ferromq-broker` \
             or pass --broker-bin)",
            bin.display()
        );
    }
    Ok(bin)
}

/// How a peer's script is run.
struct Launch {
    script: &'static str,
    /// Consecutive ports from PORT; the first is the STOMP port the bench
    /// talks to.
    ports: u16,
    /// The script creates DIR/ready once the broker may be used.
    ready_file: bool,
    /// Broker nodes the script starts.
    nodes: u32,
}

impl Launch {
    fn of(kind: PeerKind, cluster: bool) -> Launch {
        match (kind, cluster) {
            // Three nodes: STOMP, AMQP and distribution for each, one
            // epmd, four for rabbitmqctl (see the script).
            (PeerKind::Rabbitmq, true) => Launch {
                script: "rabbitmq-cluster",
                ports: 14,
                ready_file: true,
                nodes: 3,
            },
            // STOMP, AMQP, distribution, epmd.
            (PeerKind::Rabbitmq, false) => Launch {
                script: "rabbitmq",
                ports: 4,
                ready_file: false,
                nodes: 1,
            },
            // ActiveMQ 5.17 has no replicated store: single node either way.
            (PeerKind::Activemq, _) => Launch {
                script: "activemq",
                ports: 4,
                ready_file: false,
                nodes: 1,
            },
        }
    }
}

pub(crate) fn temp_dir(work_dir: &Path, name: &str) -> Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("ferromq-bench-{name}-"))
        .tempdir_in(work_dir)
        .with_context(|| format!("creating a temp dir in {}", work_dir.display()))
}

async fn stomp_handshake(ep: &Endpoint) -> Result<()> {
    let (reader, writer) = connect(ep).await?;
    disconnect(reader, writer).await
}

/// Runs `script install`, which installs the Debian package if missing.
pub(crate) async fn install(name: &str, script: &Path, dir: &Path) -> Result<()> {
    let mut cmd = Command::new("sh");
    cmd.arg(script).arg("install");
    let log = dir.join("install.log");
    let mut process = Process::spawn(&format!("{name} install"), cmd, &log)?;
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = process.exit_status()? {
            if status.success() {
                return Ok(());
            }
            bail!(
                "`{} install` failed ({status}){}",
                script.display(),
                process.log_tail()
            );
        }
        if start.elapsed() > PEER_INSTALL {
            bail!("`{} install` took over {PEER_INSTALL:?}", script.display());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
