//! Label selectors (pods, namespaces) and node selector terms, compiled once and matched
//! against label maps.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{NodeSelectorRequirement, NodeSelectorTerm};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Labels of an object.
pub type Labels = BTreeMap<String, String>;

/// One requirement on a label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    Gt(String, i64),
    Lt(String, i64),
    /// An operator that matches nothing (unknown or malformed).
    Never,
}

impl Requirement {
    fn parse(key: &str, operator: &str, values: Option<&Vec<String>>) -> Self {
        let key = key.to_owned();
        let values = values.cloned().unwrap_or_default();
        let number = || values.first().and_then(|v| v.parse::<i64>().ok());
        match operator {
            "In" => Requirement::In(key, values),
            "NotIn" => Requirement::NotIn(key, values),
            "Exists" => Requirement::Exists(key),
            "DoesNotExist" => Requirement::DoesNotExist(key),
            "Gt" => number().map_or(Requirement::Never, |n| Requirement::Gt(key, n)),
            "Lt" => number().map_or(Requirement::Never, |n| Requirement::Lt(key, n)),
            _ => Requirement::Never,
        }
    }

    fn matches(&self, labels: &Labels) -> bool {
        let int = |k: &str| labels.get(k).and_then(|v| v.parse::<i64>().ok());
        match self {
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
            Requirement::Gt(k, n) => int(k).is_some_and(|v| v > *n),
            Requirement::Lt(k, n) => int(k).is_some_and(|v| v < *n),
            Requirement::Never => false,
        }
    }
}

/// A compiled `metav1.LabelSelector`: every requirement must hold. The empty selector matches
/// everything; use `Option<Selector>` where an absent selector matches nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Compiles `selector`.
    pub fn new(selector: &LabelSelector) -> Self {
        let mut requirements: Vec<Requirement> = selector
            .match_labels
            .iter()
            .flatten()
            .map(|(k, v)| Requirement::In(k.clone(), vec![v.clone()]))
            .collect();
        for e in selector.match_expressions.iter().flatten() {
            requirements.push(Requirement::parse(&e.key, &e.operator, e.values.as_ref()));
        }
        Self { requirements }
    }

    /// A selector requiring `key` to have one of `values`.
    pub fn key_in(key: &str, values: Vec<String>) -> Self {
        Self {
            requirements: vec![Requirement::In(key.to_owned(), values)],
        }
    }

    /// A selector requiring `key` to have none of `values`.
    pub fn key_not_in(key: &str, values: Vec<String>) -> Self {
        Self {
            requirements: vec![Requirement::NotIn(key.to_owned(), values)],
        }
    }

    /// This selector with `other`'s requirements added.
    #[must_use]
    pub fn and(mut self, other: Selector) -> Self {
        self.requirements.extend(other.requirements);
        self
    }

    /// Whether the selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

/// A compiled node selector term: label expressions and `metadata.name` field expressions, all
/// of which must hold. A term with neither matches no node, as upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTerm {
    labels: Vec<Requirement>,
    fields: Vec<Requirement>,
}

impl NodeTerm {
    /// Compiles `term`.
    pub fn new(term: &NodeSelectorTerm) -> Self {
        let compile = |list: Option<&Vec<NodeSelectorRequirement>>| -> Vec<Requirement> {
            list.into_iter()
                .flatten()
                .map(|e| Requirement::parse(&e.key, &e.operator, e.values.as_ref()))
                .collect()
        };
        Self {
            labels: compile(term.match_expressions.as_ref()),
            fields: compile(term.match_fields.as_ref()),
        }
    }

    /// Whether the node named `name` with `labels` satisfies the term.
    pub fn matches(&self, name: &str, labels: &Labels) -> bool {
        if self.labels.is_empty() && self.fields.is_empty() {
            return false;
        }
        let mut fields = Labels::new();
        fields.insert("metadata.name".to_owned(), name.to_owned());
        self.labels.iter().all(|r| r.matches(labels))
            && self.fields.iter().all(|r| r.matches(&fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn selector_requires_labels_and_expressions() {
        let sel: LabelSelector = serde_json::from_value(json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}],
        }))
        .unwrap_or_default();
        let sel = Selector::new(&sel);
        assert!(sel.matches(&labels(&[("app", "web")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(!sel.matches(&labels(&[("app", "api")])));
        assert!(Selector::default().matches(&labels(&[])));
    }

    #[test]
    fn node_term_matches_labels_gt_and_name_fields() {
        let term: NodeSelectorTerm = serde_json::from_value(json!({
            "matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["4"]}],
            "matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
        }))
        .unwrap_or_default();
        let term = NodeTerm::new(&term);
        assert!(term.matches("n1", &labels(&[("cores", "8")])));
        assert!(!term.matches("n2", &labels(&[("cores", "8")])));
        assert!(!term.matches("n1", &labels(&[("cores", "2")])));
        assert!(!NodeTerm::new(&NodeSelectorTerm::default()).matches("n1", &labels(&[])));
    }
}
