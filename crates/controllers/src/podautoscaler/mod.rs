//! The HorizontalPodAutoscaler controller (upstream's `horizontalpodautoscaling`): every sync
//! period it reads the target's scale subresource, asks a [`MetricsSource`] for the pods'
//! resource usage, computes the replica count the metrics ask for ([`replicas`]), stabilizes
//! and rate-limits it ([`behavior`]), writes it through the scale subresource, and reports the
//! AbleToScale, ScalingActive and ScalingLimited conditions ([`plan`]).

pub mod behavior;
pub mod metric;
pub mod metrics;
pub mod plan;
pub mod replicas;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch};
use kube::core::GroupVersionKind;
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::workload::patch_params;
use behavior::History;
pub use metrics::{MetricsSource, NoMetricsApi};
use plan::set_condition;

/// The controller's name.
pub const NAME: &str = "horizontalpodautoscaling";

/// The controller's settings, with upstream's flag defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// How often each autoscaler is synced (`--horizontal-pod-autoscaler-sync-period`).
    pub sync_period: Duration,
    /// The scale-down stabilization window when a behavior sets none
    /// (`--horizontal-pod-autoscaler-downscale-stabilization`).
    pub downscale_stabilization: Duration,
    /// The replica calculator's tolerance and readiness timings.
    pub tuning: replicas::Tuning,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sync_period: Duration::from_secs(15),
            downscale_stabilization: Duration::from_secs(300),
            tuning: replicas::Tuning::default(),
        }
    }
}

