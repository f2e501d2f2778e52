//! The structural-schema rules apiextensions.k8s.io/v1 imposes on each version's
//! `openAPIV3Schema`: every field typed, arrays with items, no `$ref`, defaults that fit.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::{json, Value};

use super::schema::{self, Schema};
use crate::error::Cause;

/// Everything that keeps `root` (at field path `path`) from being a structural schema.
pub fn check(root: &JSONSchemaProps, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    match root.type_.as_deref() {
        None | Some("") => out.push(Cause::required(
            format!("{path}.type"),
            "must not be empty at the root",
        )),
        Some("object") => {}
        Some(other) => out.push(Cause::invalid(
            format!("{path}.type"),
            &json!(other),
            "must be object at the root",
        )),
    }
    if let Some(meta) = root.properties.as_ref().and_then(|p| p.get("metadata")) {
        let extra = meta
            .properties
            .iter()
            .flatten()
            .any(|(k, _)| k != "name" && k != "generateName");
        if extra || meta.type_.as_deref().is_some_and(|t| t != "object") {
            out.push(Cause::forbidden(
                format!("{path}.properties[metadata]"),
                "must not specify anything other than name and generateName, but metadata is implicitly specified",
            ));
        }
    }
    node(root, path, true, &mut out);
    if out.is_empty() {
        if let Err(e) = Schema::compile(root, path) {
            out.push(Cause::invalid(e.path, &e.value, &e.message));
        }
    }
    out
}

fn node(s: &JSONSchemaProps, path: &str, root: bool, out: &mut Vec<Cause>) {
    forbidden_keywords(s, path, out);
    let ty = s.type_.as_deref().unwrap_or_default();
    let int_or_string = s.x_kubernetes_int_or_string.unwrap_or(false);
    let preserve = s.x_kubernetes_preserve_unknown_fields;
    if preserve == Some(false) {
        out.push(Cause::invalid(
            format!("{path}.x-kubernetes-preserve-unknown-fields"),
            &json!(false),
            "must be true or undefined",
        ));
    }
    if ty.is_empty() && !root && !int_or_string && preserve != Some(true) {
        out.push(Cause::required(
            format!("{path}.type"),
            "must not be empty for specified object fields",
        ));
    }
    if int_or_string && !ty.is_empty() {
        out.push(Cause::invalid(
            format!("{path}.type"),
            &json!(ty),
            "must be empty if x-kubernetes-int-or-string is true",
        ));
    }
    if s.x_kubernetes_embedded_resource == Some(true) && ty != "object" {
        out.push(Cause::invalid(
            format!("{path}.type"),
            &json!(ty),
            "must be object if x-kubernetes-embedded-resource is true",
        ));
    }
    if ty == "array" && s.items.is_none() {
        out.push(Cause::required(
            format!("{path}.items"),
            "must be specified",
        ));
    }
    if s.properties.as_ref().is_some_and(|p| !p.is_empty()) && s.additional_properties.is_some() {
        out.push(Cause::forbidden(
            format!("{path}.additionalProperties"),
            "additionalProperties and properties are mutual exclusive",
        ));
    }
    for (name, child) in s.properties.iter().flatten() {
        node(child, &format!("{path}.properties[{name}]"), false, out);
    }
    match &s.items {
        Some(JSONSchemaPropsOrArray::Schema(item)) => {
            node(item, &format!("{path}.items"), false, out)
        }
        Some(JSONSchemaPropsOrArray::Schemas(_)) => out.push(Cause::forbidden(
            format!("{path}.items"),
            "items must be a schema object and not an array",
        )),
        None => {}
    }
    match &s.additional_properties {
        Some(JSONSchemaPropsOrBool::Schema(extra)) => {
            node(extra, &format!("{path}.additionalProperties"), false, out)
        }
        Some(JSONSchemaPropsOrBool::Bool(false)) => out.push(Cause::forbidden(
            format!("{path}.additionalProperties"),
            "must not be false",
        )),
        _ => {}
    }
    check_default(s, path, out);
}

fn forbidden_keywords(s: &JSONSchemaProps, path: &str, out: &mut Vec<Cause>) {
    let present = [
        ("$ref", s.ref_path.is_some()),
        ("definitions", s.definitions.is_some()),
        ("dependencies", s.dependencies.is_some()),
        ("additionalItems", s.additional_items.is_some()),
        ("patternProperties", s.pattern_properties.is_some()),
        ("id", s.id.is_some()),
        ("$schema", s.schema.is_some()),
    ];
    for (keyword, set) in present {
        if set {
            out.push(Cause::forbidden(
                format!("{path}.{keyword}"),
                &format!("{keyword} is not supported"),
            ));
        }
    }
}

/// A default must survive pruning and satisfy its own schema.
fn check_default(s: &JSONSchemaProps, path: &str, out: &mut Vec<Cause>) {
    let Some(default) = s.default.as_ref().map(|d| &d.0) else {
        return;
    };
    let Ok(compiled) = Schema::compile(s, path) else {
        return;
    };
    let mut pruned: Value = default.clone();
    let unknown = schema::prune(&compiled, &mut pruned, false);
    if !unknown.is_empty() {
        out.push(Cause::invalid(
            format!("{path}.default"),
            default,
            "must not have unknown fields",
        ));
        return;
    }
    out.extend(schema::validate(
        &compiled,
        default,
        &format!("{path}.default"),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn causes(v: Value) -> Vec<String> {
        let props: JSONSchemaProps = match serde_json::from_value(v) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        check(&props, "s")
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn a_typed_object_schema_is_structural() {
        assert!(causes(json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "n": {"type": "integer", "default": 3}, "l": {"type": "array", "items": {"type": "string"}},
            "p": {"x-kubernetes-int-or-string": true}, "free": {"x-kubernetes-preserve-unknown-fields": true}}}}})).is_empty());
    }

    #[test]
    fn untyped_fields_itemless_arrays_and_bad_defaults_are_reported() {
        let got = causes(json!({"type": "object", "properties": {
            "a": {"properties": {}}, "l": {"type": "array"}, "n": {"type": "integer", "default": "x"}, "r": {"$ref": "#/x", "type": "string"}}}));
        assert_eq!(got, vec![
            "s.properties[a].type: Required value: must not be empty for specified object fields".to_owned(),
            "s.properties[l].items: Required value: must be specified".to_owned(),
            r#"s.properties[n].default: Invalid value: "string": s.properties[n].default in body must be of type integer: "string""#.to_owned(),
            "s.properties[r].$ref: Forbidden: $ref is not supported".to_owned(),
        ]);
    }

    #[test]
    fn root_must_be_an_object_and_patterns_must_compile() {
        assert_eq!(
            causes(json!({"type": "string"})),
            vec![r#"s.type: Invalid value: "string": must be object at the root"#]
        );
        let got = causes(
            json!({"type": "object", "properties": {"p": {"type": "string", "pattern": "(unclosed"}}}),
        );
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("s.properties[p].pattern: Invalid value: \"(unclosed\": must be a valid regular expression"), "{got:?}");
    }
}
