//! The TTL-after-finished controller: a finished Job with `ttlSecondsAfterFinished` is
//! deleted (foreground propagation, guarded by its UID) that many seconds after it finished.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, DeleteParams, Preconditions};
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::harness::Harness;
use crate::job::conditions;

/// What the controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The time expiry is judged at.
    pub clock: Arc<dyn Clock>,
}

/// Why cleaning up a Job failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Re-reading the Job before deleting it failed.
    #[error("reading job {name}")]
    GetJob {
        /// The Job.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting the Job failed.
    #[error("deleting job {name}")]
    DeleteJob {
        /// The Job.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// What to do about one Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No TTL, or not finished: nothing.
    Keep,
    /// Expires after this long.
    Wait(Duration),
    /// Expired: delete it.
    Expired,
}

/// Whether `job` has outlived its `ttlSecondsAfterFinished` at `now`.
pub fn judge(job: &Job, now: Timestamp) -> Verdict {
    let ttl = job.spec.as_ref().and_then(|s| s.ttl_seconds_after_finished);
    let (Some(ttl), Some(finished)) = (ttl, conditions::finished_at(job)) else {
        return Verdict::Keep;
    };
    if job.metadata.deletion_timestamp.is_some() {
        return Verdict::Keep;
    }
    let expires = finished.saturating_add(SignedDuration::from_secs(i64::from(ttl)));
    match expires {
        Ok(at) if at > now => {
            Verdict::Wait(Duration::try_from(at.duration_since(now)).unwrap_or_default())
        }
        _ => Verdict::Expired,
    }
}

/// Runs the controller until `shutdown`.
pub async fn run(ctx: Context, shutdown: CancellationToken) {
    let jobs: Api<Job> = Api::all(ctx.client.clone());
    Harness::new("ttl-after-finished", jobs)
        .run(reconcile, Arc::new(ctx), shutdown)
        .await;
}

/// Deletes `job` once expired, after checking a fresh copy still is.
///
/// # Errors
/// [`Error::GetJob`] and [`Error::DeleteJob`].
pub async fn reconcile(job: Arc<Job>, ctx: Arc<Context>) -> Result<Action, Error> {
    match judge(&job, ctx.clock.now()) {
        Verdict::Keep => return Ok(Action::await_change()),
        Verdict::Wait(d) => return Ok(Action::requeue(d)),
        Verdict::Expired => {}
    }
    let name = job.name_any();
    let api: Api<Job> = Api::namespaced(ctx.client.clone(), &job.namespace().unwrap_or_default());
    let fresh = api.get_opt(&name).await.map_err(|source| Error::GetJob {
        name: name.clone(),
        source,
    })?;
    let Some(fresh) = fresh.filter(|f| f.metadata.uid == job.metadata.uid) else {
        return Ok(Action::await_change());
    };
    match judge(&fresh, ctx.clock.now()) {
        Verdict::Keep => return Ok(Action::await_change()),
        Verdict::Wait(d) => return Ok(Action::requeue(d)),
        Verdict::Expired => {}
    }
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: fresh.metadata.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::foreground()
    };
    match api.delete(&name, &params).await {
        Ok(_) => tracing::info!(job = %name, "deleted a finished job past its TTL"),
        Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) => {}
        Err(source) => return Err(Error::DeleteJob { name, source }),
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{JobCondition, JobSpec, JobStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + s).unwrap()
    }

    fn job(ttl: Option<i32>, finished: Option<(&str, i64)>) -> Job {
        Job {
            spec: Some(JobSpec {
                ttl_seconds_after_finished: ttl,
                ..JobSpec::default()
            }),
            status: Some(JobStatus {
                conditions: finished.map(|(kind, s)| {
                    vec![JobCondition {
                        type_: kind.to_owned(),
                        status: "True".to_owned(),
                        last_transition_time: Some(Time(at(s))),
                        ..JobCondition::default()
                    }]
                }),
                ..JobStatus::default()
            }),
            ..Job::default()
        }
    }

    #[test]
    fn jobs_without_ttl_or_still_running_are_kept() {
        assert_eq!(
            judge(&job(None, Some(("Complete", 0))), at(1000)),
            Verdict::Keep
        );
        assert_eq!(judge(&job(Some(10), None), at(1000)), Verdict::Keep);
        assert_eq!(
            judge(&job(Some(10), Some(("SuccessCriteriaMet", 0))), at(1000)),
            Verdict::Keep
        );
    }

    #[test]
    fn finished_jobs_expire_ttl_seconds_after_their_terminal_condition() {
        assert_eq!(
            judge(&job(Some(10), Some(("Complete", 0))), at(4)),
            Verdict::Wait(Duration::from_secs(6))
        );
        assert_eq!(
            judge(&job(Some(10), Some(("Failed", 0))), at(10)),
            Verdict::Expired
        );
        assert_eq!(
            judge(&job(Some(0), Some(("Complete", 5))), at(5)),
            Verdict::Expired
        );
    }

    #[test]
    fn a_job_already_being_deleted_is_left_alone() {
        let mut j = job(Some(0), Some(("Complete", 0)));
        j.metadata.deletion_timestamp = Some(Time(at(1)));
        assert_eq!(judge(&j, at(100)), Verdict::Keep);
    }
}
