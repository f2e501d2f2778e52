//! The PersistentVolume binder (upstream's `persistentvolume-binder`): binds Pending claims to
//! matching volumes on both sides, keeps volume phases (Available, Bound, Released, Failed)
//! and claim phases (Pending, Bound, Lost) current, and hands claims of provisioning classes
//! to their provisioner. The built-in `local-path` provisioner is in [`provisioner`].

pub mod bind;
pub mod binder;
pub mod local_path;
pub mod matching;
pub mod provisioner;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, Patch};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::events::EventRecorder;
use crate::harness::Harness;
use crate::resourcequota::usage::claim_class;
use crate::workload::patch_params;
use binder::{ClaimPlan, Class, Note, VolumePlan};

/// The controller's name.
pub const NAME: &str = "persistentvolume-binder";

/// How often an unbound claim is looked at again (upstream's `--pvclaimbinder-sync-period`).
const RESYNC: Duration = Duration::from_secs(15);

/// What reconciles share.
pub struct Context {
    client: Client,
    recorder: EventRecorder,
    volumes: Store<PersistentVolume>,
    classes: Store<StorageClass>,
    /// The claims as the volume side's own watch saw them: a claim's deletion is in this cache
    /// before the volume it released is synced, which the claim side's watch cannot promise.
    volume_claims: Store<PersistentVolumeClaim>,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing a claim or volume failed.
    #[error("writing {kind} {name}")]
    Write {
        /// `PersistentVolumeClaim` or `PersistentVolume`.
        kind: &'static str,
        /// Its name (`namespace/name` for claims).
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading a volume or claim missing from the cache failed.
    #[error("reading {name}")]
    Read {
        /// What was read.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the binder until `shutdown`.
pub async fn run(client: Client, recorder: EventRecorder, shutdown: CancellationToken) {
    let all = watcher::Config::default();
    let claims_h = Harness::<PersistentVolumeClaim>::new(NAME, Api::all(client.clone()));
    let claims = claims_h.store();
    let (claims_h, volumes) = claims_h.watches_cached(
        Api::all(client.clone()),
        all.clone(),
        claims_of(claims.clone()),
    );
    let (claims_h, classes) = claims_h.watches_cached(
        Api::<StorageClass>::all(client.clone()),
        all.clone(),
        |_| Vec::new(),
    );
    let volumes_h = Harness::<PersistentVolume>::new(NAME, Api::all(client.clone()));
    let (volumes_h, volume_claims) = volumes_h.watches_cached(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        all,
        volumes_of(volumes.clone()),
    );
    let ctx = Arc::new(Context {
        client,
        recorder,
        volumes,
        classes,
        volume_claims,
    });
    tokio::join!(
        claims_h.run(reconcile_claim, Arc::clone(&ctx), shutdown.clone()),
        volumes_h.run(reconcile_volume, ctx, shutdown),
    );
}

/// A volume's claim, or (for a free volume) every claim still waiting for one.
fn claims_of(
    claims: Store<PersistentVolumeClaim>,
) -> impl Fn(PersistentVolume) -> Vec<ObjectRef<PersistentVolumeClaim>> + Send + Sync {
    move |pv| match pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
        Some(r) => vec![ObjectRef::new(r.name.as_deref().unwrap_or_default())
            .within(r.namespace.as_deref().unwrap_or_default())],
        None => claims
            .state()
            .iter()
            .filter(|c| {
                c.spec
                    .as_ref()
                    .and_then(|s| s.volume_name.as_ref())
                    .is_none()
            })
            .map(|c| ObjectRef::from_obj(c.as_ref()))
            .collect(),
    }
}

/// The volumes a claim names or that name it.
fn volumes_of(
    volumes: Store<PersistentVolume>,
) -> impl Fn(PersistentVolumeClaim) -> Vec<ObjectRef<PersistentVolume>> + Send + Sync {
    move |claim| {
        let named = claim.spec.as_ref().and_then(|s| s.volume_name.clone());
        let mut refs: Vec<_> = named.into_iter().map(|n| ObjectRef::new(&n)).collect();
        refs.extend(
            volumes
                .state()
                .iter()
                .filter(|pv| matching::is_reserved_for(pv, &claim))
                .map(|pv| ObjectRef::from_obj(pv.as_ref())),
        );
        refs
    }
}

fn class_of(ctx: &Context, claim: &PersistentVolumeClaim) -> Option<Class> {
    let class = ctx.classes.get(&ObjectRef::new(claim_class(claim)?))?;
    Some(Class {
        provisioner: class.provisioner.clone(),
        delay_binding: class.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer"),
    })
}

async fn reconcile_claim(
    claim: Arc<PersistentVolumeClaim>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let mut volumes: Vec<PersistentVolume> = ctx
        .volumes
        .state()
        .iter()
        .map(|v| PersistentVolume::clone(v))
        .collect();
    // A volume the claim names but the cache lacks yet is read from the API server.
    let named = claim.spec.as_ref().and_then(|s| s.volume_name.clone());
    if let Some(name) =
        named.filter(|n| !volumes.iter().any(|v| v.metadata.name.as_ref() == Some(n)))
    {
        let api: Api<PersistentVolume> = Api::all(ctx.client.clone());
        let found = api.get_opt(&name).await.map_err(|source| Error::Read {
            name: name.clone(),
            source,
        })?;
        volumes.extend(found);
    }
    let refs: Vec<&PersistentVolume> = volumes.iter().collect();
    let plan = binder::sync_claim(&claim, &refs, class_of(&ctx, &claim).as_ref());
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(ctx.client.clone(), &claim.namespace().unwrap_or_default());
    let key = format!(
        "{}/{}",
        claim.namespace().unwrap_or_default(),
        claim.name_any()
    );
    let write = |source| Error::Write {
        kind: "PersistentVolumeClaim",
        name: key.clone(),
        source,
    };
    match plan {
        ClaimPlan::Bind(name) => {
            let Some(pv) = volumes
                .iter()
                .find(|v| v.metadata.name.as_ref() == Some(&name))
            else {
                return Ok(Action::requeue(RESYNC));
            };
            bind(&ctx, &claims, &claim, pv).await?;
            Ok(Action::await_change())
        }
        ClaimPlan::Pending { provisioner, note } => {
            if let Some(provisioner) = provisioner {
                let patch = json!({"metadata": {"annotations": {
                    binder::STORAGE_PROVISIONER: provisioner,
                    binder::BETA_STORAGE_PROVISIONER: provisioner,
                }}});
                patch_claim(&claims, &claim, &patch, false)
                    .await
                    .map_err(write)?;
            }
            set_claim_phase(&claims, &claim, "Pending")
                .await
                .map_err(write)?;
            publish(&ctx, claim.as_ref(), note).await;
            Ok(Action::requeue(RESYNC))
        }
        ClaimPlan::Lost(note) => {
            set_claim_phase(&claims, &claim, "Lost")
                .await
                .map_err(write)?;
            publish(&ctx, claim.as_ref(), Some(note)).await;
            Ok(Action::await_change())
        }
    }
}

async fn publish<K: kube::Resource<DynamicType = ()>>(ctx: &Context, obj: &K, note: Option<Note>) {
    if let Some(note) = note {
        ctx.recorder
            .publish(obj, note.event_type, note.reason, &note.message)
            .await;
    }
}

/// Patches a claim (or its status); a claim gone meanwhile is not an error.
async fn patch_claim(
    api: &Api<PersistentVolumeClaim>,
    claim: &PersistentVolumeClaim,
    patch: &Value,
    status: bool,
) -> Result<(), kube::Error> {
    let name = claim.name_any();
    let result = if status {
        api.patch_status(&name, &patch_params(), &Patch::Merge(patch))
            .await
    } else {
        api.patch(&name, &patch_params(), &Patch::Merge(patch))
            .await
    };
    ignore_gone(result)
}

async fn set_claim_phase(
    api: &Api<PersistentVolumeClaim>,
    claim: &PersistentVolumeClaim,
    phase: &str,
) -> Result<(), kube::Error> {
    if claim.status.as_ref().and_then(|s| s.phase.as_deref()) == Some(phase) {
        return Ok(());
    }
    patch_claim(api, claim, &json!({"status": {"phase": phase}}), true).await
}

/// Carries out the writes a binding still needs, volume first, as upstream.
async fn bind(
    ctx: &Context,
    claims: &Api<PersistentVolumeClaim>,
    claim: &PersistentVolumeClaim,
    pv: &PersistentVolume,
) -> Result<(), Error> {
    let writes = bind::bind_writes(claim, pv);
    let volumes: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let pv_name = pv.name_any();
    let pv_error = |source| Error::Write {
        kind: "PersistentVolume",
        name: pv_name.clone(),
        source,
    };
    if let Some(patch) = &writes.volume {
        volumes
            .patch(&pv_name, &patch_params(), &Patch::Merge(patch))
            .await
            .map_err(pv_error)?;
    }
    if writes.volume_phase {
        let patch = json!({"status": {"phase": "Bound"}});
        volumes
            .patch_status(&pv_name, &patch_params(), &Patch::Merge(&patch))
            .await
            .map_err(pv_error)?;
    }
    let claim_error = |source| Error::Write {
        kind: "PersistentVolumeClaim",
        name: claim.name_any(),
        source,
    };
    if let Some(patch) = &writes.claim {
        patch_claim(claims, claim, patch, false)
            .await
            .map_err(claim_error)?;
    }
    if let Some(patch) = &writes.claim_status {
        patch_claim(claims, claim, patch, true)
            .await
            .map_err(claim_error)?;
    }
    Ok(())
}

async fn reconcile_volume(pv: Arc<PersistentVolume>, ctx: Arc<Context>) -> Result<Action, Error> {
    let claim = match pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) {
        Some(r) => claim_named(&ctx, r).await?,
        None => None,
    };
    let api: Api<PersistentVolume> = Api::all(ctx.client.clone());
    let name = pv.name_any();
    let write = |source| Error::Write {
        kind: "PersistentVolume",
        name: name.clone(),
        source,
    };
    let status_patch = |phase: &str, message: Option<&str>| json!({"status": {"phase": phase, "message": message}});
    match binder::sync_volume(&pv, claim.as_ref()) {
        VolumePlan::Nothing => {}
        VolumePlan::Phase(phase, note) => {
            let patch = status_patch(phase, note.as_ref().map(|n| n.message.as_str()));
            ignore_gone(
                api.patch_status(&name, &patch_params(), &Patch::Merge(&patch))
                    .await,
            )
            .map_err(write)?;
            publish(&ctx, pv.as_ref(), note).await;
        }
        VolumePlan::Unbind => {
            let patch = json!({
                "metadata": {"annotations": {binder::BOUND_BY_CONTROLLER: null}},
                "spec": {"claimRef": null},
            });
            ignore_gone(
                api.patch(&name, &patch_params(), &Patch::Merge(&patch))
                    .await,
            )
            .map_err(write)?;
            let patch = status_patch("Available", None);
            ignore_gone(
                api.patch_status(&name, &patch_params(), &Patch::Merge(&patch))
                    .await,
            )
            .map_err(write)?;
        }
    }
    Ok(Action::await_change())
}

fn ignore_gone<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// The claim a `claimRef` names, from the cache or else the API server (a claim the cache has
/// not seen yet must not release its volume).
async fn claim_named(
    ctx: &Context,
    r: &k8s_openapi::api::core::v1::ObjectReference,
) -> Result<Option<PersistentVolumeClaim>, Error> {
    let namespace = r.namespace.as_deref().unwrap_or_default();
    let name = r.name.as_deref().unwrap_or_default();
    if let Some(found) = ctx
        .volume_claims
        .get(&ObjectRef::new(name).within(namespace))
    {
        return Ok(Some(PersistentVolumeClaim::clone(&found)));
    }
    let api: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), namespace);
    api.get_opt(name).await.map_err(|source| Error::Read {
        name: format!("{namespace}/{name}"),
        source,
    })
}
