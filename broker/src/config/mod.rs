//! One configuration, from flags, `FERROMQ_*` environment variables and
//! an optional TOML file, in that order of precedence.

mod cluster;

pub use cluster::{ClusterConfig, parse_duration};

use clap::Parser;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("config file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

/// Every setting, each optional so that flags, environment and file can
/// be layered; [`Config`] fills in the defaults.
#[derive(Debug, Default, Parser, Deserialize)]
#[command(
    name = "ferromq-broker",
    version,
    about = "ferromq: a replicated STOMP message broker"
)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// TOML file with any of these settings (keys with underscores).
    #[arg(long, env = "FERROMQ_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Where messages are stored [default: ./data].
    #[arg(long, env = "FERROMQ_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// STOMP listen address [default: 0.0.0.0:61613].
    #[arg(long, env = "FERROMQ_LISTEN", value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Admin HTTP listen address [default: 0.0.0.0:8161].
    #[arg(long, env = "FERROMQ_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// This node's name in message ids and status [default: the hostname].
    #[arg(long, env = "FERROMQ_NODE_ID", value_name = "ID")]
    pub node_id: Option<String>,
    /// Largest frame a client may send, in bytes [default: 10485760].
    #[arg(long, env = "FERROMQ_MAX_FRAME_BYTES", value_name = "N")]
    pub max_frame_bytes: Option<usize>,
    /// Largest header section a client may send, in bytes [default: 65536].
    #[arg(long, env = "FERROMQ_MAX_HEADER_BYTES", value_name = "N")]
    pub max_header_bytes: Option<usize>,
    /// Most headers in one frame [default: 128].
    #[arg(long, env = "FERROMQ_MAX_HEADERS", value_name = "N")]
    pub max_headers: Option<usize>,
    /// Heart-beats the broker offers, in ms: can send every SX, wants one
    /// every SY; 0 disables a direction [default: 10000,10000].
    #[arg(long, env = "FERROMQ_HEART_BEAT", value_name = "SX,SY")]
    pub heart_beat: Option<String>,
    /// Prefetch window of a subscription without activemq.prefetchSize
    /// [default: 1000].
    #[arg(long, env = "FERROMQ_DEFAULT_PREFETCH", value_name = "N")]
    pub default_prefetch: Option<usize>,
    /// Log filter, in tracing's EnvFilter syntax [default: info].
    #[arg(long, env = "FERROMQ_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// ZooKeeper servers, comma-separated host:port; without it the broker
    /// runs standalone.
    #[arg(long, env = "FERROMQ_ZK_ADDRESS", value_name = "HOSTS")]
    pub zk_address: Option<String>,
    /// The cluster's ZooKeeper path [default: /ferromq/default].
    #[arg(long, env = "FERROMQ_ZK_PATH", value_name = "PATH")]
    pub zk_path: Option<String>,
    /// Password for ZooKeeper digest authentication (user `ferromq`).
    #[arg(long, env = "FERROMQ_ZK_PASSWORD", value_name = "SECRET")]
    pub zk_password: Option<String>,
    /// ZooKeeper session timeout, e.g. 2s or 1500ms [default: 2s].
    #[arg(long, env = "FERROMQ_ZK_SESSION_TIMEOUT", value_name = "DURATION")]
    pub zk_session_timeout: Option<String>,
    /// Number of nodes in the cluster; a quorum is replicas/2+1 [default: 3].
    #[arg(long, env = "FERROMQ_REPLICAS", value_name = "N")]
    pub replicas: Option<usize>,
    /// Replication listen address [default: 0.0.0.0:61619].
    #[arg(long, env = "FERROMQ_BIND", value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Address the other nodes and clients use to reach this node
    /// [default: the node id].
    #[arg(long, env = "FERROMQ_HOSTNAME", value_name = "HOST")]
    pub hostname: Option<String>,
    /// Election preference among equally up-to-date nodes [default: 1].
    #[arg(long, env = "FERROMQ_WEIGHT", value_name = "N")]
    pub weight: Option<u32>,
    /// Where an update must be before it is confirmed: comma list of
    /// local_mem, local_disk, remote_mem, remote_disk, quorum_mem,
    /// quorum_disk [default: quorum_disk].
    #[arg(long, env = "FERROMQ_SYNC", value_name = "WORDS")]
    pub sync: Option<String>,
    /// Shared secret a replica must present to the master.
    #[arg(long, env = "FERROMQ_SECURITY_TOKEN", value_name = "SECRET")]
    pub security_token: Option<String>,
    /// How long a persistent SEND or ACK waits for a quorum before the
    /// client gets an ERROR [default: 10s].
    #[arg(long, env = "FERROMQ_QUORUM_TIMEOUT", value_name = "DURATION")]
    pub quorum_timeout: Option<String>,
    /// Log entries the master keeps for replicas to catch up from; a
    /// replica further behind gets a checkpoint [default: 10000].
    #[arg(long, env = "FERROMQ_LOG_RETAIN", value_name = "N")]
    pub log_retain: Option<usize>,
    /// On Kubernetes, this broker's pod (from the downward API): the node
    /// keeps the pod's `ferromq.io/role` label equal to its role.
    #[arg(long, env = "POD_NAME", value_name = "NAME")]
    pub pod_name: Option<String>,
    /// The namespace of `pod_name`.
    #[arg(long, env = "POD_NAMESPACE", value_name = "NAMESPACE")]
    pub pod_namespace: Option<String>,
    /// The UID of `pod_name` (downward API `metadata.uid`), put in the
    /// node's ZooKeeper record so that the operator's rollout waits for this
    /// incarnation's own record.
    #[arg(long, env = "POD_UID", value_name = "UID")]
    pub pod_uid: Option<String>,
}

