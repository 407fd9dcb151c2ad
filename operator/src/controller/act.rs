//! The only writes besides server-side apply: role labels on pods, pod
//! deletions and step-down requests of the rollout, and the status.

use super::{Error, step_down};
use crate::MANAGER;
use crate::build::meta::ROLE_LABEL;
use crate::crd::{ReplicatedBroker, ReplicatedBrokerStatus};
use crate::labels::LabelChange;
use crate::rollout::RolloutAction;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Client};

/// Patches role labels one at a time, in the given order (demotions
/// first): a promotion is only sent once every demotion before it is done.
pub async fn relabel(
    client: &Client,
    namespace: &str,
    changes: &[LabelChange],
) -> Result<(), Error> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    for change in changes {
        let patch = serde_json::json!({"metadata": {"labels": {ROLE_LABEL: change.role}}});
        pods.patch(&change.pod, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map_err(Error::kube(format!(
                "labelling pod {} {}",
                change.pod, change.role
            )))?;
        tracing::info!(pod = %change.pod, role = change.role, "role label set");
    }
    Ok(())
}

/// Takes one rollout step. A refused step-down is a Warning Event rather
/// than an error: the rollout simply asks again on the next pass.
pub async fn roll(
    client: &Client,
    namespace: &str,
    action: &RolloutAction,
) -> Result<Option<Event>, Error> {
    match action {
        RolloutAction::Delete { pod, .. } => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
            pods.delete(pod, &DeleteParams::default())
                .await
                .map_err(Error::kube(format!("deleting pod {pod} for the upgrade")))?;
            tracing::info!(%pod, "deleted for the upgrade");
            Ok(None)
        }
        RolloutAction::StepDown { pod, admin } => match step_down::step_down(admin).await {
            Ok(answer) => {
                tracing::info!(%pod, %admin, %answer, "master stepped down");
                Ok(None)
            }
            Err(why) => {
                tracing::warn!(%pod, %admin, %why, "step-down refused");
                Ok(Some(Event {
                    type_: EventType::Warning,
                    reason: "StepDownFailed".to_string(),
                    note: Some(format!("asking master {pod} to step down: {why}")),
                    action: "Upgrade".to_string(),
                    secondary: None,
                }))
            }
        },
        RolloutAction::Done | RolloutAction::Wait(_) => Ok(None),
    }
}

/// Writes the status by server-side apply on the status subresource, as
/// the operator's field manager: the fields it leaves out are removed.
pub async fn write_status(
    client: &Client,
    namespace: &str,
    name: &str,
    status: &ReplicatedBrokerStatus,
) -> Result<(), Error> {
    let api: Api<ReplicatedBroker> = Api::namespaced(client.clone(), namespace);
    let patch = serde_json::json!({
        "apiVersion": "ferromq.io/v1alpha1",
        "kind": "ReplicatedBroker",
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(Error::kube(format!("writing the status of {name}")))?;
    Ok(())
}
