//! Releasing the tracking finalizer of pods no live Job will count: their Job is gone,
//! finished, or no longer their controller (upstream's `syncOrphanPod`).

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use super::{conditions, pods, remove_finalizer};
use crate::harness::Harness;

/// The label every pod of a Job with a generated selector carries.
const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";

/// Why releasing an orphaned pod failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the pod's Job failed.
    #[error("reading job {job} of pod {pod}")]
    GetJob {
        /// The pod.
        pod: String,
        /// The Job.
        job: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Removing the finalizer failed.
    #[error("releasing pod {pod}")]
    Release {
        /// The pod.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Watches Job pods and releases the orphaned ones until `shutdown`.
pub async fn run(client: Client, shutdown: CancellationToken) {
    let api: Api<Pod> = Api::all(client.clone());
    let wc = watcher::Config::default().labels(CONTROLLER_UID_LABEL);
    Harness::from_controller("job-orphan-pods", kube::runtime::Controller::new(api, wc))
        .run(reconcile, Arc::new(client), shutdown)
        .await;
}

/// Whether the pod may be orphaned: it holds the finalizer and is finished, being deleted,
/// or has no controller (a pod still running under its Job is the Job controller's).
fn candidate(pod: &Pod) -> bool {
    let controlled = pod
        .owner_references()
        .iter()
        .any(|r| r.controller == Some(true));
    pods::has_tracking_finalizer(pod) && (!pods::is_active(pod) || !controlled)
}

async fn reconcile(pod: Arc<Pod>, client: Arc<Client>) -> Result<Action, Error> {
    if !candidate(&pod) {
        return Ok(Action::await_change());
    }
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let owner = pod
        .owner_references()
        .iter()
        .find(|r| r.controller == Some(true))
        .cloned();
    if let Some(owner) = owner {
        if owner.kind != "Job" || owner.api_version != "batch/v1" {
            return Ok(Action::await_change());
        }
        let jobs: Api<Job> = Api::namespaced(Client::clone(&client), &namespace);
        let job = jobs
            .get_opt(&owner.name)
            .await
            .map_err(|source| Error::GetJob {
                pod: name.clone(),
                job: owner.name.clone(),
                source,
            })?;
        let live = job.filter(|j| j.uid().as_deref() == Some(owner.uid.as_str()));
        if live.is_some_and(|j| conditions::finished(&j).is_none()) {
            return Ok(Action::await_change());
        }
    }
    let api: Api<Pod> = Api::namespaced(Client::clone(&client), &namespace);
    remove_finalizer(&api, &name)
        .await
        .map_err(|source| Error::Release { pod: name, source })?;
    Ok(Action::await_change())
}
