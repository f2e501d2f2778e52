//! create, update, patch and the scale subresource's writes.

use axum::response::Response;
use bytes::Bytes;
use http::{header, StatusCode};
use serde_json::{json, Value};

use super::lifecycle::{self, Part};
use super::read::{object_response, scale_of, stored_response};
use super::request::{body_format, decode_body, representation, respond, yaml_to_json};
use super::Ctx;
use crate::error::{ApiError, Cause};
use crate::managed_fields;
use crate::meta;
use crate::patch::strategic::PatchSchema;
use crate::patch::{self, PatchType};
use crate::storage::Stored;

pub(crate) use super::delete::{delete, delete_collection};

/// How many times a write retries after losing a compare-and-swap to a concurrent writer.
const MAX_RETRIES: usize = 16;

/// POST of a new object.
pub(crate) async fn create(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let mut obj = decode_body(body_format(&ctx.headers)?, body)?;
    create_object(ctx, &mut obj, None).await
}

/// Creates `obj`; `applied` is the configuration when a server-side apply creates it.
async fn create_object(
    ctx: &Ctx<'_>,
    obj: &mut Value,
    applied: Option<&Value>,
) -> Result<Response, ApiError> {
    let warnings = lifecycle::check_shape(ctx, obj)?;
    if ctx.rt.namespaced {
        ensure_namespace_open(ctx).await?;
    }
    lifecycle::prepare_create(ctx, obj)?;
    let model = ctx.state.registry.openapi();
    let fields = managed_fields::for_request(ctx, &model, "")?;
    match applied {
        Some(config) => fields.track_apply_create(config, obj)?,
        None => fields.track_update(None, obj),
    }
    let mut obj = ctx.rt.stored(std::mem::take(obj))?;
    if ctx.query.dry_run()? {
        return Ok(object_response(ctx, StatusCode::CREATED, &obj, &warnings));
    }
    let key = ctx.rt.key(meta::namespace(&obj), meta::name(&obj));
    if let Some(hook) = ctx.hook() {
        hook.before_create(&mut obj).await?;
    }
    let created = ctx.state.objects.create(&key, &obj).await;
    if !matches!(created, Ok(Some(_))) {
        if let Some(hook) = ctx.hook() {
            hook.release(&obj, None).await;
        }
    }
    match created? {
        Some(stored) => stored_response(ctx, StatusCode::CREATED, &key, &stored, &warnings),
        None => Err(ApiError::AlreadyExists {
            resource: ctx.rt.group_resource(),
            name: meta::name(&obj).to_owned(),
        }),
    }
}

/// The part of a Namespace a create in it needs: its phase (read without decoding the rest).
#[derive(serde::Deserialize, Default)]
struct NamespacePhase {
    #[serde(default)]
    status: NamespaceStatus,
}

#[derive(serde::Deserialize, Default)]
struct NamespaceStatus {
    #[serde(default)]
    phase: Option<String>,
}

/// New objects need their namespace to exist and not be terminating.
async fn ensure_namespace_open(ctx: &Ctx<'_>) -> Result<(), ApiError> {
    let ns = ctx.namespace();
    let key = format!("/registry/namespaces/{ns}");
    let stored = ctx
        .state
        .objects
        .get_raw(&key)
        .await?
        .ok_or_else(|| ApiError::not_found("", "namespaces", ns))?;
    let namespace: NamespacePhase =
        serde_json::from_slice(&stored.value).map_err(|source| ApiError::CorruptObject {
            key: key.clone(),
            source,
        })?;
    if namespace.status.phase.as_deref() == Some("Terminating") {
        return Err(ApiError::Forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            ctx.rt.group_resource(),
            ctx.name()
        )));
    }
    Ok(())
}

/// The resourceVersion an object carries, as a precondition.
fn resource_version_of(obj: &Value) -> Result<Option<i64>, ApiError> {
    match obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
    {
        None | Some("") => Ok(None),
        Some(rv) => rv
            .parse::<i64>()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {rv:?}"))),
    }
}

