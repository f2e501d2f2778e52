//! The Job controller: runs a Job's pods to `completions` successes with `parallelism` at a
//! time (one per index for Indexed Jobs), replaces failed pods after an exponential back-off
//! until `backoffLimit`, applies `podFailurePolicy`, `activeDeadlineSeconds` and `suspend`,
//! and counts finished pods exactly through the `batch.kubernetes.io/job-tracking` finalizer.

pub mod backoff;
pub mod conditions;
pub mod decision;
pub mod failure_policy;
pub mod indexes;
mod orphans;
pub mod pods;
pub mod tracking;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch};
use kube::core::Selector;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::workload;
use backoff::{Delays, Record};
use decision::{Inputs, Plan};

/// The component Events are recorded as.
pub const COMPONENT: &str = "job-controller";

/// What the Job controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The time decisions are made at.
    pub clock: Arc<dyn Clock>,
    /// Where Events go.
    pub recorder: EventRecorder,
    /// The pod-failure back-off delays.
    pub delays: Delays,
    /// Recent failures per Job UID (in memory, as upstream).
    backoff: Mutex<HashMap<String, Record>>,
}

impl Context {
    /// A context with no failures remembered.
    pub fn new(
        client: Client,
        clock: Arc<dyn Clock>,
        recorder: EventRecorder,
        delays: Delays,
    ) -> Self {
        Self {
            client,
            clock,
            recorder,
            delays,
            backoff: Mutex::new(HashMap::new()),
        }
    }

    fn record(&self, uid: &str) -> Record {
        let map = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        map.get(uid).copied().unwrap_or_default()
    }

    fn remember(&self, uid: &str, record: Option<Record>) {
        let mut map = self.backoff.lock().unwrap_or_else(|e| e.into_inner());
        match record {
            Some(r) => map.insert(uid.to_owned(), r),
            None => map.remove(uid),
        };
    }
}

