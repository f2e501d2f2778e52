//! The disruption controller: keeps every PodDisruptionBudget's status (expected, desired and
//! current healthy pods, allowed disruptions, the `DisruptionAllowed` condition, evicted pods
//! not yet deleted) in line with the pods it selects, which the API server's eviction
//! subresource then spends.

pub mod decision;
mod scale;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetStatus};
use kube::api::Api;
use kube::core::{ApiResource, GroupVersionKind, Selector, SelectorExt};
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::informer::Informers;
use crate::workload::mapping::selecting;
use crate::workload::post_params;
pub use scale::ScaleError;

/// What the controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The wall clock.
    pub clock: Arc<dyn Clock>,
    /// Every pod, as the watch last showed it.
    pub pods: Store<Pod>,
    /// The resources of controller kinds already looked up in discovery.
    pub kinds: Mutex<HashMap<GroupVersionKind, ApiResource>>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why syncing a budget failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The expected pod count could not be computed (the budget now allows nothing).
    #[error("calculating the expected pods of PodDisruptionBudget {pdb}")]
    ExpectedPods {
        /// The budget.
        pdb: String,
        /// What failed.
        #[source]
        source: ScaleError,
    },
    /// Writing the status failed.
    #[error("updating the status of PodDisruptionBudget {pdb}")]
    UpdateStatus {
        /// The budget.
        pdb: String,
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
    let harness = Harness::<PodDisruptionBudget>::new("disruption", Api::all(client.clone()));
    let budgets = harness.store();
    let (harness, pods) =
        harness.watches_shared(&informers.pods, move |pod: &Pod| guarding(&budgets, pod));
    let ctx = Arc::new(Context {
        client,
        clock,
        pods,
        kinds: Mutex::new(HashMap::new()),
        recorder,
    });
    harness.run(reconcile, ctx, shutdown).await;
}

/// The label selector of a budget; a missing one selects nothing.
fn selector(pdb: &PodDisruptionBudget) -> Option<Selector> {
    let selector = pdb.spec.as_ref()?.selector.clone()?;
    Selector::try_from(selector).ok()
}

/// The budgets of the pod's namespace that select it.
fn guarding(
    budgets: &Store<PodDisruptionBudget>,
    pod: &Pod,
) -> Vec<ObjectRef<PodDisruptionBudget>> {
    let namespace = pod.namespace().unwrap_or_default();
    selecting(budgets, &namespace, pod.labels(), selector)
}

/// Recomputes one budget's status.
///
/// # Errors
/// [`Error::ExpectedPods`] (after writing the fail-safe status) and [`Error::UpdateStatus`].
pub async fn reconcile(pdb: Arc<PodDisruptionBudget>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = pdb.namespace().unwrap_or_default();
    let key = format!("{namespace}/{}", pdb.name_any());
    let now = ctx.clock.now();
    let all = ctx.pods.state();
    let selector = selector(&pdb);
    let pods: Vec<&Pod> = all
        .iter()
        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|p| selector.as_ref().is_some_and(|s| s.matches(p.labels())))
        .map(|p| p.as_ref())
        .collect();
    if pods.is_empty() {
        ctx.recorder
            .publish(
                pdb.as_ref(),
                EventType::Normal,
                "NoPods",
                "No matching pods found",
            )
            .await;
    }
    let mut scale_sum = 0;
    if decision::needs_scale(&pdb) {
        match scale::expected(&ctx, &namespace, &pods).await {
            Ok(expected) => {
                scale_sum = expected.replicas;
                if !expected.unmanaged.is_empty() {
                    warn_unmanaged(&ctx, &pdb, selector.as_ref()).await;
                }
            }
            Err(source) => {
                let message = format!("Failed to calculate the number of expected pods: {source}");
                ctx.recorder
                    .publish(
                        pdb.as_ref(),
                        EventType::Warning,
                        "CalculateExpectedPodCountFailed",
                        &message,
                    )
                    .await;
                let status = decision::fail_safe(&pdb, &source.to_string(), now);
                write_status(&ctx, &pdb, status, &key).await?;
                return Err(Error::ExpectedPods { pdb: key, source });
            }
        }
    }
    let counts = decision::counts(&pdb, pods.len(), scale_sum);
    let (status, recheck, overdue) = decision::status(&pdb, &pods, counts, now);
    for name in overdue {
        if let Some(pod) = pods.iter().find(|p| p.name_any() == name) {
            let message = format!("Pod was expected by PDB {key} to be deleted but it wasn't");
            ctx.recorder
                .publish(*pod, EventType::Warning, "NotDeleted", &message)
                .await;
        }
    }
    write_status(&ctx, &pdb, status, &key).await?;
    Ok(match recheck {
        Some(at) => Action::requeue(Duration::try_from(at - now).unwrap_or(Duration::ZERO)),
        None => Action::await_change(),
    })
}

/// Upstream's warning that percentages and `maxUnavailable` cannot account for pods without
/// a controller.
async fn warn_unmanaged(ctx: &Context, pdb: &PodDisruptionBudget, selector: Option<&Selector>) {
    let selector = selector.map(ToString::to_string).unwrap_or_default();
    let message = format!(
        "Pods selected by this PodDisruptionBudget (selector: {selector}) were found to be unmanaged. As a result, the status of the PDB cannot be calculated correctly, which may result in undefined behavior. To account for these pods please set \".spec.minAvailable\" field of the PDB to an integer value."
    );
    ctx.recorder
        .publish(pdb, EventType::Warning, "UnmanagedPods", &message)
        .await;
}

/// Replaces the budget's status (conditional on the version read) when it changed.
async fn write_status(
    ctx: &Context,
    pdb: &PodDisruptionBudget,
    status: PodDisruptionBudgetStatus,
    key: &str,
) -> Result<(), Error> {
    if pdb.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let mut updated = pdb.clone();
    updated.status = Some(status);
    let api: Api<PodDisruptionBudget> =
        Api::namespaced(ctx.client.clone(), &pdb.namespace().unwrap_or_default());
    match api
        .replace_status(&pdb.name_any(), &post_params(), &updated)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(source) => Err(Error::UpdateStatus {
            pdb: key.to_owned(),
            source,
        }),
    }
}