/// The object a write starts from: as stored, and in the requested version when that differs.
struct Current {
    stored: Stored,
    served: Option<Stored>,
}

impl Current {
    /// The object in the requested version.
    fn served(&self) -> &Stored {
        self.served.as_ref().unwrap_or(&self.stored)
    }
}

async fn current(ctx: &Ctx<'_>) -> Result<Current, ApiError> {
    let mut stored = ctx
        .state
        .objects
        .get(&ctx.key())
        .await?
        .ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, ctx.name()))?;
    if ctx.rt.conversion.is_none() {
        ctx.rt.stamp_api_version(&mut stored.object);
        return Ok(Current {
            stored,
            served: None,
        });
    }
    let served = Stored {
        object: ctx.rt.served(stored.object.clone())?,
        mod_revision: stored.mod_revision,
    };
    Ok(Current {
        stored,
        served: Some(served),
    })
}

/// Writes `new` over `old`. `Ok(None)` when another writer got there first. An object whose
/// deletion was waiting for its last finalizer is deleted instead.
pub(crate) async fn commit(
    ctx: &Ctx<'_>,
    new: &Value,
    old: &Stored,
) -> Result<Option<Value>, ApiError> {
    let mut unchanged = new.clone();
    meta::set_meta(
        &mut unchanged,
        "resourceVersion",
        json!(old.mod_revision.to_string()),
    );
    if unchanged == old.object {
        return Ok(Some(old.object.clone()));
    }
    if ctx.query.dry_run()? {
        return Ok(Some(new.clone()));
    }
    let key = ctx.key();
    if gone(new) && namespace_finalized(ctx, new) {
        let deleted = ctx.state.objects.delete(&key, old.mod_revision).await?;
        return Ok(deleted.map(|rev| {
            let mut obj = new.clone();
            meta::set_meta(&mut obj, "resourceVersion", json!(rev.to_string()));
            obj
        }));
    }
    Ok(ctx
        .state
        .objects
        .update(&key, new, old.mod_revision)
        .await?
        .map(|s| s.object))
}

/// A Namespace also waits for its `spec.finalizers` (the namespace controller's) to clear.
fn namespace_finalized(ctx: &Ctx<'_>, obj: &Value) -> bool {
    ctx.rt.kind != "Namespace"
        || obj
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
}

/// PUT of `namespaces/{name}/finalize`: only `spec.finalizers` is taken from the body; a
/// terminating namespace left with no finalizers of either kind is deleted (by [`commit`]).
pub(crate) async fn finalize(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let sent = decode_body(body_format(&ctx.headers)?, body)?;
    let finalizers = sent
        .pointer("/spec/finalizers")
        .cloned()
        .unwrap_or(json!([]));
    let stored = guaranteed_update(ctx, resource_version_of(&sent)?, |old| {
        let mut new = old.object.clone();
        let spec = new
            .as_object_mut()
            .map(|m| m.entry("spec").or_insert(json!({})));
        if let Some(spec) = spec.and_then(Value::as_object_mut) {
            spec.insert("finalizers".to_owned(), finalizers.clone());
        }
        lifecycle::prepare_update(ctx, Part::Finalize, new, &old.object)
    })
    .await?;
    Ok(object_response(ctx, StatusCode::OK, &stored, &[]))
}

/// Whether an update deletes the object: it is being deleted, its last finalizer is gone, and
/// no grace period is running (upstream's `ShouldDeleteDuringUpdate`: a pod in graceful
/// deletion stays until its kubelet deletes it with a zero grace period).
fn gone(obj: &Value) -> bool {
    meta::is_deleting(obj)
        && meta::finalizers(obj).is_empty()
        && obj
            .pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_none_or(|grace| grace == 0)
}

