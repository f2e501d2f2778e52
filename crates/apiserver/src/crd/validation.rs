//! Validation and defaulting of CustomResourceDefinitions, after upstream's
//! `ValidateCustomResourceDefinition`: names, group, scope, versions, schemas, subresources and
//! printer columns.

use std::collections::HashSet;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames, CustomResourceDefinitionVersion,
};
use serde_json::{json, Value};

use super::definition::decode;
use super::jsonpath::JsonPath;
use super::structural;
use crate::error::Cause;
use crate::strategy::NameRule;

/// The annotation a CRD in a `*.k8s.io` or `*.kubernetes.io` group must carry.
const APPROVAL_ANNOTATION: &str = "api-approved.kubernetes.io";

/// Upstream's CRD defaults: singular and listKind from the kind, conversion `None`.
pub fn default_definition(obj: &mut Value) {
    let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !kind.is_empty() {
            if names
                .get("singular")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                names.insert("singular".to_owned(), json!(kind.to_lowercase()));
            }
            if names
                .get("listKind")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                names.insert("listKind".to_owned(), json!(format!("{kind}List")));
            }
        }
    }
    if !spec.get("conversion").is_some_and(Value::is_object) {
        spec.insert("conversion".to_owned(), json!({"strategy": "None"}));
    }
}

/// Every problem with a CRD (`old` is the stored one on update).
pub fn validate_definition(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let Ok(crd) = decode(obj) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let spec = &crd.spec;
    let name = crd.metadata.name.clone().unwrap_or_default();
    let expected = format!("{}.{}", spec.names.plural, spec.group);
    if name != expected {
        out.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    check_group(&crd, &mut out);
    match spec.scope.as_str() {
        "Cluster" | "Namespaced" => {}
        "" => out.push(Cause::required("spec.scope", "")),
        other => out.push(Cause::not_supported(
            "spec.scope",
            &json!(other),
            &["Cluster", "Namespaced"],
        )),
    }
    check_names(&spec.names, "spec.names", &mut out);
    check_versions(&spec.versions, &mut out);
    if let Some(conversion) = &spec.conversion {
        match conversion.strategy.as_str() {
            "None" => {}
            "Webhook" if conversion.webhook.is_none() => out.push(Cause::required(
                "spec.conversion.webhook",
                "required when strategy is set to Webhook",
            )),
            "Webhook" => {}
            other => out.push(Cause::not_supported(
                "spec.conversion.strategy",
                &json!(other),
                &["None", "Webhook"],
            )),
        }
    }
    if spec.preserve_unknown_fields == Some(true) {
        out.push(Cause::invalid(
            "spec.preserveUnknownFields",
            &json!(true),
            "must be false",
        ));
    }
    if let Some(old) = old.and_then(|o| decode(o).ok()) {
        check_update(&crd, &old, &mut out);
    }
    out
}

fn check_group(crd: &CustomResourceDefinition, out: &mut Vec<Cause>) {
    let group = crd.spec.group.as_str();
    if group.is_empty() {
        out.push(Cause::required("spec.group", ""));
        return;
    }
    out.extend(relabel(NameRule::Subdomain.check(group), "spec.group"));
    if !group.contains('.') {
        out.push(Cause::invalid(
            "spec.group",
            &json!(group),
            "should be a domain with at least one dot",
        ));
    }
    let protected = ["k8s.io", "kubernetes.io"]
        .iter()
        .any(|g| group == *g || group.ends_with(&format!(".{g}")));
    let approved = crd
        .metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key(APPROVAL_ANNOTATION));
    if protected && !approved {
        out.push(Cause::required(
            format!("metadata.annotations[{APPROVAL_ANNOTATION}]"),
            &format!("protected groups must have approval annotation \"{APPROVAL_ANNOTATION}\", see https://github.com/kubernetes/enhancements/pull/1111"),
        ));
    }
}

/// Name-rule causes report `metadata.name`; give them the field they are about.
fn relabel(causes: Vec<Cause>, field: &str) -> Vec<Cause> {
    causes
        .into_iter()
        .map(|c| Cause {
            field: field.to_owned(),
            ..c
        })
        .collect()
}

fn dns_1035(value: &str, field: &str, out: &mut Vec<Cause>) {
    if value.is_empty() {
        out.push(Cause::required(field, ""));
    } else {
        out.extend(relabel(NameRule::Label1035.check(value), field));
    }
}

fn check_kind(kind: &str, field: &str, out: &mut Vec<Cause>) {
    if kind.is_empty() {
        out.push(Cause::required(field, ""));
    } else if !NameRule::Label1035.check(&kind.to_lowercase()).is_empty() {
        out.push(Cause::invalid(
            field,
            &json!(kind),
            "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?",
        ));
    }
}

