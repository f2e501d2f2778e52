//! Columns every kind shares (NAME, AGE, the default table) and the column constructor.

use serde_json::{json, Value};

use super::cells::age_of;
use super::Column;
use crate::meta;

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// The NAME column.
pub const NAME: Column = Column {
    name: "Name",
    kind: "string",
    format: "name",
    description: NAME_DESC,
    priority: 0,
    cell: |o| json!(meta::name(o)),
};

/// The AGE column.
pub const AGE: Column = Column {
    name: "Age",
    kind: "string",
    format: "",
    description: AGE_DESC,
    priority: 0,
    cell: |o| {
        age_of(
            o.pointer("/metadata/creationTimestamp")
                .and_then(Value::as_str),
        )
    },
};

/// Columns of kinds upstream prints without a dedicated printer.
pub const DEFAULT_COLUMNS: &[Column] = &[
    NAME,
    Column {
        name: "Created At",
        kind: "date",
        format: "",
        description: AGE_DESC,
        priority: 0,
        cell: |o| {
            o.pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null)
        },
    },
];

/// NAME and AGE only.
pub const NAME_AGE: &[Column] = &[NAME, AGE];

/// The AGE cell computed from another timestamp field.
pub fn age_at(o: &Value, pointer: &str) -> Value {
    age_of(o.pointer(pointer).and_then(Value::as_str))
}

/// A column with no description; `priority` 1 shows only with `-o wide`.
pub const fn col(
    name: &'static str,
    kind: &'static str,
    priority: u8,
    cell: fn(&Value) -> Value,
) -> Column {
    Column {
        name,
        kind,
        format: "",
        description: "",
        priority,
        cell,
    }
}
