//! Turning one encoded message into the JSON Kubernetes' own JSON encoding gives the same object.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::schema::{Field, Message, Schema, Type};
use super::wire::{varint, Fields, Wire};
use super::DecodeError;

/// Deeper nesting than this is refused (JSON schemas in CRDs nest, but not this deep).
const MAX_DEPTH: usize = 100;

const TIME: &str = "apimachinery.pkg.apis.meta.v1.Time";
const MICRO_TIME: &str = "apimachinery.pkg.apis.meta.v1.MicroTime";
const DURATION: &str = "apimachinery.pkg.apis.meta.v1.Duration";
const INT_OR_STRING: &str = "apimachinery.pkg.util.intstr.IntOrString";
const QUANTITY: &str = "apimachinery.pkg.api.resource.Quantity";
const RAW_EXTENSION: &str = "apimachinery.pkg.runtime.RawExtension";
const FIELDS_V1: &str = "apimachinery.pkg.apis.meta.v1.FieldsV1";
const CRD_PREFIX: &str = "apiextensions_apiserver.pkg.apis.apiextensions.v1.";

/// Decodes `bytes` as the message `name` into its JSON form.
pub(super) fn message(
    schema: &Schema,
    name: &'static str,
    bytes: &[u8],
    depth: usize,
) -> Result<Value, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::TooDeep);
    }
    if let Some(special) = special(schema, name, bytes, depth)? {
        return Ok(special);
    }
    let msg = schema
        .message(name)
        .ok_or(DecodeError::UnknownMessage(name))?;
    let mut out = Map::new();
    for item in Fields::new(bytes) {
        let (tag, wire) = item.map_err(|source| DecodeError::Wire {
            message: name,
            source,
        })?;
        let Some(field) = msg.field(tag) else {
            continue; // Unknown fields are skipped, as upstream's decoder does.
        };
        field_value(schema, name, field, wire, &mut out, depth)?;
    }
    if msg.list_wrapper {
        return Ok(out
            .into_iter()
            .next()
            .map(|(_, items)| items)
            .unwrap_or(Value::Array(Vec::new())));
    }
    drop_zero_values(msg, &mut out);
    Ok(Value::Object(out))
}

/// Removes zero-valued scalars the way `omitempty` does, except where the zero means something.
fn drop_zero_values(msg: &Message, out: &mut Map<String, Value>) {
    for field in &msg.fields {
        if field.keep_zero || field.repeated || field.map || matches!(field.ty, Type::Message(_)) {
            continue;
        }
        let zero = match out.get(field.json) {
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Bool(b)) => !b,
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            _ => false,
        };
        if zero {
            out.remove(field.json);
        }
    }
}

fn field_value(
    schema: &Schema,
    parent: &'static str,
    field: &Field,
    wire: Wire<'_>,
    out: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), DecodeError> {
    if field.map {
        let Wire::Bytes(entry) = wire else {
            return Err(wrong(parent, field));
        };
        let (key, value) = map_entry(schema, parent, field, entry, depth)?;
        let slot = out
            .entry(field.json)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = slot {
            map.insert(key, value);
        }
        return Ok(());
    }
    if field.repeated {
        let mut values = Vec::new();
        match (field.ty, wire) {
            // Packed repeated scalars: one length-delimited run of values.
            (ty, Wire::Bytes(mut run)) if is_numeric(ty) => {
                while !run.is_empty() {
                    let raw = varint(&mut run).map_err(|source| DecodeError::Wire {
                        message: parent,
                        source,
                    })?;
                    values.push(scalar(parent, field, field.ty, Wire::Varint(raw))?);
                }
            }
            (ty, wire) => values.push(value(schema, parent, field, ty, wire, depth)?),
        }
        let slot = out
            .entry(field.json)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.extend(values);
        }
        return Ok(());
    }
    let decoded = value(schema, parent, field, field.ty, wire, depth)?;
    if field.inline {
        if let Value::Object(inner) = decoded {
            out.extend(inner);
        }
    } else {
        out.insert(field.json.to_owned(), decoded);
    }
    Ok(())
}

