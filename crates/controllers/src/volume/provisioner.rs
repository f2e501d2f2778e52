//! The built-in `local-path` provisioner (k3s's `rancher.io/local-path`): creates a hostPath
//! volume for each claim handed to it once the scheduler has picked a node, and deletes its
//! released volumes under the Delete policy.
//!
//! Only the API objects are handled here. The volume's directory (`hostPath` of type
//! `DirectoryOrCreate`) is made by the node agent when a pod mounts it; removing the
//! directory of a deleted volume is left to the node agent as well.

use std::path::PathBuf;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::local_path;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::resourcequota::usage::claim_class;
use crate::workload::post_params;

/// The controller's name.
pub const NAME: &str = "local-path-provisioner";

/// What reconciles share.
pub struct Context {
    client: Client,
    recorder: EventRecorder,
    classes: Store<StorageClass>,
    storage_dir: PathBuf,
}

/// Why provisioning or deleting a volume failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating the volume failed.
    #[error("creating volume {name}")]
    Create {
        /// The volume.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting a released volume failed.
    #[error("deleting volume {name}")]
    Delete {
        /// The volume.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the provisioner until `shutdown`, with volumes under `storage_dir`.
pub async fn run(
    client: Client,
    recorder: EventRecorder,
    storage_dir: PathBuf,
    shutdown: CancellationToken,
) {
    let all = watcher::Config::default();
    let claims_h = Harness::<PersistentVolumeClaim>::new(NAME, Api::all(client.clone()));
    let (claims_h, classes) =
        claims_h.watches_cached(Api::<StorageClass>::all(client.clone()), all, |_| {
            Vec::<ObjectRef<PersistentVolumeClaim>>::new()
        });
    let volumes_h = Harness::<PersistentVolume>::new(NAME, Api::all(client.clone()));
    let ctx = Arc::new(Context {
        client,
        recorder,
        classes,
        storage_dir,
    });
    tokio::join!(
        claims_h.run(provision, Arc::clone(&ctx), shutdown.clone()),
        volumes_h.run(delete_released, ctx, shutdown),
    );
}

async fn provision(claim: Arc<PersistentVolumeClaim>, ctx: Arc<Context>) -> Result<Action, Error> {
    let Some(class) = claim_class(&claim).and_then(|c| ctx.classes.get(&ObjectRef::new(c))) else {
        return Ok(Action::await_change());
    };
    let Some(pv) = local_path::volume_for(&claim, &class, &ctx.storage_dir) else {
        return Ok(Action::await_change());
    };
    let name = pv.name_any();
    let key = format!(
        "{}/{}",
        claim.namespace().unwrap_or_default(),
        claim.name_any()
    );
    let api: Api<PersistentVolume> = Api::all(ctx.client.clone());
    if api
        .get_opt(&name)
        .await
        .is_ok_and(|existing| existing.is_some())
    {
        return Ok(Action::await_change());
    }
    let message = format!("External provisioner is provisioning volume for claim {key:?}");
    ctx.recorder
        .publish(claim.as_ref(), EventType::Normal, "Provisioning", &message)
        .await;
    match api.create(&post_params(), &pv).await {
        Ok(_) => {
            let message = format!("Successfully provisioned volume {name}");
            ctx.recorder
                .publish(
                    claim.as_ref(),
                    EventType::Normal,
                    "ProvisioningSucceeded",
                    &message,
                )
                .await;
            Ok(Action::await_change())
        }
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(Action::await_change()),
        Err(source) => {
            let message = format!(
                "failed to provision volume with StorageClass {:?}: {source}",
                class.name_any()
            );
            ctx.recorder
                .publish(
                    claim.as_ref(),
                    EventType::Warning,
                    "ProvisioningFailed",
                    &message,
                )
                .await;
            Err(Error::Create { name, source })
        }
    }
}

async fn delete_released(pv: Arc<PersistentVolume>, ctx: Arc<Context>) -> Result<Action, Error> {
    if !local_path::should_delete(&pv) {
        return Ok(Action::await_change());
    }
    let api: Api<PersistentVolume> = Api::all(ctx.client.clone());
    match api.delete(&pv.name_any(), &DeleteParams::default()).await {
        Ok(_) => Ok(Action::await_change()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Action::await_change()),
        Err(source) => Err(Error::Delete {
            name: pv.name_any(),
            source,
        }),
    }
}
