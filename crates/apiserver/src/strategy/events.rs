//! Upstream's validation of Events. Every Event passes the legacy checks, in core/v1 terms (the
//! field paths name core fields, as upstream's do, whichever API the event came through); those
//! written through events.k8s.io/v1 also pass the strict checks of new-style events on create,
//! and may change little but their series on update.

use serde_json::{json, Value};

use crate::conversion::events::to_core;
use crate::error::Cause;
use crate::meta;

const REPORTING_INSTANCE_LIMIT: usize = 128;
const ACTION_LIMIT: usize = 128;
const REASON_LIMIT: usize = 128;
const NOTE_LIMIT: usize = 1024;

/// core/v1 Events: the legacy checks only.
pub fn core_event(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    legacy(obj)
}

/// events.k8s.io/v1 Events: the legacy checks, then the strict ones on create or the
/// immutable fields on update.
pub fn events_v1_event(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let Some(event) = as_core(obj) else {
        return Vec::new();
    };
    let mut causes = legacy(&event);
    match old.and_then(as_core) {
        None => causes.extend(strict(&event)),
        Some(old) => causes.extend(update(&event, &old)),
    }
    causes
}

fn as_core(obj: &Value) -> Option<Value> {
    let event = serde_json::from_value(obj.clone()).ok()?;
    serde_json::to_value(to_core(event)).ok()
}

fn text<'a>(event: &'a Value, field: &str) -> &'a str {
    event.get(field).and_then(Value::as_str).unwrap_or_default()
}

fn is_set(event: &Value, field: &str) -> bool {
    event.get(field).is_some_and(|v| !v.is_null())
}

fn legacy(event: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let namespace = meta::namespace(event);
    let involved = meta::str_at(event, "/involvedObject/namespace");
    let mismatch = || {
        Cause::invalid(
            "involvedObject.namespace",
            &json!(involved),
            "does not match event.namespace",
        )
    };
    if !is_set(event, "eventTime") {
        let matches = if involved.is_empty() {
            namespace.is_empty() || namespace == "default"
        } else {
            namespace == involved
        };
        if !matches {
            out.push(mismatch());
        }
        return out;
    }
    if involved.is_empty() && namespace != "default" && namespace != "kube-system" {
        out.push(mismatch());
    }
    let controller = text(event, "reportingComponent");
    if controller.is_empty() {
        out.push(Cause::required("reportingController", ""));
    } else if let Some(problem) = qualified_name_problem(controller) {
        out.push(Cause::invalid(
            "reportingController",
            &json!(controller),
            problem,
        ));
    }
    for (field, path, limit) in [
        (
            "reportingInstance",
            "reportingInstance",
            REPORTING_INSTANCE_LIMIT,
        ),
        ("action", "action", ACTION_LIMIT),
        ("reason", "reason", REASON_LIMIT),
    ] {
        let value = text(event, field);
        if value.is_empty() {
            out.push(Cause::required(path, ""));
        } else if value.len() > limit {
            out.push(too_long(path, limit));
        }
    }
    if text(event, "message").len() > NOTE_LIMIT {
        out.push(too_long("message", NOTE_LIMIT));
    }
    out
}

fn too_long(path: &str, limit: usize) -> Cause {
    Cause::invalid(
        path,
        &json!(""),
        &format!("can have at most {limit} characters"),
    )
}

fn strict(event: &Value) -> Vec<Cause> {
    let mut out = series(event);
    if !is_set(event, "eventTime") {
        out.push(Cause::required("eventTime", ""));
    }
    let kind = text(event, "type");
    if kind != "Normal" && kind != "Warning" {
        out.push(Cause::invalid(
            "type",
            &json!(""),
            &format!("has invalid value: {kind}"),
        ));
    }
    for field in ["firstTimestamp", "lastTimestamp"] {
        if is_set(event, field) {
            out.push(Cause::invalid(field, &json!(""), "needs to be unset"));
        }
    }
    if event.get("count").and_then(Value::as_i64).unwrap_or(0) != 0 {
        out.push(Cause::invalid("count", &json!(""), "needs to be unset"));
    }
    let source_set = ["/source/component", "/source/host"]
        .iter()
        .any(|p| !meta::str_at(event, p).is_empty());
    if source_set {
        out.push(Cause::invalid("source", &json!(""), "needs to be unset"));
    }
    out
}

