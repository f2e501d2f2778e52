//! `metadata.managedFields`: one entry per manager, read from and written to objects.

use serde_json::{json, Map, Value};

use super::fieldset::FieldSet;
use super::FieldManagerError;

/// The kind of write that made a manager own its fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    /// Server-side apply: the manager's fields are exactly those of its last applied
    /// configuration.
    Apply,
    /// Any other write: the manager owns the fields it changed.
    Update,
}

impl Operation {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedEntry {
    /// Who: the `fieldManager`, or the User-Agent's product.
    pub manager: String,
    /// How the fields were written.
    pub operation: Operation,
    /// The API version of the write.
    pub api_version: String,
    /// The subresource written through ("" for the main resource).
    pub subresource: String,
    /// When the manager last changed the object (RFC 3339).
    pub time: Option<String>,
    /// The fields the manager owns.
    pub fields: FieldSet,
}

impl ManagedEntry {
    /// Whether this entry belongs to the writer identified by the arguments. Appliers are one
    /// manager whatever API version they apply with; updaters are one per API version.
    pub fn is(&self, manager: &str, operation: Operation, api_version: &str, sub: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == sub
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    /// The manager as conflict messages name it: `"name"`, its subresource, and for updaters the
    /// API version they wrote with.
    pub fn describe(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            out.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == Operation::Update {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn decode(value: &Value) -> Result<Self, FieldManagerError> {
        let bad = |what: &str| FieldManagerError::InvalidFields(what.to_owned());
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
        let operation = match text("operation") {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return Err(bad("operation must be `Apply` or `Update`")),
        };
        if text("apiVersion").is_empty() {
            return Err(bad("apiVersion must not be empty"));
        }
        if text("fieldsType") != "FieldsV1" {
            return Err(bad("fieldsType must be FieldsV1"));
        }
        let fields = match value.get("fieldsV1") {
            Some(v) => FieldSet::from_fields_v1(v)?,
            None => FieldSet::new(),
        };
        Ok(Self {
            manager: text("manager").to_owned(),
            operation,
            api_version: text("apiVersion").to_owned(),
            subresource: text("subresource").to_owned(),
            time: value.get("time").and_then(Value::as_str).map(str::to_owned),
            fields,
        })
    }

    fn encode(&self) -> Value {
        let mut out = Map::new();
        out.insert("manager".to_owned(), json!(self.manager));
        out.insert("operation".to_owned(), json!(self.operation.as_str()));
        out.insert("apiVersion".to_owned(), json!(self.api_version));
        if let Some(time) = &self.time {
            out.insert("time".to_owned(), json!(time));
        }
        out.insert("fieldsType".to_owned(), json!("FieldsV1"));
        out.insert("fieldsV1".to_owned(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            out.insert("subresource".to_owned(), json!(self.subresource));
        }
        Value::Object(out)
    }
}

/// The entries of `obj`'s `metadata.managedFields` (none when absent).
///
/// # Errors
/// [`FieldManagerError::InvalidFields`] when an entry is malformed.
pub fn decode(obj: &Value) -> Result<Vec<ManagedEntry>, FieldManagerError> {
    match obj.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items.iter().map(ManagedEntry::decode).collect(),
        Some(_) => Err(FieldManagerError::InvalidFields(
            "managedFields must be a list".to_owned(),
        )),
    }
}

/// Whether `obj` asks for its managed fields to be reset: a list of only empty entries (`[{}]`).
pub fn asks_reset(obj: &Value) -> bool {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|items| {
            !items.is_empty()
                && items
                    .iter()
                    .all(|i| i.as_object().is_some_and(Map::is_empty))
        })
}

/// Writes `entries` into `obj`'s metadata in upstream's order (appliers first, then by time,
/// manager, API version, subresource); no entries removes the field.
pub fn encode(obj: &mut Value, mut entries: Vec<ManagedEntry>) {
    entries.retain(|e| !e.fields.is_empty());
    if entries.is_empty() {
        crate::meta::remove_meta(obj, "managedFields");
        return;
    }
    entries.sort_by(|a, b| {
        (
            a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let list: Vec<Value> = entries.iter().map(ManagedEntry::encode).collect();
    crate::meta::set_meta(obj, "managedFields", Value::Array(list));
}
