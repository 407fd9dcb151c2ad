//! `--cpus-per-node`: every broker node the bench starts runs in a CPU
//! cgroup of its own with a CFS quota, so that on one small machine each
//! node gets the CPU that a machine of its own would give it, and a
//! three-node cluster is compared with one standalone node of the same
//! size, not with a standalone node that has the whole machine to itself.
//!
//! Works on cgroup v1 (`/sys/fs/cgroup/cpu`) and on cgroup v2 with the cpu
//! controller enabled. A process joins its group before it `exec`s the
//! broker (a `sh` wrapper writes its own PID to `cgroup.procs`), so every
//! thread and child it makes is in the group from the start.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// CFS period; the quota is `cpus` of it. Short, so that a throttled
/// node waits milliseconds, not a large part of 100 ms.
const PERIOD_US: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `cpu.cfs_period_us` and `cpu.cfs_quota_us`.
    V1,
    /// `cpu.max`.
    V2,
}

/// The quota each node gets, and the bench's own cgroup directory; a
/// clone shares the directory, which is removed when the last one drops.
#[derive(Debug, Clone)]
pub struct CpuBudget {
    groups: Arc<Groups>,
    cpus: f64,
}

#[derive(Debug)]
struct Groups {
    root: PathBuf,
    layout: Layout,
}

impl CpuBudget {
    /// Makes the bench's parent group; fails with the reason when this
    /// machine has no usable CPU controller.
    pub fn new(cpus: f64) -> Result<CpuBudget> {
        if !(cpus.is_finite() && cpus >= 0.01) {
            bail!("--cpus-per-node {cpus}: expected a number of CPUs of at least 0.01");
        }
        let name = format!("ferromq-bench-{}", std::process::id());
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        let v2 = Path::new("/sys/fs/cgroup");
        let (parent, layout) = if v1.join("cpu.cfs_quota_us").exists() {
            (v1, Layout::V1)
        } else if read(&v2.join("cgroup.subtree_control"))
            .is_ok_and(|c| c.split_whitespace().any(|c| c == "cpu"))
        {
            (v2, Layout::V2)
        } else {
            bail!(
                "--cpus-per-node needs a cgroup CPU controller (cgroup v1 /sys/fs/cgroup/cpu, \
                 or cgroup v2 with +cpu in /sys/fs/cgroup/cgroup.subtree_control)"
            );
        };
        let root = parent.join(name);
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        if layout == Layout::V2 {
            write(&root.join("cgroup.subtree_control"), "+cpu")?;
        }
        Ok(CpuBudget {
            groups: Arc::new(Groups { root, layout }),
            cpus,
        })
    }

    pub fn cpus(&self) -> f64 {
        self.cpus
    }

    /// `cmd`, run inside group `name` limited to `nodes` times the budget
    /// (a script that starts a whole peer cluster gets one group for all
    /// its nodes); `cmd` itself without a budget.
    pub fn confine(
        budget: Option<&CpuBudget>,
        name: &str,
        nodes: u32,
        cmd: Command,
    ) -> Result<Command> {
        match budget {
            Some(b) => b.wrap(name, nodes, &cmd),
            None => Ok(cmd),
        }
    }

    fn wrap(&self, name: &str, nodes: u32, cmd: &Command) -> Result<Command> {
        let group = self.groups.root.join(name);
        std::fs::create_dir_all(&group).with_context(|| format!("creating {}", group.display()))?;
        let quota = (self.cpus * f64::from(nodes) * PERIOD_US as f64).round() as u64;
        match self.groups.layout {
            Layout::V1 => {
                write(&group.join("cpu.cfs_period_us"), &PERIOD_US.to_string())?;
                write(&group.join("cpu.cfs_quota_us"), &quota.to_string())?;
            }
            Layout::V2 => write(&group.join("cpu.max"), &format!("{quota} {PERIOD_US}"))?,
        }
        let mut wrapped = Command::new("sh");
        wrapped
            .args(["-c", r#"echo $$ > "$0" && exec "$@""#])
            .arg(group.join("cgroup.procs"))
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => wrapped.env(key, v),
                None => wrapped.env_remove(key),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            wrapped.current_dir(dir);
        }
        Ok(wrapped)
    }
}

impl Drop for Groups {
    /// Removes the groups; one whose processes still run stays (rmdir
    /// refuses it) and is named.
    fn drop(&mut self) {
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for group in entries.flatten().filter(|e| e.path().is_dir()) {
                if let Err(e) = std::fs::remove_dir(group.path()) {
                    eprintln!("cpu budget: {} stays: {e}", group.path().display());
                }
            }
        }
        let _ = std::fs::remove_dir(&self.root);
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn write(path: &Path, value: &str) -> Result<()> {
    std::fs::write(path, value).with_context(|| format!("writing {value:?} to {}", path.display()))
}
