//! A StatefulSet's pods and claims, as upstream's `stateful_set_utils.go`: the stable name
//! `<set>-<ordinal>`, the identity labels and hostname, the volumes bound to per-ordinal
//! PersistentVolumeClaims `<claim>-<set>-<ordinal>`, the owners those claims carry under the
//! retention policy, and the set's settings read with their defaults.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, PodTemplateSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use crate::workload::history::CONTROLLER_REVISION_HASH;
use crate::workload::pod::{controller_ref, is_available, is_ready, pod_from_template};

/// The label naming the pod itself, so a Service can select one member.
pub const POD_NAME: &str = "statefulset.kubernetes.io/pod-name";
/// The label carrying the pod's ordinal.
pub const POD_INDEX: &str = "apps.kubernetes.io/pod-index";

/// The set's name.
pub fn name(set: &StatefulSet) -> &str {
    set.metadata.name.as_deref().unwrap_or_default()
}

/// Desired replicas.
pub fn replicas(set: &StatefulSet) -> i32 {
    set.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

/// The first ordinal (`spec.ordinals.start`).
pub fn start_ordinal(set: &StatefulSet) -> i32 {
    let start = set.spec.as_ref().and_then(|s| s.ordinals.as_ref());
    start.and_then(|o| o.start).unwrap_or(0).max(0)
}

/// `spec.minReadySeconds`.
pub fn min_ready_seconds(set: &StatefulSet) -> i32 {
    set.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

/// Whether pods are created and deleted all at once (`Parallel`) rather than in order.
pub fn allows_burst(set: &StatefulSet) -> bool {
    let policy = set
        .spec
        .as_ref()
        .and_then(|s| s.pod_management_policy.as_deref());
    policy == Some("Parallel")
}

/// Whether pods are only replaced when deleted by someone else (`OnDelete`).
pub fn is_on_delete(set: &StatefulSet) -> bool {
    let strategy = set.spec.as_ref().and_then(|s| s.update_strategy.as_ref());
    strategy.and_then(|s| s.type_.as_deref()) == Some("OnDelete")
}

/// The lowest replica index a rolling update replaces (`rollingUpdate.partition`).
pub fn partition(set: &StatefulSet) -> i32 {
    rolling(set).and_then(|r| r.partition).unwrap_or(0).max(0)
}

/// How many replicas a rolling update may have unavailable (`rollingUpdate.maxUnavailable`,
/// default 1, at least 1).
pub fn max_unavailable(set: &StatefulSet) -> i32 {
    let value = rolling(set).and_then(|r| r.max_unavailable.as_ref());
    let n = match value {
        None => 1,
        Some(v @ IntOrString::String(_)) => crate::workload::scaled(Some(v), replicas(set), true),
        Some(IntOrString::Int(n)) => *n,
    };
    n.max(1)
}

fn rolling(
    set: &StatefulSet,
) -> Option<&k8s_openapi::api::apps::v1::RollingUpdateStatefulSetStrategy> {
    set.spec
        .as_ref()?
        .update_strategy
        .as_ref()?
        .rolling_update
        .as_ref()
}

/// The ordinal in a pod name `<set>-<ordinal>` of `set`, if it is one.
pub fn ordinal_of(set_name: &str, pod_name: &str) -> Option<i32> {
    let (parent, ordinal) = pod_name.rsplit_once('-')?;
    if parent != set_name || ordinal.is_empty() || !ordinal.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    ordinal.parse().ok()
}

/// The pod's ordinal as a member of `set`.
pub fn pod_ordinal(set: &StatefulSet, pod: &Pod) -> Option<i32> {
    ordinal_of(name(set), pod.metadata.name.as_deref().unwrap_or_default())
}

/// The revision a pod was made from (its `controller-revision-hash` label).
pub fn pod_revision(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(CONTROLLER_REVISION_HASH))
        .map_or("", String::as_str)
}

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// Whether the API server has the pod (it has a phase).
pub fn is_created(pod: &Pod) -> bool {
    !phase(pod).is_empty()
}

/// Whether the pod has finished (Failed or Succeeded) and must be replaced.
pub fn is_finished(pod: &Pod) -> bool {
    matches!(phase(pod), "Failed" | "Succeeded")
}

/// Whether the pod is being deleted.
pub fn is_terminating(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

/// Whether the pod runs and is Ready.
pub fn is_running_and_ready(pod: &Pod) -> bool {
    phase(pod) == "Running" && is_ready(pod)
}

/// Whether the pod runs and has been Ready for `min_ready_seconds`.
pub fn is_running_and_available(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    phase(pod) == "Running" && is_available(pod, min_ready_seconds, now)
}

/// Whether the pod counts as unavailable to a rolling update.
pub fn is_unavailable(pod: &Pod, min_ready_seconds: i32, now: Timestamp) -> bool {
    is_terminating(pod) || !is_running_and_available(pod, min_ready_seconds, now)
}

fn claim_templates(set: &StatefulSet) -> &[PersistentVolumeClaim] {
    set.spec
        .as_ref()
        .and_then(|s| s.volume_claim_templates.as_deref())
        .unwrap_or_default()
}

/// The claims of the member with `ordinal`, by template name: named `<claim>-<set>-<ordinal>`,
/// labelled with the template's labels and the set's selector labels.
pub fn claims_for(set: &StatefulSet, ordinal: i32) -> Vec<(String, PersistentVolumeClaim)> {
    let selector_labels = set
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    claim_templates(set)
        .iter()
        .map(|template| {
            let template_name = template.metadata.name.clone().unwrap_or_default();
            let mut claim = template.clone();
            claim.metadata.name = Some(format!("{template_name}-{}-{ordinal}", name(set)));
            claim.metadata.namespace = set.metadata.namespace.clone();
            let labels = claim.metadata.labels.get_or_insert_with(BTreeMap::new);
            labels.extend(selector_labels.clone());
            claim.status = None;
            (template_name, claim)
        })
        .collect()
}

/// The member with `ordinal` as `template` (the template of `revision`) makes it.
pub fn new_pod(set: &StatefulSet, template: &PodTemplateSpec, revision: &str, ordinal: i32) -> Pod {
    let owner = controller_ref(
        "apps/v1",
        "StatefulSet",
        name(set),
        set.metadata.uid.as_deref().unwrap_or_default(),
    );
    let namespace = set.metadata.namespace.as_deref().unwrap_or_default();
    let mut pod = pod_from_template(template, name(set), namespace, owner);
    let pod_name = format!("{}-{ordinal}", name(set));
    pod.metadata.name = Some(pod_name.clone());
    set_identity(set, &mut pod, ordinal);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.hostname = Some(pod_name);
    spec.subdomain = set
        .spec
        .as_ref()
        .and_then(|s| s.service_name.clone())
        .filter(|s| !s.is_empty());
    let claims = claims_for(set, ordinal);
    let mut volumes: Vec<Volume> = claims
        .iter()
        .map(|(template_name, claim)| Volume {
            name: template_name.clone(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: claim.metadata.name.clone().unwrap_or_default(),
                read_only: None,
            }),
            ..Volume::default()
        })
        .collect();
    let others = spec.volumes.take().unwrap_or_default();
    volumes.extend(
        others
            .into_iter()
            .filter(|v| !claims.iter().any(|(n, _)| *n == v.name)),
    );
    spec.volumes = (!volumes.is_empty()).then_some(volumes);
    pod.metadata
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(CONTROLLER_REVISION_HASH.to_owned(), revision.to_owned());
    pod
}

/// Puts the identity labels of the member with `ordinal` on `pod`.
pub fn set_identity(set: &StatefulSet, pod: &mut Pod, ordinal: i32) {
    let labels = pod.metadata.labels.get_or_insert_with(BTreeMap::new);
    labels.insert(POD_NAME.to_owned(), format!("{}-{ordinal}", name(set)));
    labels.insert(POD_INDEX.to_owned(), ordinal.to_string());
}

/// Whether the pod carries the identity labels its name calls for.
pub fn identity_matches(set: &StatefulSet, pod: &Pod) -> bool {
    let Some(ordinal) = pod_ordinal(set, pod) else {
        return false;
    };
    let labels = pod.metadata.labels.as_ref();
    let label = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    pod.metadata.namespace == set.metadata.namespace
        && label(POD_NAME) == pod.metadata.name.as_deref()
        && label(POD_INDEX) == Some(ordinal.to_string().as_str())
}

/// Whether a retention policy field says `Delete`.
fn deletes(
    set: &StatefulSet,
    field: fn(
        &k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy,
    ) -> Option<&String>,
) -> bool {
    let policy = set
        .spec
        .as_ref()
        .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref());
    policy.and_then(field).map(String::as_str) == Some("Delete")
}