fn map_entry(
    schema: &Schema,
    parent: &'static str,
    field: &Field,
    entry: &[u8],
    depth: usize,
) -> Result<(String, Value), DecodeError> {
    let value_ty = field.value.ok_or_else(|| wrong(parent, field))?;
    let mut key = String::new();
    let mut val = None;
    for item in Fields::new(entry) {
        let (tag, wire) = item.map_err(|source| DecodeError::Wire {
            message: parent,
            source,
        })?;
        match tag {
            1 => {
                key = match scalar(parent, field, field.ty, wire)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                }
            }
            2 => val = Some(value(schema, parent, field, value_ty, wire, depth)?),
            _ => {}
        }
    }
    let val = match val {
        Some(v) => v,
        None => zero_of(value_ty),
    };
    Ok((key, val))
}

/// The JSON of a map value that the wire omitted (its zero value).
fn zero_of(ty: Type) -> Value {
    match ty {
        Type::String | Type::Bytes => Value::String(String::new()),
        Type::Bool => Value::Bool(false),
        Type::Message(_) => Value::Object(Map::new()),
        _ => Value::Number(Number::from(0)),
    }
}

fn is_numeric(ty: Type) -> bool {
    matches!(
        ty,
        Type::Bool | Type::Int32 | Type::Int64 | Type::UInt32 | Type::UInt64
    )
}

fn value(
    schema: &Schema,
    parent: &'static str,
    field: &Field,
    ty: Type,
    wire: Wire<'_>,
    depth: usize,
) -> Result<Value, DecodeError> {
    match (ty, wire) {
        (Type::Message(name), Wire::Bytes(bytes)) => message(schema, name, bytes, depth + 1),
        (Type::Message(_), _) => Err(wrong(parent, field)),
        (ty, wire) => scalar(parent, field, ty, wire),
    }
}

fn scalar(
    parent: &'static str,
    field: &Field,
    ty: Type,
    wire: Wire<'_>,
) -> Result<Value, DecodeError> {
    let number = |n: Option<Number>| n.map(Value::Number).ok_or_else(|| wrong(parent, field));
    // Truncating casts below are the protobuf rules for narrowing varints.
    #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
    match (ty, wire) {
        (Type::String, Wire::Bytes(b)) => std::str::from_utf8(b)
            .map(|s| Value::String(s.to_owned()))
            .map_err(|_| DecodeError::InvalidUtf8 {
                message: parent,
                field: field.json,
            }),
        (Type::Bytes, Wire::Bytes(b)) => Ok(Value::String(
            base64::engine::general_purpose::STANDARD.encode(b),
        )),
        (Type::Bool, Wire::Varint(v)) => Ok(Value::Bool(v != 0)),
        (Type::Int32, Wire::Varint(v)) => Ok(Value::from(v as i64 as i32)),
        (Type::Int64, Wire::Varint(v)) => Ok(Value::from(v as i64)),
        (Type::UInt32, Wire::Varint(v)) => Ok(Value::from(v as u32)),
        (Type::UInt32, Wire::Fixed32(v)) => Ok(Value::from(v)),
        (Type::UInt64, Wire::Varint(v) | Wire::Fixed64(v)) => Ok(Value::from(v)),
        (Type::Double, Wire::Fixed64(v)) => number(Number::from_f64(f64::from_bits(v))),
        (Type::Float, Wire::Fixed32(v)) => number(Number::from_f64(f64::from(f32::from_bits(v)))),
        _ => Err(wrong(parent, field)),
    }
}

fn wrong(message: &'static str, field: &Field) -> DecodeError {
    DecodeError::WrongWireType {
        message,
        field: field.json,
    }
}

/// Messages whose JSON form is not an object of their fields.
fn special(
    schema: &Schema,
    name: &'static str,
    bytes: &[u8],
    depth: usize,
) -> Result<Option<Value>, DecodeError> {
    let value = match name {
        TIME | MICRO_TIME => {
            let parts = fields_of(schema, name, bytes, depth)?;
            timestamp(&parts, name == MICRO_TIME)
        }
        DURATION => {
            let parts = fields_of(schema, name, bytes, depth)?;
            Value::String(go_duration(int(&parts, "duration")))
        }
        INT_OR_STRING => {
            let parts = fields_of(schema, name, bytes, depth)?;
            if int(&parts, "type") == 1 {
                parts
                    .get("strVal")
                    .cloned()
                    .unwrap_or(Value::String(String::new()))
            } else {
                Value::from(int(&parts, "intVal"))
            }
        }
        QUANTITY => {
            let parts = fields_of(schema, name, bytes, depth)?;
            parts
                .get("string")
                .cloned()
                .unwrap_or(Value::String("0".to_owned()))
        }
        RAW_EXTENSION | FIELDS_V1 => embedded_json(name, first_bytes(name, bytes)?)?,
        _ => match name.strip_prefix(CRD_PREFIX) {
            Some("JSON") => embedded_json(name, first_bytes(name, bytes)?)?,
            Some("JSONSchemaPropsOrArray") => {
                let parts = fields_of(schema, name, bytes, depth)?;
                either(parts, "schema", "jSONSchemas", Value::Array(Vec::new()))
            }
            Some("JSONSchemaPropsOrBool") => {
                let parts = fields_of(schema, name, bytes, depth)?;
                either(parts, "schema", "allows", Value::Bool(false))
            }
            Some("JSONSchemaPropsOrStringArray") => {
                let parts = fields_of(schema, name, bytes, depth)?;
                either(parts, "schema", "property", Value::Array(Vec::new()))
            }
            _ => return Ok(None),
        },
    };
    Ok(Some(value))
}

