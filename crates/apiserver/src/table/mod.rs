//! Table output (`application/json;as=Table;g=meta.k8s.io;v=v1`) for `kubectl get`.

mod cells;
mod cluster;
mod common;
mod core_v1;
mod nodes_events;
mod pod;
mod workloads;

pub use cells::{human_duration, selector_text};
pub use cluster::*;
pub use common::*;
pub use core_v1::*;
pub use nodes_events::*;
pub use pod::*;
pub use workloads::*;

use serde_json::{json, Value};

/// One column of a Table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Header text as upstream names it (`Name`, `Ready`, …); kubectl upper-cases it.
    pub name: &'static str,
    /// OpenAPI type: `string`, `integer`, `number`, `boolean`, `date`.
    pub kind: &'static str,
    /// OpenAPI format (`name` for the name column).
    pub format: &'static str,
    /// What the column shows.
    pub description: &'static str,
    /// 0: always shown; 1: only with `-o wide`.
    pub priority: u8,
    /// Computes the cell from the object.
    pub cell: fn(&Value) -> Value,
}

/// Which object each row carries (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    /// No object.
    None,
    /// PartialObjectMetadata (the default).
    Metadata,
    /// The whole object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }

    /// What a row carries of `obj`, if anything.
    pub fn object(self, obj: &Value) -> Option<Value> {
        match self {
            IncludeObject::None => None,
            IncludeObject::Object => Some(obj.clone()),
            IncludeObject::Metadata => Some(crate::meta::partial_of(obj)),
        }
    }
}

/// A Table of `objects`. `list_metadata` is the list's metadata (resourceVersion, continue).
pub fn table(
    columns: &[Column],
    objects: &[Value],
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let column_definitions: Vec<Value> = columns
        .iter()
        .map(|c| {
            json!({"name": c.name, "type": c.kind, "format": c.format, "description": c.description, "priority": c.priority})
        })
        .collect();
    let rows: Vec<Value> = objects.iter().map(|o| row(columns, o, include)).collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

fn row(columns: &[Column], obj: &Value, include: IncludeObject) -> Value {
    let cells: Vec<Value> = columns.iter().map(|c| (c.cell)(obj)).collect();
    let mut row = json!({"cells": cells});
    if let Some(object) = include.object(obj) {
        row["object"] = object;
    }
    row
}

/// Whether an Accept header asks for a meta.k8s.io Table.
pub fn wants_table(accept: &str) -> bool {
    accept
        .split(',')
        .next()
        .is_some_and(|first| first.contains("as=Table") && first.contains("g=meta.k8s.io"))
}

/// Whether an Accept header asks for metadata only: `as=PartialObjectMetadata` (an object or
/// watch events) or `as=PartialObjectMetadataList` (a list), as client-go's metadata client
/// and kube-rs's `*_metadata` calls send.
pub fn wants_metadata(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        first.contains("as=PartialObjectMetadata") && first.contains("g=meta.k8s.io")
    })
}
