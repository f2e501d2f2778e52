//! Where a strategic merge patch learns how each field merges: a cursor over OpenAPI component
//! schemas that follows `properties`, `items`, `additionalProperties` and `$ref`s, and reads the
//! `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` extensions on the way.

use serde_json::{Map, Value};

/// The prefix of a `$ref` to a component schema.
const REF_PREFIX: &str = "#/components/schemas/";

/// How deep a chain of `$ref`s / `allOf` wrappers may go before the cursor gives up.
const MAX_REF_DEPTH: usize = 16;

/// A position in a type's schema; positions outside any known schema (custom resources, unknown
/// fields) are "unknown" and make the patch behave like a JSON merge patch there.
#[derive(Debug, Clone, Copy, Default)]
pub struct PatchSchema<'a> {
    definitions: Option<&'a Map<String, Value>>,
    node: Option<&'a Value>,
}

/// How one field merges, from its patch extensions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldStrategy<'a> {
    /// Lists merge element by element (by `merge_key` for lists of objects) instead of being
    /// replaced.
    pub merge: bool,
    /// The field (an object) is replaced whole instead of merged.
    pub replace: bool,
    /// The object (or each element) honours a `$retainKeys` directive.
    pub retain_keys: bool,
    /// The key identifying list elements (`name` for containers).
    pub merge_key: Option<&'a str>,
}

impl<'a> PatchSchema<'a> {
    /// A schema that knows nothing: every list is replaced, every object merged.
    pub fn unknown() -> Self {
        Self::default()
    }

    /// The schema of the component named `root` (`io.k8s.api.apps.v1.Deployment`) among
    /// `definitions` (the `components.schemas` of an OpenAPI v3 document).
    pub fn new(definitions: &'a Map<String, Value>, root: &str) -> Self {
        Self {
            definitions: Some(definitions),
            node: definitions.get(root),
        }
    }

    /// Whether this position has a schema.
    pub fn is_known(&self) -> bool {
        self.node.is_some()
    }

    fn at(&self, node: Option<&'a Value>) -> Self {
        Self {
            definitions: self.definitions,
            node,
        }
    }

    /// The node with `$ref`s and single-`$ref` `allOf` wrappers followed.
    fn resolved(&self) -> Option<&'a Value> {
        let mut node = self.node?;
        for _ in 0..MAX_REF_DEPTH {
            if let Some(target) = node.get("$ref").and_then(Value::as_str) {
                node = self.definitions?.get(target.strip_prefix(REF_PREFIX)?)?;
                continue;
            }
            let wrapped = node
                .get("allOf")
                .and_then(Value::as_array)
                .and_then(|all| all.first())
                .filter(|first| first.get("$ref").is_some());
            match wrapped {
                Some(first) => node = first,
                None => return Some(node),
            }
        }
        None
    }

    /// The schema of the object field `name` (or of a map's values).
    pub fn field(&self, name: &str) -> Self {
        let node = self.resolved().and_then(|n| {
            n.get("properties")
                .and_then(|p| p.get(name))
                .or_else(|| n.get("additionalProperties").filter(|v| v.is_object()))
        });
        self.at(node)
    }

    /// The schema of a list's elements.
    pub fn items(&self) -> Self {
        self.at(self.resolved().and_then(|n| n.get("items")))
    }

    /// A vendor extension (`x-kubernetes-list-type`, …) on this field, or else on the type it
    /// refers to.
    pub fn extension(&self, name: &str) -> Option<&'a Value> {
        self.node
            .and_then(|n| n.get(name))
            .or_else(|| self.resolved().and_then(|n| n.get(name)))
    }

    /// Whether this position is an object type that declares the field `name` (as opposed to a
    /// map, whose keys are free, or an unknown schema).
    pub fn has_property(&self, name: &str) -> bool {
        self.resolved()
            .and_then(|n| n.get("properties"))
            .is_some_and(|p| p.get(name).is_some())
    }

    /// Whether this position is an object type with declared fields (a struct, not a map).
    pub fn is_struct(&self) -> bool {
        self.resolved()
            .and_then(|n| n.get("properties"))
            .is_some_and(Value::is_object)
    }

    /// How this field merges.
    pub fn strategy(&self) -> FieldStrategy<'a> {
        let Some(node) = self.node else {
            return FieldStrategy::default();
        };
        let strategies = node
            .get("x-kubernetes-patch-strategy")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let has = |wanted: &str| strategies.split(',').any(|s| s.trim() == wanted);
        FieldStrategy {
            merge: has("merge"),
            replace: has("replace"),
            retain_keys: has("retainKeys"),
            merge_key: node
                .get("x-kubernetes-patch-merge-key")
                .and_then(Value::as_str),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definitions() -> Map<String, Value> {
        let defs = json!({
            "Pod": {"properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/PodSpec"}]}}},
            "PodSpec": {"properties": {"containers": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Container"},
                "x-kubernetes-patch-strategy": "merge",
                "x-kubernetes-patch-merge-key": "name"}}},
            "Container": {"properties": {"name": {"type": "string"}}}
        });
        match defs {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn cursor_follows_all_of_refs_and_reads_merge_key() {
        let defs = definitions();
        let containers = PatchSchema::new(&defs, "Pod")
            .field("spec")
            .field("containers");
        let strategy = containers.strategy();
        assert!(strategy.merge);
        assert_eq!(strategy.merge_key, Some("name"));
        assert!(containers.items().field("name").is_known());
    }

    #[test]
    fn unknown_fields_have_no_strategy() {
        let defs = definitions();
        let bogus = PatchSchema::new(&defs, "Pod").field("bogus").field("x");
        assert!(!bogus.is_known());
        assert_eq!(bogus.strategy(), FieldStrategy::default());
    }
}
