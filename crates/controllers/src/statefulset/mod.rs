//! The StatefulSet controller: members with stable names `<set>-<ordinal>` and hostnames,
//! each with its own PersistentVolumeClaims from `volumeClaimTemplates` (which outlive the
//! pods unless the retention policy says otherwise), created and removed in ordinal order
//! (`OrderedReady`) or all at once (`Parallel`), updated by the RollingUpdate (with partition
//! and maxUnavailable) or OnDelete strategy, with every template kept as a ControllerRevision
//! for `kubectl rollout history|undo`.

pub mod decision;
pub mod identity;
mod sync;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, StatefulSet};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::api::Api;
use kube::core::Selector;
use kube::runtime::reflector::Store;
use kube::runtime::watcher;
use kube::Client;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::EventRecorder;
use crate::harness::Harness;
use crate::informer::Informers;
use crate::workload::adoption::ClaimError;
use crate::workload::expectations::Expectations;
pub use crate::workload::mapping::key;
use crate::workload::mapping::{controlled_by, pod_mapper};
use crate::workload::revisions::RevisionError;

/// What the StatefulSet controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Every pod, as the watch last showed it.
    pub pods: Store<Pod>,
    /// Every PersistentVolumeClaim, as the watch last showed it.
    pub claims: Store<PersistentVolumeClaim>,
    /// Every ControllerRevision, as the watch last showed it.
    pub revisions: Store<ControllerRevision>,
    /// Pod writes not yet seen through the pod watch.
    pub expectations: Arc<Expectations>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why syncing a StatefulSet failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Adopting or releasing a pod or revision failed.
    #[error("claiming the objects of a statefulset")]
    Claim(#[from] ClaimError),
    /// Writing a ControllerRevision failed.
    #[error("recording a revision of a statefulset")]
    Revision(#[from] RevisionError),
    /// Creating a PersistentVolumeClaim failed.
    #[error("creating claim {claim}")]
    CreateClaim {
        /// The claim.
        claim: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Setting a claim's owner references failed.
    #[error("setting the owners of claim {claim}")]
    ClaimOwners {
        /// The claim.
        claim: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating or deleting pods failed.
    #[error("writing pods of statefulset {set}")]
    Pods {
        /// The StatefulSet.
        set: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Restoring a pod's identity labels failed.
    #[error("relabelling pod {pod}")]
    Relabel {
        /// The pod.
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the status failed.
    #[error("updating the status of statefulset {set}")]
    UpdateStatus {
        /// The StatefulSet.
        set: String,
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
    informers: Informers,
    shutdown: CancellationToken,
) {
    let harness = Harness::<StatefulSet>::new("statefulset", Api::all(client.clone()));
    let sets = harness.store();
    let expectations = Arc::new(Expectations::default());
    let (harness, pods) = harness.watches_shared(
        &informers.pods,
        pod_mapper(sets, Arc::clone(&expectations), selector),
    );
    let (harness, revisions) = harness.watches_cached(
        Api::<ControllerRevision>::all(client.clone()),
        watcher::Config::default(),
        |r: ControllerRevision| controlled_by::<StatefulSet>(&r.metadata),
    );
    let (harness, claims) = harness.watches_cached(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        watcher::Config::default(),
        |_: PersistentVolumeClaim| None,
    );
    let ctx = Arc::new(Context {
        client,
        clock,
        pods,
        claims,
        revisions,
        expectations,
        recorder,
    });
    harness.run(sync::reconcile, ctx, shutdown).await;
}

/// The set's selector; `None` selects nothing.
pub fn selector(set: &StatefulSet) -> Option<Selector> {
    let selector = set.spec.as_ref()?.selector.clone();
    Selector::try_from(selector)
        .ok()
        .filter(|s| !s.selects_all())
}
