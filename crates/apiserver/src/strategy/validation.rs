//! Upstream's validation of the built-in kinds (the checks users meet most), as field causes.

use serde_json::{json, Value};

use super::names::is_dns_label;
use crate::error::Cause;
use crate::selectors::LabelSelector;

fn causes_for_containers(spec: &Value, path: &str, out: &mut Vec<Cause>) {
    let containers = spec.get("containers").and_then(Value::as_array);
    match containers {
        None => out.push(Cause::required(format!("{path}.containers"), "")),
        Some(list) if list.is_empty() => {
            out.push(Cause::required(format!("{path}.containers"), ""))
        }
        Some(_) => {}
    }
    let mut seen: Vec<&str> = Vec::new();
    for key in ["initContainers", "containers"] {
        for (i, c) in spec
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let at = format!("{path}.{key}[{i}]");
            let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
            if name.is_empty() {
                out.push(Cause::required(format!("{at}.name"), ""));
            } else if !is_dns_label(name) {
                out.push(Cause::invalid(format!("{at}.name"), &json!(name), "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"));
            } else if seen.contains(&name) {
                out.push(Cause::duplicate(format!("{at}.name"), &json!(name)));
            } else {
                seen.push(name);
            }
            if c.get("image")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .trim()
                .is_empty()
            {
                out.push(Cause::required(format!("{at}.image"), ""));
            }
            for (j, p) in c
                .get("ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                let port = p.get("containerPort").and_then(Value::as_i64).unwrap_or(0);
                if !(1..=65535).contains(&port) {
                    out.push(Cause::invalid(
                        format!("{at}.ports[{j}].containerPort"),
                        &json!(port),
                        "must be between 1 and 65535, inclusive",
                    ));
                }
            }
        }
    }
}

fn restart_policy(spec: &Value, path: &str, allowed: &[&str], out: &mut Vec<Cause>) {
    if let Some(policy) = spec.get("restartPolicy").and_then(Value::as_str) {
        if !allowed.contains(&policy) {
            out.push(Cause::not_supported(
                format!("{path}.restartPolicy"),
                &json!(policy),
                allowed,
            ));
        }
    }
}

/// Pods.
pub fn pod(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = obj.get("spec").cloned().unwrap_or_default();
    causes_for_containers(&spec, "spec", &mut out);
    restart_policy(&spec, "spec", &["Always", "OnFailure", "Never"], &mut out);
    out
}

