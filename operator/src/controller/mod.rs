//! The controller: watches ReplicatedBrokers and what they own, and on
//! every change (and every few seconds) runs
//! validate -> build -> server-side apply -> observe (pods, StatefulSet,
//! ZooKeeper) -> role labels -> one rollout step -> status.
//!
//! The decisions (labels, rollout, status, events) are pure functions in
//! their own modules; this module and [`act`] do what they say.

mod act;
mod apply;
mod error;
mod events;
mod observe;
mod step_down;

pub use apply::{created_event, params};
pub use error::{Error, RETRY_AFTER};
pub use events::{election_event, invalid_spec_event, rollout_done_event, rollout_event};
pub use step_down::step_down;

use crate::MANAGER;
use crate::admin::{Outcome, Telemetry};
use crate::build::build_cluster;
use crate::build::meta::Names;
use crate::crd::{ReplicatedBroker, condition, reason};
use crate::election::{self, Location};
use crate::labels::label_changes;
use crate::rollout::{self, Rollout, RolloutAction};
use crate::status::{self, Observed};
use crate::validate::validate;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ObjectReference, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ListParams;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, Recorder, Reporter};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// How soon to look again while something moves: an election, a rollout,
/// pods coming up, ZooKeeper out of reach.
pub const REQUEUE_MOVING: Duration = Duration::from_secs(2);

/// How soon to look again when all is settled. Short, because polling is
/// how the operator notices a master killed without a word: ZooKeeper
/// drops its record after the session timeout, and until the next pass
/// its pod keeps the master label.
pub const REQUEUE_STABLE: Duration = Duration::from_secs(5);

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub reporter: Reporter,
    /// Readiness and metrics, served by [`crate::admin`].
    pub telemetry: Arc<Telemetry>,
}

/// Watches only the objects this operator manages.
fn owned_objects() -> watcher::Config {
    watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGER}"))
}

/// Runs the controller until SIGTERM or Ctrl-C, reporting readiness and
/// metrics to `telemetry`.
pub async fn run(client: Client, telemetry: Arc<Telemetry>) -> Result<(), Error> {
    run_with(client, true, telemetry).await
}

/// Runs the controller; with `on_signal` false it runs until its task is
/// dropped (tests run it beside themselves).
pub async fn run_until(client: Client, on_signal: bool) -> Result<(), Error> {
    run_with(client, on_signal, Arc::default()).await
}

/// Runs the controller, reporting to `telemetry`. It is ready once the
/// API server has answered a list of ReplicatedBrokers (connected, CRD
/// installed) and the watch's first full list is in the cache.
pub async fn run_with(
    client: Client,
    on_signal: bool,
    telemetry: Arc<Telemetry>,
) -> Result<(), Error> {
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
        telemetry: telemetry.clone(),
    });
    let mut controller = Controller::new(brokers, watcher::Config::default())
        .owns(Api::<StatefulSet>::all(client.clone()), owned_objects())
        .owns(Api::<Service>::all(client), owned_objects());
    let store = controller.store();
    telemetry.watch(store.clone());
    // Polled in the controller's own task, not spawned: the store wakes only
    // the last task that waited on it, and the controller waits on it too.
    let synced = async {
        if store.wait_until_ready().await.is_ok() {
            tracing::info!("ReplicatedBrokers synced; ready");
            telemetry.set_ready();
        }
    };
    if on_signal {
        controller = controller.shutdown_on_signal();
    }
    let reconciles =
        controller
            .run(reconcile, error_policy, context)
            .for_each(|result| async move {
                match result {
                    Ok((object, _)) => tracing::debug!(%object, "reconciled"),
                    Err(error) => tracing::warn!(%error, "reconcile failed"),
                }
            });
    futures::future::join(reconciles, synced).await;
    Ok(())
}

/// One pass over one ReplicatedBroker, in a span naming it.
async fn reconcile(resource: Arc<ReplicatedBroker>, ctx: Arc<Context>) -> Result<Action, Error> {
    let span = tracing::info_span!(
        "reconcile",
        namespace = %resource.namespace().unwrap_or_default(),
        name = %resource.name_any()
    );
    let started = Instant::now();
    let result = reconcile_in_span(resource, ctx.clone())
        .instrument(span)
        .await;
    let outcome = match &result {
        Ok(_) => Outcome::Ok,
        Err(error) => Outcome::Error(error.metric_label()),
    };
    ctx.telemetry.metrics.reconciled(outcome, started.elapsed());
    result
}

