//! A broker process the bench started: its log, readiness, and a stop by
//! PID (SIGTERM, then SIGKILL after a grace period). Nothing here looks
//! processes up by name.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long a broker may take to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(200);

/// A running child process whose output goes to a log file.
pub struct Process {
    name: String,
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl Process {
    /// Starts `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Process> {
        let out = File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let err = out.try_clone()?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {name} ({cmd:?})"))?;
        Ok(Process {
            name: name.to_owned(),
            child,
            log: log.to_path_buf(),
            stopped: false,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has exited.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        let status = self.child.try_wait()?;
        self.stopped |= status.is_some();
        Ok(status)
    }

    /// Polls `probe` until it succeeds, the process exits or `limit`
    /// passes; the error says why, with the end of the process's log.
    pub async fn wait_ready<F, Fut>(&mut self, limit: Duration, mut probe: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<()>>,
    {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before it was ready{}",
                    self.name,
                    self.log_tail()
                );
            }
            let attempt = probe().await;
            match attempt {
                Ok(()) => return Ok(()),
                Err(e) if start.elapsed() > limit => {
                    bail!(
                        "{} not ready after {limit:?}: {e:#}{}",
                        self.name,
                        self.log_tail()
                    )
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// SIGTERM by PID, a grace period, then SIGKILL.
    pub async fn stop(mut self) -> Result<()> {
        self.stopped = true;
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        self.sigterm()?;
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(POLL).await;
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("{} ignored SIGTERM for {STOP_GRACE:?}; killed", self.name)
    }

    /// SIGKILL by PID (what `kill -9` does) and reap it: the failover
    /// test's crash of a master, with no chance to close anything itself.
    pub fn kill9(mut self) -> Result<()> {
        self.stopped = true;
        if self.child.try_wait()?.is_none() {
            self.child
                .kill()
                .with_context(|| format!("SIGKILL to {}", self.name))?;
        }
        self.child.wait()?;
        Ok(())
    }

    /// SIGTERM by PID through kill(1): no unsafe code, and no extra
    /// dependency whose libc features would force RocksDB to rebuild.
    fn sigterm(&self) -> Result<()> {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .with_context(|| format!("SIGTERM to {}", self.name))?;
        if !status.success() {
            bail!("kill -TERM {} failed for {}", self.pid(), self.name);
        }
        Ok(())
    }

    /// The last lines of the log, to explain a failure.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n    ");
        format!("\n  last lines of {}:\n    {tail}", self.log.display())
    }
}

impl Drop for Process {
    /// A bench that bails out half-way must not leave a broker behind.
    /// SIGTERM first: the RabbitMQ script only stops its node and epmd on
    /// that, and a SIGKILL would orphan them.
    fn drop(&mut self) {
        if self.stopped || !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        if self.sigterm().is_ok() {
            let start = Instant::now();
            while start.elapsed() < STOP_GRACE {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(POLL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes every `FERROMQ_*` variable from a broker's environment: the
/// broker reads its settings from them too, and the bench's flags must
/// be all it runs with.
pub fn clear_ferromq_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("FERROMQ_") {
            cmd.env_remove(key);
        }
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
pub fn free_port() -> Result<u16> {
    free_port_on("127.0.0.1")
}

/// A TCP port on `host` (a loopback address such as 127.0.0.11) that
/// nothing listens on right now.
pub fn free_port_on(host: &str) -> Result<u16> {
    let listener = TcpListener::bind((host, 0)).with_context(|| format!("binding {host}:0"))?;
    Ok(listener.local_addr()?.port())
}

/// The first of `n` consecutive free ports on 127.0.0.1.
pub fn free_port_range(n: u16) -> Result<u16> {
    for _ in 0..50 {
        let base = free_port()?;
        if base > u16::MAX - n {
            continue;
        }
        if (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("found no {n} consecutive free ports")
}
