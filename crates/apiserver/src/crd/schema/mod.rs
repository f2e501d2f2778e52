//! A custom resource's OpenAPI v3 schema, compiled once per CRD version, and what the request
//! pipeline does with it: pruning unknown fields, defaulting, and validating values.

mod default;
mod format;
mod prune;
mod validate;

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use regex::Regex;
use serde_json::Value;

pub use default::apply_defaults;
pub use prune::prune;
pub use validate::validate;

/// The JSON types a schema can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// `object`.
    Object,
    /// `array`.
    Array,
    /// `string`.
    String,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `boolean`.
    Boolean,
}

impl Type {
    /// The type a schema's `type` names, if it is one of the six.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            _ => return None,
        })
    }

    /// The name upstream prints.
    pub fn name(self) -> &'static str {
        match self {
            Type::Object => "object",
            Type::Array => "array",
            Type::String => "string",
            Type::Integer => "integer",
            Type::Number => "number",
            Type::Boolean => "boolean",
        }
    }
}

/// What `additionalProperties` says.
#[derive(Debug, Clone, Default)]
pub enum Additional {
    /// Not given.
    #[default]
    Absent,
    /// `true` or `false`.
    Allowed(bool),
    /// A schema for every value not named in `properties`.
    Schema(Box<Schema>),
}

/// One compiled schema node.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// `type`.
    pub kind: Option<Type>,
    /// `format`.
    pub format: Option<String>,
    /// `nullable`.
    pub nullable: bool,
    /// `x-kubernetes-preserve-unknown-fields`.
    pub preserve_unknown: bool,
    /// `x-kubernetes-int-or-string`.
    pub int_or_string: bool,
    /// `x-kubernetes-embedded-resource`.
    pub embedded: bool,
    /// `properties`.
    pub properties: BTreeMap<String, Schema>,
    /// `additionalProperties`.
    pub additional: Additional,
    /// `items`.
    pub items: Option<Box<Schema>>,
    /// `required`.
    pub required: Vec<String>,
    /// `enum`.
    pub enumeration: Vec<Value>,
    /// `pattern`, as written and compiled.
    pub pattern: Option<(String, Regex)>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `exclusiveMinimum`.
    pub exclusive_minimum: bool,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `exclusiveMaximum`.
    pub exclusive_maximum: bool,
    /// `multipleOf`.
    pub multiple_of: Option<f64>,
    /// `minLength`.
    pub min_length: Option<i64>,
    /// `maxLength`.
    pub max_length: Option<i64>,
    /// `minItems`.
    pub min_items: Option<i64>,
    /// `maxItems`.
    pub max_items: Option<i64>,
    /// `uniqueItems`.
    pub unique_items: bool,
    /// `minProperties`.
    pub min_properties: Option<i64>,
    /// `maxProperties`.
    pub max_properties: Option<i64>,
    /// `default`.
    pub default: Option<Value>,
    /// `allOf`.
    pub all_of: Vec<Schema>,
    /// `anyOf`.
    pub any_of: Vec<Schema>,
    /// `oneOf`.
    pub one_of: Vec<Schema>,
    /// `not`.
    pub not: Option<Box<Schema>>,
}

/// A schema that cannot be compiled, with the field path of the offending part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CompileError {
    /// The field path inside the schema (`properties[spec].pattern`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The offending value, for `Invalid value` messages.
    pub value: Value,
}

impl Schema {
    /// Compiles `props`; `path` names it in errors.
    ///
    /// # Errors
    /// [`CompileError`] for an unknown type or a pattern that is not a valid regular expression.
    pub fn compile(props: &JSONSchemaProps, path: &str) -> Result<Self, CompileError> {
        let kind = match props.type_.as_deref() {
            None | Some("") => None,
            Some(name) => Some(Type::parse(name).ok_or_else(|| CompileError {
                path: format!("{path}.type"),
                message: "Unsupported value".to_owned(),
                value: Value::String(name.to_owned()),
            })?),
        };
        let pattern = match &props.pattern {
            Some(p) => Some((
                p.clone(),
                Regex::new(p).map_err(|e| CompileError {
                    path: format!("{path}.pattern"),
                    message: format!("must be a valid regular expression, but isn't: {e}"),
                    value: Value::String(p.clone()),
                })?,
            )),
            None => None,
        };
        let mut properties = BTreeMap::new();
        for (name, child) in props.properties.iter().flatten() {
            properties.insert(
                name.clone(),
                Schema::compile(child, &format!("{path}.properties[{name}]"))?,
            );
        }
        let additional = match &props.additional_properties {
            None => Additional::Absent,
            Some(JSONSchemaPropsOrBool::Bool(b)) => Additional::Allowed(*b),
            Some(JSONSchemaPropsOrBool::Schema(s)) => Additional::Schema(Box::new(
                Schema::compile(s, &format!("{path}.additionalProperties"))?,
            )),
        };
        let items = match &props.items {
            None => None,
            Some(JSONSchemaPropsOrArray::Schema(s)) => {
                Some(Box::new(Schema::compile(s, &format!("{path}.items"))?))
            }
            Some(JSONSchemaPropsOrArray::Schemas(list)) => match list.first() {
                Some(s) => Some(Box::new(Schema::compile(s, &format!("{path}.items"))?)),
                None => None,
            },
        };
        let compile_all = |list: &Option<Vec<JSONSchemaProps>>, what: &str| {
            list.iter()
                .flatten()
                .enumerate()
                .map(|(i, s)| Schema::compile(s, &format!("{path}.{what}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Schema {
            kind,
            format: props.format.clone().filter(|f| !f.is_empty()),
            nullable: props.nullable.unwrap_or(false),
            preserve_unknown: props.x_kubernetes_preserve_unknown_fields.unwrap_or(false),
            int_or_string: props.x_kubernetes_int_or_string.unwrap_or(false),
            embedded: props.x_kubernetes_embedded_resource.unwrap_or(false),
            properties,
            additional,
            items,
            required: props.required.clone().unwrap_or_default(),
            enumeration: props.enum_.iter().flatten().map(|v| v.0.clone()).collect(),
            pattern,
            minimum: props.minimum,
            exclusive_minimum: props.exclusive_minimum.unwrap_or(false),
            maximum: props.maximum,
            exclusive_maximum: props.exclusive_maximum.unwrap_or(false),
            multiple_of: props.multiple_of,
            min_length: props.min_length,
            max_length: props.max_length,
            min_items: props.min_items,
            max_items: props.max_items,
            unique_items: props.unique_items.unwrap_or(false),
            min_properties: props.min_properties,
            max_properties: props.max_properties,
            default: props.default.as_ref().map(|d| d.0.clone()),
            all_of: compile_all(&props.all_of, "allOf")?,
            any_of: compile_all(&props.any_of, "anyOf")?,
            one_of: compile_all(&props.one_of, "oneOf")?,
            not: match &props.not {
                Some(n) => Some(Box::new(Schema::compile(n, &format!("{path}.not"))?)),
                None => None,
            },
        })
    }

    /// Compiles a schema given as JSON (tests and callers holding raw values).
    ///
    /// # Errors
    /// [`CompileError`] when the JSON is not a schema or does not compile.
    pub fn from_json(value: &Value) -> Result<Self, CompileError> {
        let props: JSONSchemaProps =
            serde_json::from_value(value.clone()).map_err(|e| CompileError {
                path: String::new(),
                message: e.to_string(),
                value: Value::Null,
            })?;
        Schema::compile(&props, "openAPIV3Schema")
    }
}

/// A child path: `spec` + `replicas` = `spec.replicas`.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}
