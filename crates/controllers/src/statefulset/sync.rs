//! One sync of a StatefulSet: claim its pods and revisions, record the template's revision,
//! carry out the decided steps, write status, and prune old revisions.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::{Api, Patch};
use kube::core::SelectorExt;
use kube::runtime::controller::Action;
use kube::ResourceExt;
use serde_json::json;

use super::decision::{self, Input, Step};
use super::identity::{ordinal_of, pod_revision};
use super::{key, selector, Context, Error};
use crate::events::EventType;
use crate::workload::hash::hash_of;
use crate::workload::history::{self, REVISION_HASH};
use crate::workload::mapping::cached_in;
use crate::workload::pod::controller_ref;
use crate::workload::pod_control::{message, PodControl, Wording};
use crate::workload::revisions::{self, RevisionError};
use crate::workload::{adoption, patch_params, post_params};

/// Syncs one StatefulSet.
///
/// # Errors
/// Every [`Error`]; the sync is retried after a backoff.
pub async fn reconcile(set: Arc<StatefulSet>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = set.namespace().unwrap_or_default();
    let name = set.name_any();
    let key = key(&namespace, &name);
    let now = ctx.clock.now();
    let pods: Vec<Pod> = cached_in(&ctx.pods, &namespace);
    let satisfied = ctx.expectations.satisfied_by(&key, now, &pods);
    let sel = selector(&set);
    let member = |p: &Pod| {
        sel.as_ref().is_some_and(|s| s.matches(p.labels()))
            && ordinal_of(&name, p.metadata.name.as_deref().unwrap_or_default()).is_some()
    };
    let pods = adoption::claim(&ctx.client, set.as_ref(), pods, member).await?;
    let cached: Vec<ControllerRevision> = cached_in(&ctx.revisions, &namespace);
    let selected = |r: &ControllerRevision| sel.as_ref().is_some_and(|s| s.matches(r.labels()));
    let mut revisions = adoption::claim(&ctx.client, set.as_ref(), cached, selected).await?;
    history::sort(&mut revisions);

    let collision_count = set
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0);
    let wanted = wanted_revision(&set, &revisions, collision_count);
    let rev_api: Api<ControllerRevision> = Api::namespaced(ctx.client.clone(), &namespace);
    let resolution = history::resolve(&revisions, wanted);
    let update =
        match revisions::carry_out(&rev_api, resolution, &set.uid().unwrap_or_default()).await {
            Ok(update) => update,
            Err(RevisionError::Collision { name: taken }) => {
                bump_collision_count(&ctx, &set, collision_count).await?;
                return Err(RevisionError::Collision { name: taken }.into());
            }
            Err(e) => return Err(e.into()),
        };
    revisions.retain(|r| r.metadata.name != update.metadata.name);
    revisions.push(update.clone());
    let current_name = set.status.as_ref().and_then(|s| s.current_revision.clone());
    let current = revisions
        .iter()
        .find(|r| r.metadata.name == current_name)
        .cloned()
        .unwrap_or_else(|| update.clone());

    let claims: BTreeMap<String, PersistentVolumeClaim> = cached_in(&ctx.claims, &namespace)
        .into_iter()
        .map(|c| (c.name_any(), c))
        .collect();
    let input = Input {
        set: &set,
        current: &current,
        update: &update,
        collision_count,
        pods: &pods,
        claims: &claims,
        now,
    };
    let mut plan = decision::sync(&input);
    if !satisfied {
        plan.steps.clear();
    }
    let outcome = carry_out(&ctx, &set, &key, plan.steps).await;
    let stored = set.status.clone().unwrap_or_default();
    if plan.status != stored {
        let api: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), &namespace);
        let patch = json!({ "status": plan.status });
        match api
            .patch_status(&name, &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => return Err(Error::UpdateStatus { set: key, source }),
        }
    }
    outcome?;
    prune_history(&rev_api, &set, &revisions, &pods, &current, &update).await?;
    Ok(plan
        .requeue
        .map_or_else(Action::await_change, Action::requeue))
}

/// The revision recording the set's template now.
fn wanted_revision(
    set: &StatefulSet,
    sorted: &[ControllerRevision],
    collision_count: i32,
) -> ControllerRevision {
    let template = set
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let data = history::template_patch(&template);
    let hash = hash_of(&data, Some(collision_count));
    let mut labels = template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(REVISION_HASH.to_owned(), hash.clone());
    let owner = controller_ref(
        "apps/v1",
        "StatefulSet",
        &set.name_any(),
        &set.uid().unwrap_or_default(),
    );
    history::new_revision(
        owner,
        &set.namespace().unwrap_or_default(),
        history::revision_name(&set.name_any(), &hash),
        labels,
        set.metadata.annotations.clone(),
        data,
        history::next_number(sorted),
    )
}

