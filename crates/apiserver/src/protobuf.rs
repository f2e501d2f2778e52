//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`).

use bytes::Bytes;
use serde_json::Value;

use crate::error::ApiError;

/// Decodes a protobuf envelope into the JSON object it carries.
///
/// # Errors
/// 415 until protobuf decoding lands.
pub fn decode(_body: &Bytes) -> Result<Value, ApiError> {
    Err(ApiError::UnsupportedMediaType)
}
