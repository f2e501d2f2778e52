//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).
//!
//! A body is the magic `k8s\0` followed by a `runtime.Unknown` envelope: the object's apiVersion
//! and kind, and the object's own protobuf encoding. [`decode`] turns it into the JSON object the
//! JSON path would have received, so the rest of the pipeline sees no difference.
//!
//! Decoding is driven by a field table ([`schema`]) generated from the `.proto` files and OpenAPI
//! document the k8s-pb crate is built from, so every kind in it decodes without per-kind code.
//! The table carries the JSON names (`podIP`, `$ref`), inline fields (`volumeSource`) and which
//! zero values to keep; a handful of messages with their own JSON forms (times, durations,
//! int-or-string, quantities, raw JSON) are converted in [`convert`].

mod convert;
mod schema;
mod wire;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ApiError;
pub use wire::WireError;
use wire::{Fields, Wire};

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// Why a protobuf body could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The body does not start with `k8s\0`.
    #[error("the body does not start with the Kubernetes protobuf prefix k8s\\0")]
    MissingMagic,
    /// The envelope has no apiVersion or kind.
    #[error("the protobuf envelope carries no apiVersion and kind")]
    MissingTypeMeta,
    /// The envelope names an encoding the server does not read.
    #[error("unsupported content encoding {0:?} in the protobuf envelope")]
    UnsupportedEncoding(String),
    /// The server has no protobuf schema for this kind.
    #[error("no protobuf decoder for kind {kind:?} in {api_version:?}")]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// The bytes are not a protobuf message.
    #[error("malformed protobuf in {message}: {source}")]
    Wire {
        /// The message being read.
        message: &'static str,
        /// What was wrong.
        #[source]
        source: WireError,
    },
    /// A field arrived with a wire type its schema does not allow.
    #[error("field {field} of {message} has the wrong wire type")]
    WrongWireType {
        /// The message being read.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// A string field is not UTF-8.
    #[error("field {field} of {message} is not valid UTF-8")]
    InvalidUtf8 {
        /// The message being read.
        message: &'static str,
        /// The field's JSON name.
        field: &'static str,
    },
    /// Raw JSON embedded in the message (RawExtension, FieldsV1, JSON) does not parse.
    #[error("embedded JSON in {message} does not parse: {source}")]
    EmbeddedJson {
        /// The message being read.
        message: &'static str,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// The schema references a message it does not define.
    #[error("no schema for protobuf message {0}")]
    UnknownMessage(&'static str),
    /// The object nests deeper than the decoder follows.
    #[error("the object nests too deeply")]
    TooDeep,
    /// The embedded schema table does not parse.
    #[error("protobuf schema unavailable: {0}")]
    Schema(String),
}

impl From<DecodeError> for ApiError {
    fn from(err: DecodeError) -> Self {
        match err {
            DecodeError::UnknownKind { .. } | DecodeError::Schema(_) => {
                ApiError::UnsupportedMediaType
            }
            other => ApiError::BadRequest(format!("error decoding protobuf request body: {other}")),
        }
    }
}

/// Decodes a protobuf envelope into the JSON object it carries.
///
/// # Errors
/// 400 BadRequest for a malformed body; 415 UnsupportedMediaType for a kind the server has no
/// protobuf schema for.
pub fn decode(body: &Bytes) -> Result<Value, ApiError> {
    decode_object(body).map_err(ApiError::from)
}

/// [`decode`], with the decoder's own error.
///
/// # Errors
/// See [`DecodeError`].
pub fn decode_object(body: &[u8]) -> Result<Value, DecodeError> {
    let payload = body.strip_prefix(MAGIC).ok_or(DecodeError::MissingMagic)?;
    let envelope = Envelope::read(payload)?;
    if !envelope.content_encoding.is_empty() {
        return Err(DecodeError::UnsupportedEncoding(envelope.content_encoding));
    }
    if envelope.api_version.is_empty() || envelope.kind.is_empty() {
        return Err(DecodeError::MissingTypeMeta);
    }
    let fields = if envelope.content_type.starts_with("application/json") {
        let value: Value =
            serde_json::from_slice(envelope.raw).map_err(|source| DecodeError::EmbeddedJson {
                message: "runtime.Unknown",
                source,
            })?;
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    } else {
        let schema = schema::builtin().map_err(|e| DecodeError::Schema(e.to_string()))?;
        let message = schema
            .kind(&envelope.api_version, &envelope.kind)
            .ok_or_else(|| DecodeError::UnknownKind {
                api_version: envelope.api_version.clone(),
                kind: envelope.kind.clone(),
            })?;
        match convert::message(schema, message, envelope.raw, 0)? {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    };
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), Value::String(envelope.api_version));
    object.insert("kind".to_owned(), Value::String(envelope.kind));
    for (key, value) in fields {
        if key != "apiVersion" && key != "kind" {
            object.insert(key, value);
        }
    }
    Ok(Value::Object(object))
}

/// The parts of `runtime.Unknown` the decoder uses.
#[derive(Debug, Default)]
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

impl<'a> Envelope<'a> {
    const NAME: &'static str = "runtime.Unknown";

    fn read(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let mut envelope = Envelope::default();
        for item in Fields::new(payload) {
            match Self::field(item)? {
                (1, Wire::Bytes(type_meta)) => {
                    for item in Fields::new(type_meta) {
                        match Self::field(item)? {
                            (1, Wire::Bytes(v)) => envelope.api_version = Self::text(v)?,
                            (2, Wire::Bytes(v)) => envelope.kind = Self::text(v)?,
                            _ => {}
                        }
                    }
                }
                (2, Wire::Bytes(raw)) => envelope.raw = raw,
                (3, Wire::Bytes(v)) => envelope.content_encoding = Self::text(v)?,
                (4, Wire::Bytes(v)) => envelope.content_type = Self::text(v)?,
                _ => {}
            }
        }
        Ok(envelope)
    }

    fn field<'b>(item: Result<(u32, Wire<'b>), WireError>) -> Result<(u32, Wire<'b>), DecodeError> {
        item.map_err(|source| DecodeError::Wire {
            message: Self::NAME,
            source,
        })
    }

    fn text(bytes: &[u8]) -> Result<String, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::InvalidUtf8 {
            message: Self::NAME,
            field: "typeMeta",
        })
    }
}

#[cfg(test)]
mod tests;
