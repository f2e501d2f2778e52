//! Validating a value against a compiled schema, with upstream's messages
//! (`spec.replicas in body must be of type integer: "string"`).

use serde_json::{json, Value};

use super::{child, format, Additional, Schema, Type};
use crate::error::Cause;

/// Every way `value` (at field path `path`, "" for the root) breaks `schema`.
pub fn validate(schema: &Schema, value: &Value, path: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    check(schema, value, path, &mut out);
    out
}

/// The name of a value's JSON type, as upstream reports it.
fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn is_integer(value: &Value) -> bool {
    match value {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn matches_type(kind: Type, value: &Value) -> bool {
    match kind {
        Type::Object => value.is_object(),
        Type::Array => value.is_array(),
        Type::String => value.is_string(),
        Type::Integer => is_integer(value),
        Type::Number => value.is_number(),
        Type::Boolean => value.is_boolean(),
    }
}

/// A `FieldValueTypeInvalid` cause: the value shown is the type that was given.
pub(super) fn type_invalid(path: &str, expected: &str, given: &str) -> Cause {
    Cause {
        reason: "FieldValueTypeInvalid",
        message: format!(
            "Invalid value: \"{given}\": {path} in body must be of type {expected}: \"{given}\""
        ),
        field: path.to_owned(),
    }
}

fn invalid(path: &str, value: &Value, detail: String) -> Cause {
    Cause::invalid(path, value, &format!("{path} in body {detail}"))
}

fn check(schema: &Schema, value: &Value, path: &str, out: &mut Vec<Cause>) {
    if value.is_null() {
        if !schema.nullable {
            if let Some(kind) = schema.kind {
                out.push(type_invalid(path, kind.name(), "null"));
            }
        }
        return;
    }
    if let Some(kind) = schema.kind {
        if !matches_type(kind, value) {
            out.push(type_invalid(path, kind.name(), type_of(value)));
            return;
        }
    } else if schema.int_or_string && !(is_integer(value) || value.is_string()) {
        out.push(type_invalid(path, "integer-or-string", type_of(value)));
        return;
    }
    if let Some(problem) = schema
        .format
        .as_deref()
        .and_then(|f| format::check(f, value))
    {
        out.push(type_invalid_with(path, &problem, value));
    }
    if !schema.enumeration.is_empty() && !schema.enumeration.iter().any(|e| same(e, value)) {
        out.push(not_supported(path, value, &schema.enumeration));
    }
    match value {
        Value::String(s) => check_string(schema, s, value, path, out),
        Value::Number(_) => check_number(schema, value, path, out),
        Value::Array(items) => check_array(schema, items, value, path, out),
        Value::Object(map) => check_object(schema, map, path, out),
        _ => {}
    }
    check_combinators(schema, value, path, out);
}

/// A format failure: `spec.at in body must be of type date-time: "yesterday"`.
fn type_invalid_with(path: &str, format: &str, value: &Value) -> Cause {
    let shown = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Cause {
        reason: "FieldValueTypeInvalid",
        message: format!(
            "Invalid value: {value}: {path} in body must be of type {format}: {}",
            json!(shown)
        ),
        field: path.to_owned(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn not_supported(path: &str, value: &Value, allowed: &[Value]) -> Cause {
    let list: Vec<String> = allowed
        .iter()
        .map(|v| match v {
            Value::String(s) => json!(s).to_string(),
            other => json!(other.to_string()).to_string(),
        })
        .collect();
    Cause {
        reason: "FieldValueNotSupported",
        message: format!(
            "Unsupported value: {value}: supported values: {}",
            list.join(", ")
        ),
        field: path.to_owned(),
    }
}

fn check_string(schema: &Schema, s: &str, value: &Value, path: &str, out: &mut Vec<Cause>) {
    let chars = s.chars().count() as i64;
    if let Some(max) = schema.max_length.filter(|m| chars > *m) {
        out.push(Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be longer than {max}"),
            field: path.to_owned(),
        });
    }
    if let Some(min) = schema.min_length.filter(|m| chars < *m) {
        out.push(invalid(
            path,
            value,
            format!("should be at least {min} chars long"),
        ));
    }
    if let Some((source, regex)) = &schema.pattern {
        if !regex.is_match(s) {
            out.push(invalid(path, value, format!("should match '{source}'")));
        }
    }
}

fn check_number(schema: &Schema, value: &Value, path: &str, out: &mut Vec<Cause>) {
    let Some(n) = value.as_f64() else { return };
    if let Some(max) = schema.maximum {
        if n > max || (schema.exclusive_maximum && n == max) {
            let how = if schema.exclusive_maximum {
                "less than"
            } else {
                "less than or equal to"
            };
            out.push(invalid(path, value, format!("should be {how} {max}")));
        }
    }
    if let Some(min) = schema.minimum {
        if n < min || (schema.exclusive_minimum && n == min) {
            let how = if schema.exclusive_minimum {
                "greater than"
            } else {
                "greater than or equal to"
            };
            out.push(invalid(path, value, format!("should be {how} {min}")));
        }
    }
    if let Some(factor) = schema.multiple_of.filter(|f| *f > 0.0) {
        let q = n / factor;
        if (q - q.round()).abs() > 1e-9 {
            out.push(invalid(
                path,
                value,
                format!("should be a multiple of {factor}"),
            ));
        }
    }
}

fn check_array(schema: &Schema, items: &[Value], value: &Value, path: &str, out: &mut Vec<Cause>) {
    let len = items.len() as i64;
    if let Some(max) = schema.max_items.filter(|m| len > *m) {
        out.push(Cause {
            reason: "FieldValueTooMany",
            message: format!("Too many: {len}: must have at most {max} items"),
            field: path.to_owned(),
        });
    }
    if let Some(min) = schema.min_items.filter(|m| len < *m) {
        out.push(invalid(
            path,
            &json!(len),
            format!("should have at least {min} items"),
        ));
    }
    if schema.unique_items {
        let duplicate = items
            .iter()
            .enumerate()
            .any(|(i, a)| items[..i].iter().any(|b| same(a, b)));
        if duplicate {
            out.push(invalid(
                path,
                value,
                "shouldn't contain duplicates".to_owned(),
            ));
        }
    }
    if let Some(item_schema) = &schema.items {
        for (i, item) in items.iter().enumerate() {
            check(item_schema, item, &format!("{path}[{i}]"), out);
        }
    }
}

fn check_object(
    schema: &Schema,
    map: &serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<Cause>,
) {
    for name in &schema.required {
        if !map.contains_key(name) {
            out.push(Cause::required(child(path, name), ""));
        }
    }
    let count = map.len() as i64;
    if let Some(max) = schema.max_properties.filter(|m| count > *m) {
        out.push(Cause {
            reason: "FieldValueTooMany",
            message: format!("Too many: {count}: must have at most {max} items"),
            field: path.to_owned(),
        });
    }
    if let Some(min) = schema.min_properties.filter(|m| count < *m) {
        out.push(invalid(
            path,
            &json!(count),
            format!("should have at least {min} properties"),
        ));
    }
    if schema.embedded {
        for key in ["apiVersion", "kind"] {
            if map
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                out.push(Cause::required(child(path, key), "must not be empty"));
            }
        }
    }
    for (key, prop) in &schema.properties {
        if let Some(v) = map.get(key) {
            check(prop, v, &child(path, key), out);
        }
    }
    if let Additional::Schema(extra) = &schema.additional {
        for (key, v) in map {
            if !schema.properties.contains_key(key) {
                check(extra, v, &child(path, key), out);
            }
        }
    }
}

fn check_combinators(schema: &Schema, value: &Value, path: &str, out: &mut Vec<Cause>) {
    for part in &schema.all_of {
        check(part, value, path, out);
    }
    let passes = |s: &Schema| validate(s, value, path).is_empty();
    if !schema.any_of.is_empty() && !schema.any_of.iter().any(passes) {
        out.push(invalid(
            path,
            value,
            "must validate at least one schema (anyOf)".to_owned(),
        ));
    }
    if !schema.one_of.is_empty() && schema.one_of.iter().filter(|s| passes(s)).count() != 1 {
        out.push(invalid(
            path,
            value,
            "must validate one and only one schema (oneOf)".to_owned(),
        ));
    }
    if schema.not.as_deref().is_some_and(passes) {
        out.push(invalid(
            path,
            value,
            "must not validate the schema (not)".to_owned(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(v: Value) -> Schema {
        match Schema::from_json(&v) {
            Ok(s) => s,
            Err(e) => panic!("schema does not compile: {e}"),
        }
    }

    fn messages(s: &Schema, v: Value) -> Vec<String> {
        validate(s, &v, "")
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    fn crontab() -> Schema {
        schema(
            json!({"type": "object", "properties": {"spec": {"type": "object", "required": ["cronSpec"], "properties": {
                "cronSpec": {"type": "string", "pattern": "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$"},
                "image": {"type": "string", "maxLength": 10, "minLength": 2},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "port": {"x-kubernetes-int-or-string": true},
                "note": {"type": "string", "nullable": true},
                "at": {"type": "string", "format": "date-time"}
            }}}}),
        )
    }

    #[test]
    fn wrong_type_is_reported_in_upstream_form() {
        let got = messages(
            &crontab(),
            json!({"spec": {"cronSpec": "* * * * *", "replicas": "three"}}),
        );
        assert_eq!(
            got,
            vec![
                r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
            ]
        );
    }

    #[test]
    fn required_enum_pattern_and_bounds_are_all_reported() {
        let got = messages(
            &crontab(),
            json!({"spec": {"replicas": 11, "mode": "c", "image": "a"}}),
        );
        assert_eq!(got, vec![
            "spec.cronSpec: Required value".to_owned(),
            r#"spec.image: Invalid value: "a": spec.image in body should be at least 2 chars long"#.to_owned(),
            r#"spec.mode: Unsupported value: "c": supported values: "a", "b""#.to_owned(),
            "spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10".to_owned(),
        ]);
        let got = messages(&crontab(), json!({"spec": {"cronSpec": "every minute"}}));
        assert_eq!(got.len(), 1);
        assert!(got[0].contains("should match '^(\\d+|\\*)"), "{got:?}");
    }

    #[test]
    fn lengths_and_item_counts_use_too_long_and_too_many() {
        let got = messages(
            &crontab(),
            json!({"spec": {"cronSpec": "* * * * *", "image": "abcdefghijkl", "tags": ["a", "b", "c"]}}),
        );
        assert_eq!(
            got,
            vec![
                "spec.image: Too long: may not be longer than 10".to_owned(),
                "spec.tags: Too many: 3: must have at most 2 items".to_owned(),
            ]
        );
    }

    #[test]
    fn int_or_string_nullable_and_format_are_honoured() {
        let ok = json!({"spec": {"cronSpec": "* * * * *", "port": "http", "note": null, "at": "2024-01-02T03:04:05Z"}});
        assert!(messages(&crontab(), ok).is_empty());
        let got = messages(
            &crontab(),
            json!({"spec": {"cronSpec": "* * * * *", "port": true, "at": "yesterday"}}),
        );
        assert_eq!(got, vec![
            r#"spec.at: Invalid value: "yesterday": spec.at in body must be of type date-time: "yesterday""#.to_owned(),
            r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer-or-string: "boolean""#.to_owned(),
        ]);
    }

    #[test]
    fn additional_properties_schema_checks_every_value() {
        let s = schema(json!({"type": "object", "additionalProperties": {"type": "integer"}}));
        let got = messages(&s, json!({"a": 1, "b": "x"}));
        assert_eq!(
            got,
            vec![r#"b: Invalid value: "string": b in body must be of type integer: "string""#]
        );
    }

    #[test]
    fn embedded_resources_need_api_version_and_kind() {
        let s = schema(
            json!({"type": "object", "properties": {"template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true}}}),
        );
        let got = messages(&s, json!({"template": {"kind": "Pod"}}));
        assert_eq!(
            got,
            vec!["template.apiVersion: Required value: must not be empty"]
        );
    }
}
