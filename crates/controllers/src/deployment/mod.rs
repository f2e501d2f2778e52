//! The Deployment controller: one ReplicaSet per pod template (named `<deployment>-<hash>`),
//! rolled from old to new with the RollingUpdate or Recreate strategy, revisions recorded in
//! annotations (`kubectl rollout history|undo`), old ReplicaSets pruned past
//! `revisionHistoryLimit`, and the status and conditions `kubectl rollout status` reads.

#[cfg(test)]
mod fixtures;
pub mod hash;
pub mod plan;
mod rolling;
mod scale;
pub mod status;
pub mod util;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, Preconditions};
use kube::core::{Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::EventRecorder;
use crate::harness::Harness;
use crate::workload::adoption;
use crate::workload::mapping::selecting;
use crate::workload::pod::controller_of;
use crate::workload::{patch_params, post_params};
use plan::{Input, Note, Plan, Write};

/// What the Deployment controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why syncing a Deployment failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing its ReplicaSets or pods failed.
    #[error("listing the {what} of deployment {deployment}")]
    List {
        /// ReplicaSets or pods.
        what: &'static str,
        /// The Deployment.
        deployment: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Adopting, releasing, creating, scaling or deleting a ReplicaSet failed.
    #[error("writing replica set {replica_set} of deployment {deployment}")]
    WriteReplicaSet {
        /// The ReplicaSet.
        replica_set: String,
        /// The Deployment.
        deployment: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Adopting or releasing a ReplicaSet failed.
    #[error("claiming replica sets")]
    ClaimReplicaSets(#[from] crate::workload::adoption::ClaimError),
    /// A ReplicaSet of another template already has the new one's name.
    #[error("hash collision on replica set {replica_set}; collisionCount raised")]
    HashCollision {
        /// The ReplicaSet.
        replica_set: String,
    },
    /// Writing the Deployment's revision or status failed.
    #[error("updating deployment {deployment}")]
    UpdateDeployment {
        /// The Deployment.
        deployment: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(
    client: Client,
    clock: Arc<dyn Clock>,
    recorder: EventRecorder,
    shutdown: CancellationToken,
) {
    let harness = Harness::<Deployment>::new("deployment", Api::all(client.clone()));
    let deployments = harness.store();
    let harness = harness.watches(
        Api::<ReplicaSet>::all(client.clone()),
        watcher::Config::default(),
        move |rs| owners_of(&deployments, &rs),
    );
    let ctx = Arc::new(Context {
        client,
        clock,
        recorder,
    });
    harness.run(reconcile, ctx, shutdown).await;
}

/// The Deployments to sync when a ReplicaSet changes: its controller, or for an orphan every
/// Deployment of its namespace that selects it.
fn owners_of(deployments: &Store<Deployment>, rs: &ReplicaSet) -> Vec<ObjectRef<Deployment>> {
    let namespace = rs.namespace().unwrap_or_default();
    if let Some(owner) = controller_of(&rs.metadata) {
        return match owner.kind.as_str() {
            "Deployment" => vec![ObjectRef::new(&owner.name).within(&namespace)],
            _ => Vec::new(),
        };
    }
    selecting(deployments, &namespace, rs.labels(), selector)
}

fn selector(d: &Deployment) -> Option<Selector> {
    let selector = d.spec.as_ref()?.selector.clone();
    Selector::try_from(selector)
        .ok()
        .filter(|s| !s.selects_all())
}

/// Syncs one Deployment.
///
/// # Errors
/// Every [`Error`]; the sync is retried after a backoff.
pub async fn reconcile(d: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = d.namespace().unwrap_or_default();
    let name = d.name_any();
    let list_err = |what| {
        let deployment = name.clone();
        move |source| Error::List {
            what,
            deployment,
            source,
        }
    };
    let rs_api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &namespace);
    let all = rs_api
        .list(&ListParams::default())
        .await
        .map_err(list_err("replica sets"))?;
    let replica_sets = claim_replica_sets(&ctx, &d, all.items).await?;
    let pods = if util::is_rolling(&d) {
        Vec::new()
    } else {
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
        let labels = selector(&d).map(|s| s.to_string()).unwrap_or_default();
        pods.list(&ListParams::default().labels(&labels))
            .await
            .map_err(list_err("pods"))?
            .items
    };
    let input = Input {
        deployment: d.as_ref().clone(),
        replica_sets,
        pods,
        now: ctx.clock.now(),
    };
    let plan = plan::sync(input);
    apply(&ctx, &d, plan).await
}

/// Adopts and releases ReplicaSets by selector; returns those the Deployment now controls.
async fn claim_replica_sets(
    ctx: &Context,
    d: &Deployment,
    all: Vec<ReplicaSet>,
) -> Result<Vec<ReplicaSet>, Error> {
    let selector = selector(d);
    let selected = |rs: &ReplicaSet| selector.as_ref().is_some_and(|s| s.matches(rs.labels()));
    Ok(adoption::claim(&ctx.client, d, all, selected).await?)
}

fn rs_error(d: &Deployment, rs: &ReplicaSet, source: kube::Error) -> Error {
    Error::WriteReplicaSet {
        replica_set: rs.name_any(),
        deployment: d.name_any(),
        source,
    }
}

async fn record(ctx: &Context, d: &Deployment, notes: &[Note]) {
    for note in notes {
        ctx.recorder
            .publish(d, note.event_type, note.reason, &note.message)
            .await;
    }
}

/// Carries out a plan: ReplicaSet writes in order, then the revision, then the status.
async fn apply(ctx: &Context, d: &Deployment, plan: Plan) -> Result<Action, Error> {
    record(ctx, d, &plan.notes).await;
    let namespace = d.namespace().unwrap_or_default();
    let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), &namespace);
    for (write, notes) in &plan.writes {
        match write {
            Write::Create(rs) => match api.create(&post_params(), rs).await {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return on_name_taken(ctx, d, rs).await
                }
                Err(source) => return Err(rs_error(d, rs, source)),
            },
            Write::Update(rs) => {
                api.replace(&rs.name_any(), &post_params(), rs)
                    .await
                    .map_err(|source| rs_error(d, rs, source))?;
            }
            Write::Delete(rs) => {
                let params = DeleteParams {
                    preconditions: Some(Preconditions {
                        uid: rs.uid(),
                        resource_version: rs.resource_version(),
                    }),
                    ..DeleteParams::default()
                };
                match api.delete(&rs.name_any(), &params).await {
                    Ok(_) | Err(kube::Error::Api(_)) => {}
                    Err(source) => return Err(rs_error(d, rs, source)),
                }
            }
        }
        record(ctx, d, notes).await;
    }
    let deployments: Api<Deployment> = Api::namespaced(ctx.client.clone(), &namespace);
    let update_err = |source| Error::UpdateDeployment {
        deployment: d.name_any(),
        source,
    };
    let mut resource_version = d.resource_version();
    if let Some(revision) = &plan.revision {
        let patch = json!({"metadata": {"resourceVersion": resource_version, "annotations": {util::REVISION: revision}}});
        let written = deployments
            .patch(&d.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await
            .map_err(update_err)?;
        resource_version = written.resource_version();
    }
    if let Some(status) = &plan.status {
        let patch = json!({"metadata": {"resourceVersion": resource_version}, "status": status});
        deployments
            .patch_status(&d.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await
            .map_err(update_err)?;
    }
    Ok(plan
        .requeue
        .map_or_else(Action::await_change, Action::requeue))
}

/// The new ReplicaSet's name is taken. If it is ours with the same template the cache was just
/// behind; otherwise the hash collided: raise `collisionCount` so the next hash differs.
async fn on_name_taken(ctx: &Context, d: &Deployment, rs: &ReplicaSet) -> Result<Action, Error> {
    let api: Api<ReplicaSet> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    let existing = api
        .get_opt(&rs.name_any())
        .await
        .map_err(|source| rs_error(d, rs, source))?;
    let template = d
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let ours = existing.as_ref().is_some_and(|e| {
        controller_of(&e.metadata).is_some_and(|r| Some(&r.uid) == d.metadata.uid.as_ref())
            && e.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| hash::equal_ignoring_hash(t, &template))
    });
    if ours || existing.is_none() {
        return Ok(Action::requeue(std::time::Duration::from_millis(100)));
    }
    let count = d
        .status
        .as_ref()
        .and_then(|s| s.collision_count)
        .unwrap_or(0)
        .saturating_add(1);
    let patch = json!({"metadata": {"resourceVersion": d.resource_version()}, "status": {"collisionCount": count}});
    let deployments: Api<Deployment> =
        Api::namespaced(ctx.client.clone(), &d.namespace().unwrap_or_default());
    deployments
        .patch_status(&d.name_any(), &patch_params(), &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::UpdateDeployment {
            deployment: d.name_any(),
            source,
        })?;
    Err(Error::HashCollision {
        replica_set: rs.name_any(),
    })
}
