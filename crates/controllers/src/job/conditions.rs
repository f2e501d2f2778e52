//! Job conditions: reading them, and setting one as upstream's `ensureJobConditionStatus`.

use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// `Complete`: the Job succeeded.
pub const COMPLETE: &str = "Complete";
/// `Failed`: the Job failed.
pub const FAILED: &str = "Failed";
/// `SuccessCriteriaMet`: the Job will complete once its pods are gone.
pub const SUCCESS_CRITERIA_MET: &str = "SuccessCriteriaMet";
/// `FailureTarget`: the Job will fail once its pods are gone.
pub const FAILURE_TARGET: &str = "FailureTarget";
/// `Suspended`: the Job is (or was) suspended.
pub const SUSPENDED: &str = "Suspended";

/// A condition of `type_` with `status`, `reason` and `message`, stamped `now`.
pub fn new(type_: &str, status: &str, reason: &str, message: &str, now: Timestamp) -> JobCondition {
    JobCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()).filter(|r| !r.is_empty()),
        message: Some(message.to_owned()).filter(|m| !m.is_empty()),
        last_probe_time: Some(Time(now)),
        last_transition_time: Some(Time(now)),
    }
}

/// The condition of `type_` in `list` whose status is True.
pub fn find_true<'a>(list: &'a [JobCondition], type_: &str) -> Option<&'a JobCondition> {
    list.iter().find(|c| c.type_ == type_ && c.status == "True")
}

/// The Job's terminal condition type (`Complete` or `Failed`), if it has finished.
pub fn finished(job: &Job) -> Option<&'static str> {
    let list = job.status.as_ref()?.conditions.as_deref()?;
    [COMPLETE, FAILED]
        .into_iter()
        .find(|t| find_true(list, t).is_some())
}

/// When the Job finished: the transition time of its terminal condition.
pub fn finished_at(job: &Job) -> Option<Timestamp> {
    let kind = finished(job)?;
    let list = job.status.as_ref()?.conditions.as_deref()?;
    find_true(list, kind)?
        .last_transition_time
        .as_ref()
        .map(|t| t.0)
}

/// Sets the condition of `type_` to `status`/`reason`/`message` (a new condition is only
/// added when not False); returns whether the list changed.
pub fn ensure(
    list: &mut Vec<JobCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: Timestamp,
) -> bool {
    let wanted = new(type_, status, reason, message, now);
    match list.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            let same = existing.status == wanted.status
                && existing.reason == wanted.reason
                && existing.message == wanted.message;
            if !same {
                *existing = wanted;
            }
            !same
        }
        None if status != "False" => {
            list.push(wanted);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap()
    }

    #[test]
    fn ensure_adds_true_conditions_but_not_false_ones() {
        let mut list = Vec::new();
        assert!(!ensure(
            &mut list,
            SUSPENDED,
            "False",
            "JobResumed",
            "Job resumed",
            now()
        ));
        assert!(list.is_empty());
        assert!(ensure(
            &mut list,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            now()
        ));
        assert!(!ensure(
            &mut list,
            SUSPENDED,
            "True",
            "JobSuspended",
            "Job suspended",
            now()
        ));
        assert!(ensure(
            &mut list,
            SUSPENDED,
            "False",
            "JobResumed",
            "Job resumed",
            now()
        ));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].status, "False");
    }
}
