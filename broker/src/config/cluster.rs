//! The cluster settings: ZooKeeper, replication and the sync policy, in
//! ActiveMQ's replicated LevelDB words.

use super::{ConfigError, Settings, positive, setting};
use crate::cluster::pod_label::PodRef;
use crate::replication::policy::SyncPolicy;
use crate::store::trim::DEFAULT_RETAIN;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub zk_address: String,
    pub zk_path: String,
    pub zk_password: Option<String>,
    pub session_timeout: Duration,
    /// Nodes in the cluster; a quorum is `replicas / 2 + 1`.
    pub replicas: usize,
    pub bind: SocketAddr,
    /// How the other nodes and clients reach this node.
    pub hostname: String,
    pub weight: u32,
    pub sync: SyncPolicy,
    pub security_token: Option<String>,
    pub quorum_timeout: Duration,
    /// Log entries the master keeps for replicas to catch up from.
    pub log_retain: u64,
    /// The pod whose role label this node keeps, on Kubernetes.
    pub pod: Option<PodRef>,
}

impl ClusterConfig {
    pub fn quorum(&self) -> usize {
        self.replicas / 2 + 1
    }

    /// The cluster's name: the last part of its ZooKeeper path.
    pub fn name(&self) -> &str {
        self.zk_path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("default")
    }
}

pub(super) fn load(s: &Settings, node_id: &str) -> Result<Option<ClusterConfig>, ConfigError> {
    let Some(zk_address) = s.zk_address.clone().filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    for host in zk_address.split(',') {
        if host
            .trim()
            .rsplit_once(':')
            .is_none_or(|(_, p)| p.parse::<u16>().is_err())
        {
            return Err(invalid(
                "zk_address",
                &zk_address,
                "expected host:port,host:port,...",
            ));
        }
    }
    let zk_path = s
        .zk_path
        .clone()
        .unwrap_or_else(|| "/ferromq/default".into());
    if !zk_path.starts_with('/')
        || zk_path.len() < 2
        || zk_path.ends_with('/')
        || zk_path.contains("//")
    {
        return Err(invalid(
            "zk_path",
            &zk_path,
            "expected an absolute path such as /ferromq/orders",
        ));
    }
    let session_timeout = duration("zk_session_timeout", s.zk_session_timeout.as_deref(), "2s")?;
    if session_timeout < Duration::from_millis(200) {
        return Err(ConfigError::Invalid(format!(
            "{} must be at least 200ms",
            setting("zk_session_timeout")
        )));
    }
    let replicas = positive("replicas", s.replicas, 3)?;
    let raw_sync = s.sync.clone().unwrap_or_else(|| "quorum_disk".into());
    let sync = SyncPolicy::parse(&raw_sync)
        .map_err(|e| ConfigError::Invalid(format!("{} {raw_sync:?}: {e}", setting("sync"))))?;
    Ok(Some(ClusterConfig {
        zk_address,
        zk_path,
        zk_password: s.zk_password.clone(),
        session_timeout,
        replicas,
        bind: s.bind.unwrap_or(SocketAddr::from(([0, 0, 0, 0], 61619))),
        hostname: s.hostname.clone().unwrap_or_else(|| node_id.to_owned()),
        weight: s.weight.unwrap_or(1),
        sync,
        security_token: s.security_token.clone(),
        quorum_timeout: duration("quorum_timeout", s.quorum_timeout.as_deref(), "10s")?,
        log_retain: positive("log_retain", s.log_retain, DEFAULT_RETAIN as usize)? as u64,
        pod: pod(s)?,
    }))
}

fn pod(s: &Settings) -> Result<Option<PodRef>, ConfigError> {
    let set = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
    let uid = set(&s.pod_uid);
    match (set(&s.pod_name), set(&s.pod_namespace)) {
        (Some(name), Some(namespace)) => Ok(Some(PodRef {
            name,
            namespace,
            uid,
        })),
        (None, None) if uid.is_some() => Err(ConfigError::Invalid(format!(
            "{} names a pod's UID: it needs {} and {} too",
            setting("pod_uid"),
            setting("pod_name"),
            setting("pod_namespace")
        ))),
        (None, None) => Ok(None),
        _ => Err(ConfigError::Invalid(format!(
            "{} and {} go together: set both (POD_NAME and POD_NAMESPACE from the downward API) or neither",
            setting("pod_name"),
            setting("pod_namespace")
        ))),
    }
}

fn invalid(key: &str, value: &str, why: &str) -> ConfigError {
    ConfigError::Invalid(format!("{} {value:?}: {why}", setting(key)))
}

fn duration(key: &str, value: Option<&str>, default: &str) -> Result<Duration, ConfigError> {
    let raw = value.unwrap_or(default);
    parse_duration(raw).ok_or_else(|| invalid(key, raw, "expected a duration such as 2s or 500ms"))
}

/// Parses `500ms`, `2s`, `1m`; a bare number is seconds.
pub fn parse_duration(raw: &str) -> Option<Duration> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let n: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn load_args(args: &[&str]) -> Result<Option<ClusterConfig>, ConfigError> {
        let s = Settings::parse_from(std::iter::once("b").chain(args.iter().copied()));
        load(&s, "n1")
    }

    #[test]
    fn cluster_settings_and_their_defaults() -> Result<(), ConfigError> {
        assert!(load_args(&[])?.is_none());
        let c = load_args(&["--zk-address", "127.0.0.1:2181,127.0.0.1:2182"])?
            .ok_or(ConfigError::Invalid("no cluster".into()))?;
        assert_eq!(c.zk_path, "/ferromq/default");
        assert_eq!(c.name(), "default");
        assert_eq!(c.session_timeout, Duration::from_secs(2));
        assert_eq!((c.replicas, c.quorum()), (3, 2));
        assert_eq!(c.hostname, "n1");
        assert_eq!(c.sync, SyncPolicy::default());
        assert_eq!(c.pod, None);
        let c = load_args(&[
            "--zk-address",
            "h:1",
            "--pod-name",
            "orders-0",
            "--pod-namespace",
            "shop",
            "--pod-uid",
            "6f1c",
        ])?
        .ok_or(ConfigError::Invalid("no cluster".into()))?;
        let pod = PodRef {
            name: "orders-0".into(),
            namespace: "shop".into(),
            uid: Some("6f1c".into()),
        };
        assert_eq!(c.pod, Some(pod));
        Ok(())
    }

    #[test]
    fn bad_cluster_values_are_named() {
        let bad: &[&[&str]] = &[
            &["--zk-address", "nohost"],
            &["--zk-address", "h:1", "--zk-path", "relative"],
            &["--zk-address", "h:1", "--zk-session-timeout", "soon"],
            &["--zk-address", "h:1", "--sync", "quorum_dsk"],
            &["--zk-address", "h:1", "--replicas", "0"],
            &["--zk-address", "h:1", "--pod-name", "orders-0"],
            &["--zk-address", "h:1", "--pod-uid", "6f1c"],
        ];
        for args in bad {
            let err = load_args(args)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.starts_with("--"), "{args:?}: {err}");
        }
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("-1s"), None);
    }
}