async fn bump_collision_count(ctx: &Context, set: &StatefulSet, count: i32) -> Result<(), Error> {
    let api: Api<StatefulSet> =
        Api::namespaced(ctx.client.clone(), &set.namespace().unwrap_or_default());
    let patch = json!({"metadata": {"resourceVersion": set.resource_version()}, "status": {"collisionCount": count.saturating_add(1)}});
    api.patch_status(&set.name_any(), &patch_params(), &Patch::Merge(&patch))
        .await
        .map(drop)
        .map_err(|source| Error::UpdateStatus {
            set: set.name_any(),
            source,
        })
}

/// Carries out the steps in order, stopping at the first failure.
async fn carry_out(
    ctx: &Context,
    set: &StatefulSet,
    key: &str,
    steps: Vec<Step>,
) -> Result<(), Error> {
    let control = PodControl {
        client: &ctx.client,
        pods: &ctx.pods,
        expectations: &ctx.expectations,
        recorder: &ctx.recorder,
        now: ctx.clock.now(),
        wording: Wording::StatefulSet(set.metadata.name.as_deref().unwrap_or_default()),
    };
    let pods_err = |source| Error::Pods {
        set: key.to_owned(),
        source,
    };
    for step in steps {
        match step {
            Step::CreateClaims(claims) => create_claims(ctx, set, &claims).await?,
            Step::CreatePods(pods) => control.create(set, key, &pods).await.map_err(pods_err)?,
            Step::DeletePods(pods) => {
                let pods: Vec<&Pod> = pods.iter().collect();
                control.delete(set, key, &pods).await.map_err(pods_err)?;
            }
            Step::Relabel(pod) => {
                let api: Api<Pod> =
                    Api::namespaced(ctx.client.clone(), &pod.namespace().unwrap_or_default());
                let patch = json!({"metadata": {"labels": pod.metadata.labels, "resourceVersion": pod.resource_version()}});
                api.patch(&pod.name_any(), &patch_params(), &Patch::Merge(&patch))
                    .await
                    .map_err(|source| Error::Relabel {
                        pod: pod.name_any(),
                        source,
                    })?;
            }
            Step::SetClaimOwners(claim, owners) => {
                let api: Api<PersistentVolumeClaim> =
                    Api::namespaced(ctx.client.clone(), &claim.namespace().unwrap_or_default());
                let owners = if owners.is_empty() {
                    serde_json::Value::Null
                } else {
                    json!(owners)
                };
                let patch = json!({"metadata": {"ownerReferences": owners, "resourceVersion": claim.resource_version()}});
                api.patch(&claim.name_any(), &patch_params(), &Patch::Merge(&patch))
                    .await
                    .map_err(|source| Error::ClaimOwners {
                        claim: claim.name_any(),
                        source,
                    })?;
            }
        }
    }
    Ok(())
}

/// Creates claims (ones that already exist are fine), with upstream's Events.
async fn create_claims(
    ctx: &Context,
    set: &StatefulSet,
    claims: &[PersistentVolumeClaim],
) -> Result<(), Error> {
    let api: Api<PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &set.namespace().unwrap_or_default());
    for claim in claims {
        let name = claim.name_any();
        let pod = name
            .strip_prefix(&format!("{}-", claim_template_name(claim, set)))
            .unwrap_or(&name)
            .to_owned();
        let what = format!(
            "create Claim {name} Pod {pod} in StatefulSet {}",
            set.name_any()
        );
        match api.create(&post_params(), claim).await {
            Ok(_) => {
                let msg = format!("{what} success");
                ctx.recorder
                    .publish(set, EventType::Normal, "SuccessfulCreate", &msg)
                    .await;
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(source) => {
                let msg = format!("{what} failed error: {}", message(&source));
                ctx.recorder
                    .publish(set, EventType::Warning, "FailedCreate", &msg)
                    .await;
                return Err(Error::CreateClaim {
                    claim: name,
                    source,
                });
            }
        }
    }
    Ok(())
}

/// The template a claim of `set` was made from (its name up to `-<set>-<ordinal>`).
fn claim_template_name(claim: &PersistentVolumeClaim, set: &StatefulSet) -> String {
    let name = claim.name_any();
    let suffix = format!("-{}-", set.name_any());
    name.rfind(&suffix)
        .map_or(name.clone(), |i| name[..i].to_owned())
}

/// Deletes revisions past `revisionHistoryLimit` that no pod, nor the current or update
/// revision, uses.
async fn prune_history(
    api: &Api<ControllerRevision>,
    set: &StatefulSet,
    revisions: &[ControllerRevision],
    pods: &[Pod],
    current: &ControllerRevision,
    update: &ControllerRevision,
) -> Result<(), Error> {
    let mut sorted = revisions.to_vec();
    history::sort(&mut sorted);
    let mut live: HashSet<&str> = pods.iter().map(pod_revision).collect();
    live.extend(current.metadata.name.as_deref());
    live.extend(update.metadata.name.as_deref());
    let limit = set
        .spec
        .as_ref()
        .and_then(|s| s.revision_history_limit)
        .unwrap_or(10);
    let doomed = history::to_prune(&sorted, &live, limit);
    Ok(revisions::delete(api, &doomed).await?)
}
