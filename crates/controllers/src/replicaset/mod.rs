//! The ReplicaSet and ReplicationController controllers: each keeps exactly `spec.replicas`
//! active pods matching its selector, adopting matching orphans and releasing pods it no longer
//! selects, creating pods from its template and deleting the cheapest to lose first, and never
//! acting twice on a write its pod cache has not shown yet (expectations).

pub mod decision;
pub mod owner;
mod sync;

use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::Client;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::EventRecorder;
use crate::harness::Harness;
use crate::informer::Informers;
use crate::workload::expectations::Expectations;
pub use crate::workload::mapping::key;
use crate::workload::mapping::pod_mapper;
pub use owner::{ReplicaOwner, ReplicaView};

/// What one kind's reconciles share.
pub struct Context<K: ReplicaOwner> {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Every pod, as the watch last showed it.
    pub pods: Store<Pod>,
    /// Every object of the kind, as the watch last showed it.
    pub owners: Store<K>,
    /// Writes not yet seen through the pod watch.
    pub expectations: Arc<Expectations>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why syncing one ReplicaSet or ReplicationController failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Adopting or releasing a pod failed.
    #[error("claiming pods")]
    ClaimPods(#[from] crate::workload::adoption::ClaimError),
    /// Creating pods failed; the rest of the batch was skipped.
    #[error("creating pods for {owner}")]
    CreatePods {
        /// The owner.
        owner: String,
        /// The first API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting pods failed.
    #[error("deleting pods of {owner}")]
    DeletePods {
        /// The owner.
        owner: String,
        /// The first API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the status failed.
    #[error("updating the status of {owner}")]
    UpdateStatus {
        /// The owner.
        owner: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller for kind `K` until `shutdown` is cancelled.
pub async fn run<K: ReplicaOwner>(
    client: Client,
    clock: Arc<dyn Clock>,
    recorder: EventRecorder,
    informers: Informers,
    shutdown: CancellationToken,
) {
    let harness = Harness::<K>::new(K::CONTROLLER, Api::all(client.clone()));
    let owners = harness.store();
    let expectations = Arc::new(Expectations::default());
    let mapper = pod_mapper(owners.clone(), Arc::clone(&expectations), |o: &K| {
        o.view().selector
    });
    let (harness, pods) = harness.watches_shared(&informers.pods, mapper);
    let ctx = Arc::new(Context {
        client,
        clock,
        pods,
        owners,
        expectations,
        recorder,
    });
    harness.run(sync::reconcile::<K>, ctx, shutdown).await;
}

/// The action after a successful sync.
fn after_sync(requeue: Option<std::time::Duration>) -> Action {
    requeue.map_or_else(Action::await_change, Action::requeue)
}
