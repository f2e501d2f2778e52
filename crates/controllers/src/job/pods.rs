//! A Job's pods as the controller sees them (terminating, finished, counted or not), and the
//! pods it creates from its template (built on the workload controllers' pod helpers).

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, Pod};

use super::indexes::COMPLETION_INDEX;
use crate::workload::pod::{controller_ref, pod_from_template};
pub use crate::workload::pod::{is_active, is_ready};

/// The finalizer that keeps a finished pod until the Job has counted it.
pub const TRACKING_FINALIZER: &str = "batch.kubernetes.io/job-tracking";

/// The environment variable Indexed Job containers read their index from.
const INDEX_ENV: &str = "JOB_COMPLETION_INDEX";

fn phase(pod: &Pod) -> &str {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or_default()
}

/// Whether the pod succeeded.
pub fn succeeded(pod: &Pod) -> bool {
    phase(pod) == "Succeeded"
}

/// Whether the pod is being deleted but has not finished.
pub fn is_terminating(pod: &Pod) -> bool {
    !matches!(phase(pod), "Succeeded" | "Failed") && pod.metadata.deletion_timestamp.is_some()
}

/// Whether the pod counts as failed: phase Failed, or, unless only failed pods are replaced,
/// deleted before it succeeded.
pub fn failed(pod: &Pod, only_replace_failed: bool) -> bool {
    match phase(pod) {
        "Failed" => true,
        _ if only_replace_failed => false,
        "Succeeded" => false,
        _ => pod.metadata.deletion_timestamp.is_some(),
    }
}

/// Whether the pod still carries the tracking finalizer.
pub fn has_tracking_finalizer(pod: &Pod) -> bool {
    pod.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|f| f == TRACKING_FINALIZER))
}

/// The pod's UID.
pub fn uid(pod: &Pod) -> &str {
    pod.metadata.uid.as_deref().unwrap_or_default()
}

/// The pod `job` creates, for completion `index` of an Indexed Job: the template with the
/// tracking finalizer, the Job as controller, and, when indexed, the index as annotation,
/// label, hostname suffix and `JOB_COMPLETION_INDEX`.
pub fn from_template(job: &Job, index: Option<i32>) -> Pod {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let template = job
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let prefix = index.map_or_else(|| name.clone(), |i| format!("{name}-{i}"));
    let namespace = job.metadata.namespace.clone().unwrap_or_default();
    let owner = controller_ref("batch/v1", "Job", &name, &uid);
    let mut pod = pod_from_template(&template, &prefix, &namespace, owner);
    let finalizers = pod.metadata.finalizers.get_or_insert_with(Vec::new);
    if !finalizers.iter().any(|f| f == TRACKING_FINALIZER) {
        finalizers.push(TRACKING_FINALIZER.to_owned());
    }
    if let Some(index) = index {
        let value = index.to_string();
        pod.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(COMPLETION_INDEX.to_owned(), value.clone());
        pod.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(COMPLETION_INDEX.to_owned(), value);
        if let Some(spec) = pod.spec.as_mut() {
            spec.hostname = Some(format!("{name}-{index}"));
            let containers = spec.containers.iter_mut();
            for c in containers.chain(spec.init_containers.iter_mut().flatten()) {
                let env = c.env.get_or_insert_with(Vec::new);
                if !env.iter().any(|e| e.name == INDEX_ENV) {
                    env.push(index_env());
                }
            }
        }
    }
    pod
}

fn index_env() -> EnvVar {
    EnvVar {
        name: INDEX_ENV.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
            }),
            ..EnvVarSource::default()
        }),
    }
}
