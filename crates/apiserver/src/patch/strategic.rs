//! Strategic merge patch (to be completed with the types' merge keys).

use serde_json::Value;

use crate::error::ApiError;

/// Applies a strategic merge patch to `original`.
///
/// # Errors
/// 400 when the patch is malformed.
pub fn apply(original: &Value, patch: &Value) -> Result<Value, ApiError> {
    let mut out = original.clone();
    super::merge(&mut out, patch);
    Ok(out)
}
