//! One sync of a DaemonSet: claim its pods and revisions, record the template's revision,
//! create and delete pods as decided, write status, and prune old revisions.

use std::collections::HashSet;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, Patch};
use kube::core::SelectorExt;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::json;

use super::decision::{self, Input};
use super::{key, selector, Context, Error};
use crate::events::EventType;
use crate::workload::hash::template_hash;
use crate::workload::history::{self, CONTROLLER_REVISION_HASH};
use crate::workload::mapping::cached_in;
use crate::workload::pod::controller_ref;
use crate::workload::pod_control::{PodControl, Wording};
use crate::workload::revisions::{self, RevisionError};
use crate::workload::{adoption, patch_params};

fn hash_label(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<&str> {
    meta.labels
        .as_ref()?
        .get(CONTROLLER_REVISION_HASH)
        .map(String::as_str)
}

/// Syncs one DaemonSet.
///
/// # Errors
/// Every [`Error`]; the sync is retried after a backoff.
pub async fn reconcile(ds: Arc<DaemonSet>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = ds.namespace().unwrap_or_default();
    let key = key(&namespace, &ds.name_any());
    let now = ctx.clock.now();
    let pods: Vec<Pod> = cached_in(&ctx.pods, &namespace);
    let satisfied = ctx.expectations.satisfied_by(&key, now, &pods);
    let sel = selector(&ds);
    let selected = |labels: &std::collections::BTreeMap<String, String>| {
        sel.as_ref().is_some_and(|s| s.matches(labels))
    };
    let pods = adoption::claim(&ctx.client, ds.as_ref(), pods, |p: &Pod| {
        selected(p.labels())
    })
    .await?;
    let cached: Vec<ControllerRevision> = cached_in(&ctx.revisions, &namespace);
    let mut revisions = adoption::claim(
        &ctx.client,
        ds.as_ref(),
        cached,
        |r: &ControllerRevision| selected(r.labels()),
    )
    .await?;
    history::sort(&mut revisions);

    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &namespace);
    let wanted = wanted_revision(&ds, &revisions);
    let current = match revisions::carry_out(
        &rev_api,
        history::resolve(&revisions, wanted),
        &ds.uid().unwrap_or_default(),
    )
    .await
    {
        Ok(current) => current,
        Err(RevisionError::Collision { name }) => {
            bump_collision_count(&ctx, &ds).await?;
            return Err(RevisionError::Collision { name }.into());
        }
        Err(e) => return Err(e.into()),
    };
    revisions.retain(|r| r.metadata.name != current.metadata.name);
    revisions.push(current.clone());
    let hash = hash_label(&current.metadata).unwrap_or_default().to_owned();

    let mut nodes: Vec<Node> = ctx.nodes.state().iter().map(|n| Node::clone(n)).collect();
    nodes.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    let input = Input {
        ds: &ds,
        nodes: &nodes,
        pods: &pods,
        hash: &hash,
        now,
    };
    let plan = decision::sync(&input);
    let outcome = if satisfied {
        carry_out(&ctx, &ds, &key, &plan).await
    } else {
        Ok(())
    };
    if ds.status.as_ref() != Some(&plan.status) {
        let api: Api<DaemonSet> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({ "status": plan.status });
        match api
            .patch_status(&ds.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => return Err(Error::UpdateStatus { ds: key, source }),
        }
    }
    outcome?;
    prune_history(&rev_api, &ds, &revisions, &pods, &hash).await?;
    Ok(plan
        .requeue
        .map_or_else(Action::await_change, Action::requeue))
}

/// The revision recording the DaemonSet's template now.
fn wanted_revision(ds: &DaemonSet, sorted: &[ControllerRevision]) -> ControllerRevision {
    let template = ds
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let hash = template_hash(
        &template,
        ds.status.as_ref().and_then(|s| s.collision_count),
    );
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(CONTROLLER_REVISION_HASH.to_owned(), hash.clone());
    let owner = controller_ref(
        "apps/v1",
        "DaemonSet",
        &ds.name_any(),
        &ds.uid().unwrap_or_default(),
    );
    history::new_revision(
        owner,
        &ds.namespace().unwrap_or_default(),
        history::revision_name(&ds.name_any(), &hash),
        labels,
        ds.metadata.annotations.clone(),
        history::template_patch(&template),
        history::next_number(sorted),
    )
}

async fn bump_collision_count(ctx: &Context, ds: &DaemonSet) -> Result<(), Error> {
    let count = ds
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let api: Api<DaemonSet> =
        Api::namespaced(ctx.client.clone(), &ds.namespace().unwrap_or_default());
    let patch = json!({"metadata": {"resourceVersion": ds.resource_version()}, "status": {"collisionCount": count.saturating_add(1)}});
    api.patch_status(&ds.name_any(), &patch_params(), &Patch::Merge(&patch))
        .await
        .map(drop)
        .map_err(|source| Error::UpdateStatus {
            ds: ds.name_any(),
            source,
        })
}

/// Deletes, then creates, as planned.
async fn carry_out(
    ctx: &Context,
    ds: &DaemonSet,
    key: &str,
    plan: &decision::Plan,
) -> Result<(), Error> {
    for (node, pod) in &plan.failed {
        let msg = format!(
            "Found failed daemon pod {}/{pod} on node {node}, will try to kill it",
            ds.namespace().unwrap_or_default()
        );
        ctx.recorder
            .publish(ds, EventType::Warning, "FailedDaemonPod", &msg)
            .await;
    }
    let control = PodControl {
        client: &ctx.client,
        pods: &ctx.pods,
        expectations: &ctx.expectations,
        recorder: &ctx.recorder,
        now: ctx.clock.now(),
        wording: Wording::Plain,
    };
    let pods_err = |source| Error::Pods {
        ds: key.to_owned(),
        source,
    };
    let doomed: Vec<&Pod> = plan.delete.iter().collect();
    if !doomed.is_empty() {
        control.delete(ds, key, &doomed).await.map_err(pods_err)?;
    }
    if !plan.create.is_empty() {
        control
            .create(ds, key, &plan.create)
            .await
            .map_err(pods_err)?;
    }
    Ok(())
}

/// Deletes revisions past `revisionHistoryLimit` whose hash no pod, nor the current
/// revision, carries.
async fn prune_history(
    api: &Api<ControllerRevision>,
    ds: &DaemonSet,
    revisions: &[ControllerRevision],
    pods: &[Pod],
    hash: &str,
) -> Result<(), Error> {
    let mut sorted = revisions.to_vec();
    history::sort(&mut sorted);
    let mut hashes: HashSet<&str> = pods
        .iter()
        .filter_map(|p| hash_label(&p.metadata))
        .collect();
    hashes.insert(hash);
    let live: HashSet<&str> = sorted
        .iter()
        .filter(|r| hash_label(&r.metadata).is_some_and(|h| hashes.contains(h)))
        .filter_map(|r| r.metadata.name.as_deref())
        .collect();
    let limit = ds
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    let doomed = history::to_prune(&sorted, &live, limit);
    Ok(revisions::delete(api, &doomed).await?)
}
