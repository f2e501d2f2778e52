//! One sync of a ReplicaSet or ReplicationController: claim pods, fix the count (when
//! expectations allow), write status.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, Patch};
use kube::core::SelectorExt;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::json;

use super::decision::{self, Failure, Manage};
use super::{after_sync, key, Context, Error, ReplicaOwner, ReplicaView};
use crate::workload::adoption;
use crate::workload::mapping::cached_in;
use crate::workload::patch_params;
use crate::workload::pod::{controller_of, controller_ref, is_active, pod_from_template};
use crate::workload::pod_control::{message, PodControl, Wording};

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
    let in_namespace: Vec<Pod> = cached_in(&ctx.pods, &namespace);
    let satisfied = ctx.expectations.satisfied_by(&key, now, &in_namespace);
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
    Ok(after_sync(crate::workload::pod::next_availability_check(
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
    let selected = |pod: &Pod| {
        view.selector
            .as_ref()
            .is_some_and(|s| s.matches(pod.labels()))
    };
    Ok(adoption::claim(&ctx.client, obj, pods, selected).await?)
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

fn pod_control<K: ReplicaOwner>(ctx: &Context<K>) -> PodControl<'_> {
    PodControl {
        client: &ctx.client,
        pods: &ctx.pods,
        expectations: &ctx.expectations,
        recorder: &ctx.recorder,
        now: ctx.clock.now(),
        wording: Wording::Plain,
    }
}

fn failed(
    reason: &str,
    key: &str,
    source: kube::Error,
    error: fn(String, kube::Error) -> Error,
) -> (Failure, Error) {
    let failure = Failure {
        reason: reason.to_owned(),
        message: message(&source),
    };
    (failure, error(key.to_owned(), source))
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
    let pods = vec![pod; count];
    pod_control(ctx).create(obj, key, &pods).await.map_err(|e| {
        failed("FailedCreate", key, e, |owner, source| Error::CreatePods {
            owner,
            source,
        })
    })
}

async fn delete_pods<K: ReplicaOwner>(
    ctx: &Context<K>,
    obj: &K,
    key: &str,
    pods: &[&Pod],
) -> Result<(), (Failure, Error)> {
    pod_control(ctx).delete(obj, key, pods).await.map_err(|e| {
        failed("FailedDelete", key, e, |owner, source| Error::DeletePods {
            owner,
            source,
        })
    })
}