/// Runs `build` against the current object until its result is stored, retrying lost races
/// unless the caller pinned a resourceVersion.
pub(crate) async fn guaranteed_update<F>(
    ctx: &Ctx<'_>,
    pinned: Option<i64>,
    mut build: F,
) -> Result<Value, ApiError>
where
    F: FnMut(&Stored) -> Result<Value, ApiError>,
{
    for _ in 0..MAX_RETRIES {
        let current = current(ctx).await?;
        if pinned.is_some_and(|rv| rv != current.stored.mod_revision) {
            return Err(ApiError::stale(&ctx.rt.group, &ctx.rt.plural, ctx.name()));
        }
        let mut new = ctx.rt.stored(build(current.served())?)?;
        let old = &current.stored;
        let hook = ctx.hook();
        if let Some(hook) = hook {
            hook.before_update(&old.object, &mut new).await?;
        }
        let committed = commit(ctx, &new, old).await;
        if let Some(hook) = hook {
            match &committed {
                Ok(Some(stored)) if gone(stored) => hook.release(&old.object, None).await,
                Ok(Some(stored)) => hook.release(&old.object, Some(stored)).await,
                _ => hook.release(&new, Some(&old.object)).await,
            }
        }
        if let Some(stored) = committed? {
            return Ok(stored);
        }
        if pinned.is_some() {
            return Err(ApiError::stale(&ctx.rt.group, &ctx.rt.plural, ctx.name()));
        }
    }
    Err(ApiError::Conflict {
        resource: ctx.rt.group_resource(),
        name: ctx.name().to_owned(),
        detail: "too many concurrent writers; try again".to_owned(),
    })
}

/// PUT of an object or its status.
pub(crate) async fn update(ctx: &Ctx<'_>, body: &Bytes, part: Part) -> Result<Response, ApiError> {
    let mut obj = decode_body(body_format(&ctx.headers)?, body)?;
    let warnings = lifecycle::check_shape(ctx, &mut obj)?;
    match meta::name(&obj) {
        "" => meta::set_meta(&mut obj, "name", json!(ctx.name())),
        name if name != ctx.name() => {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({name}) does not match the name on the URL ({})",
                ctx.name()
            )))
        }
        _ => {}
    }
    if ctx.rt.namespaced
        && !matches!(meta::namespace(&obj), "")
        && meta::namespace(&obj) != ctx.namespace()
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_owned(),
        ));
    }
    let pinned = resource_version_of(&obj)?;
    let model = ctx.state.registry.openapi();
    let fields = managed_fields::for_request(ctx, &model, part.subresource())?;
    let stored = guaranteed_update(ctx, pinned, |old| {
        let mut new = lifecycle::prepare_update(ctx, part, obj.clone(), &old.object)?;
        fields.track_update(Some(&old.object), &mut new);
        Ok(new)
    })
    .await?;
    Ok(object_response(ctx, StatusCode::OK, &stored, &warnings))
}

fn parse_patch(ctx: &Ctx<'_>, body: &Bytes) -> Result<(PatchType, Value), ApiError> {
    let content_type = ctx
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let kind = PatchType::from_content_type(content_type)?;
    let value = match kind {
        PatchType::Apply => yaml_to_json(body)?,
        _ => serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?,
    };
    Ok((kind, value))
}

fn apply_patch(
    kind: PatchType,
    target: &Value,
    patch: &Value,
    schema: &PatchSchema<'_>,
) -> Result<Value, ApiError> {
    let mut out = target.clone();
    match kind {
        PatchType::Json => patch::json_patch(&mut out, patch)?,
        PatchType::Merge => patch::merge(&mut out, patch),
        PatchType::Strategic | PatchType::Apply => {
            out = patch::strategic::apply(target, patch, schema)?
        }
    }
    Ok(out)
}