fn check_names(names: &CustomResourceDefinitionNames, path: &str, out: &mut Vec<Cause>) {
    dns_1035(&names.plural, &format!("{path}.plural"), out);
    dns_1035(
        names.singular.as_deref().unwrap_or_default(),
        &format!("{path}.singular"),
        out,
    );
    check_kind(&names.kind, &format!("{path}.kind"), out);
    let list_kind = names.list_kind.as_deref().unwrap_or_default();
    check_kind(list_kind, &format!("{path}.listKind"), out);
    if !list_kind.is_empty() && list_kind == names.kind {
        out.push(Cause::invalid(
            format!("{path}.listKind"),
            &json!(list_kind),
            "kind and listKind cannot be the same",
        ));
    }
    for (i, short) in names.short_names.iter().flatten().enumerate() {
        dns_1035(short, &format!("{path}.shortNames[{i}]"), out);
    }
    for (i, category) in names.categories.iter().flatten().enumerate() {
        dns_1035(category, &format!("{path}.categories[{i}]"), out);
    }
}

fn check_versions(versions: &[CustomResourceDefinitionVersion], out: &mut Vec<Cause>) {
    let listed = || serde_json::to_value(versions).unwrap_or_default();
    if versions.iter().filter(|v| v.storage).count() != 1 {
        out.push(Cause::invalid(
            "spec.versions",
            &listed(),
            "must have exactly one version marked as storage version",
        ));
    }
    if !versions.is_empty() && !versions.iter().any(|v| v.served) {
        out.push(Cause::invalid(
            "spec.versions",
            &listed(),
            "must have at least one version marked as served",
        ));
    }
    let mut seen = HashSet::new();
    for (i, version) in versions.iter().enumerate() {
        let path = format!("spec.versions[{i}]");
        dns_1035(&version.name, &format!("{path}.name"), out);
        if !seen.insert(version.name.as_str()) {
            out.push(Cause::duplicate(
                format!("{path}.name"),
                &json!(version.name),
            ));
        }
        check_version(version, &path, out);
    }
}

fn check_version(version: &CustomResourceDefinitionVersion, path: &str, out: &mut Vec<Cause>) {
    match version
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
    {
        Some(props) => out.extend(structural::check(
            props,
            &format!("{path}.schema.openAPIV3Schema"),
        )),
        None => out.push(Cause::required(
            format!("{path}.schema.openAPIV3Schema"),
            "schemas are required",
        )),
    }
    if let Some(scale) = version.subresources.as_ref().and_then(|s| s.scale.as_ref()) {
        let sub = format!("{path}.subresources.scale");
        scale_path(
            &scale.spec_replicas_path,
            &[".spec."],
            &format!("{sub}.specReplicasPath"),
            out,
        );
        scale_path(
            &scale.status_replicas_path,
            &[".status."],
            &format!("{sub}.statusReplicasPath"),
            out,
        );
        if let Some(selector) = &scale.label_selector_path {
            scale_path(
                selector,
                &[".spec.", ".status."],
                &format!("{sub}.labelSelectorPath"),
                out,
            );
        }
    }
    for (i, column) in version
        .additional_printer_columns
        .iter()
        .flatten()
        .enumerate()
    {
        let col = format!("{path}.additionalPrinterColumns[{i}]");
        if column.name.is_empty() {
            out.push(Cause::required(format!("{col}.name"), ""));
        }
        if !["integer", "number", "string", "boolean", "date"].contains(&column.type_.as_str()) {
            out.push(Cause::not_supported(
                format!("{col}.type"),
                &json!(column.type_),
                &["integer", "number", "string", "boolean", "date"],
            ));
        }
        if column.json_path.is_empty() {
            out.push(Cause::required(format!("{col}.jsonPath"), ""));
        } else if JsonPath::parse(&column.json_path).is_err() {
            out.push(Cause::invalid(
                format!("{col}.jsonPath"),
                &json!(column.json_path),
                "must be a simple json path",
            ));
        }
        if column.priority.is_some_and(|p| p < 0) {
            out.push(Cause::invalid(
                format!("{col}.priority"),
                &json!(column.priority),
                "must be greater than or equal to 0",
            ));
        }
    }
}

fn scale_path(path: &str, roots: &[&str], field: &str, out: &mut Vec<Cause>) {
    if path.is_empty() {
        out.push(Cause::required(field, ""));
        return;
    }
    let simple = path.split('.').skip(1).all(|s| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    });
    if !simple || !roots.iter().any(|r| path.starts_with(r)) {
        let under: Vec<&str> = roots.iter().map(|r| r.trim_end_matches('.')).collect();
        out.push(Cause::invalid(
            field,
            &json!(path),
            &format!("should be a json path under {}", under.join(" or ")),
        ));
    }
}

fn check_update(
    new: &CustomResourceDefinition,
    old: &CustomResourceDefinition,
    out: &mut Vec<Cause>,
) {
    if new.spec.group != old.spec.group {
        out.push(Cause::invalid(
            "spec.group",
            &json!(new.spec.group),
            "field is immutable",
        ));
    }
    if new.spec.scope != old.spec.scope {
        out.push(Cause::invalid(
            "spec.scope",
            &json!(new.spec.scope),
            "field is immutable",
        ));
    }
}

#[cfg(test)]
#[path = "validation_tests.rs"]
mod tests;