/// A paused resource gets no applies, labels or rollout steps, but its
/// status is still read from ZooKeeper and written, so `kubectl get rb`
/// stays true while a person works on the cluster by hand.
async fn reconcile_in_span(
    resource: Arc<ReplicatedBroker>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let client = &ctx.client;
    let recorder = Recorder::new(client.clone(), ctx.reporter.clone());
    let reference = resource.object_ref(&());
    let cluster = match validate(&resource) {
        Ok(cluster) => cluster,
        Err(invalid) => {
            publish(&recorder, &invalid_spec_event(&invalid), &reference).await;
            let refused = status::invalid_spec(
                resource.status.as_ref(),
                resource.metadata.generation,
                &invalid.to_string(),
                Time(k8s_openapi::jiff::Timestamp::now()),
            );
            let namespace = resource.metadata.namespace.as_deref().unwrap_or_default();
            let name = resource.metadata.name.as_deref().unwrap_or_default();
            act::write_status(client, namespace, name, &refused).await?;
            return Err(invalid.into());
        }
    };
    let namespace = cluster.namespace;
    let paused = resource.paused();
    let mut apply_error = None;
    if paused {
        tracing::info!("paused; changing nothing, writing status");
    } else {
        match apply::apply_all(client, namespace, &build_cluster(&cluster)).await {
            Ok(created) => {
                for event in &created {
                    publish(&recorder, event, &reference).await;
                }
                tracing::debug!(created = created.len(), "applied");
            }
            Err(error) => apply_error = Some(error),
        }
    }

    let seen = observe::observe(client, &cluster).await?;
    let election = election::read(&Location::of(&cluster)).await;
    if let Err(error) = &election {
        tracing::warn!(%error, "cannot read the election");
    }
    let rollout = rollout::next_action(Rollout {
        update_revision: seen.update_revision.as_deref(),
        pods: &seen.pods,
        replicas: cluster.replicas,
        election: election.as_ref().ok(),
    });
    let revision = seen.update_revision.clone().unwrap_or_default();
    if !paused && apply_error.is_none() {
        // Without the election the operator cannot know better than the
        // brokers, so it leaves the labels as they are.
        if let Ok(e) = &election {
            let master = e.master.as_ref().map(|m| m.id.as_str());
            act::relabel(client, namespace, &label_changes(&seen.pods, master)).await?;
        }
        if let Some(event) = rollout_event(&rollout, &revision) {
            publish(&recorder, &event, &reference).await;
        }
        if let Some(warning) = act::roll(client, namespace, &rollout).await? {
            publish(&recorder, &warning, &reference).await;
        }
    }

    let previous = resource.status.as_ref();
    let apply_message = apply_error.as_ref().map(ToString::to_string);
    let statefulset = Names::broker_statefulset(&cluster);
    let next = status::status(&Observed {
        generation: resource.metadata.generation,
        statefulset: &statefulset,
        replicas: cluster.replicas,
        pods: &seen.pods,
        ready_replicas: seen.ready_replicas,
        election: election.as_ref().map_err(ToString::to_string),
        rollout: &rollout,
        paused,
        apply_error: apply_message.as_deref(),
        previous,
        now: Time(k8s_openapi::jiff::Timestamp::now()),
    });
    if election.is_ok()
        && let Some(event) = election_event(previous, &next)
    {
        publish(&recorder, &event, &reference).await;
    }
    if rollout == RolloutAction::Done && was_rolling(previous) && !paused {
        publish(&recorder, &rollout_done_event(&revision), &reference).await;
    }
    act::write_status(client, namespace, cluster.name, &next).await?;
    if let Some(error) = apply_error {
        return Err(error);
    }
    Ok(Action::requeue(if status::settled(&next) {
        REQUEUE_STABLE
    } else {
        REQUEUE_MOVING
    }))
}

fn was_rolling(previous: Option<&crate::crd::ReplicatedBrokerStatus>) -> bool {
    previous.is_some_and(|p| {
        p.conditions
            .iter()
            .any(|c| c.type_ == condition::PROGRESSING && c.reason == reason::ROLLING_UPDATE)
    })
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

    #[test]
    fn watches_only_managed_objects() {
        let config = owned_objects();
        assert_eq!(
            config.label_selector.as_deref(),
            Some("app.kubernetes.io/managed-by=ferromq-operator")
        );
    }
}
