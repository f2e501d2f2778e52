//! One sync of a ReplicaSet or ReplicationController: claim pods, fix the count (when
//! expectations allow), write status.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch};
use kube::core::SelectorExt;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::json;

use super::decision::{self, Failure, Manage};
use super::{after_sync, key, Context, Error, ReplicaOwner, ReplicaView};
use crate::events::EventType;
use crate::workload::claim::{self, Claim};
use crate::workload::pod::{controller_of, controller_ref, is_active, pod_from_template};
use crate::workload::{patch_params, post_params};

/// Syncs one object of kind `K`.
///
/// # Errors
/// Every [`Error`]; a failed create or delete is also reported in the ReplicaFailure condition.
pub async fn reconcile<K: ReplicaOwner>(
    obj: Arc<K>,
    ctx: Arc<Context<K>>,
) -> Result<Action, Error> {
    let namespace = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let key = key(&namespace, &name);
    let view = obj.view();
    let now = ctx.clock.now();
    let in_namespace: Vec<Pod> = ctx
        .pods
        .state()
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
        .map(|p| Pod::clone(p))
        .collect();
    let live: HashSet<&str> = in_namespace
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.uid.as_deref())
        .collect();
    let satisfied = ctx
        .expectations
        .satisfied(&key, now, |uid| live.contains(uid));
    let active: Vec<Pod> = in_namespace
        .iter()
        .filter(|p| is_active(p))
        .cloned()
        .collect();
    let owned = claim_pods(&ctx, obj.as_ref(), &view, active.clone()).await?;

    let mut outcome = Ok(());
    if satisfied && obj.meta().deletion_timestamp.is_none() {
        let related = related_pods(&ctx, obj.as_ref(), &active, &owned);
        outcome = match decision::manage(view.replicas, &owned, &related, now) {
            Manage::Nothing => Ok(()),
            Manage::Create(count) => create_pods(&ctx, obj.as_ref(), &view, &key, count).await,
            Manage::Delete(pods) => delete_pods(&ctx, obj.as_ref(), &key, &pods).await,
        };
    }
    let failure = outcome.as_ref().err().map(|(f, _)| f.clone());
    let labels = view
        .template
        .as_ref()
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let status = decision::status(
        &view.status,
        view.generation,
        &labels,
        view.min_ready_seconds,
        &owned,
        failure.as_ref(),
        now,
    );
    if status != view.status {
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({ "status": status.to_json() });
        match api
            .patch_status(&name, &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => return Err(Error::UpdateStatus { owner: key, source }),
        }
    }
    outcome.map_err(|(_, e)| e)?;
    Ok(after_sync(decision::next_availability_check(
        &owned,
        view.min_ready_seconds,
        now,
    )))
}

/// Adopts and releases pods as the selector says; returns the pods this object now controls.
async fn claim_pods<K: ReplicaOwner>(
    ctx: &Context<K>,
    obj: &K,
    view: &ReplicaView,
    pods: Vec<Pod>,
) -> Result<Vec<Pod>, Error> {
    let uid = obj.uid().unwrap_or_default();
    let deleting = obj.meta().deletion_timestamp.is_some();
    let owner = controller_ref(&K::api_version(&()), &K::kind(&()), &obj.name_any(), &uid);
    let mut owned = Vec::new();
    let mut may_adopt = None;
    for pod in pods {
        let selected = view
            .selector
            .as_ref()
            .is_some_and(|s| s.matches(pod.labels()));
        let patch = match claim::decide(&pod.metadata, &uid, deleting, selected) {
            Claim::Keep => {
                owned.push(pod);
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => {
                if may_adopt.is_none() {
                    may_adopt = Some(still_current(ctx, obj).await);
                }
                if may_adopt != Some(true) {
                    continue;
                }
                claim::adopt_patch(&pod.metadata, &owner)
            }
            Claim::Release => claim::release_patch(&pod.metadata, &uid),
        };
        let api: Api<Pod> =
            Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        match api
            .patch(&pod.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(patched) if selected => owned.push(patched),
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => {
                return Err(Error::ClaimPod {
                    pod: pod.name_any(),
                    source,
                })
            }
        }
    }
    Ok(owned)
}

/// Whether `obj` as the API server has it now is the same object and not being deleted
/// (upstream re-reads before adopting, since the cache may be stale).
async fn still_current<K: ReplicaOwner>(ctx: &Context<K>, obj: &K) -> bool {
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &obj.namespace().unwrap_or_default());
    match api.get_opt(&obj.name_any()).await {
        Ok(Some(fresh)) => fresh.uid() == obj.uid() && fresh.meta().deletion_timestamp.is_none(),
        _ => false,
    }
}

