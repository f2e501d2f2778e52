//! The DaemonSet controller: one pod on every node where the template's node selector,
//! required node affinity and tolerations allow it (pods pinned through node affinity for the
//! scheduler to bind), added and removed as nodes come, go and change, updated by the
//! RollingUpdate (maxUnavailable, maxSurge) or OnDelete strategy, with every template kept as
//! a ControllerRevision for `kubectl rollout history|undo`.

pub mod decision;
pub mod placement;
mod rolling;
mod sync;

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{ControllerRevision, DaemonSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::Api;
use kube::core::Selector;
use kube::runtime::reflector::{ObjectRef, Store};
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

/// What the DaemonSet controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Every pod, as the watch last showed it.
    pub pods: Store<Pod>,
    /// Every node, as the watch last showed it.
    pub nodes: Store<Node>,
    /// Every ControllerRevision, as the watch last showed it.
    pub revisions: Store<ControllerRevision>,
    /// Pod writes not yet seen through the pod watch.
    pub expectations: Arc<Expectations>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why syncing a DaemonSet failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Adopting or releasing a pod or revision failed.
    #[error("claiming the objects of a daemonset")]
    Claim(#[from] ClaimError),
    /// Writing a ControllerRevision failed.
    #[error("recording a revision of a daemonset")]
    Revision(#[from] RevisionError),
    /// Creating or deleting pods failed.
    #[error("writing pods of daemonset {ds}")]
    Pods {
        /// The DaemonSet.
        ds: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the status failed.
    #[error("updating the status of daemonset {ds}")]
    UpdateStatus {
        /// The DaemonSet.
        ds: String,
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
    let harness = Harness::<DaemonSet>::new("daemonset", Api::all(client.clone()));
    let sets = harness.store();
    let expectations = Arc::new(Expectations::default());
    let (harness, pods) = harness.watches_shared(
        &informers.pods,
        pod_mapper(sets.clone(), Arc::clone(&expectations), selector),
    );
    let (harness, nodes) = harness.watches_shared(&informers.nodes, move |_: &Node| {
        let all: Vec<ObjectRef<DaemonSet>> = sets
            .state()
            .iter()
            .map(|d| ObjectRef::from_obj(d.as_ref()))
            .collect();
        all
    });
    let (harness, revisions) = harness.watches_cached(
        Api::<ControllerRevision>::all(client.clone()),
        watcher::Config::default(),
        |r: ControllerRevision| controlled_by::<DaemonSet>(&r.metadata),
    );
    let ctx = Arc::new(Context {
        client,
        clock,
        pods,
        nodes,
        revisions,
        expectations,
        recorder,
    });
    harness.run(sync::reconcile, ctx, shutdown).await;
}

/// The DaemonSet's selector; `None` selects nothing.
pub fn selector(ds: &DaemonSet) -> Option<Selector> {
    let selector = ds.spec.as_ref()?.selector.clone();
    Selector::try_from(selector)
        .ok()
        .filter(|s| !s.selects_all())
}
