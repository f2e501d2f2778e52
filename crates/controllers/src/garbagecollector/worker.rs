//! The collector's workers: the I/O around [`decision`](super::decision). An
//! `attemptToDelete` item is read live (a node the API server no longer has leaves the
//! graph), its owners are looked up live by uid, and the decided actions are written; an
//! `attemptToOrphan` item has its dependents' references to it removed, then its `orphan`
//! finalizer.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions};
use serde_json::{json, Value};

use super::decision::{self, Action, Dependents, OwnerState};
use super::graph::{Identity, FOREGROUND, ORPHAN};
use super::{lock, virtual_delete, Error, Shared};
use crate::harness::dynamic::MetaObject;

/// The API of `identity`'s type, in its namespace when the type is namespaced; `None` for a
/// namespaced type named without a namespace (such an object cannot exist).
fn api_for(shared: &Shared, identity: &Identity) -> Result<Option<Api<DynamicObject>>, Error> {
    let mapping = shared.mapping(&identity.api_version, &identity.kind)?;
    let client = shared.client.clone();
    Ok(match (mapping.namespaced, identity.namespace.as_str()) {
        (true, "") => None,
        (true, ns) => Some(Api::namespaced_with(client, ns, &mapping.resource)),
        (false, _) => Some(Api::all_with(client, &mapping.resource)),
    })
}

/// The live metadata of `identity`'s object, if an object of that name exists.
async fn get(shared: &Shared, identity: &Identity) -> Result<Option<MetaObject>, Error> {
    let Some(api) = api_for(shared, identity)? else {
        return Ok(None);
    };
    api.get_metadata_opt(&identity.name)
        .await
        .map_err(|source| Error::Get {
            identity: identity.to_string(),
            source,
        })
}

/// Works on the node with `uid` from the `attemptToDelete` queue.
///
/// # Errors
/// Any failed read or write; the node is retried.
pub(super) async fn attempt_to_delete(shared: Arc<Shared>, uid: String) -> Result<(), Error> {
    let Some(node) = lock(&shared.graph).node(&uid).cloned() else {
        return Ok(());
    };
    // Being deleted is a one-way trip: its dependents are handled once it is gone.
    if node.being_deleted && !node.deleting_dependents {
        return Ok(());
    }
    let latest = match get(&shared, &node.identity).await? {
        Some(latest) if latest.metadata.uid.as_deref() == Some(uid.as_str()) => latest,
        _ => {
            virtual_delete(&shared, &node.identity).await;
            return Ok(());
        }
    };
    let actions = if node.deleting_dependents {
        let blocking = lock(&shared.graph).blocking_dependents(&uid);
        decision::foreground_step(&blocking, lock(&shared.unsynced).is_empty())
    } else {
        let refs = latest.metadata.owner_references.clone().unwrap_or_default();
        let mut owners = Vec::with_capacity(refs.len());
        for owner in refs {
            let state = classify(&shared, &node.identity, &owner).await?;
            owners.push((owner, state));
        }
        let dependents = dependents_of(&shared, &uid);
        let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
        decision::collect(&owners, &finalizers, dependents)
    };
    for action in actions {
        act(&shared, &node.identity, &latest, action).await?;
    }
    Ok(())
}

fn dependents_of(shared: &Shared, uid: &str) -> Dependents {
    let graph = lock(&shared.graph);
    let Some(node) = graph.node(uid) else {
        return Dependents::default();
    };
    Dependents {
        any: !node.dependents.is_empty(),
        any_deleting_dependents: node
            .dependents
            .iter()
            .filter_map(|d| graph.node(d))
            .any(|d| d.deleting_dependents),
    }
}

/// What a live lookup of `owner`, named by `dependent`, finds.
async fn classify(
    shared: &Shared,
    dependent: &Identity,
    owner: &OwnerReference,
) -> Result<OwnerState, Error> {
    let mapping = shared.mapping(&owner.api_version, &owner.kind)?;
    if mapping.namespaced && dependent.namespace.is_empty() {
        return Ok(OwnerState::InvalidScope);
    }
    let namespace = if mapping.namespaced {
        dependent.namespace.as_str()
    } else {
        ""
    };
    let absent_key = (namespace.to_owned(), owner.uid.clone());
    if lock(&shared.absent).contains(&absent_key) {
        return Ok(OwnerState::Dangling);
    }
    let identity = Identity::of_owner(owner, namespace);
    match get(shared, &identity).await? {
        Some(found) if found.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            let meta = &found.metadata;
            let foreground = meta.deletion_timestamp.is_some()
                && meta.finalizers.iter().flatten().any(|f| f == FOREGROUND);
            Ok(if foreground {
                OwnerState::WaitingForDependents
            } else {
                OwnerState::Solid
            })
        }
        _ => {
            shared.remember_absent(namespace, &owner.uid);
            Ok(OwnerState::Dangling)
        }
    }
}