/// The raw fields of a special message, keyed by their proto names, zero values included.
fn fields_of(
    schema: &Schema,
    name: &'static str,
    bytes: &[u8],
    depth: usize,
) -> Result<Map<String, Value>, DecodeError> {
    let msg = schema
        .message(name)
        .ok_or(DecodeError::UnknownMessage(name))?;
    let mut out = Map::new();
    for item in Fields::new(bytes) {
        let (tag, wire) = item.map_err(|source| DecodeError::Wire {
            message: name,
            source,
        })?;
        if let Some(field) = msg.field(tag) {
            field_value(schema, name, field, wire, &mut out, depth)?;
        }
    }
    Ok(out)
}

fn either(mut parts: Map<String, Value>, preferred: &str, other: &str, empty: Value) -> Value {
    parts
        .remove(preferred)
        .or_else(|| parts.remove(other))
        .unwrap_or(empty)
}

fn int(parts: &Map<String, Value>, key: &str) -> i64 {
    parts.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn first_bytes<'a>(name: &'static str, bytes: &'a [u8]) -> Result<&'a [u8], DecodeError> {
    for item in Fields::new(bytes) {
        if let (1, Wire::Bytes(raw)) = item.map_err(|source| DecodeError::Wire {
            message: name,
            source,
        })? {
            return Ok(raw);
        }
    }
    Ok(&[])
}

fn embedded_json(name: &'static str, raw: &[u8]) -> Result<Value, DecodeError> {
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).map_err(|source| DecodeError::EmbeddedJson {
        message: name,
        source,
    })
}

/// `Time` and `MicroTime` as RFC 3339 in UTC; the zero time is `null`, as Go's JSON writes it.
fn timestamp(parts: &Map<String, Value>, micro: bool) -> Value {
    let seconds = int(parts, "seconds");
    let nanos = u32::try_from(int(parts, "nanos")).unwrap_or(0);
    if seconds == 0 && nanos == 0 {
        return Value::Null;
    }
    let format = if micro {
        chrono::SecondsFormat::Micros
    } else {
        chrono::SecondsFormat::Secs
    };
    chrono::DateTime::from_timestamp(seconds, nanos)
        .map(|t| Value::String(t.to_rfc3339_opts(format, true)))
        .unwrap_or(Value::Null)
}

/// A nanosecond count in Go's `time.Duration` text form (`1h2m3.5s`, `250ms`, `0s`).
pub(super) fn go_duration(nanos: i64) -> String {
    if nanos == 0 {
        return "0s".to_owned();
    }
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    let body = if n < SECOND {
        let (unit, div) = match n {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        format!("{}{unit}", decimal(n, div))
    } else {
        let hours = n / (3600 * SECOND);
        let minutes = (n / (60 * SECOND)) % 60;
        let seconds = decimal(n % (60 * SECOND), SECOND);
        match (hours, minutes) {
            (0, 0) => format!("{seconds}s"),
            (0, m) => format!("{m}m{seconds}s"),
            (h, m) => format!("{h}h{m}m{seconds}s"),
        }
    };
    format!("{sign}{body}")
}

/// `value / div` with the remainder as trimmed decimals.
fn decimal(value: u64, div: u64) -> String {
    let whole = value / div;
    let rem = value % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.ilog10() as usize;
    let frac = format!("{rem:0width$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(250_000_000), "250ms");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(-1_500_000_000), "-1.5s");
    }
}