/// PATCH of an object or its status.
pub(crate) async fn patch(ctx: &Ctx<'_>, body: &Bytes, part: Part) -> Result<Response, ApiError> {
    let (kind, patch_value) = parse_patch(ctx, body)?;
    let force = managed_fields::apply_force(ctx, kind == PatchType::Apply)?;
    if kind == PatchType::Apply
        && part == Part::Main
        && ctx.state.objects.get(&ctx.key()).await?.is_none()
    {
        let mut obj = patch_value.clone();
        if ctx.rt.namespaced && meta::namespace(&obj).is_empty() {
            meta::set_meta(&mut obj, "namespace", json!(ctx.namespace()));
        }
        return create_object(ctx, &mut obj, Some(&patch_value)).await;
    }
    let pinned = if kind == PatchType::Json {
        None
    } else {
        resource_version_of(&patch_value)?
    };
    let mut warnings = Vec::new();
    let model = ctx.state.registry.openapi();
    let schema = match kind {
        PatchType::Strategic => model.patch_schema(&ctx.rt),
        _ => PatchSchema::unknown(),
    };
    let fields = managed_fields::for_request(ctx, &model, part.subresource())?;
    let stored = guaranteed_update(ctx, pinned, |old| {
        let mut patched = match kind {
            PatchType::Apply => fields.apply(&old.object, &patch_value, force)?,
            _ => apply_patch(kind, &old.object, &patch_value, &schema)?,
        };
        warnings = lifecycle::check_shape(ctx, &mut patched)?;
        let mut new = lifecycle::prepare_update(ctx, part, patched, &old.object)?;
        if kind != PatchType::Apply {
            fields.track_update(Some(&old.object), &mut new);
        }
        Ok(new)
    })
    .await?;
    Ok(object_response(ctx, StatusCode::OK, &stored, &warnings))
}

fn replicas_of_scale(ctx: &Ctx<'_>, scale: &Value) -> Result<i64, ApiError> {
    let replicas = scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
    match replicas.as_i64() {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(ApiError::Invalid {
            kind: "Scale".to_owned(),
            group: "autoscaling".to_owned(),
            name: ctx.name().to_owned(),
            causes: vec![Cause::invalid(
                "spec.replicas",
                &replicas,
                "must be greater than or equal to 0",
            )],
        }),
    }
}

async fn write_replicas(
    ctx: &Ctx<'_>,
    pinned: Option<i64>,
    mut replicas: impl FnMut(&Value) -> Result<i64, ApiError>,
) -> Result<Response, ApiError> {
    let model = ctx.state.registry.openapi();
    let fields = managed_fields::for_request(ctx, &model, "scale")?;
    let stored = guaranteed_update(ctx, pinned, |old| {
        let n = replicas(&scale_of(&ctx.rt, &old.object))?;
        let mut new = old.object.clone();
        if let Some(paths) = ctx.rt.strategy.scale_paths() {
            paths.set_replicas(&mut new, n);
        } else if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
            spec.insert("replicas".to_owned(), json!(n));
        }
        let mut new = lifecycle::prepare_update(ctx, Part::Main, new, &old.object)?;
        fields.track_update(Some(&old.object), &mut new);
        Ok(new)
    })
    .await?;
    Ok(respond(
        StatusCode::OK,
        &scale_of(&ctx.rt, &stored),
        representation(&ctx.headers),
        &[],
    ))
}

/// PUT of `/scale`.
pub(crate) async fn update_scale(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let scale = decode_body(body_format(&ctx.headers)?, body)?;
    let pinned = resource_version_of(&scale)?;
    let n = replicas_of_scale(ctx, &scale)?;
    write_replicas(ctx, pinned, |_| Ok(n)).await
}

/// PATCH of `/scale`.
pub(crate) async fn patch_scale(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let (kind, patch_value) = parse_patch(ctx, body)?;
    write_replicas(ctx, None, |scale| {
        let patched = apply_patch(kind, scale, &patch_value, &PatchSchema::unknown())?;
        replicas_of_scale(ctx, &patched)
    })
    .await
}
