//! What the schema cannot check, checked before anything is built.
//!
//! [`validate`] turns a ReplicatedBroker into a [`Cluster`]: the same
//! resource with every value the builders need parsed and checked, so that
//! building cannot fail and holds no `unwrap` on what a user wrote. It also
//! repeats the schema's checks, because the operator may meet resources
//! admitted under an older CRD.

mod duration;
mod quantity;

pub use duration::{MAX_SESSION_TIMEOUT, MIN_SESSION_TIMEOUT, format_millis, parse_duration};
pub use quantity::{QuantityError, parse_quantity};

use crate::crd::{
    ExternalZookeeper, ManagedZookeeper, ReplicatedBroker, ReplicatedBrokerSpec, SYNC_WORDS,
};
use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use std::collections::BTreeMap;
use std::time::Duration;
use thiserror::Error;

/// Longest `metadata.name`: the longest name built from it,
/// `<name>-zookeeper-<revision hash>` on the ZooKeeper pods, must stay
/// within a 63-character label.
pub const MAX_NAME_LEN: usize = 40;

/// A ReplicatedBroker the operator cannot build, and what to change.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ValidationError {
    #[error("the ReplicatedBroker has no metadata.{0}: it must be read from the API server")]
    MissingMetadata(&'static str),
    #[error(
        "metadata.name {0:?} must be at most 40 characters of lowercase letters, digits and '-', starting with a letter: it prefixes the StatefulSets, Services and pods built from it"
    )]
    Name(String),
    #[error(
        "{field} is {value}: use an odd number from 1 to 7, so that a quorum is a strict majority"
    )]
    Replicas { field: &'static str, value: i32 },
    #[error(
        "spec.sync {value:?}: {word:?} is not a sync mode; use a comma-separated list of local_mem, local_disk, remote_mem, remote_disk, quorum_mem, quorum_disk"
    )]
    Sync { value: String, word: String },
    #[error(
        "spec.sessionTimeout {0:?} must be a whole number of ms, s or m from 1s to 40s, like 2s or 1500ms"
    )]
    SessionTimeout(String),
    #[error(
        "set exactly one of spec.zookeeper.managed (the operator runs ZooKeeper) and spec.zookeeper.external (brokers use yours)"
    )]
    ZookeeperMode,
    #[error(
        "spec.zookeeper.external.connect {value:?}: {reason}; write host:port pairs separated by commas, like zk-0.zk:2181,zk-1.zk:2181"
    )]
    Connect { value: String, reason: &'static str },
    #[error(
        "spec.zookeeper.external.path {0:?} must be an absolute ZooKeeper path like /ferromq/orders: starting with '/', no trailing '/', no empty, '.' or '..' parts"
    )]
    ZookeeperPath(String),
    #[error("{field} {value:?} is not a Kubernetes quantity like 10Gi or 500m: {reason}")]
    Quantity {
        field: String,
        value: String,
        reason: &'static str,
    },
    #[error("{field} is {value:?}: a volume must have a size above zero, like 10Gi")]
    ZeroStorage { field: &'static str, value: String },
    #[error("spec.weight names {pod:?}, which is not a pod of this broker: use {first} to {last}")]
    WeightPod {
        pod: String,
        first: String,
        last: String,
    },
    #[error("spec.weight of {pod:?} is {value}: use a weight from 1 to 1000")]
    Weight { pod: String, value: i32 },
}

/// A ReplicatedBroker that passed [`validate`], with its values parsed.
#[derive(Debug, Clone)]
pub struct Cluster<'a> {
    /// The resource itself, for what is passed through unchanged.
    pub resource: &'a ReplicatedBroker,
    pub name: &'a str,
    pub namespace: &'a str,
    /// Makes every built object owned by (and deleted with) the resource.
    pub owner: OwnerReference,
    pub replicas: i32,
    pub session_timeout: Duration,
    pub zookeeper: Zookeeper<'a>,
    /// The ZooKeeper path the brokers elect under.
    pub zk_path: String,
    /// Election weight by pod ordinal, for the pods that have one.
    pub weights: BTreeMap<i32, i32>,
}

/// Which ZooKeeper, once exactly one was chosen.
#[derive(Debug, Clone, Copy)]
pub enum Zookeeper<'a> {
    Managed(&'a ManagedZookeeper),
    External(&'a ExternalZookeeper),
}

impl Cluster<'_> {
    /// The spec, for the builders' pass-throughs.
    pub fn spec(&self) -> &ReplicatedBrokerSpec {
        &self.resource.spec
    }
}

