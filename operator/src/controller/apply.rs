//! Server-side apply of the built objects, and Events for new ones.

use super::error::Error;
use crate::MANAGER;
use crate::build::Objects;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Apply as the operator's field manager, taking over fields another
/// manager set (the operator owns these objects; `kubectl edit` drift is
/// put back).
pub fn params() -> PatchParams {
    PatchParams::apply(MANAGER).force()
}

/// The Event telling a person that the operator created an object. The
/// object is the Event's `related` reference: besides pointing at it, this
/// keeps the Events of different objects apart (events with the same
/// reason and related object are counted as one series).
pub fn created_event(kind: &str, name: &str, object: ObjectReference) -> Event {
    Event {
        type_: EventType::Normal,
        reason: "Created".to_string(),
        note: Some(format!("Created {kind} {name}")),
        action: "Apply".to_string(),
        secondary: Some(object),
    }
}

/// Applies one object; says whether it was new (for an Event).
async fn apply_one<K>(client: &Client, namespace: &str, object: &K) -> Result<Option<Event>, Error>
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + k8s_openapi::Resource
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned,
{
    let kind = K::KIND;
    let name = object.meta().name.clone().unwrap_or_default();
    let fail = |source| Error::Apply {
        kind,
        name: name.clone(),
        source,
    };
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    let existed = api.get_metadata_opt(&name).await.map_err(fail)?.is_some();
    api.patch(&name, &params(), &Patch::Apply(object))
        .await
        .map_err(fail)?;
    tracing::debug!(kind, %name, existed, "applied");
    Ok((!existed).then(|| created_event(kind, &name, object.object_ref(&()))))
}

/// Applies every object in order; returns an Event per created object.
pub async fn apply_all(
    client: &Client,
    namespace: &str,
    objects: &Objects,
) -> Result<Vec<Event>, Error> {
    let mut created = Vec::new();
    if let Some(zk) = &objects.zookeeper {
        created.push(apply_one(client, namespace, &zk.headless_service).await?);
        created.push(apply_one(client, namespace, &zk.client_service).await?);
        created.push(apply_one(client, namespace, &zk.statefulset).await?);
        created.push(apply_one(client, namespace, &zk.pdb).await?);
    }
    created.push(apply_one(client, namespace, &objects.service_account).await?);
    created.push(apply_one(client, namespace, &objects.role).await?);
    created.push(apply_one(client, namespace, &objects.role_binding).await?);
    created.push(apply_one(client, namespace, &objects.config).await?);
    created.push(apply_one(client, namespace, &objects.headless_service).await?);
    created.push(apply_one(client, namespace, &objects.client_service).await?);
    created.push(apply_one(client, namespace, &objects.statefulset).await?);
    created.push(apply_one(client, namespace, &objects.pdb).await?);
    Ok(created.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_as_the_operator_and_forces_ownership() {
        let params = params();
        assert_eq!(params.field_manager.as_deref(), Some("ferromq-operator"));
        assert!(params.force);
    }

    #[test]
    fn created_event_names_and_refers_to_the_object() {
        let statefulset = k8s_openapi::api::apps::v1::StatefulSet {
            metadata: kube::api::ObjectMeta {
                name: Some("orders".into()),
                namespace: Some("shop".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let event = created_event("StatefulSet", "orders", statefulset.object_ref(&()));
        assert_eq!(event.type_, EventType::Normal);
        assert_eq!(event.reason, "Created");
        assert_eq!(event.note.as_deref(), Some("Created StatefulSet orders"));
        let related = event.secondary.expect("related object");
        assert_eq!(
            (
                related.kind.as_deref(),
                related.name.as_deref(),
                related.api_version.as_deref()
            ),
            (Some("StatefulSet"), Some("orders"), Some("apps/v1"))
        );
    }
}