/// What reconciles share.
pub struct Context {
    client: Client,
    clock: Arc<dyn Clock>,
    recorder: EventRecorder,
    metrics: Arc<dyn MetricsSource>,
    options: Options,
    histories: Mutex<HashMap<String, History>>,
    targets: Mutex<HashMap<String, ApiResource>>,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The target's scale could not be read.
    #[error("getting the scale of {target}")]
    GetScale {
        /// `Kind/name`.
        target: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The target's scale could not be written.
    #[error("rescaling {target}")]
    Rescale {
        /// `Kind/name`.
        target: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The target's pods could not be listed.
    #[error("listing the pods of {target}")]
    ListPods {
        /// `Kind/name`.
        target: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The status could not be written.
    #[error("updating the status of {hpa}")]
    UpdateStatus {
        /// `namespace/name`.
        hpa: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until `shutdown`, reading usage from `metrics`.
pub async fn run(
    client: Client,
    clock: Arc<dyn Clock>,
    recorder: EventRecorder,
    metrics: Arc<dyn MetricsSource>,
    options: Options,
    shutdown: CancellationToken,
) {
    let harness = Harness::<HorizontalPodAutoscaler>::new(NAME, Api::all(client.clone()));
    let ctx = Arc::new(Context {
        client,
        clock,
        recorder,
        metrics,
        options,
        histories: Mutex::new(HashMap::new()),
        targets: Mutex::new(HashMap::new()),
    });
    harness.run(reconcile, ctx, shutdown).await;
}

/// The API resource of the target `kind` in `api_version`, found through discovery.
async fn resource_of(
    ctx: &Context,
    api_version: &str,
    kind: &str,
) -> Result<ApiResource, kube::Error> {
    let key = format!("{api_version}/{kind}");
    if let Some(ar) = ctx
        .targets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
    {
        return Ok(ar.clone());
    }
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (ar, _) = kube::discovery::pinned_kind(&ctx.client, &gvk).await?;
    ctx.targets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, ar.clone());
    Ok(ar)
}

async fn reconcile(hpa: Arc<HorizontalPodAutoscaler>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = hpa.namespace().unwrap_or_default();
    let key = format!("{namespace}/{}", hpa.name_any());
    let now = ctx.clock.now();
    let target_ref = hpa
        .spec
        .as_ref()
        .map(|s| s.scale_target_ref.clone())
        .unwrap_or_default();
    let target = format!("{}/{}", target_ref.kind, target_ref.name);
    let api_version = target_ref.api_version.as_deref().unwrap_or("v1");
    let scale = match resource_of(&ctx, api_version, &target_ref.kind).await {
        Ok(ar) => {
            let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), &namespace, &ar);
            api.get_scale(&target_ref.name).await.map(|s| (api, s))
        }
        Err(e) => Err(e),
    };
    let (targets, scale) = match scale {
        Ok(found) => found,
        Err(source) => {
            let mut status = hpa.status.clone().unwrap_or_default();
            let message = format!(
                "the HPA controller was unable to get the target's current scale: {source}"
            );
            set_condition(
                &mut status,
                "AbleToScale",
                false,
                "FailedGetScale",
                message,
                now,
            );
            ctx.recorder
                .publish(
                    hpa.as_ref(),
                    EventType::Warning,
                    "FailedGetScale",
                    &source.to_string(),
                )
                .await;
            write_status(&ctx, &hpa, status).await?;
            return Err(Error::GetScale { target, source });
        }
    };
    let current = scale.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let selector = scale
        .status
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    let pods = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|source| Error::ListPods {
            target: target.clone(),
            source,
        })?
        .items;
    let mut outcomes = Vec::new();
    for spec in hpa.spec.iter().flat_map(|s| s.metrics.iter().flatten()) {
        let outcome = match metric::wanted(spec) {
            Err(invalid) => invalid,
            Ok(wanted) => {
                let samples = ctx
                    .metrics
                    .resource_metrics(
                        &wanted.resource,
                        &namespace,
                        &selector,
                        wanted.container.as_deref(),
                    )
                    .await;
                metric::evaluate(&wanted, current, &pods, samples, &ctx.options.tuning, now)
            }
        };
        outcomes.push(outcome);
    }
    let mut history = ctx
        .histories
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key)
        .unwrap_or_default();
    let mut plan = plan::decide(
        &hpa,
        current,
        &outcomes,
        &mut history,
        ctx.options.downscale_stabilization,
        now,
    );
    for (kind, reason, message) in &plan.notes {
        ctx.recorder
            .publish(hpa.as_ref(), *kind, reason, message)
            .await;
    }
    let mut failed = None;
    if let Some(replicas) = plan.scale_to {
        let patch = json!({"spec": {"replicas": replicas}});
        match targets
            .patch_scale(&target_ref.name, &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => {
                let message =
                    format!("the HPA controller was able to update the target scale to {replicas}");
                set_condition(
                    &mut plan.status,
                    "AbleToScale",
                    true,
                    "SucceededRescale",
                    message,
                    now,
                );
                let note = format!("New size: {replicas}; reason: {}", plan.reason);
                ctx.recorder
                    .publish(hpa.as_ref(), EventType::Normal, "SuccessfulRescale", &note)
                    .await;
                history.record_scale(
                    hpa.spec.as_ref().and_then(|s| s.behavior.as_ref()),
                    current,
                    replicas,
                    now,
                );
            }
            Err(source) => {
                let note = format!(
                    "New size: {replicas}; reason: {}; error: {source}",
                    plan.reason
                );
                ctx.recorder
                    .publish(hpa.as_ref(), EventType::Warning, "FailedRescale", &note)
                    .await;
                let message =
                    format!("the HPA controller was unable to update the target scale: {source}");
                set_condition(
                    &mut plan.status,
                    "AbleToScale",
                    false,
                    "FailedUpdateScale",
                    message,
                    now,
                );
                plan.status.desired_replicas =
                    hpa.status.as_ref().map_or(0, |s| s.desired_replicas);
                plan.status.last_scale_time =
                    hpa.status.as_ref().and_then(|s| s.last_scale_time.clone());
                failed = Some(source);
            }
        }
    }
    ctx.histories
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, history);
    write_status(&ctx, &hpa, plan.status).await?;
    if let Some(source) = failed {
        return Err(Error::Rescale { target, source });
    }
    Ok(Action::requeue(ctx.options.sync_period))
}

/// Writes `status` when it differs from the stored one.
async fn write_status(
    ctx: &Context,
    hpa: &HorizontalPodAutoscaler,
    status: k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscalerStatus,
) -> Result<(), Error> {
    if hpa.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<HorizontalPodAutoscaler> =
        Api::namespaced(ctx.client.clone(), &hpa.namespace().unwrap_or_default());
    let mut body = serde_json::to_value(&status).unwrap_or_default();
    if body.get("currentMetrics").is_none() {
        body["currentMetrics"] = serde_json::Value::Null;
    }
    let patch = json!({ "status": body });
    match api
        .patch_status(&hpa.name_any(), &patch_params(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(source) => Err(Error::UpdateStatus {
            hpa: format!("{}/{}", hpa.namespace().unwrap_or_default(), hpa.name_any()),
            source,
        }),
    }
}