/// Checks a ReplicatedBroker and parses what the builders need.
pub fn validate(resource: &ReplicatedBroker) -> Result<Cluster<'_>, ValidationError> {
    let meta = &resource.metadata;
    let name = meta
        .name
        .as_deref()
        .ok_or(ValidationError::MissingMetadata("name"))?;
    let namespace = meta
        .namespace
        .as_deref()
        .ok_or(ValidationError::MissingMetadata("namespace"))?;
    // blockOwnerDeletion, as controller-runtime sets it: a foreground
    // delete of the ReplicatedBroker waits until its objects are gone.
    let owner = resource
        .controller_owner_ref(&())
        .map(|owner| OwnerReference {
            block_owner_deletion: Some(true),
            ..owner
        })
        .ok_or(ValidationError::MissingMetadata("uid"))?;
    check_name(name)?;
    let spec = &resource.spec;
    check_replicas("spec.replicas", spec.replicas)?;
    check_sync(&spec.sync)?;
    let session_timeout = parse_duration(&spec.session_timeout)
        .filter(|d| (MIN_SESSION_TIMEOUT..=MAX_SESSION_TIMEOUT).contains(d))
        .ok_or_else(|| ValidationError::SessionTimeout(spec.session_timeout.clone()))?;
    check_storage("spec.storage.size", &spec.storage.size.0)?;
    check_resources("spec.resources", spec.resources.as_ref())?;
    let zookeeper = match (&spec.zookeeper.managed, &spec.zookeeper.external) {
        (Some(managed), None) => {
            check_replicas("spec.zookeeper.managed.replicas", managed.replicas)?;
            check_storage(
                "spec.zookeeper.managed.storage.size",
                &managed.storage.size.0,
            )?;
            check_resources(
                "spec.zookeeper.managed.resources",
                managed.resources.as_ref(),
            )?;
            Zookeeper::Managed(managed)
        }
        (None, Some(external)) => {
            check_connect(&external.connect)?;
            if let Some(path) = &external.path {
                check_zk_path(path)?;
            }
            Zookeeper::External(external)
        }
        _ => return Err(ValidationError::ZookeeperMode),
    };
    let zk_path = match zookeeper {
        Zookeeper::External(ExternalZookeeper {
            path: Some(path), ..
        }) => path.clone(),
        _ => format!("/ferromq/{namespace}/{name}"),
    };
    let weights = weights(name, spec)?;
    Ok(Cluster {
        resource,
        name,
        namespace,
        owner,
        replicas: spec.replicas,
        session_timeout,
        zookeeper,
        zk_path,
        weights,
    })
}

fn check_name(name: &str) -> Result<(), ValidationError> {
    let well_formed = name.len() <= MAX_NAME_LEN
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if well_formed {
        Ok(())
    } else {
        Err(ValidationError::Name(name.to_string()))
    }
}

fn check_replicas(field: &'static str, value: i32) -> Result<(), ValidationError> {
    if (1..=7).contains(&value) && value % 2 == 1 {
        Ok(())
    } else {
        Err(ValidationError::Replicas { field, value })
    }
}

fn check_sync(value: &str) -> Result<(), ValidationError> {
    match value.split(',').find(|word| !SYNC_WORDS.contains(word)) {
        None => Ok(()),
        Some(word) => Err(ValidationError::Sync {
            value: value.to_string(),
            word: word.to_string(),
        }),
    }
}

fn check_quantity(field: &str, value: &str) -> Result<f64, ValidationError> {
    parse_quantity(value).map_err(|e| ValidationError::Quantity {
        field: field.to_string(),
        value: value.to_string(),
        reason: e.as_str(),
    })
}

fn check_storage(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if check_quantity(field, value)? > 0.0 {
        Ok(())
    } else {
        Err(ValidationError::ZeroStorage {
            field,
            value: value.to_string(),
        })
    }
}

fn check_resources(
    field: &str,
    resources: Option<&ResourceRequirements>,
) -> Result<(), ValidationError> {
    let Some(resources) = resources else {
        return Ok(());
    };
    for (kind, map) in [
        ("requests", &resources.requests),
        ("limits", &resources.limits),
    ] {
        for (resource, quantity) in map.iter().flatten() {
            check_quantity(&format!("{field}.{kind}.{resource}"), &quantity.0)?;
        }
    }
    Ok(())
}

fn check_connect(value: &str) -> Result<(), ValidationError> {
    let fail = |reason| ValidationError::Connect {
        value: value.to_string(),
        reason,
    };
    for server in value.split(',') {
        let (host, port) = server
            .rsplit_once(':')
            .ok_or(fail("a server has no :port"))?;
        if host.is_empty() || host.contains(char::is_whitespace) || host.contains('/') {
            return Err(fail("a server has no host name, or one with spaces or '/'"));
        }
        if !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(fail("a port is not a number from 1 to 65535"));
        }
    }
    Ok(())
}

fn check_zk_path(path: &str) -> Result<(), ValidationError> {
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let good = path.starts_with('/')
        && !parts.is_empty()
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains(char::is_whitespace));
    if good {
        Ok(())
    } else {
        Err(ValidationError::ZookeeperPath(path.to_string()))
    }
}

/// `spec.weight` keyed by pod ordinal, each key a pod of this broker.
fn weights(name: &str, spec: &ReplicatedBrokerSpec) -> Result<BTreeMap<i32, i32>, ValidationError> {
    let mut weights = BTreeMap::new();
    for (pod, &value) in &spec.weight {
        let ordinal = pod
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('-'))
            .filter(|d| d.bytes().all(|b| b.is_ascii_digit()) && (!d.starts_with('0') || *d == "0"))
            .and_then(|digits| digits.parse::<i32>().ok())
            .filter(|ordinal| (0..spec.replicas).contains(ordinal))
            .ok_or_else(|| ValidationError::WeightPod {
                pod: pod.clone(),
                first: format!("{name}-0"),
                last: format!("{name}-{}", spec.replicas - 1),
            })?;
        if !(1..=1000).contains(&value) {
            return Err(ValidationError::Weight {
                pod: pod.clone(),
                value,
            });
        }
        weights.insert(ordinal, value);
    }
    Ok(weights)
}

#[cfg(test)]
mod tests;