fn series(event: &Value) -> Vec<Cause> {
    let Some(series) = event.get("series").filter(|s| s.is_object()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if series.get("count").and_then(Value::as_i64).unwrap_or(0) < 2 {
        out.push(Cause::invalid(
            "series.count",
            &json!(""),
            "should be at least 2",
        ));
    }
    if !is_set(series, "lastObservedTime") {
        out.push(Cause::required("series.lastObservedTime", ""));
    }
    out
}

/// The fields an events.k8s.io/v1 update may not change, by their core/v1 names.
const IMMUTABLE: &[(&str, &str)] = &[
    ("involvedObject", "involvedObject"),
    ("reason", "reason"),
    ("message", "message"),
    ("source", "source"),
    ("firstTimestamp", "firstTimestamp"),
    ("lastTimestamp", "lastTimestamp"),
    ("count", "count"),
    ("type", "type"),
    ("eventTime", "eventTime"),
    ("action", "action"),
    ("related", "related"),
    ("reportingComponent", "reportingController"),
    ("reportingInstance", "reportingInstance"),
];

fn update(event: &Value, old: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    if event.get("series") != old.get("series") {
        out.extend(series(event));
    }
    for (field, path) in IMMUTABLE {
        let now = event.get(*field).filter(|v| !v.is_null());
        if now != old.get(*field).filter(|v| !v.is_null()) {
            out.push(Cause::invalid(
                *path,
                now.unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
    }
    out
}

/// Why `name` is not a qualified name (`[prefix/]name`, name at most 63 characters of
/// alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric); `None` when it is one.
fn qualified_name_problem(name: &str) -> Option<&'static str> {
    let (prefix, local) = match name.split_once('/') {
        Some((p, l)) => (Some(p), l),
        None => (None, name),
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty()
            || !crate::strategy::NameRule::Subdomain
                .check(prefix)
                .is_empty()
        {
            return Some("prefix part must be a valid DNS subdomain");
        }
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let body_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if local.is_empty() || local.len() > 63 {
        return Some("name part must be no more than 63 characters");
    }
    if !body_ok || !edge_ok(local.chars().next()) || !edge_ok(local.chars().last()) {
        return Some("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_style() -> Value {
        json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "web.1", "namespace": "default"},
            "eventTime": "2025-01-01T00:00:00.000000Z",
            "regarding": {"kind": "Pod", "name": "web", "namespace": "default"},
            "reason": "Started", "action": "Start", "note": "started", "type": "Normal",
            "reportingController": "example.com/ctl", "reportingInstance": "ctl-1",
        })
    }

    fn fields(causes: &[Cause]) -> Vec<&str> {
        causes.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn a_complete_new_style_event_is_valid() {
        assert_eq!(events_v1_event(&new_style(), None), Vec::new());
    }

    #[test]
    fn new_style_events_need_time_controller_instance_and_action() {
        let mut event = new_style();
        for key in ["eventTime", "reportingController", "action"] {
            event.as_object_mut().map(|m| m.remove(key));
        }
        let causes = events_v1_event(&event, None);
        assert_eq!(fields(&causes), vec!["eventTime"]);
        event["eventTime"] = json!("2025-01-01T00:00:00.000000Z");
        let causes = events_v1_event(&event, None);
        assert_eq!(fields(&causes), vec!["reportingController", "action"]);
    }

    #[test]
    fn new_style_events_may_not_set_deprecated_fields_or_odd_types() {
        let mut event = new_style();
        event["deprecatedCount"] = json!(3);
        event["type"] = json!("Bad");
        event["series"] = json!({"count": 1, "lastObservedTime": "2025-01-01T00:00:00.000000Z"});
        let causes = events_v1_event(&event, None);
        assert_eq!(fields(&causes), vec!["series.count", "type", "count"]);
    }

    #[test]
    fn updates_may_change_the_series_but_not_the_note() {
        let old = new_style();
        let mut new = new_style();
        new["series"] = json!({"count": 2, "lastObservedTime": "2025-01-01T00:01:00.000000Z"});
        assert_eq!(events_v1_event(&new, Some(&old)), Vec::new());
        new["note"] = json!("other");
        assert_eq!(fields(&events_v1_event(&new, Some(&old))), vec!["message"]);
    }

    #[test]
    fn legacy_events_must_match_their_objects_namespace() {
        let event = json!({"metadata": {"name": "e", "namespace": "a"},
            "involvedObject": {"kind": "Pod", "namespace": "b"}});
        assert_eq!(
            fields(&core_event(&event, None)),
            vec!["involvedObject.namespace"]
        );
        let event = json!({"metadata": {"name": "e", "namespace": "default"},
            "involvedObject": {"kind": "Node"}});
        assert_eq!(core_event(&event, None), Vec::new());
    }
}
