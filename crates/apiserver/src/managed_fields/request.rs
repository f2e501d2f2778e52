//! Field management for a request: who the manager is, what it may own, and the apply options.

use super::ownership::Scope;
use super::{manager_name, FieldManager, FieldManagerError};
use crate::error::ApiError;
use crate::handlers::Ctx;
use crate::openapi::Model;

/// The field manager of `ctx`'s write through `subresource` ("" for the main resource), over
/// the type's schema in `model`.
///
/// # Errors
/// 422 for an over-long `fieldManager`.
pub(crate) fn for_request<'m>(
    ctx: &Ctx<'_>,
    model: &'m Model,
    subresource: &'static str,
) -> Result<FieldManager<'m>, ApiError> {
    let user_agent = ctx
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let manager = manager_name(ctx.query.get("fieldManager"), user_agent)?;
    let scope = match subresource {
        "status" => Scope::OnlyStatus,
        _ if ctx.rt.subresources.status => Scope::AllButStatus,
        _ => Scope::Whole,
    };
    Ok(FieldManager::new(
        manager,
        ctx.rt.api_version(),
        subresource,
        scope,
        model.patch_schema(&ctx.rt),
    ))
}

/// Checks a PATCH's options: an apply needs `fieldManager`; only an apply may `force`. Returns
/// whether to force.
///
/// # Errors
/// 422 (`PatchOptions.meta.k8s.io "" is invalid`) when the options do not hold.
pub(crate) fn apply_force(ctx: &Ctx<'_>, is_apply: bool) -> Result<bool, ApiError> {
    let force = ctx.query.get("force");
    if !is_apply {
        return match force {
            Some(_) => Err(FieldManagerError::ForceOutsideApply.into()),
            None => Ok(false),
        };
    }
    if ctx.query.get("fieldManager").is_none_or(str::is_empty) {
        return Err(FieldManagerError::MissingFieldManager.into());
    }
    Ok(ctx.query.flag("force"))
}