/// The broker's configuration, defaults applied and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    pub node_id: String,
    pub limits: ferromq_stomp::Limits,
    pub heart_beat: (u64, u64),
    pub default_prefetch: usize,
    pub log: String,
    /// Cluster mode; `None` runs standalone.
    pub cluster: Option<ClusterConfig>,
}

macro_rules! layer {
    ($top:expr, $below:expr, $($field:ident),*) => {
        Settings { config: $top.config, $($field: $top.$field.or($below.$field)),* }
    };
}

impl Settings {
    /// Settings from `self`, with what is unset taken from `file`.
    fn over(self, file: Settings) -> Settings {
        layer!(
            self,
            file,
            data_dir,
            listen,
            admin_listen,
            node_id,
            max_frame_bytes,
            max_header_bytes,
            max_headers,
            heart_beat,
            default_prefetch,
            log,
            zk_address,
            zk_path,
            zk_password,
            zk_session_timeout,
            replicas,
            bind,
            hostname,
            weight,
            sync,
            security_token,
            quorum_timeout,
            log_retain,
            pod_name,
            pod_namespace,
            pod_uid
        )
    }

    fn read_file(path: &Path) -> Result<Settings, ConfigError> {
        let fail = |reason: String| ConfigError::File {
            path: path.display().to_string(),
            reason: reason.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        toml::from_str(&text).map_err(|e| fail(e.to_string()))
    }
}

impl Config {
    /// Builds the configuration from flags and environment (already parsed
    /// into `cli`) and the file `cli` names, if any.
    pub fn load(cli: Settings) -> Result<Config, ConfigError> {
        let file = match &cli.config {
            Some(path) => Settings::read_file(path)?,
            None => Settings::default(),
        };
        let s = cli.over(file);
        let defaults = ferromq_stomp::Limits::default();
        let limits = ferromq_stomp::Limits {
            max_frame_bytes: positive(
                "max_frame_bytes",
                s.max_frame_bytes,
                defaults.max_frame_bytes,
            )?,
            max_header_bytes: positive(
                "max_header_bytes",
                s.max_header_bytes,
                defaults.max_header_bytes,
            )?,
            max_headers: positive("max_headers", s.max_headers, defaults.max_headers)?,
        };
        let heart_beat = s.heart_beat.as_deref().unwrap_or("10000,10000");
        let heart_beat = heart_beat
            .split_once(',')
            .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
            .ok_or_else(|| {
                ConfigError::Invalid(format!(
                    "{} {heart_beat:?}: expected SX,SY in milliseconds",
                    setting("heart_beat")
                ))
            })?;
        let node_id = s.node_id.clone().unwrap_or_else(default_node_id);
        let cluster = cluster::load(&s, &node_id)?;
        Ok(Config {
            data_dir: s.data_dir.unwrap_or_else(|| PathBuf::from("data")),
            listen: s.listen.unwrap_or(SocketAddr::from(([0, 0, 0, 0], 61613))),
            admin_listen: s
                .admin_listen
                .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 8161))),
            node_id,
            limits,
            heart_beat,
            default_prefetch: positive("default_prefetch", s.default_prefetch, 1000)?,
            log: s.log.unwrap_or_else(|| "info".into()),
            cluster,
        })
    }
}

pub(crate) fn positive(
    name: &str,
    value: Option<usize>,
    default: usize,
) -> Result<usize, ConfigError> {
    match value {
        None => Ok(default),
        Some(0) => Err(ConfigError::Invalid(format!(
            "{} must be greater than 0",
            setting(name)
        ))),
        Some(n) => Ok(n),
    }
}

/// Names a setting the way both flags and files spell it.
pub(crate) fn setting(key: &str) -> String {
    format!("--{} ({key})", key.replace('_', "-"))
}

fn default_node_id() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "ferromq".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Settings {
        Settings::parse_from(std::iter::once("ferromq-broker").chain(args.iter().copied()))
    }

    #[test]
    fn flags_beat_the_file_and_defaults_fill_the_rest() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("b.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:1\"\nmax_headers = 7\n")?;
        let path = file.to_string_lossy().into_owned();
        let c = Config::load(parse(&["--config", &path, "--listen", "127.0.0.1:2"]))?;
        assert_eq!(c.listen.port(), 2);
        assert_eq!(c.limits.max_headers, 7);
        assert_eq!(c.admin_listen.port(), 8161);
        assert_eq!(c.heart_beat, (10_000, 10_000));
        Ok(())
    }

    #[test]
    fn a_bad_file_is_named_in_one_line() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("b.toml");
        std::fs::write(&file, "listne = 1\n")?;
        let path = file.to_string_lossy().into_owned();
        let err = Config::load(parse(&["--config", &path]))
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(
            err.contains("b.toml") && err.contains("listne") && !err.contains('\n'),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(Config::load(parse(&["--heart-beat", "x"])).is_err());
        assert!(Config::load(parse(&["--max-headers", "0"])).is_err());
        assert!(Settings::try_parse_from(["b", "--listen", "nope"]).is_err());
    }
}