/// Workloads with a selector and a pod template (Deployment, ReplicaSet, StatefulSet, DaemonSet).
pub fn workload(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    match obj.pointer("/spec/selector") {
        None => out.push(Cause::required("spec.selector", "")),
        Some(selector) => {
            let parsed = LabelSelector::from_label_selector(selector);
            if parsed.is_empty() {
                out.push(Cause::invalid(
                    "spec.selector",
                    selector,
                    "empty selector is invalid for deployment",
                ));
            }
            let labels = obj
                .pointer("/spec/template/metadata/labels")
                .and_then(Value::as_object);
            if !parsed.is_empty() && !parsed.matches(labels) {
                let shown = labels
                    .map(|l| Value::Object(l.clone()))
                    .unwrap_or(json!({}));
                out.push(Cause::invalid(
                    "spec.template.metadata.labels",
                    &shown,
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    if let Some(replicas) = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| *r < 0)
    {
        out.push(Cause::invalid(
            "spec.replicas",
            &json!(replicas),
            "must be greater than or equal to 0",
        ));
    }
    let spec = obj
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or_default();
    causes_for_containers(&spec, "spec.template.spec", &mut out);
    restart_policy(&spec, "spec.template.spec", &["Always"], &mut out);
    out
}

/// Jobs (the template may restart OnFailure or Never only).
pub fn job(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = obj
        .pointer("/spec/template/spec")
        .cloned()
        .unwrap_or_default();
    causes_for_containers(&spec, "spec.template.spec", &mut out);
    match spec.get("restartPolicy").and_then(Value::as_str) {
        Some("OnFailure" | "Never") => {}
        other => out.push(Cause::not_supported(
            "spec.template.spec.restartPolicy",
            &json!(other.unwrap_or_default()),
            &["OnFailure", "Never"],
        )),
    }
    out
}

/// Services.
pub fn service(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    let kind = obj
        .pointer("/spec/type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP");
    let supported = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
    if !supported.contains(&kind) {
        out.push(Cause::not_supported("spec.type", &json!(kind), &supported));
    }
    let ports = obj.pointer("/spec/ports").and_then(Value::as_array);
    let headless = obj.pointer("/spec/clusterIP").and_then(Value::as_str) == Some("None");
    if ports.is_none_or(Vec::is_empty) && kind != "ExternalName" && !headless {
        out.push(Cause::required("spec.ports", ""));
    }
    let many = ports.is_some_and(|p| p.len() > 1);
    for (i, p) in ports.into_iter().flatten().enumerate() {
        let port = p.get("port").and_then(Value::as_i64).unwrap_or(0);
        if !(1..=65535).contains(&port) {
            out.push(Cause::invalid(
                format!("spec.ports[{i}].port"),
                &json!(port),
                "must be between 1 and 65535, inclusive",
            ));
        }
        if many
            && p.get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .is_empty()
        {
            out.push(Cause::required(format!("spec.ports[{i}].name"), ""));
        }
    }
    if kind == "ExternalName"
        && obj
            .pointer("/spec/externalName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .is_empty()
    {
        out.push(Cause::required("spec.externalName", ""));
    }
    out
}

/// Keys of ConfigMap and Secret data: alphanumerics, `-`, `_` and `.`, at most 253 characters.
pub fn data_keys(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    let mut out = Vec::new();
    for field in ["data", "binaryData"] {
        for key in obj
            .get(field)
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.keys())
        {
            let ok = !key.is_empty()
                && key.len() <= 253
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && key != "."
                && key != "..";
            if !ok {
                out.push(Cause::invalid(
                    format!("{field}[{key}]"),
                    &json!(key),
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(selector: Value, labels: Value) -> Value {
        json!({"spec": {"selector": selector, "template": {"metadata": {"labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    }

    #[test]
    fn selector_must_match_template_labels() {
        let ok = workload(
            &deployment(json!({"matchLabels": {"a": "b"}}), json!({"a": "b"})),
            None,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let bad = workload(
            &deployment(json!({"matchLabels": {"a": "b"}}), json!({"a": "c"})),
            None,
        );
        assert_eq!(
            bad.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            ["spec.template.metadata.labels"]
        );
    }

    #[test]
    fn containers_need_a_name_and_an_image_and_unique_names() {
        let pod_obj = json!({"spec": {"containers": [{"name": "a", "image": ""}, {"name": "a", "image": "x"}]}});
        let fields: Vec<String> = pod(&pod_obj, None).into_iter().map(|c| c.field).collect();
        assert_eq!(
            fields,
            ["spec.containers[0].image", "spec.containers[1].name"]
        );
        assert_eq!(pod(&json!({"spec": {}}), None)[0].field, "spec.containers");
    }

    #[test]
    fn services_need_ports_unless_headless_or_external_names() {
        assert_eq!(
            service(&json!({"spec": {"type": "ClusterIP"}}), None)[0].field,
            "spec.ports"
        );
        assert!(service(&json!({"spec": {"clusterIP": "None"}}), None).is_empty());
        let two = json!({"spec": {"ports": [{"port": 80}, {"port": 443, "name": "https"}]}});
        assert_eq!(service(&two, None)[0].field, "spec.ports[0].name");
    }

    #[test]
    fn config_keys_reject_slashes() {
        assert_eq!(
            data_keys(&json!({"data": {"a/b": "x", "ok.key": "y"}}), None).len(),
            1
        );
    }
}
