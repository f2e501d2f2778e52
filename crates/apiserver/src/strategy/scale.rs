//! Where an object keeps the fields its `/scale` subresource shows, for types that do not use
//! the built-in layout (custom resources name them in their CRD).

use serde_json::{json, Map, Value};

/// JSON pointers to the replica counts and selector a `/scale` view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    /// Desired replicas (`/spec/replicas`).
    pub spec_replicas: String,
    /// Observed replicas (`/status/replicas`).
    pub status_replicas: String,
    /// The label selector, serialized as a string (`/status/selector`), if the type has one.
    pub label_selector: Option<String>,
}

impl ScalePaths {
    /// The desired replicas of `obj` (0 when unset).
    pub fn spec_replicas(&self, obj: &Value) -> Value {
        obj.pointer(&self.spec_replicas)
            .cloned()
            .unwrap_or(json!(0))
    }

    /// The autoscaling/v1 Scale view of `obj`.
    pub fn scale(&self, obj: &Value) -> Value {
        let selector = self
            .label_selector
            .as_deref()
            .and_then(|p| obj.pointer(p))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let mut metadata = Map::new();
        for key in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
        ] {
            if let Some(v) = obj.pointer(&format!("/metadata/{key}")) {
                metadata.insert(key.to_owned(), v.clone());
            }
        }
        json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": metadata,
            "spec": {"replicas": self.spec_replicas(obj)},
            "status": {
                "replicas": obj.pointer(&self.status_replicas).cloned().unwrap_or(json!(0)),
                "selector": selector,
            },
        })
    }

    /// Sets the desired replicas of `obj`, creating the objects on the way.
    pub fn set_replicas(&self, obj: &mut Value, replicas: i64) {
        let mut cur = obj;
        let segments: Vec<&str> = self.spec_replicas.split('/').skip(1).collect();
        let Some((last, parents)) = segments.split_last() else {
            return;
        };
        for seg in parents {
            let Some(map) = cur.as_object_mut() else {
                return;
            };
            let next = map
                .entry((*seg).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !next.is_object() {
                *next = Value::Object(Map::new());
            }
            cur = next;
        }
        if let Some(map) = cur.as_object_mut() {
            map.insert((*last).to_owned(), json!(replicas));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> ScalePaths {
        ScalePaths {
            spec_replicas: "/spec/size".to_owned(),
            status_replicas: "/status/size".to_owned(),
            label_selector: Some("/status/selector".to_owned()),
        }
    }

    #[test]
    fn scale_view_reads_the_named_paths() {
        let obj = json!({"metadata": {"name": "x"}, "spec": {"size": 2}, "status": {"size": 1, "selector": "app=x"}});
        let scale = paths().scale(&obj);
        assert_eq!(scale["spec"]["replicas"], json!(2));
        assert_eq!(scale["status"], json!({"replicas": 1, "selector": "app=x"}));
    }

    #[test]
    fn set_replicas_creates_missing_parents() {
        let mut obj = json!({"metadata": {"name": "x"}});
        paths().set_replicas(&mut obj, 4);
        assert_eq!(obj["spec"]["size"], json!(4));
    }
}
