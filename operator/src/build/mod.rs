//! Every object a ReplicatedBroker becomes, as pure functions of the
//! validated resource: one file per object (or per pair of Services), each
//! with its own tests. Nothing here talks to the API server, so a test
//! parses a resource from YAML and asserts on what comes out.

pub mod broker_args;
pub mod broker_config;
pub mod broker_services;
pub mod broker_statefulset;
pub mod meta;
pub mod pdb;
pub mod pod;
pub mod ports;
pub mod rbac;
pub mod zookeeper_services;
pub mod zookeeper_statefulset;

#[cfg(test)]
pub(crate) mod test_support;

use crate::crd::ReplicatedBroker;
use crate::validate::{Cluster, ValidationError, Zookeeper, validate};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// The managed ZooKeeper's objects.
#[derive(Debug, Clone, PartialEq)]
pub struct ZookeeperObjects {
    pub headless_service: Service,
    pub client_service: Service,
    pub statefulset: StatefulSet,
    pub pdb: PodDisruptionBudget,
}

/// Everything to apply for one ReplicatedBroker, in the order to apply it:
/// ZooKeeper first (brokers wait for it), then what the broker pods refer
/// to (identity, config, Services), then the pods' StatefulSet.
#[derive(Debug, Clone, PartialEq)]
pub struct Objects {
    pub zookeeper: Option<ZookeeperObjects>,
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub config: ConfigMap,
    pub headless_service: Service,
    pub client_service: Service,
    pub statefulset: StatefulSet,
    pub pdb: PodDisruptionBudget,
}

impl Objects {
    /// Kind and metadata of every object, in apply order.
    pub fn metadata(&self) -> Vec<(&'static str, &ObjectMeta)> {
        let mut all = Vec::new();
        if let Some(zk) = &self.zookeeper {
            all.extend([
                ("Service", &zk.headless_service.metadata),
                ("Service", &zk.client_service.metadata),
                ("StatefulSet", &zk.statefulset.metadata),
                ("PodDisruptionBudget", &zk.pdb.metadata),
            ]);
        }
        all.extend([
            ("ServiceAccount", &self.service_account.metadata),
            ("Role", &self.role.metadata),
            ("RoleBinding", &self.role_binding.metadata),
            ("ConfigMap", &self.config.metadata),
            ("Service", &self.headless_service.metadata),
            ("Service", &self.client_service.metadata),
            ("StatefulSet", &self.statefulset.metadata),
            ("PodDisruptionBudget", &self.pdb.metadata),
        ]);
        all
    }
}

/// Validates `resource` and builds every object from it.
pub fn build(resource: &ReplicatedBroker) -> Result<Objects, ValidationError> {
    Ok(build_cluster(&validate(resource)?))
}

/// Builds every object from a validated resource; cannot fail.
pub fn build_cluster(c: &Cluster) -> Objects {
    let zookeeper = match c.zookeeper {
        Zookeeper::Managed(managed) => Some(ZookeeperObjects {
            headless_service: zookeeper_services::zookeeper_headless_service(c),
            client_service: zookeeper_services::zookeeper_client_service(c),
            statefulset: zookeeper_statefulset::zookeeper_statefulset(c, managed),
            pdb: pdb::zookeeper_pdb(c, managed),
        }),
        Zookeeper::External(_) => None,
    };
    Objects {
        zookeeper,
        service_account: rbac::service_account(c),
        role: rbac::role(c),
        role_binding: rbac::role_binding(c),
        config: broker_config::broker_config(c),
        headless_service: broker_services::broker_headless_service(c),
        client_service: broker_services::broker_client_service(c),
        statefulset: broker_statefulset::broker_statefulset(c),
        pdb: pdb::broker_pdb(c),
    }
}

#[cfg(test)]
mod tests;
