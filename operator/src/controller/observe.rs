//! Reads what the decisions need from the API server: the broker pods and
//! the broker StatefulSet's revision and readiness.

use super::Error;
use crate::build::meta::{Component, Names, selector_labels};
use crate::pods::PodView;
use crate::validate::Cluster;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ListParams;
use kube::{Api, Client};

/// The broker pods and StatefulSet of one ReplicatedBroker.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub pods: Vec<PodView>,
    /// `status.updateRevision`: the revision new pods are made from.
    pub update_revision: Option<String>,
    pub ready_replicas: i32,
}

/// Lists the broker pods (by the selector labels, so only this resource's
/// broker pods) and reads the StatefulSet's status.
pub async fn observe(client: &Client, c: &Cluster<'_>) -> Result<ClusterState, Error> {
    let selector = selector_labels(c, Component::Broker)
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(client.clone(), c.namespace);
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(Error::kube("listing broker pods"))?;
    let mut views: Vec<PodView> = list.items.iter().map(PodView::from_pod).collect();
    views.sort_by(|a, b| a.name.cmp(&b.name));
    let name = Names::broker_statefulset(c);
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), c.namespace);
    let status = sets
        .get_opt(&name)
        .await
        .map_err(Error::kube(format!("reading StatefulSet {name}")))?
        .and_then(|s| s.status);
    Ok(ClusterState {
        pods: views,
        update_revision: status.as_ref().and_then(|s| s.update_revision.clone()),
        ready_replicas: status.and_then(|s| s.ready_replicas).unwrap_or(0),
    })
}