/// Why syncing a Job failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the Job failed.
    #[error("reading job {namespace}/{name}")]
    GetJob {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The Job's selector is not a valid label selector.
    #[error("the selector of job {name} is invalid")]
    InvalidSelector {
        /// The Job.
        name: String,
        /// Why.
        #[source]
        source: kube::core::ParseExpressionError,
    },
    /// Listing the Job's pods failed.
    #[error("listing the pods of job {name}")]
    ListPods {
        /// The Job.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating, deleting or patching a pod failed.
    #[error("{action} pod {pod}")]
    Pod {
        /// What was being done.
        action: &'static str,
        /// The pod (or the Job's name prefix for creations).
        pod: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the Job's status failed.
    #[error("updating the status of job {name}")]
    UpdateStatus {
        /// The Job.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the Job controller (and the release of orphaned pods' finalizers) until `shutdown`.
pub async fn run(ctx: Context, shutdown: CancellationToken) {
    let client = ctx.client.clone();
    let jobs: Api<Job> = Api::all(client.clone());
    let pods: Api<Pod> = Api::all(client.clone());
    let ctx = Arc::new(ctx);
    let jobs_loop = Harness::new("job", jobs)
        .watches(pods, watcher::Config::default(), owning_job)
        .run(reconcile, Arc::clone(&ctx), shutdown.clone());
    let orphans_loop = orphans::run(client, shutdown);
    tokio::join!(jobs_loop, orphans_loop);
}

/// The Job controlling `pod`, if any.
fn owning_job(pod: Pod) -> Option<ObjectRef<Job>> {
    let namespace = pod.namespace()?;
    let owner = pod
        .owner_references()
        .iter()
        .find(|r| r.controller == Some(true) && r.kind == "Job" && r.api_version == "batch/v1")?;
    Some(ObjectRef::new(&owner.name).within(&namespace))
}

/// Syncs one Job from fresh reads of it and its pods.
///
/// # Errors
/// Every [`Error`]; the sync is retried after a backoff.
pub async fn reconcile(cached: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let fresh = jobs.get_opt(&name).await.map_err(|source| Error::GetJob {
        namespace: namespace.clone(),
        name: name.clone(),
        source,
    })?;
    let Some(job) = fresh.filter(|j| j.metadata.uid == cached.metadata.uid) else {
        ctx.remember(cached.uid().as_deref().unwrap_or_default(), None);
        return Ok(Action::await_change());
    };
    if job
        .spec
        .as_ref()
        .and_then(|s| s.managed_by.as_deref())
        .is_some_and(|m| m != "kubernetes.io/job-controller")
    {
        return Ok(Action::await_change());
    }
    let uid = job.uid().unwrap_or_default();
    let pods = list_pods(&ctx, &job).await?;
    let pod_api: Api<Pod> = Api::namespaced(ctx.client.clone(), &namespace);
    if conditions::finished(&job).is_some() {
        ctx.remember(&uid, None);
        release(&pod_api, &decision::finished_release(&pods)).await;
        return Ok(Action::await_change());
    }
    let plan = decision::plan(&Inputs {
        job: &job,
        pods: &pods,
        now: ctx.clock.now(),
        backoff: ctx.record(&uid),
        delays: ctx.delays,
    });
    apply(&ctx, &jobs, &pod_api, job, plan).await
}

/// Lists the pods the Job's selector matches and the Job controls.
async fn list_pods(ctx: &Context, job: &Job) -> Result<Vec<Pod>, Error> {
    let name = job.name_any();
    let selector = job
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    let selector = Selector::try_from(selector).map_err(|source| Error::InvalidSelector {
        name: name.clone(),
        source,
    })?;
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let list = api
        .list(&ListParams::default().labels_from(&selector))
        .await
        .map_err(|source| Error::ListPods { name, source })?;
    let uid = job.uid();
    Ok(list
        .items
        .into_iter()
        .filter(|p| {
            p.owner_references()
                .iter()
                .any(|r| r.controller == Some(true) && Some(&r.uid) == uid.as_ref())
        })
        .collect())
}

/// Carries out a plan: pod deletions and creations, the status with the newly finished pods,
/// the finalizer releases, then the settled status and the Events.
async fn apply(
    ctx: &Context,
    jobs: &Api<Job>,
    pod_api: &Api<Pod>,
    mut job: Job,
    plan: Plan,
) -> Result<Action, Error> {
    let name = job.name_any();
    let uid = job.uid().unwrap_or_default();
    for deletion in &plan.deletions {
        delete_pod(ctx, &job, pod_api, deletion).await?;
    }
    let mut status = plan.status;
    let mut failure = None;
    for index in &plan.creations {
        if let Err(e) = create_pod(ctx, &job, pod_api, *index).await {
            status.active = status.active.map(|a| a - 1);
            failure.get_or_insert(e);
        }
    }
    if job.status.as_ref() != Some(&status) {
        job = write_status(jobs, job, status).await?;
    }
    ctx.remember(&uid, Some(plan.backoff));
    let released = release(pod_api, &plan.release).await;
    let mut with_finalizer = plan.with_finalizer;
    with_finalizer.retain(|u| !released.contains(u));
    let mut settled = job.status.clone().unwrap_or_default();
    let finished = tracking::settle(
        &mut settled,
        &with_finalizer,
        plan.finish.as_ref(),
        plan.capped,
        ctx.clock.now(),
    );
    if job.status.as_ref() != Some(&settled) {
        job = write_status(jobs, job, settled).await?;
    }
    for note in &plan.notes {
        ctx.recorder
            .publish(&job, note.kind, note.reason, &note.message)
            .await;
    }
    if let Some(condition) = finished {
        ctx.remember(&uid, None);
        finished_events(ctx, &job, &condition).await;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    tracing::debug!(job = %name, "job synced");
    Ok(plan
        .requeue_after
        .map_or_else(Action::await_change, Action::requeue))
}

async fn finished_events(
    ctx: &Context,
    job: &Job,
    condition: &k8s_openapi::api::batch::v1::JobCondition,
) {
    if condition.type_ == conditions::COMPLETE {
        let spec = job.spec.as_ref();
        let succeeded = job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
        if spec
            .and_then(|s| s.completions)
            .is_some_and(|c| succeeded > c)
        {
            ctx.recorder
                .publish(
                    job,
                    EventType::Warning,
                    "TooManySucceededPods",
                    "Too many succeeded pods running after completion count reached",
                )
                .await;
        }
        ctx.recorder
            .publish(job, EventType::Normal, "Completed", "Job completed")
            .await;
    } else {
        let reason = condition.reason.as_deref().unwrap_or_default();
        let message = condition.message.as_deref().unwrap_or_default();
        ctx.recorder
            .publish(job, EventType::Warning, reason, message)
            .await;
    }
}

/// Replaces the Job's status (guarded by its resourceVersion); returns the Job as written.
async fn write_status(jobs: &Api<Job>, mut job: Job, status: JobStatus) -> Result<Job, Error> {
    let name = job.name_any();
    job.status = Some(status);
    jobs.replace_status(&name, &workload::post_params(), &job)
        .await
        .map_err(|source| Error::UpdateStatus { name, source })
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Removes the tracking finalizer from each pod; returns the UIDs of those released (or gone).
async fn release(pod_api: &Api<Pod>, pods: &[(String, String)]) -> Vec<String> {
    let mut released = Vec::new();
    for (name, uid) in pods {
        match remove_finalizer(pod_api, name).await {
            Ok(()) => released.push(uid.clone()),
            Err(error) => {
                tracing::warn!(pod = %name, %error, "could not remove the job tracking finalizer")
            }
        }
    }
    released
}

async fn remove_finalizer(pod_api: &Api<Pod>, name: &str) -> Result<(), kube::Error> {
    let patch =
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": [pods::TRACKING_FINALIZER]}});
    match pod_api
        .patch(name, &workload::patch_params(), &Patch::Strategic(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if not_found(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn delete_pod(
    ctx: &Context,
    job: &Job,
    pod_api: &Api<Pod>,
    deletion: &decision::Deletion,
) -> Result<(), Error> {
    let pod = deletion.name.clone();
    let failed = |action, source| Error::Pod {
        action,
        pod: pod.clone(),
        source,
    };
    if deletion.remove_finalizer_first {
        remove_finalizer(pod_api, &pod)
            .await
            .map_err(|e| failed("releasing", e))?;
    }
    match pod_api.delete(&pod, &DeleteParams::default()).await {
        Ok(_) => {
            let message = format!("Deleted pod: {pod}");
            ctx.recorder
                .publish(job, EventType::Normal, "SuccessfulDelete", &message)
                .await;
            Ok(())
        }
        Err(e) if not_found(&e) => Ok(()),
        Err(e) => {
            let message = format!("Error deleting: {e}");
            ctx.recorder
                .publish(job, EventType::Warning, "FailedDelete", &message)
                .await;
            Err(failed("deleting", e))
        }
    }
}

async fn create_pod(
    ctx: &Context,
    job: &Job,
    pod_api: &Api<Pod>,
    index: Option<i32>,
) -> Result<(), Error> {
    let pod = pods::from_template(job, index);
    match pod_api.create(&workload::post_params(), &pod).await {
        Ok(created) => {
            let message = format!("Created pod: {}", created.name_any());
            ctx.recorder
                .publish(job, EventType::Normal, "SuccessfulCreate", &message)
                .await;
            Ok(())
        }
        Err(source) => {
            let message = format!("Error creating: {source}");
            ctx.recorder
                .publish(job, EventType::Warning, "FailedCreate", &message)
                .await;
            Err(Error::Pod {
                action: "creating",
                pod: pod.metadata.generate_name.unwrap_or_default(),
                source,
            })
        }
    }
}
