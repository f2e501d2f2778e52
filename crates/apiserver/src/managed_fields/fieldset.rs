//! Sets of field paths, and their wire form `FieldsV1`.
//!
//! A path is a sequence of [`PathElement`]s: a field of an object (`f:replicas`), an item of an
//! associative list by its key fields (`k:{"name":"nginx"}`), an item of a set list by its value
//! (`v:"a"`), or an item by position (`i:0`, only read, never produced). A [`FieldSet`] is a trie
//! of such paths; a node is a *member* when the path ending there is in the set. In `FieldsV1`
//! every child is a JSON key with its prefix, and `"."` marks a node that is a member and also
//! has children.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::FieldManagerError;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathElement {
    /// A field of an object, or a key of a map.
    Field(String),
    /// An item of an associative list: its key fields and their values (JSON), sorted by name.
    Key(Vec<(String, String)>),
    /// An item of a set list: its value, as JSON.
    Value(String),
    /// An item of a list, by position.
    Index(usize),
}

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// The `FieldsV1` key of this element (`f:name`, `k:{…}`, `v:…`, `i:…`).
    pub fn to_fields_key(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(fields) => {
                let body: Vec<String> = fields
                    .iter()
                    .map(|(name, value)| format!("{}:{value}", Value::String(name.clone())))
                    .collect();
                format!("k:{{{}}}", body.join(","))
            }
            PathElement::Value(json) => format!("v:{json}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    /// Parses a `FieldsV1` key.
    ///
    /// # Errors
    /// [`FieldManagerError::InvalidFields`] for an unknown prefix or malformed JSON.
    pub fn from_fields_key(key: &str) -> Result<Self, FieldManagerError> {
        let bad = || FieldManagerError::InvalidFields(format!("unknown path element {key:?}"));
        let (prefix, rest) = key.split_once(':').ok_or_else(bad)?;
        match prefix {
            "f" => Ok(PathElement::Field(rest.to_owned())),
            "k" => match serde_json::from_str::<Value>(rest) {
                Ok(Value::Object(map)) => Ok(key_element(&map)),
                _ => Err(bad()),
            },
            "v" => serde_json::from_str::<Value>(rest)
                .map(|v| PathElement::Value(v.to_string()))
                .map_err(|_| bad()),
            "i" => rest.parse().map(PathElement::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

/// The path element of an associative-list item whose key fields are `fields`.
pub fn key_element(fields: &Map<String, Value>) -> PathElement {
    let mut pairs: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    pairs.sort();
    PathElement::Key(pairs)
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => a.cmp(b),
            (PathElement::Value(a), PathElement::Value(b)) => a.cmp(b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PathElement {
    /// As upstream prints paths in conflicts: `.spec`, `[name="nginx"]`, `[="a"]`, `[0]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(json) => write!(f, "[={json}]"),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A field path.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Path(pub Vec<PathElement>);

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|pe| write!(f, "{pe}"))
    }
}

/// A set of field paths, as a trie.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    member: bool,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds `path`.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path.split_first() {
            None => self.member = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether `path` is in the set.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// The subset below `element`, with paths relative to it.
    pub fn child(&self, element: &PathElement) -> Option<&FieldSet> {
        self.children.get(element)
    }

    /// Whether the set holds `path` or any path below it.
    pub fn touches(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => !self.is_empty(),
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.touches(rest)),
        }
    }

    /// Every path of the set, in order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Path>) {
        if self.member {
            out.push(Path(prefix.clone()));
        }
        for (pe, child) in &self.children {
            prefix.push(pe.clone());
            child.collect(prefix, out);
            prefix.pop();
        }
    }

    /// The paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.member |= other.member;
        for (pe, child) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(child),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out.pruned()
    }

    /// The paths in `self` that are not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            let rest = match other.children.get(pe) {
                Some(theirs) => child.difference(theirs),
                None => child.clone(),
            };
            out.children.insert(pe.clone(), rest);
        }
        out.pruned()
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (pe, child) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                out.children.insert(pe.clone(), child.intersection(theirs));
            }
        }
        out.pruned()
    }

    /// The subset below `element`, created empty when missing: builds a set in one walk.
    pub fn child_mut(&mut self, element: PathElement) -> &mut FieldSet {
        self.children.entry(element).or_default()
    }

    /// Whether the set has a node (member or not) at `element`.
    pub fn has_child(&self, element: &PathElement) -> bool {
        self.children.contains_key(element)
    }

    /// Adds the path ending at this node.
    pub fn mark(&mut self) {
        self.member = true;
    }

    /// Removes the paths of `other` in place: [`FieldSet::difference`] without copying `self`.
    pub fn subtract(&mut self, other: &FieldSet) {
        self.member &= !other.member;
        for (pe, theirs) in &other.children {
            if let Some(mine) = self.children.get_mut(pe) {
                mine.subtract(theirs);
                if mine.is_empty() {
                    self.children.remove(pe);
                }
            }
        }
    }

    /// Drops the subtree at each top-level field not accepted by `keep`.
    pub fn retain_top_level(&mut self, keep: impl Fn(&PathElement) -> bool) {
        self.children.retain(|pe, _| keep(pe));
    }

    fn pruned(mut self) -> Self {
        self.children.retain(|_, c| !c.is_empty());
        self
    }

    /// The `FieldsV1` JSON of the set.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.emit(false))
    }

    fn emit(&self, include_self: bool) -> Map<String, Value> {
        let mut out = Map::new();
        if include_self && self.member && !self.children.is_empty() {
            out.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for (pe, child) in &self.children {
            out.insert(pe.to_fields_key(), Value::Object(child.emit(true)));
        }
        out
    }

    /// Parses `FieldsV1` JSON.
    ///
    /// # Errors
    /// [`FieldManagerError::InvalidFields`] when the JSON is not a trie of valid path elements.
    pub fn from_fields_v1(fields: &Value) -> Result<Self, FieldManagerError> {
        let Value::Object(map) = fields else {
            return Err(FieldManagerError::InvalidFields(
                "fieldsV1 must be an object".to_owned(),
            ));
        };
        let mut out = FieldSet::new();
        for (key, value) in map {
            if key == "." {
                out.member = true;
                continue;
            }
            let pe = PathElement::from_fields_key(key)?;
            let mut child = FieldSet::from_fields_v1(value)?;
            if child.children.is_empty() {
                child.member = true;
            }
            out.children.insert(pe, child);
        }
        Ok(out)
    }
}
