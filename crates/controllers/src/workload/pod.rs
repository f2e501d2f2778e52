//! Pods as controllers see them: active, ready, available, and made from a template.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

/// Whether a pod still counts towards its controller: not finished (Succeeded or Failed)
/// and not being deleted.
pub fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    !matches!(phase, Some("Succeeded" | "Failed")) && pod.metadata.deletion_timestamp.is_none()
}

/// When the pod's Ready condition last became true, if it is true now.
pub fn ready_since(pod: &Pod) -> Option<Option<Timestamp>> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let ready = conditions.iter().find(|c| c.type_ == "Ready")?;
    (ready.status == "True").then(|| ready.last_transition_time.as_ref().map(|t| t.0))
}

/// Whether the pod's Ready condition is true.
pub fn is_ready(pod: &Pod) -> bool {
    ready_since(pod).is_some()
}

/// Whether the pod has been ready for at least `min_ready_seconds` at `now`.
pub fn is_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    match ready_since(pod) {
        None => false,
        Some(_) if min_ready_seconds <= 0 => true,
        Some(None) => false,
        Some(Some(since)) => since + SignedDuration::from_secs(i64::from(min_ready_seconds)) < now,
    }
}

/// The owner reference a controller puts on what it manages (`controller` and
/// `blockOwnerDeletion` set).
pub fn controller_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> OwnerReference {
    OwnerReference {
        api_version: api_version.to_owned(),
        kind: kind.to_owned(),
        name: name.to_owned(),
        uid: uid.to_owned(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The owner reference marked as the object's controller, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// The pod a controller creates from `template`: the template's labels, annotations,
/// finalizers and spec, named `<prefix>-<random>` by the API server, controlled by `owner`.
pub fn pod_from_template(
    template: &PodTemplateSpec,
    prefix: &str,
    namespace: &str,
    owner: OwnerReference,
) -> Pod {
    let meta = template.metadata.clone().unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{prefix}-")),
            namespace: Some(namespace.to_owned()),
            labels: meta.labels,
            annotations: meta.annotations,
            finalizers: meta.finalizers,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        spec: template.spec.clone(),
        status: None,
    }
}

/// Whether every label of `wanted` is on `labels` with the same value.
pub fn has_labels(
    labels: Option<&BTreeMap<String, String>>,
    wanted: &BTreeMap<String, String>,
) -> bool {
    wanted
        .iter()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

/// How long until the first ready pod that is not yet available becomes available, so the
/// status is written again then.
pub fn next_availability_check(
    pods: &[Pod],
    min_ready_seconds: i32,
    now: Timestamp,
) -> Option<Duration> {
    if min_ready_seconds <= 0 {
        return None;
    }
    let min_ready = SignedDuration::from_secs(i64::from(min_ready_seconds));
    pods.iter()
        .filter(|p| !is_available(p, min_ready_seconds, now))
        .filter_map(|p| ready_since(p).map(|since| since.unwrap_or(now)))
        .map(|since| (since + min_ready).duration_since(now) + SignedDuration::from_secs(1))
        .min()
        .map(|d| d.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn ready_pod(since: Timestamp) -> Pod {
        Pod {
            status: Some(PodStatus {
                phase: Some("Running".to_owned()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".to_owned(),
                    status: "True".to_owned(),
                    last_transition_time: Some(Time(since)),
                    ..PodCondition::default()
                }]),
                ..PodStatus::default()
            }),
            ..Pod::default()
        }
    }

    #[test]
    fn ready_pod_is_available_only_after_min_ready_seconds() {
        let t0 = Timestamp::UNIX_EPOCH;
        let pod = ready_pod(t0);
        assert!(is_available(&pod, 0, t0));
        assert!(!is_available(&pod, 10, t0 + SignedDuration::from_secs(10)));
        assert!(is_available(&pod, 10, t0 + SignedDuration::from_secs(11)));
    }

    #[test]
    fn finished_or_deleting_pods_are_not_active() {
        let mut pod = ready_pod(Timestamp::UNIX_EPOCH);
        assert!(is_active(&pod));
        pod.metadata.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert!(!is_active(&pod));
        let mut done = ready_pod(Timestamp::UNIX_EPOCH);
        if let Some(s) = done.status.as_mut() {
            s.phase = Some("Succeeded".to_owned());
        }
        assert!(!is_active(&done));
    }

    #[test]
    fn pod_from_template_is_controlled_and_generate_named() {
        let template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".to_owned(), "web".to_owned())])),
                ..ObjectMeta::default()
            }),
            spec: None,
        };
        let owner = controller_ref("apps/v1", "ReplicaSet", "web-abc", "u1");
        let pod = pod_from_template(&template, "web-abc", "shop", owner.clone());
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("web-abc-"));
        assert_eq!(controller_of(&pod.metadata), Some(&owner));
        assert_eq!(owner.block_owner_deletion, Some(true));
        assert!(has_labels(
            pod.metadata.labels.as_ref(),
            &BTreeMap::from([("app".to_owned(), "web".to_owned())])
        ));
    }
}
