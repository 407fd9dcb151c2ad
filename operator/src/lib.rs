//! ferromq's Kubernetes operator.
//!
//! A `ReplicatedBroker` ([`crd`]) becomes a ZooKeeper ensemble and a
//! StatefulSet of brokers with their Services, PodDisruptionBudgets and RBAC.
//! The work is a pipeline, as in stackable's operators: [`validate`] turns
//! the resource into a checked [`validate::Cluster`], [`build`] turns that
//! into every object to apply, as pure functions unit-tested from YAML; only
//! the [`controller`] talks to the API server; [`admin`] serves its probes
//! and metrics.

pub mod admin;
pub mod build;
pub mod controller;
pub mod crd;
pub mod election;
pub mod labels;
pub mod pods;
pub mod rollout;
pub mod status;
pub mod validate;

/// Field manager of every server-side apply, and the `managed-by` label.
pub const MANAGER: &str = "ferromq-operator";
