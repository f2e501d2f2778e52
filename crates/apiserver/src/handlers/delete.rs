//! delete and deletecollection: preconditions, finalizers, graceful deletion and the
//! propagation policy recorded for the garbage collector.

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::read::{object_response, Filter};
use super::request::{representation, respond};
use super::Ctx;
use crate::error::{success_status, ApiError};
use crate::meta;
use crate::storage::{ReadAt, Stored};

const MAX_RETRIES: usize = 16;

/// The options of a delete, from its body (DeleteOptions) and query.
#[derive(Debug, Default, Clone)]
pub(crate) struct DeleteOptions {
    propagation: Option<String>,
    grace_period: Option<i64>,
    uid: Option<String>,
    /// The resourceVersion the object must still have.
    pub resource_version: Option<i64>,
    /// Whether nothing is to be written (`dryRun=All` in the query or the body).
    pub dry_run: bool,
}

impl DeleteOptions {
    fn parse(ctx: &Ctx<'_>, body: &Bytes) -> Result<Self, ApiError> {
        let from_body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("error decoding DeleteOptions: {e}")))?
        };
        Self::from_value(ctx, &from_body)
    }

    /// The options of a `metav1.DeleteOptions` object (an Eviction's `deleteOptions`), with
    /// the request's query filling what it leaves out.
    ///
    /// # Errors
    /// 400 for an unknown propagation policy or dryRun value.
    pub(crate) fn from_value(ctx: &Ctx<'_>, from_body: &Value) -> Result<Self, ApiError> {
        let mut propagation = from_body
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .or(ctx.query.get("propagationPolicy"))
            .map(str::to_owned);
        let orphan = from_body
            .get("orphanDependents")
            .and_then(Value::as_bool)
            .or_else(|| ctx.query.get("orphanDependents").map(|v| v == "true"));
        if propagation.is_none() {
            propagation = orphan.map(|o| if o { "Orphan" } else { "Background" }.to_owned());
        }
        if let Some(p) = &propagation {
            if !["Orphan", "Background", "Foreground"].contains(&p.as_str()) {
                return Err(ApiError::BadRequest(format!(
                    "propagationPolicy: Unsupported value: {p:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
        }
        let grace_period = match from_body.get("gracePeriodSeconds").and_then(Value::as_i64) {
            Some(g) => Some(g),
            None => ctx.query.int("gracePeriodSeconds")?,
        };
        let preconditions = from_body.get("preconditions");
        let uid = preconditions
            .and_then(|p| p.get("uid"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let resource_version = preconditions
            .and_then(|p| p.get("resourceVersion"))
            .and_then(Value::as_str)
            .and_then(|rv| rv.parse().ok());
        let dry_run = match from_body.get("dryRun").and_then(Value::as_array) {
            Some(modes) if !modes.is_empty() => {
                if let Some(other) = modes.iter().find(|m| m.as_str() != Some("All")) {
                    return Err(ApiError::BadRequest(format!(
                        "Invalid dryRun value: {other}; supported values: \"All\""
                    )));
                }
                true
            }
            _ => ctx.query.dry_run()?,
        };
        Ok(Self {
            propagation,
            grace_period,
            uid,
            resource_version,
            dry_run,
        })
    }
}

/// What a delete did.
pub(crate) enum Outcome {
    /// The object is gone; this was its last state.
    Deleted(Value),
    /// The object remains, marked for deletion (finalizers or a grace period pending).
    Pending(Value),
}

/// DELETE of one object.
pub(crate) async fn delete(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let options = DeleteOptions::parse(ctx, body)?;
    match delete_one(ctx, &ctx.key(), &options).await? {
        Outcome::Pending(obj) => Ok(object_response(ctx, StatusCode::OK, &obj, &[])),
        Outcome::Deleted(obj) if returns_deleted_object(&ctx.rt.kind) => {
            Ok(object_response(ctx, StatusCode::OK, &obj, &[]))
        }
        Outcome::Deleted(obj) => {
            let status = success_status(
                &ctx.rt.group,
                &ctx.rt.plural,
                meta::name(&obj),
                meta::str_at(&obj, "/metadata/uid"),
            );
            Ok(respond(
                StatusCode::OK,
                &status,
                representation(&ctx.headers),
                &[],
            ))
        }
    }
}

/// Upstream returns the deleted object itself, rather than a Status, for these kinds.
fn returns_deleted_object(kind: &str) -> bool {
    matches!(
        kind,
        "Pod" | "Service" | "Namespace" | "CustomResourceDefinition"
    )
}

/// Deletes the object at `key` as `options` say, retrying lost races (a precondition that
/// fails is a 409).
///
/// # Errors
/// 404 when the object is gone, 409 for failed preconditions or too many concurrent writers.
pub(crate) async fn delete_one(
    ctx: &Ctx<'_>,
    key: &str,
    options: &DeleteOptions,
) -> Result<Outcome, ApiError> {
    let name = key.rsplit('/').next().unwrap_or_default().to_owned();
    for _ in 0..MAX_RETRIES {
        let Some(old) = ctx.state.objects.get(key).await? else {
            return Err(ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, &name));
        };
        check_preconditions(ctx, &name, &old, options)?;
        let marked = mark_for_deletion(ctx, &old.object, options);
        if options.dry_run {
            return Ok(match marked {
                Some(obj) => Outcome::Pending(obj),
                None => Outcome::Deleted(old.object),
            });
        }
        match marked {
            Some(obj) if obj == old.object => return Ok(Outcome::Pending(obj)),
            Some(obj) => {
                if let Some(stored) = ctx
                    .state
                    .objects
                    .update(key, &obj, old.mod_revision)
                    .await?
                {
                    return Ok(Outcome::Pending(stored.object));
                }
            }
            None => {
                if let Some(rev) = ctx.state.objects.delete(key, old.mod_revision).await? {
                    if let Some(hook) = ctx.hook() {
                        hook.release(&old.object, None).await;
                    }
                    let mut obj = old.object;
                    meta::set_meta(&mut obj, "resourceVersion", json!(rev.to_string()));
                    return Ok(Outcome::Deleted(obj));
                }
            }
        }
    }
    Err(ApiError::Conflict {
        resource: ctx.rt.group_resource(),
        name,
        detail: "too many concurrent writers; try again".to_owned(),
    })
}

/// Checks the delete's uid and resourceVersion preconditions against the stored object.
///
/// # Errors
/// 409 when one does not hold.
pub(crate) fn check_preconditions(
    ctx: &Ctx<'_>,
    name: &str,
    old: &Stored,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    let conflict = |detail: String| ApiError::Conflict {
        resource: ctx.rt.group_resource(),
        name: name.to_owned(),
        detail,
    };
    let uid = meta::str_at(&old.object, "/metadata/uid");
    if let Some(want) = options.uid.as_deref().filter(|w| *w != uid) {
        return Err(conflict(format!(
            "Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"
        )));
    }
    if let Some(want) = options
        .resource_version
        .filter(|rv| *rv != old.mod_revision)
    {
        return Err(conflict(format!(
            "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {}",
            old.mod_revision
        )));
    }
    Ok(())
}

/// The object marked for deletion, or `None` when it can go at once.
fn mark_for_deletion(ctx: &Ctx<'_>, obj: &Value, options: &DeleteOptions) -> Option<Value> {
    let mut obj = obj.clone();
    let mut finalizers = meta::finalizers(&obj);
    let gc_finalizer = match options.propagation.as_deref() {
        Some("Orphan") => Some("orphan"),
        Some("Foreground") => Some("foregroundDeletion"),
        _ => None,
    };
    if let Some(f) = gc_finalizer {
        if !finalizers.iter().any(|x| x == f) && !meta::is_deleting(&obj) {
            finalizers.push(f.to_owned());
            meta::set_meta(&mut obj, "finalizers", json!(finalizers));
        }
    }
    if crate::crd::is_definition(&ctx.rt) && !meta::is_deleting(&obj) {
        // Its custom resources go first; the CRD controller removes the finalizer after.
        crate::crd::mark_terminating(&mut obj);
        finalizers = meta::finalizers(&obj);
    }
    let grace = graceful_period(ctx, &obj, options);
    let namespace_finalizing = ctx.rt.kind == "Namespace"
        && obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
    if finalizers.is_empty() && grace == 0 && !namespace_finalizing {
        return None;
    }
    if !meta::is_deleting(&obj) {
        let at = chrono::Utc::now() + chrono::Duration::seconds(grace);
        meta::set_meta(
            &mut obj,
            "deletionTimestamp",
            json!(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
        meta::set_meta(&mut obj, "deletionGracePeriodSeconds", json!(grace));
    } else if grace == 0 && finalizers.is_empty() && !namespace_finalizing {
        return None;
    }
    if ctx.rt.kind == "Namespace" {
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".to_owned(), json!({"phase": "Terminating"}));
        }
    }
    Some(obj)
}

/// The grace period of a pod bound to a node (others are deleted at once).
fn graceful_period(ctx: &Ctx<'_>, obj: &Value, options: &DeleteOptions) -> i64 {
    if ctx.rt.kind != "Pod" || meta::str_at(obj, "/spec/nodeName").is_empty() {
        return 0;
    }
    let phase = meta::str_at(obj, "/status/phase");
    if phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    options
        .grace_period
        .or_else(|| {
            obj.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30)
        .max(0)
}

/// DELETE of a collection: every object passing the selectors is deleted as by DELETE.
pub(crate) async fn delete_collection(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let options = DeleteOptions::parse(ctx, body)?;
    let filter = Filter::from_ctx(ctx)?;
    let prefix = ctx.rt.prefix(ctx.path.namespace.as_deref());
    let page = ctx
        .state
        .objects
        .list(&prefix, 0, None, ReadAt::Latest, &|k, raw| {
            filter.keeps(k, raw)
        })
        .await?;
    let mut items = Vec::new();
    for obj in page.decoded(&prefix)? {
        let key = ctx.rt.key(meta::namespace(&obj), meta::name(&obj));
        match delete_one(ctx, &key, &options).await {
            Ok(Outcome::Deleted(o) | Outcome::Pending(o)) => items.push(ctx.rt.served(o)?),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let body = json!({
        "kind": format!("{}List", ctx.rt.kind),
        "apiVersion": ctx.rt.api_version(),
        "metadata": {"resourceVersion": page.revision.to_string()},
        "items": items,
    });
    Ok(respond(
        StatusCode::OK,
        &body,
        representation(&ctx.headers),
        &[],
    ))
}
