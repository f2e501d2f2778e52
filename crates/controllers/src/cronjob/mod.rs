//! The CronJob controller: creates a Job for each schedule time (cron syntax, `@hourly`-style
//! macros, `timeZone`), honours `concurrencyPolicy`, `startingDeadlineSeconds` and `suspend`,
//! tracks its running Jobs in `status.active`, and keeps the configured history of finished
//! Jobs.

pub mod decision;
pub mod schedule;

use std::sync::Arc;

use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, CronJobStatus, Job};
use kube::api::{Api, DeleteParams, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::events::{EventRecorder, EventType};
use crate::harness::Harness;
use crate::workload;
use decision::{Inputs, Plan};

/// The component Events are recorded as.
pub const COMPONENT: &str = "cronjob-controller";

/// What the CronJob controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The time schedules are checked against.
    pub clock: Arc<dyn Clock>,
    /// Where Events go.
    pub recorder: EventRecorder,
}

/// Why syncing a CronJob failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the CronJob failed.
    #[error("reading cronjob {namespace}/{name}")]
    GetCronJob {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Listing its Jobs failed.
    #[error("listing the jobs of cronjob {name}")]
    ListJobs {
        /// The CronJob.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating, reading or deleting a Job failed.
    #[error("{action} job {job}")]
    Job {
        /// What was being done.
        action: &'static str,
        /// The Job.
        job: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the CronJob's status failed.
    #[error("updating the status of cronjob {name}")]
    UpdateStatus {
        /// The CronJob.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the CronJob controller until `shutdown`.
pub async fn run(ctx: Context, shutdown: CancellationToken) {
    let cronjobs: Api<CronJob> = Api::all(ctx.client.clone());
    let jobs: Api<Job> = Api::all(ctx.client.clone());
    Harness::new("cronjob", cronjobs)
        .watches(jobs, watcher::Config::default(), owning_cronjob)
        .run(reconcile, Arc::new(ctx), shutdown)
        .await;
}

fn owning_cronjob(job: Job) -> Option<ObjectRef<CronJob>> {
    let namespace = job.namespace()?;
    let owner = job
        .owner_references()
        .iter()
        .find(|r| r.controller == Some(true) && r.kind == "CronJob")?;
    Some(ObjectRef::new(&owner.name).within(&namespace))
}

fn not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

/// Syncs one CronJob from fresh reads of it and its Jobs.
///
/// # Errors
/// Every [`Error`]; the sync is retried after a backoff.
pub async fn reconcile(cached: Arc<CronJob>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = cached.namespace().unwrap_or_default();
    let name = cached.name_any();
    let api: Api<CronJob> = Api::namespaced(ctx.client.clone(), &namespace);
    let fresh = api
        .get_opt(&name)
        .await
        .map_err(|source| Error::GetCronJob {
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let Some(cj) = fresh.filter(|c| c.metadata.uid == cached.metadata.uid) else {
        return Ok(Action::await_change());
    };
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let list = jobs
        .list(&ListParams::default())
        .await
        .map_err(|source| Error::ListJobs {
            name: name.clone(),
            source,
        })?;
    let uid = cj.uid();
    let owned: Vec<Job> = list
        .items
        .into_iter()
        .filter(|j| {
            let refs = j.owner_references();
            refs.iter()
                .any(|r| r.controller == Some(true) && Some(&r.uid) == uid.as_ref())
        })
        .collect();
    let plan = decision::plan(&Inputs {
        cronjob: &cj,
        jobs: &owned,
        now: ctx.clock.now(),
        local: TimeZone::system(),
    });
    apply(&ctx, &api, &jobs, cj, plan).await
}

/// Carries out a plan: replacements, the new Job, the history trim, then the status.
async fn apply(
    ctx: &Context,
    api: &Api<CronJob>,
    jobs: &Api<Job>,
    cj: CronJob,
    plan: Plan,
) -> Result<Action, Error> {
    for note in &plan.notes {
        ctx.recorder
            .publish(&cj, note.kind, note.reason, &note.message)
            .await;
    }
    let mut status = plan.status.clone();
    let mut failure = None;
    for name in &plan.replace {
        if let Err(e) = delete_job(ctx, &cj, jobs, name, &mut status).await {
            failure = Some(e);
        }
    }
    if let (None, Some((job, scheduled))) = (&failure, &plan.create) {
        match create_job(ctx, &cj, jobs, job).await {
            Ok(Some(created)) => decision::record_created(&mut status, &created, *scheduled),
            Ok(None) => {}
            Err(e) => failure = Some(e),
        }
    }
    for name in &plan.history {
        if let Err(e) = delete_job(ctx, &cj, jobs, name, &mut status).await {
            tracing::warn!(job = %name, error = %e, "could not delete a finished job");
        }
    }
    if cj.status.clone().unwrap_or_default() != status {
        write_status(api, cj, status).await?;
    }
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(plan
        .requeue_after
        .map_or_else(Action::await_change, Action::requeue))
}

async fn write_status(
    api: &Api<CronJob>,
    mut cj: CronJob,
    status: CronJobStatus,
) -> Result<(), Error> {
    let name = cj.name_any();
    cj.status = Some(status);
    api.replace_status(&name, &workload::post_params(), &cj)
        .await
        .map(drop)
        .map_err(|source| Error::UpdateStatus { name, source })
}

/// Deletes a Job and its pods in the background, and forgets it as active.
async fn delete_job(
    ctx: &Context,
    cj: &CronJob,
    jobs: &Api<Job>,
    name: &str,
    status: &mut CronJobStatus,
) -> Result<(), Error> {
    match jobs.delete(name, &DeleteParams::background()).await {
        Ok(_) => {
            decision::forget(status, name);
            let message = format!("Deleted job {name}");
            ctx.recorder
                .publish(cj, EventType::Normal, "SuccessfulDelete", &message)
                .await;
            Ok(())
        }
        Err(e) if not_found(&e) => {
            decision::forget(status, name);
            Ok(())
        }
        Err(source) => {
            let message = format!("Deleted job: {source}");
            ctx.recorder
                .publish(cj, EventType::Warning, "FailedDelete", &message)
                .await;
            Err(Error::Job {
                action: "deleting",
                job: name.to_owned(),
                source,
            })
        }
    }
}

/// Creates the Job; returns it when it should join the active list (made now, or made by an
/// earlier sync that did not get to record it).
async fn create_job(
    ctx: &Context,
    cj: &CronJob,
    jobs: &Api<Job>,
    job: &Job,
) -> Result<Option<Job>, Error> {
    let name = job.name_any();
    let failed = |action, source| Error::Job {
        action,
        job: name.clone(),
        source,
    };
    match jobs.create(&workload::post_params(), job).await {
        Ok(created) => {
            let message = format!("Created job {name}");
            ctx.recorder
                .publish(cj, EventType::Normal, "SuccessfulCreate", &message)
                .await;
            Ok(Some(created))
        }
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let existing = jobs.get(&name).await.map_err(|e| failed("reading", e))?;
            let ours = existing
                .owner_references()
                .iter()
                .any(|r| r.controller == Some(true) && Some(&r.uid) == cj.metadata.uid.as_ref());
            Ok(ours.then_some(existing))
        }
        Err(source) => {
            let message = format!("Error creating job: {source}");
            ctx.recorder
                .publish(cj, EventType::Warning, "FailedCreate", &message)
                .await;
            Err(failed("creating", source))
        }
    }
}