/// The pods whose nodes rank deletion candidates: those of every sibling under the same
/// controller (a Deployment's ReplicaSets), else this object's own.
fn related_pods<K: ReplicaOwner>(
    ctx: &Context<K>,
    obj: &K,
    active: &[Pod],
    owned: &[Pod],
) -> Vec<Pod> {
    let Some(parent) = controller_of(obj.meta()).map(|r| r.uid.clone()) else {
        return owned.to_vec();
    };
    let siblings: HashSet<String> = ctx
        .owners
        .state()
        .iter()
        .filter(|o| o.namespace() == obj.namespace())
        .filter(|o| controller_of(o.meta()).is_some_and(|r| r.uid == parent))
        .filter_map(|o| o.uid())
        .collect();
    active
        .iter()
        .filter(|p| controller_of(&p.metadata).is_some_and(|r| siblings.contains(&r.uid)))
        .cloned()
        .collect()
}

/// The message of an API error, as upstream's Events show it.
fn message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

async fn create_pods<K: ReplicaOwner>(
    ctx: &Context<K>,
    obj: &K,
    view: &ReplicaView,
    key: &str,
    count: usize,
) -> Result<(), (Failure, Error)> {
    let Some(template) = view.template.as_ref() else {
        return Ok(());
    };
    let namespace = obj.namespace().unwrap_or_default();
    let owner = controller_ref(
        &K::api_version(&()),
        &K::kind(&()),
        &obj.name_any(),
        &obj.uid().unwrap_or_default(),
    );
    let pod = pod_from_template(template, &obj.name_any(), &namespace, owner);
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.expectations.expect_creates(key, count, ctx.clock.now());
    let mut left = count;
    for batch in decision::slow_start_batches(count) {
        let params = post_params();
        let results = join_all((0..batch).map(|_| api.create(&params, &pod))).await;
        left -= batch;
        let mut first_error = None;
        for result in results {
            match result {
                Ok(created) => {
                    let uid = created.metadata.uid.clone();
                    let seen = |uid: &str| {
                        let cached = ctx
                            .pods
                            .get(&kube::runtime::reflector::ObjectRef::from_obj(&created));
                        cached.is_some_and(|p| p.metadata.uid.as_deref() == Some(uid))
                    };
                    ctx.expectations.created(key, uid.as_deref(), seen);
                    let msg = format!("Created pod: {}", created.name_any());
                    ctx.recorder
                        .publish(obj, EventType::Normal, "SuccessfulCreate", &msg)
                        .await;
                }
                Err(e) => {
                    ctx.expectations.created(key, None, |_| false);
                    let msg = format!("Error creating: {}", message(&e));
                    ctx.recorder
                        .publish(obj, EventType::Warning, "FailedCreate", &msg)
                        .await;
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(source) = first_error {
            for _ in 0..left {
                ctx.expectations.created(key, None, |_| false);
            }
            let failure = Failure {
                reason: "FailedCreate".to_owned(),
                message: message(&source),
            };
            return Err((
                failure,
                Error::CreatePods {
                    owner: key.to_owned(),
                    source,
                },
            ));
        }
    }
    Ok(())
}

async fn delete_pods<K: ReplicaOwner>(
    ctx: &Context<K>,
    obj: &K,
    key: &str,
    pods: &[&Pod],
) -> Result<(), (Failure, Error)> {
    let uids = pods.iter().filter_map(|p| p.metadata.uid.as_deref());
    ctx.expectations.expect_deletes(key, uids, ctx.clock.now());
    let deletes = pods.iter().map(|pod| async move {
        let api: Api<Pod> =
            Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
        (
            pod,
            api.delete(&pod.name_any(), &DeleteParams::default()).await,
        )
    });
    let mut first_error = None;
    for (pod, result) in join_all(deletes).await {
        let uid = pod.metadata.uid.as_deref().unwrap_or_default();
        match result {
            Ok(_) => {
                let msg = format!("Deleted pod: {}", pod.name_any());
                ctx.recorder
                    .publish(obj, EventType::Normal, "SuccessfulDelete", &msg)
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => ctx.expectations.delete_failed(key, uid),
            Err(e) => {
                ctx.expectations.delete_failed(key, uid);
                let msg = format!("Error deleting: {}", message(&e));
                ctx.recorder
                    .publish(obj, EventType::Warning, "FailedDelete", &msg)
                    .await;
                first_error.get_or_insert(e);
            }
        }
    }
    match first_error {
        None => Ok(()),
        Some(source) => Err((
            Failure {
                reason: "FailedDelete".to_owned(),
                message: message(&source),
            },
            Error::DeletePods {
                owner: key.to_owned(),
                source,
            },
        )),
    }
}
