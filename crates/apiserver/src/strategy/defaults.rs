//! Upstream's defaulting for the built-in types, applied to JSON objects.

use base64::Engine;
use serde_json::{json, Map, Value};

use crate::meta;

/// Sets `obj[key] = value` when the key is missing or null. Creates intermediate objects.
fn or_insert(obj: &mut Value, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for p in parents {
        if !cur.get(p).is_some_and(Value::is_object) {
            if let Some(map) = cur.as_object_mut() {
                map.insert((*p).to_owned(), Value::Object(Map::new()));
            }
        }
        let Some(next) = cur.get_mut(p) else { return };
        cur = next;
    }
    if let Some(map) = cur.as_object_mut() {
        if map.get(*last).is_none_or(Value::is_null) {
            map.insert((*last).to_owned(), value);
        }
    }
}

fn each_mut<'a>(obj: &'a mut Value, key: &str) -> impl Iterator<Item = &'a mut Value> {
    obj.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

/// The pull policy upstream picks from an image reference: Always for `:latest` or no tag.
fn pull_policy(image: &str) -> &'static str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    match last_segment.split_once(':') {
        _ if image.contains('@') => "IfNotPresent",
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn container_defaults(c: &mut Value) {
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    or_insert(c, &["imagePullPolicy"], json!(pull_policy(&image)));
    or_insert(
        c,
        &["terminationMessagePath"],
        json!("/dev/termination-log"),
    );
    or_insert(c, &["terminationMessagePolicy"], json!("File"));
    for port in each_mut(c, "ports") {
        or_insert(port, &["protocol"], json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).filter(|p| p.is_object()) {
            or_insert(p, &["timeoutSeconds"], json!(1));
            or_insert(p, &["periodSeconds"], json!(10));
            or_insert(p, &["successThreshold"], json!(1));
            or_insert(p, &["failureThreshold"], json!(3));
            if let Some(h) = p.get_mut("httpGet").filter(|h| h.is_object()) {
                or_insert(h, &["path"], json!("/"));
                or_insert(h, &["scheme"], json!("HTTP"));
            }
        }
    }
    if let Some(res) = c.get_mut("resources") {
        // Requests default to limits where only limits are given.
        if let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() {
            for (k, v) in limits {
                or_insert(res, &["requests", &k], v);
            }
        }
    } else if let Some(map) = c.as_object_mut() {
        map.insert("resources".to_owned(), json!({}));
    }
}

/// Defaults of a PodSpec (restart policy, DNS policy, grace period, containers …).
pub fn pod_spec(spec: &mut Value) {
    or_insert(spec, &["restartPolicy"], json!("Always"));
    or_insert(spec, &["terminationGracePeriodSeconds"], json!(30));
    or_insert(spec, &["dnsPolicy"], json!("ClusterFirst"));
    or_insert(spec, &["securityContext"], json!({}));
    or_insert(spec, &["schedulerName"], json!("default-scheduler"));
    for key in ["initContainers", "containers", "ephemeralContainers"] {
        for c in each_mut(spec, key) {
            container_defaults(c);
        }
    }
    for vol in each_mut(spec, "volumes") {
        for (kind, field) in [
            ("configMap", "defaultMode"),
            ("secret", "defaultMode"),
            ("downwardAPI", "defaultMode"),
            ("projected", "defaultMode"),
        ] {
            if let Some(v) = vol.get_mut(kind).filter(|v| v.is_object()) {
                or_insert(v, &[field], json!(420));
            }
        }
        if let Some(v) = vol.get_mut("hostPath").filter(|v| v.is_object()) {
            or_insert(v, &["type"], json!(""));
        }
    }
}

/// Pod defaults.
pub fn pod(obj: &mut Value) {
    if let Some(spec) = obj.get_mut("spec") {
        pod_spec(spec);
        or_insert(spec, &["enableServiceLinks"], json!(true));
        default_toleration_seconds(spec);
    }
}