/// Carries out `action` on the object `identity` (last read as `latest`).
async fn act(
    shared: &Shared,
    identity: &Identity,
    latest: &MetaObject,
    action: Action,
) -> Result<(), Error> {
    let refs = latest.metadata.owner_references.clone().unwrap_or_default();
    let finalizers = latest.metadata.finalizers.clone().unwrap_or_default();
    match action {
        Action::Delete(policy) => delete(shared, identity, policy).await,
        Action::RemoveOwnerRefs(uids) => {
            let kept = decision::without_owners(&refs, &uids);
            if kept.len() == refs.len() {
                return Ok(());
            }
            patch_metadata(shared, identity, latest, "ownerReferences", json!(kept)).await
        }
        Action::UnblockOwnerRefs(uids) => {
            let refs = decision::unblocked(&refs, &uids);
            patch_metadata(shared, identity, latest, "ownerReferences", json!(refs)).await
        }
        Action::RemoveFinalizer(finalizer) => {
            let rest = decision::without_finalizer(&finalizers, finalizer);
            patch_metadata(shared, identity, latest, "finalizers", json!(rest)).await
        }
        Action::AttemptToDelete(uid) => {
            shared.deletes.add(uid);
            Ok(())
        }
    }
}

async fn delete(
    shared: &Shared,
    identity: &Identity,
    policy: decision::Propagation,
) -> Result<(), Error> {
    let Some(api) = api_for(shared, identity)? else {
        return Ok(());
    };
    let params = DeleteParams {
        propagation_policy: Some(match policy {
            decision::Propagation::Background => kube::api::PropagationPolicy::Background,
            decision::Propagation::Foreground => kube::api::PropagationPolicy::Foreground,
            decision::Propagation::Orphan => kube::api::PropagationPolicy::Orphan,
        }),
        preconditions: Some(Preconditions {
            uid: Some(identity.uid.clone()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    tracing::debug!(object = %identity, policy = policy.as_str(), "garbage collecting");
    match api.delete(&identity.name, &params).await {
        Ok(_) => Ok(()),
        // Gone already, or replaced by another object of that name.
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => Ok(()),
        Err(source) => Err(Error::Delete {
            identity: identity.to_string(),
            source,
        }),
    }
}

/// Sets `metadata.<field>` of the object to `value` (removed when empty), guarded by the
/// resourceVersion it was read at.
async fn patch_metadata(
    shared: &Shared,
    identity: &Identity,
    latest: &MetaObject,
    field: &str,
    value: Value,
) -> Result<(), Error> {
    let Some(api) = api_for(shared, identity)? else {
        return Ok(());
    };
    let value = match value {
        Value::Array(items) if items.is_empty() => Value::Null,
        other => other,
    };
    let patch = json!({"metadata": {
        "resourceVersion": latest.metadata.resource_version,
        field: value,
    }});
    match api
        .patch_metadata(
            &identity.name,
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(source) => Err(Error::Patch {
            identity: identity.to_string(),
            source,
        }),
    }
}

/// Works on the node with `uid` from the `attemptToOrphan` queue: its dependents lose
/// their references to it, then it loses its `orphan` finalizer.
///
/// # Errors
/// Any failed read or write; the node is retried.
pub(super) async fn attempt_to_orphan(shared: Arc<Shared>, uid: String) -> Result<(), Error> {
    let (owner, dependents) = {
        let graph = lock(&shared.graph);
        let Some(node) = graph.node(&uid) else {
            return Ok(());
        };
        (node.identity.clone(), graph.dependents(&uid))
    };
    let owner_uid = vec![uid.clone()];
    for dependent in dependents {
        let Some(latest) = get(&shared, &dependent).await? else {
            continue;
        };
        if latest.metadata.uid.as_deref() != Some(dependent.uid.as_str()) {
            continue;
        }
        act(
            &shared,
            &dependent,
            &latest,
            Action::RemoveOwnerRefs(owner_uid.clone()),
        )
        .await?;
    }
    let Some(latest) = get(&shared, &owner).await? else {
        return Ok(());
    };
    let has_orphan = latest
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == ORPHAN);
    if latest.metadata.uid.as_deref() == Some(uid.as_str()) && has_orphan {
        act(&shared, &owner, &latest, Action::RemoveFinalizer(ORPHAN)).await?;
    }
    Ok(())
}
