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

/// A label selector (`matchLabels` / `matchExpressions`) in kubectl's text form.
pub fn selector_text(selector: Option<&Value>) -> String {
    let Some(sel) = selector else {
        return "<none>".to_owned();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.extend(
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())),
        );
    }
    if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
            let op = e
                .get("operator")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            parts.push(match op {
                "In" => format!("{key} in ({})", values.join(",")),
                "NotIn" => format!("{key} notin ({})", values.join(",")),
                "Exists" => key.to_owned(),
                "DoesNotExist" => format!("!{key}"),
                _ => format!("{key} {op}"),
            });
        }
    }
    if sel.get("matchLabels").is_none()
        && sel.get("matchExpressions").is_none()
        && sel.as_object().is_some()
    {
        // Selector maps without the LabelSelector wrapping (Services, RCs).
        if let Some(map) = sel.as_object() {
            parts.extend(
                map.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())),
            );
        }
    }
    if parts.is_empty() {
        "<none>".to_owned()
    } else {
        parts.join(",")
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
}