/// How long pods stay on a not-ready or unreachable node unless they say otherwise.
const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Upstream's DefaultTolerationSeconds admission: a pod that tolerates neither the
/// `not-ready` nor the `unreachable` NoExecute taint (by key, or by an empty key or effect)
/// gets a toleration of it for 300 seconds.
fn default_toleration_seconds(spec: &mut Value) {
    let existing: Vec<Value> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let tolerates = |key: &str| {
        existing.iter().any(|t| {
            let t_key = t.get("key").and_then(Value::as_str).unwrap_or_default();
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or_default();
            (t_key == key || t_key.is_empty()) && (effect == "NoExecute" || effect.is_empty())
        })
    };
    let mut added = existing.clone();
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(key) {
            added.push(
                json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": DEFAULT_TOLERATION_SECONDS}),
            );
        }
    }
    if added.len() != existing.len() {
        if let Some(map) = spec.as_object_mut() {
            map.insert("tolerations".to_owned(), Value::Array(added));
        }
    }
}

fn template_spec(obj: &mut Value) {
    if let Some(spec) = obj.pointer_mut("/spec/template/spec") {
        pod_spec(spec);
    }
}

/// Defaults `spec.<field>.type` to RollingUpdate and, when it is, the `rollingUpdate` fields.
fn rolling_update(obj: &mut Value, field: &str, params: &[(&str, Value)]) {
    or_insert(obj, &["spec", field, "type"], json!("RollingUpdate"));
    let kind = obj
        .pointer(&format!("/spec/{field}/type"))
        .and_then(Value::as_str);
    if kind == Some("RollingUpdate") {
        for (name, value) in params {
            or_insert(obj, &["spec", field, "rollingUpdate", name], value.clone());
        }
    }
}

/// Deployment defaults.
pub fn deployment(obj: &mut Value) {
    or_insert(obj, &["spec", "replicas"], json!(1));
    or_insert(obj, &["spec", "revisionHistoryLimit"], json!(10));
    or_insert(obj, &["spec", "progressDeadlineSeconds"], json!(600));
    rolling_update(
        obj,
        "strategy",
        &[("maxUnavailable", json!("25%")), ("maxSurge", json!("25%"))],
    );
    template_spec(obj);
}

/// ReplicaSet and ReplicationController defaults.
pub fn replica_set(obj: &mut Value) {
    or_insert(obj, &["spec", "replicas"], json!(1));
    template_spec(obj);
}

/// DaemonSet defaults.
pub fn daemon_set(obj: &mut Value) {
    or_insert(obj, &["spec", "revisionHistoryLimit"], json!(10));
    rolling_update(
        obj,
        "updateStrategy",
        &[("maxUnavailable", json!(1)), ("maxSurge", json!(0))],
    );
    template_spec(obj);
}

