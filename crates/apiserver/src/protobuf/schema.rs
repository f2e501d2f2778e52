//! The field table the decoder walks, parsed once from the generated `schema.txt`.
//!
//! `schema.txt` is written by `generate_schema.py` from the Kubernetes `.proto` files and OpenAPI
//! document that the k8s-pb crate is generated from; see that script for the line format.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The generated table.
const TABLE: &str = include_str!("schema.txt");

/// A field's wire-level type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Type {
    /// UTF-8 text.
    String,
    /// Opaque bytes (base64 in JSON).
    Bytes,
    /// A boolean varint.
    Bool,
    /// A signed 32-bit varint.
    Int32,
    /// A signed 64-bit varint.
    Int64,
    /// An unsigned 32-bit varint.
    UInt32,
    /// An unsigned 64-bit varint.
    UInt64,
    /// A 64-bit float.
    Double,
    /// A 32-bit float.
    Float,
    /// A nested message, by its full proto name.
    Message(&'static str),
}

impl Type {
    fn parse(text: &'static str) -> Self {
        match text {
            "string" => Type::String,
            "bytes" => Type::Bytes,
            "bool" => Type::Bool,
            "int32" | "sint32" => Type::Int32,
            "int64" | "sint64" => Type::Int64,
            "uint32" | "fixed32" => Type::UInt32,
            "uint64" | "fixed64" => Type::UInt64,
            "double" => Type::Double,
            "float" => Type::Float,
            message => Type::Message(message),
        }
    }
}

/// One field of a message.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    /// The protobuf tag.
    pub tag: u32,
    /// The JSON name.
    pub json: &'static str,
    /// A repeated field (JSON array).
    pub repeated: bool,
    /// A map field; `ty` is the key type and `value` the value type.
    pub map: bool,
    /// A message whose fields JSON merges into the parent (`json:",inline"`).
    pub inline: bool,
    /// Keep the field when it holds its zero value (required or pointer fields).
    pub keep_zero: bool,
    /// The element type (the key type for maps).
    pub ty: Type,
    /// The value type of a map.
    pub value: Option<Type>,
}

/// One message.
#[derive(Debug, Default)]
pub(super) struct Message {
    /// A wrapper whose single repeated field is the JSON array itself (`Verbs`, `ExtraValue`).
    pub list_wrapper: bool,
    /// Its fields, in tag order.
    pub fields: Vec<Field>,
}

impl Message {
    /// The field with `tag`.
    pub fn field(&self, tag: u32) -> Option<&Field> {
        self.fields.iter().find(|f| f.tag == tag)
    }
}

/// Messages by full name, and the message of each accepted group-version-kind.
#[derive(Debug, Default)]
pub(super) struct Schema {
    messages: HashMap<&'static str, Message>,
    kinds: HashMap<(&'static str, &'static str), &'static str>,
}

/// A line of the table that does not parse.
#[derive(Debug, Clone, thiserror::Error)]
#[error("schema.txt line {line}: {reason}")]
pub(super) struct SchemaError {
    line: usize,
    reason: &'static str,
}

impl Schema {
    /// The message named `name`.
    pub fn message(&self, name: &str) -> Option<&Message> {
        self.messages.get(name)
    }

    /// The message that carries objects of `api_version` and `kind`.
    pub fn kind(&self, api_version: &str, kind: &str) -> Option<&'static str> {
        self.kinds.get(&(api_version, kind)).copied()
    }

    /// Parses a table in `schema.txt`'s format.
    pub fn parse(text: &'static str) -> Result<Self, SchemaError> {
        let mut schema = Schema::default();
        let mut current: Option<&'static str> = None;
        for (index, line) in text.lines().enumerate() {
            let err = |reason| SchemaError {
                line: index + 1,
                reason,
            };
            let parts: Vec<&'static str> = line.split(' ').collect();
            match parts.as_slice() {
                [] | [""] => {}
                [first, ..] if first.starts_with('#') => {}
                ["K", api_version, kind, message] => {
                    schema.kinds.insert((api_version, kind), message);
                }
                [marker @ ("M" | "L"), name] => {
                    schema.messages.insert(
                        name,
                        Message {
                            list_wrapper: *marker == "L",
                            fields: Vec::new(),
                        },
                    );
                    current = Some(name);
                }
                ["F", tag, json, flags, ty, rest @ ..] => {
                    let message = current
                        .and_then(|name| schema.messages.get_mut(name))
                        .ok_or(err("field outside a message"))?;
                    let tag = tag.parse().map_err(|_| err("tag is not a number"))?;
                    message.fields.push(Field {
                        tag,
                        json,
                        repeated: flags.contains('r'),
                        map: flags.contains('m'),
                        inline: flags.contains('i'),
                        keep_zero: flags.contains('k'),
                        ty: Type::parse(ty),
                        value: rest.first().map(|v| Type::parse(v)),
                    });
                }
                _ => return Err(err("unknown record")),
            }
        }
        Ok(schema)
    }
}

/// The built-in table, parsed on first use.
///
/// # Errors
/// When the embedded table does not parse (a unit test keeps it parsing).
pub(super) fn builtin() -> Result<&'static Schema, SchemaError> {
    static SCHEMA: OnceLock<Result<Schema, SchemaError>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::parse(TABLE))
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_table_parses_and_knows_the_created_kinds() {
        let schema = builtin().map_err(|e| e.to_string());
        let schema = schema.as_ref().map_err(String::as_str);
        assert!(schema.is_ok(), "{schema:?}");
        let Ok(schema) = schema else { return };
        for (api_version, kind) in [
            ("v1", "Namespace"),
            ("v1", "ConfigMap"),
            ("v1", "Secret"),
            ("v1", "Service"),
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "Job"),
            ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
            ("authentication.k8s.io/v1", "SelfSubjectReview"),
        ] {
            let message = schema.kind(api_version, kind);
            assert!(
                message.is_some_and(|m| schema.message(m).is_some()),
                "{api_version} {kind}"
            );
        }
    }

    #[test]
    fn inline_and_renamed_fields_carry_their_json_form() {
        let Ok(schema) = builtin() else {
            panic!("schema parses")
        };
        let volume = schema.message("api.core.v1.Volume");
        assert!(volume
            .and_then(|m| m.field(2))
            .is_some_and(|f| f.inline && f.json == "volumeSource"));
        let props =
            schema.message("apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps");
        assert_eq!(props.and_then(|m| m.field(3)).map(|f| f.json), Some("$ref"));
    }
}
