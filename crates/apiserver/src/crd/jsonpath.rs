//! The JSONPath subset printer columns use: `.spec.x`, `.items[0]`, `.items[*].name`,
//! `['a.b']` and filters such as `.status.conditions[?(@.type=="Ready")].status`.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A named field.
    Field(String),
    /// A list index (negative counts from the end).
    Index(i64),
    /// Every element or value.
    Wildcard,
    /// The list elements whose field at `path` compares to `value`.
    Filter {
        /// The field inside the element.
        path: Vec<String>,
        /// `==` (true) or `!=` (false).
        equal: bool,
        /// The literal compared with.
        value: Value,
    },
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// A JSONPath outside the supported subset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported JSONPath {path:?}: {reason}")]
pub struct PathError {
    /// The path.
    pub path: String,
    /// What could not be parsed.
    pub reason: &'static str,
}

impl JsonPath {
    /// Parses `.a.b[0]`, with or without surrounding `{}` and a leading `$`.
    ///
    /// # Errors
    /// [`PathError`] for syntax outside the subset.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let err = |reason| PathError {
            path: text.to_owned(),
            reason,
        };
        let mut rest = text.trim();
        if let Some(inner) = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            rest = inner.trim();
        }
        rest = rest.strip_prefix('$').unwrap_or(rest);
        if rest.is_empty() {
            return Err(err("empty path"));
        }
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('.') {
                let end = after.find(['.', '[']).unwrap_or(after.len());
                let name = &after[..end];
                if name.is_empty() {
                    return Err(err("empty field name"));
                }
                steps.push(if name == "*" {
                    Step::Wildcard
                } else {
                    Step::Field(name.to_owned())
                });
                rest = &after[end..];
            } else if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']').ok_or_else(|| err("unclosed ["))?;
                // A filter's literal may contain ']' only inside quotes; keep it simple.
                let (inside, tail) = if after.starts_with("?(") {
                    let close = after.find(")]").ok_or_else(|| err("unclosed filter"))?;
                    (&after[..=close], &after[close + 2..])
                } else {
                    (&after[..end], &after[end + 1..])
                };
                steps.push(bracket(inside).ok_or_else(|| err("unsupported bracket expression"))?);
                rest = tail;
            } else {
                return Err(err("expected '.' or '['"));
            }
        }
        Ok(Self { steps })
    }

    /// Every value the path selects in `value`, in order.
    pub fn find<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![value];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                select(step, v, &mut next);
            }
            current = next;
        }
        current
    }
}

fn bracket(inside: &str) -> Option<Step> {
    let inside = inside.trim();
    if inside == "*" {
        return Some(Step::Wildcard);
    }
    if let Ok(i) = inside.parse::<i64>() {
        return Some(Step::Index(i));
    }
    if let Some(name) = quoted(inside) {
        return Some(Step::Field(name));
    }
    let expr = inside.strip_prefix("?(")?.strip_suffix(')')?.trim();
    let (lhs, rhs, equal) = match (expr.split_once("=="), expr.split_once("!=")) {
        (Some((l, r)), _) => (l, r, true),
        (None, Some((l, r))) => (l, r, false),
        _ => return None,
    };
    let path: Vec<String> = lhs
        .trim()
        .strip_prefix("@.")?
        .split('.')
        .map(str::to_owned)
        .collect();
    let rhs = rhs.trim();
    let value = match quoted(rhs) {
        Some(s) => Value::String(s),
        None => serde_json::from_str(rhs).ok()?,
    };
    Some(Step::Filter { path, equal, value })
}

fn quoted(s: &str) -> Option<String> {
    ['"', '\''].iter().find_map(|q| {
        s.strip_prefix(*q)
            .and_then(|r| r.strip_suffix(*q))
            .map(str::to_owned)
    })
}

fn select<'a>(step: &Step, v: &'a Value, out: &mut Vec<&'a Value>) {
    match (step, v) {
        (Step::Field(name), Value::Object(map)) => out.extend(map.get(name)),
        (Step::Index(i), Value::Array(items)) => {
            let idx = if *i < 0 { items.len() as i64 + i } else { *i };
            out.extend(usize::try_from(idx).ok().and_then(|i| items.get(i)));
        }
        (Step::Wildcard, Value::Array(items)) => out.extend(items.iter()),
        (Step::Wildcard, Value::Object(map)) => out.extend(map.values()),
        (Step::Filter { path, equal, value }, Value::Array(items)) => {
            for item in items {
                let found = path.iter().try_fold(item, |cur, key| cur.get(key));
                if found.is_some_and(|f| f == value) == *equal {
                    out.push(item);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn first(path: &str, v: &Value) -> Option<Value> {
        JsonPath::parse(path)
            .ok()
            .and_then(|p| p.find(v).first().map(|v| (*v).clone()))
    }

    #[test]
    fn dotted_fields_indexes_and_filters_select_values() {
        let obj = json!({"spec": {"x": 1, "list": [{"n": "a"}, {"n": "b"}]},
            "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(first(".spec.x", &obj), Some(json!(1)));
        assert_eq!(first("{.spec.list[1].n}", &obj), Some(json!("b")));
        assert_eq!(first(".spec.list[-1].n", &obj), Some(json!("b")));
        assert_eq!(
            first(r#".status.conditions[?(@.type=="Ready")].status"#, &obj),
            Some(json!("True"))
        );
        assert_eq!(first(".spec['x']", &obj), Some(json!(1)));
        assert_eq!(first(".spec.missing", &obj), None);
    }

    #[test]
    fn malformed_paths_are_rejected() {
        assert!(JsonPath::parse("spec.x").is_err());
        assert!(JsonPath::parse(".spec[").is_err());
        assert!(JsonPath::parse("").is_err());
    }
}