/// StatefulSet defaults.
pub fn stateful_set(obj: &mut Value) {
    or_insert(obj, &["spec", "replicas"], json!(1));
    or_insert(obj, &["spec", "podManagementPolicy"], json!("OrderedReady"));
    or_insert(obj, &["spec", "revisionHistoryLimit"], json!(10));
    rolling_update(obj, "updateStrategy", &[("partition", json!(0))]);
    or_insert(
        obj,
        &["spec", "persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    template_spec(obj);
}

/// Job defaults.
pub fn job(obj: &mut Value) {
    let neither = obj.pointer("/spec/completions").is_none_or(Value::is_null)
        && obj.pointer("/spec/parallelism").is_none_or(Value::is_null);
    if neither {
        or_insert(obj, &["spec", "completions"], json!(1));
    }
    or_insert(obj, &["spec", "parallelism"], json!(1));
    or_insert(obj, &["spec", "backoffLimit"], json!(6));
    or_insert(obj, &["spec", "completionMode"], json!("NonIndexed"));
    or_insert(obj, &["spec", "suspend"], json!(false));
    or_insert(
        obj,
        &["spec", "podReplacementPolicy"],
        json!("TerminatingOrFailed"),
    );
    job_selector(obj);
    template_spec(obj);
}

/// Upstream's generated Job selector: unless `spec.manualSelector`, a Job without a selector
/// selects `batch.kubernetes.io/controller-uid=<uid>`, and its pod template carries that
/// label, `batch.kubernetes.io/job-name` and their legacy unprefixed forms.
fn job_selector(obj: &mut Value) {
    let uid = meta::str_at(obj, "/metadata/uid").to_owned();
    let name = meta::name(obj).to_owned();
    let manual = obj.pointer("/spec/manualSelector").and_then(Value::as_bool) == Some(true);
    let has_selector = obj.pointer("/spec/selector").is_some_and(|s| !s.is_null());
    if manual || has_selector || uid.is_empty() {
        return;
    }
    let labels = [
        ("batch.kubernetes.io/controller-uid", &uid),
        ("batch.kubernetes.io/job-name", &name),
        ("controller-uid", &uid),
        ("job-name", &name),
    ];
    for (key, value) in labels {
        or_insert(
            obj,
            &["spec", "template", "metadata", "labels", key],
            json!(value),
        );
    }
    or_insert(
        obj,
        &["spec", "selector"],
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
}

/// CronJob defaults.
pub fn cron_job(obj: &mut Value) {
    or_insert(obj, &["spec", "concurrencyPolicy"], json!("Allow"));
    or_insert(obj, &["spec", "suspend"], json!(false));
    or_insert(obj, &["spec", "successfulJobsHistoryLimit"], json!(3));
    or_insert(obj, &["spec", "failedJobsHistoryLimit"], json!(1));
    if let Some(spec) = obj.pointer_mut("/spec/jobTemplate/spec/template/spec") {
        pod_spec(spec);
    }
}

/// Service defaults (the ClusterIP itself is allocated by the service strategy).
pub fn service(obj: &mut Value) {
    or_insert(obj, &["spec", "type"], json!("ClusterIP"));
    or_insert(obj, &["spec", "sessionAffinity"], json!("None"));
    let external_name = obj.pointer("/spec/type").and_then(Value::as_str) == Some("ExternalName");
    if !external_name {
        or_insert(obj, &["spec", "ipFamilies"], json!(["IPv4"]));
        or_insert(obj, &["spec", "ipFamilyPolicy"], json!("SingleStack"));
        or_insert(obj, &["spec", "internalTrafficPolicy"], json!("Cluster"));
    }
    if let Some(ports) = obj.pointer_mut("/spec/ports").and_then(Value::as_array_mut) {
        for port in ports {
            or_insert(port, &["protocol"], json!("TCP"));
            if let Some(p) = port.get("port").cloned() {
                or_insert(port, &["targetPort"], p);
            }
        }
    }
}

/// Namespace defaults: the `kubernetes` finalizer and the name label.
pub fn namespace(obj: &mut Value) {
    or_insert(obj, &["spec", "finalizers"], json!(["kubernetes"]));
    if let Some(name) = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(str::to_owned)
    {
        if let Some(labels) = ensure_object(obj, "/metadata", "labels") {
            labels.insert("kubernetes.io/metadata.name".to_owned(), json!(name));
        }
    }
}

/// Secret defaults.
pub fn secret(obj: &mut Value) {
    or_insert(obj, &["type"], json!("Opaque"));
    // `stringData` is write-only: its entries land in `data`, base64-encoded, taking precedence.
    let Some(Value::Object(plain)) = obj.as_object_mut().and_then(|m| m.remove("stringData"))
    else {
        return;
    };
    if let Some(map) = obj.as_object_mut() {
        let data = map
            .entry("data")
            .or_insert_with(|| Value::Object(Map::new()));
        if !data.is_object() {
            *data = Value::Object(Map::new());
        }
        if let Some(data) = data.as_object_mut() {
            for (k, v) in plain {
                let text = v.as_str().unwrap_or_default();
                data.insert(
                    k,
                    json!(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
        }
    }
}

/// PersistentVolumeClaim defaults.
pub fn persistent_volume_claim(obj: &mut Value) {
    or_insert(obj, &["spec", "volumeMode"], json!("Filesystem"));
}

/// PersistentVolume defaults.
pub fn persistent_volume(obj: &mut Value) {
    or_insert(
        obj,
        &["spec", "persistentVolumeReclaimPolicy"],
        json!("Retain"),
    );
    or_insert(obj, &["spec", "volumeMode"], json!("Filesystem"));
}

fn ensure_object<'a>(
    obj: &'a mut Value,
    parent: &str,
    key: &str,
) -> Option<&'a mut Map<String, Value>> {
    let parent = obj.pointer_mut(parent)?.as_object_mut()?;
    let entry = parent
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tolerations(spec: &Value) -> Vec<(String, i64)> {
        spec["tolerations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| {
                let key = t["key"].as_str().unwrap_or_default().to_owned();
                (key, t["tolerationSeconds"].as_i64().unwrap_or(-1))
            })
            .collect()
    }

    #[test]
    fn pods_get_300s_not_ready_and_unreachable_tolerations_they_lack() {
        let mut spec = json!({"containers": []});
        default_toleration_seconds(&mut spec);
        assert_eq!(
            tolerations(&spec),
            [
                ("node.kubernetes.io/not-ready".to_owned(), 300),
                ("node.kubernetes.io/unreachable".to_owned(), 300)
            ]
        );
        let mut own = json!({"tolerations": [{"key": "node.kubernetes.io/unreachable",
            "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}]});
        default_toleration_seconds(&mut own);
        assert_eq!(
            tolerations(&own),
            [
                ("node.kubernetes.io/unreachable".to_owned(), 2),
                ("node.kubernetes.io/not-ready".to_owned(), 300)
            ]
        );
        let mut everything = json!({"tolerations": [{"operator": "Exists"}]});
        default_toleration_seconds(&mut everything);
        assert_eq!(tolerations(&everything).len(), 1);
    }

    #[test]
    fn pull_policy_is_always_for_latest_or_untagged_images() {
        assert_eq!(pull_policy("nginx"), "Always");
        assert_eq!(pull_policy("nginx:latest"), "Always");
        assert_eq!(pull_policy("nginx:1.25"), "IfNotPresent");
        assert_eq!(pull_policy("localhost:5000/nginx"), "Always");
        assert_eq!(pull_policy("nginx@sha256:abc"), "IfNotPresent");
    }

    #[test]
    fn jobs_get_a_selector_on_their_uid_and_matching_template_labels() {
        let mut obj = json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {}}});
        job(&mut obj);
        assert_eq!(
            obj.pointer("/spec/selector"),
            Some(&json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}))
        );
        let labels = obj.pointer("/spec/template/metadata/labels").unwrap();
        assert_eq!(labels["batch.kubernetes.io/job-name"], "pi");
        assert_eq!(labels["controller-uid"], "u-1");
        let mut manual = json!({"metadata": {"name": "pi", "uid": "u-1"},
            "spec": {"manualSelector": true, "template": {}}});
        job(&mut manual);
        assert!(manual.pointer("/spec/selector").is_none());
    }

    #[test]
    fn deployment_gets_rolling_update_and_pod_defaults() {
        let mut d =
            json!({"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:1"}]}}}});
        deployment(&mut d);
        assert_eq!(d.pointer("/spec/replicas"), Some(&json!(1)));
        assert_eq!(
            d.pointer("/spec/strategy/rollingUpdate/maxSurge"),
            Some(&json!("25%"))
        );
        assert_eq!(
            d.pointer("/spec/template/spec/restartPolicy"),
            Some(&json!("Always"))
        );
        assert_eq!(
            d.pointer("/spec/template/spec/containers/0/imagePullPolicy"),
            Some(&json!("IfNotPresent"))
        );
    }

    #[test]
    fn secret_string_data_is_folded_into_data() {
        let mut s = json!({"stringData": {"p": "hunter2"}, "data": {"q": "eA=="}});
        secret(&mut s);
        assert_eq!(
            s,
            json!({"data": {"q": "eA==", "p": "aHVudGVyMg=="}, "type": "Opaque"})
        );
    }

    #[test]
    fn service_target_port_defaults_to_port() {
        let mut s = json!({"spec":{"ports":[{"port":80}]}});
        service(&mut s);
        assert_eq!(s.pointer("/spec/ports/0/targetPort"), Some(&json!(80)));
        assert_eq!(s.pointer("/spec/ports/0/protocol"), Some(&json!("TCP")));
    }
}
