//! The controller: watches ReplicatedBrokers and what they own, and on
//! every change runs validate -> build -> server-side apply.
//!
//! Status (master, epoch, replica positions, conditions) comes from
//! ZooKeeper and is not written yet; nor are the one-by-one upgrades.

mod apply;
mod error;

pub use apply::{created_event, params};
pub use error::{Error, RETRY_AFTER};

use crate::MANAGER;
use crate::build::build;
use crate::crd::ReplicatedBroker;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use kube::api::ListParams;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

/// How often a healthy ReplicatedBroker is reconciled without a change,
/// to put back objects edited or deleted behind the operator's back.
pub const RESYNC: Duration = Duration::from_secs(300);

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub reporter: Reporter,
}

/// Watches only the objects this operator manages.
fn owned_objects() -> watcher::Config {
    watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"))
}

/// Runs the controller until SIGTERM or Ctrl-C.
pub async fn run(client: Client) -> Result<(), Error> {
    let brokers: Api<ReplicatedBroker> = Api::all(client.clone());
    brokers
        .list(&ListParams::default().limit(1))
        .await
        .map_err(Error::CrdMissing)?;
    let context = Arc::new(Context {
        client: client.clone(),
        reporter: Reporter {
            controller: MANAGER.to_string(),
            instance: std::env::var("POD_NAME").ok(),
        },
    });
    Controller::new(brokers, watcher::Config::default())
        .owns(Api::<StatefulSet>::all(client.clone()), owned_objects())
        .owns(Api::<Service>::all(client), owned_objects())
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(%object, "reconciled"),
                Err(error) => tracing::warn!(%error, "reconcile failed"),
            }
        })
        .await;
    Ok(())
}

/// One pass over one ReplicatedBroker, in a span naming it.
async fn reconcile(resource: Arc<ReplicatedBroker>, ctx: Arc<Context>) -> Result<Action, Error> {
    let span = tracing::info_span!(
        "reconcile",
        namespace = %resource.namespace().unwrap_or_default(),
        name = %resource.name_any()
    );
    reconcile_in_span(resource, ctx).instrument(span).await
}

async fn reconcile_in_span(
    resource: Arc<ReplicatedBroker>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    if resource.paused() {
        tracing::info!("paused; changing nothing");
        return Ok(Action::await_change());
    }
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    let reference = resource.object_ref(&());
    let objects = match build(&resource) {
        Ok(objects) => objects,
        Err(invalid) => {
            publish(&recorder, &invalid_spec_event(&invalid), &reference).await;
            return Err(invalid.into());
        }
    };
    let namespace = resource.namespace().unwrap_or_default();
    let created = apply::apply_all(&ctx.client, &namespace, &objects).await?;
    for event in &created {
        publish(&recorder, event, &reference).await;
    }
    tracing::info!(created = created.len(), "applied");
    Ok(Action::requeue(RESYNC))
}

/// The Warning a person sees in `kubectl describe rb` for a bad spec.
pub fn invalid_spec_event(invalid: &crate::validate::ValidationError) -> Event {
    Event {
        type_: EventType::Warning,
        reason: "InvalidSpec".to_string(),
        note: Some(invalid.to_string()),
        action: "Validate".to_string(),
        secondary: None,
    }
}

/// Events are for people; failing to record one must not fail a reconcile.
async fn publish(recorder: &Recorder, event: &Event, reference: &ObjectReference) {
    if let Err(error) = recorder.publish(event, reference).await {
        tracing::warn!(%error, reason = %event.reason, "could not record an Event");
    }
}

fn error_policy(_resource: Arc<ReplicatedBroker>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %error, label = error.metric_label(), "reconcile failed");
    error.action()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::ValidationError;

    #[test]
    fn invalid_spec_is_a_warning_with_the_fix() {
        let event = invalid_spec_event(&ValidationError::ZookeeperMode);
        assert_eq!(event.type_, EventType::Warning);
        assert_eq!(event.reason, "InvalidSpec");
        assert!(
            event
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("set exactly one of"))
        );
    }

    #[test]
    fn watches_only_managed_objects() {
        let config = owned_objects();
        assert_eq!(
            config.label_selector.as_deref(),
            Some("app.kubernetes.io/managed-by=ferromq-operator")
        );
    }
}