/// The owner references `claim` should carry for the member `pod` (condemned when scaled
/// away): the set's when `whenDeleted` is Delete, the pod's when `whenScaled` is Delete and the
/// pod is condemned; references to other owners are kept. `None` when they already do.
pub fn claim_owners(
    set: &StatefulSet,
    pod: &Pod,
    condemned: bool,
    claim: &PersistentVolumeClaim,
) -> Option<Vec<OwnerReference>> {
    let set_uid = set.metadata.uid.as_deref().unwrap_or_default();
    let pod_uid = pod.metadata.uid.as_deref().unwrap_or_default();
    let current = claim.metadata.owner_references.clone().unwrap_or_default();
    let mut wanted: Vec<OwnerReference> = current
        .iter()
        .filter(|r| r.uid != set_uid && r.uid != pod_uid)
        .cloned()
        .collect();
    let plain = |api_version: &str, kind: &str, name: &str, uid: &str| OwnerReference {
        controller: None,
        block_owner_deletion: None,
        ..controller_ref(api_version, kind, name, uid)
    };
    if deletes(set, |p| p.when_deleted.as_ref()) {
        wanted.push(plain("apps/v1", "StatefulSet", name(set), set_uid));
    }
    if condemned && !pod_uid.is_empty() && deletes(set, |p| p.when_scaled.as_ref()) {
        let pod_name = pod.metadata.name.as_deref().unwrap_or_default();
        wanted.push(plain("v1", "Pod", pod_name, pod_uid));
    }
    let key = |r: &OwnerReference| r.uid.clone();
    let mut a = current.clone();
    let mut b = wanted.clone();
    a.sort_by_key(key);
    b.sort_by_key(key);
    (a != b).then_some(wanted)
}

#[cfg(test)]
#[path = "identity_tests.rs"]
pub(super) mod tests;
