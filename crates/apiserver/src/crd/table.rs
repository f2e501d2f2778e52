//! Table output for custom resources: NAME, then the version's `additionalPrinterColumns`
//! (cells found by JSONPath), or NAME and AGE when it declares none.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceColumnDefinition;
use serde_json::{json, Value};

use super::jsonpath::JsonPath;
use crate::meta;
use crate::table::{human_duration, IncludeObject};

const NAME_DESC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// One printer column, its path parsed.
#[derive(Debug, Clone)]
pub struct PrinterColumn {
    name: String,
    kind: String,
    format: String,
    description: String,
    priority: i32,
    path: JsonPath,
}

impl PrinterColumn {
    /// The column a CRD declares; `None` when its JSONPath is outside the supported subset.
    pub fn new(def: &CustomResourceColumnDefinition) -> Option<Self> {
        Some(Self {
            name: def.name.clone(),
            kind: def.type_.clone(),
            format: def.format.clone().unwrap_or_default(),
            description: def.description.clone().unwrap_or_default(),
            priority: def.priority.unwrap_or(0),
            path: JsonPath::parse(&def.json_path).ok()?,
        })
    }

    /// The AGE column upstream shows when a CRD declares no columns.
    pub fn age() -> Option<Self> {
        Some(Self {
            name: "Age".to_owned(),
            kind: "date".to_owned(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            path: JsonPath::parse(".metadata.creationTimestamp").ok()?,
        })
    }

    fn definition(&self) -> Value {
        json!({"name": self.name, "type": self.kind, "format": self.format, "description": self.description, "priority": self.priority})
    }

    fn cell(&self, obj: &Value) -> Value {
        let Some(found) = self.path.find(obj).first().map(|v| (*v).clone()) else {
            return Value::Null;
        };
        match (self.kind.as_str(), &found) {
            ("date", Value::String(ts)) => match chrono::DateTime::parse_from_rfc3339(ts) {
                Ok(t) => {
                    let secs = chrono::Utc::now().signed_duration_since(t).num_seconds();
                    Value::String(human_duration(secs))
                }
                Err(_) => found,
            },
            _ => found,
        }
    }
}

/// A Table of `objects` with `columns` after NAME.
pub fn table(
    columns: &[PrinterColumn],
    objects: &[Value],
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let mut definitions = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESC, "priority": 0}),
    ];
    definitions.extend(columns.iter().map(PrinterColumn::definition));
    let rows: Vec<Value> = objects
        .iter()
        .map(|obj| {
            let mut cells = vec![json!(meta::name(obj))];
            cells.extend(columns.iter().map(|c| c.cell(obj)));
            let mut row = json!({"cells": cells});
            if let Some(object) = include.object(obj) {
                row["object"] = object;
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "columnDefinitions": definitions,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_columns_follow_name_and_dates_print_as_ages() {
        let def = |name: &str, kind: &str, path: &str| CustomResourceColumnDefinition {
            name: name.to_owned(),
            type_: kind.to_owned(),
            json_path: path.to_owned(),
            ..Default::default()
        };
        let columns: Vec<PrinterColumn> = [
            def("Spec", "string", ".spec.cronSpec"),
            def("Replicas", "integer", ".spec.replicas"),
            def("Age", "date", ".metadata.creationTimestamp"),
        ]
        .iter()
        .filter_map(PrinterColumn::new)
        .collect();
        let created = (chrono::Utc::now() - chrono::Duration::seconds(30)).to_rfc3339();
        let obj = json!({"metadata": {"name": "a", "creationTimestamp": created}, "spec": {"cronSpec": "* * * * *"}});
        let t = table(&columns, &[obj], IncludeObject::None, json!({}));
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(names, vec!["Name", "Spec", "Replicas", "Age"]);
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], json!("a"));
        assert_eq!(cells[1], json!("* * * * *"));
        assert_eq!(cells[2], Value::Null);
        assert!(
            cells[3].as_str().is_some_and(|s| s.ends_with('s')),
            "{cells}"
        );
    }
}
