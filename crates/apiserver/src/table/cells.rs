//! Cell helpers shared by the column definitions.

use serde_json::Value;

/// Upstream's short human duration (`45s`, `3m2s`, `5h`, `2d3h`, `4y10d`).
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    if s < 120 {
        return format!("{s}s");
    }
    let minutes = s / 60;
    if minutes < 10 {
        let rem = s % 60;
        return if rem == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{rem}s")
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = s / 3600;
    if hours < 8 {
        let rem = minutes % 60;
        return if rem == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{rem}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let rem = hours % 24;
        return if rem == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{rem}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = hours / 24;
        let rem = days % 365;
        return if rem == 0 {
            format!("{}y", days / 365)
        } else {
            format!("{}y{rem}d", days / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of a timestamp field as a human duration, `<unknown>` when absent.
pub fn age_of(timestamp: Option<&str>) -> Value {
    let Some(ts) = timestamp else {
        return Value::String("<unknown>".to_owned());
    };
    match chrono::DateTime::parse_from_rfc3339(ts) {
        Ok(t) => {
            let secs = chrono::Utc::now().signed_duration_since(t).num_seconds();
            Value::String(human_duration(secs))
        }
        Err(_) => Value::String("<unknown>".to_owned()),
    }
}

/// A string field at a JSON pointer, `<none>` when missing or empty.
pub fn str_or_none(obj: &Value, pointer: &str) -> Value {
    match obj.pointer(pointer).and_then(Value::as_str) {
        Some(s) if !s.is_empty() => Value::String(s.to_owned()),
        _ => Value::String("<none>".to_owned()),
    }
}

/// An integer field at a JSON pointer, 0 when missing.
pub fn int_at(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The number of entries of a map or list at a JSON pointer.
pub fn count_at(obj: &Value, pointer: &str) -> i64 {
    match obj.pointer(pointer) {
        Some(Value::Object(m)) => m.len() as i64,
        Some(Value::Array(a)) => a.len() as i64,
        _ => 0,
    }
}

/// A label map (`{"app": "web"}`) as sorted `k=v` pairs, `<none>` when empty.
pub fn labels_text(map: Option<&Value>) -> String {
    let mut pairs: Vec<String> = map
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    if pairs.is_empty() {
        "<none>".to_owned()
    } else {
        pairs.join(",")
    }
}

/// A LabelSelector's requirements in selector syntax, sorted by key; empty when it selects all.
pub fn selector_requirements(sel: &Value) -> String {
    let mut parts: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.extend(
            labels
                .iter()
                .map(|(k, v)| (k.clone(), format!("{k}={}", v.as_str().unwrap_or_default()))),
        );
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let op = e
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        values.sort_unstable();
        let text = match op {
            "In" if values.len() == 1 => format!("{key}={}", values.join("")),
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" if values.len() == 1 => format!("{key}!={}", values.join("")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_owned(),
            "DoesNotExist" => format!("!{key}"),
            _ => format!("{key} {op}"),
        };
        parts.push((key.to_owned(), text));
    }
    parts.sort();
    parts
        .into_iter()
        .map(|(_, text)| text)
        .collect::<Vec<_>>()
        .join(",")
}

/// A label selector in kubectl's text form, `<none>` when it is absent or selects everything.
/// Accepts a LabelSelector (`matchLabels` / `matchExpressions`) or a plain label map.
pub fn selector_text(selector: Option<&Value>) -> String {
    let Some(sel) = selector else {
        return "<none>".to_owned();
    };
    if sel.get("matchLabels").is_none() && sel.get("matchExpressions").is_none() {
        return labels_text(Some(sel));
    }
    let text = selector_requirements(sel);
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text
    }
}

/// Seconds since an RFC 3339 timestamp, `None` when absent or unparsable.
pub fn seconds_since(timestamp: Option<&str>) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(timestamp?).ok()?;
    Some(chrono::Utc::now().signed_duration_since(t).num_seconds())
}

/// Seconds between two RFC 3339 timestamps.
pub fn seconds_between(from: &str, to: &str) -> Option<i64> {
    let from = chrono::DateTime::parse_from_rfc3339(from).ok()?;
    let to = chrono::DateTime::parse_from_rfc3339(to).ok()?;
    Some(to.signed_duration_since(from).num_seconds())
}

/// Up to `max` items joined by commas, then ` + N more...` for the rest; `empty` when none.
pub fn with_more(items: &[String], total: usize, max: usize, empty: &str) -> String {
    if items.is_empty() {
        return empty.to_owned();
    }
    let shown = items
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if total > max {
        format!("{shown} + {} more...", total - max)
    } else {
        shown
    }
}

/// The condition of `type` in a `conditions` list at `pointer`, if any.
pub fn condition<'a>(obj: &'a Value, pointer: &str, kind: &str) -> Option<&'a Value> {
    obj.pointer(pointer)
        .and_then(Value::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
}

/// Whether the condition of `type` is `True`.
pub fn condition_true(obj: &Value, pointer: &str, kind: &str) -> bool {
    condition(obj, pointer, kind)
        .is_some_and(|c| c.get("status").and_then(Value::as_str) == Some("True"))
}

/// The string items of an array at a JSON pointer.
pub fn strings_at<'a>(obj: &'a Value, pointer: &str) -> Vec<&'a str> {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A JSON scalar (string or number, as int-or-string fields hold) as text.
pub fn scalar_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The container names and images of a pod template, comma-joined.
pub fn containers_and_images(obj: &Value, spec_pointer: &str) -> (Value, Value) {
    let containers = obj
        .pointer(&format!("{spec_pointer}/containers"))
        .and_then(Value::as_array);
    let names: Vec<&str> = containers
        .map(|c| {
            c.iter()
                .filter_map(|c| c.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let images: Vec<&str> = containers
        .map(|c| {
            c.iter()
                .filter_map(|c| c.get("image").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    (
        Value::String(names.join(",")),
        Value::String(images.join(",")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_kubectl_forms() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(185), "3m5s");
        assert_eq!(human_duration(60 * 42), "42m");
        assert_eq!(human_duration(3600 * 5 + 60 * 7), "5h7m");
        assert_eq!(human_duration(3600 * 30), "30h");
        assert_eq!(human_duration(3600 * 24 * 3 + 3600 * 4), "3d4h");
        assert_eq!(human_duration(3600 * 24 * 40), "40d");
    }

    #[test]
    fn selectors_print_sorted_in_selector_syntax() {
        let sel = serde_json::json!({
            "matchLabels": {"tier": "web", "app": "x"},
            "matchExpressions": [
                {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                {"key": "zone", "operator": "DoesNotExist"}
            ]
        });
        assert_eq!(
            selector_text(Some(&sel)),
            "app=x,env in (dev,prod),tier=web,!zone"
        );
        assert_eq!(selector_text(Some(&serde_json::json!({}))), "<none>");
        assert_eq!(
            selector_text(Some(&serde_json::json!({"b": "2", "a": "1"}))),
            "a=1,b=2"
        );
    }

    #[test]
    fn long_lists_end_with_how_many_more() {
        let items: Vec<String> = (1..=5).map(|i| format!("10.0.0.{i}:80")).collect();
        assert_eq!(
            with_more(&items[..3], 5, 3, "<none>"),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 2 more..."
        );
        assert_eq!(with_more(&[], 0, 3, "<none>"), "<none>");
    }
}
