//! The generic request pipeline: every resource request goes through [`serve`], which resolves
//! the resource type from the registry and runs the verb with that type's strategy.

mod binding;
mod delete;
mod eviction;
mod lifecycle;
mod read;
pub mod request;
mod review;
mod watch;
mod write;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::Method;
use serde_json::Value;

use crate::allocators::WriteHook;
use crate::discovery;
use crate::error::ApiError;
use crate::raw::{RawObject, Shape};
use crate::registry::{Registry, ResourceType};
use crate::storage::Objects;
use crate::table::IncludeObject;
use crate::watch_cache::WatchCache;
use request::{parse_path, Query, ResourcePath, Target};

/// Largest request body accepted (upstream's limit is 3 MiB for most writes).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// What every request handler shares.
pub struct ApiState {
    /// The served resource types.
    pub registry: Arc<Registry>,
    /// Objects in the store.
    pub objects: Objects,
    /// The watch fan-out.
    pub watch_cache: Arc<WatchCache>,
    /// Cancelled when the server shuts down; long-running requests end with it.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Allocation side effects, by (group, kind).
    pub hooks: Vec<(&'static str, &'static str, Arc<dyn WriteHook>)>,
}

impl ApiState {
    /// The write hook of a resource type, if it has one.
    pub fn hook(&self, rt: &ResourceType) -> Option<&Arc<dyn WriteHook>> {
        self.hooks
            .iter()
            .find(|(g, k, _)| *g == rt.group && *k == rt.kind)
            .map(|(_, _, h)| h)
    }
}

/// A resolved resource request.
pub(crate) struct Ctx<'a> {
    pub state: &'a Arc<ApiState>,
    pub rt: Arc<ResourceType>,
    pub path: ResourcePath,
    pub query: Query,
    pub headers: http::HeaderMap,
}

impl Ctx<'_> {
    /// The namespace of the request ("" for cluster-scoped types).
    pub fn namespace(&self) -> &str {
        if self.rt.namespaced {
            self.path.namespace.as_deref().unwrap_or_default()
        } else {
            ""
        }
    }

    /// The object name in the path ("" for collections).
    pub fn name(&self) -> &str {
        self.path.name.as_deref().unwrap_or_default()
    }

    /// The write hook of the request's type, unless this is a dry run.
    pub fn hook(&self) -> Option<&Arc<dyn WriteHook>> {
        if self.query.dry_run().unwrap_or(false) {
            return None;
        }
        self.state.hook(&self.rt)
    }

    /// The store key of the named object.
    pub fn key(&self) -> String {
        self.rt.key(self.namespace(), self.name())
    }
}

/// The Table of `objects` (as stored) for `rt`. Cells are computed from the stored form, so
/// every version of a resource prints the same columns (upstream prints its internal form);
/// objects embedded with `includeObject=Object` are in the requested version.
pub(crate) fn table_of(
    rt: &ResourceType,
    objects: &[Value],
    include: IncludeObject,
    list_metadata: Value,
) -> Value {
    let mut table = rt.strategy.table(objects, include, list_metadata);
    if include == IncludeObject::Object {
        let rows = table.get_mut("rows").and_then(Value::as_array_mut);
        for (row, obj) in rows.into_iter().flatten().zip(objects) {
            if let Ok(served) = rt.served(obj.clone()) {
                row["object"] = served;
            }
        }
    }
    table
}

/// List items, as stored, in the requested version. Items of versions stored without
/// conversion are left as they are: list items carry no apiVersion.
pub(crate) fn served_items(rt: &ResourceType, items: Vec<Value>) -> Result<Vec<Value>, ApiError> {
    if rt.conversion.is_none() {
        return Ok(items);
    }
    items.into_iter().map(|obj| rt.served(obj)).collect()
}

/// A stored object decoded and made the version `rt` serves ([`ResourceType::served`]).
///
/// # Errors
/// [`ApiError::CorruptObject`] when the stored bytes are not JSON; a conversion's error.
pub(crate) fn decode_served(
    rt: &ResourceType,
    key: &str,
    raw: &RawObject,
) -> Result<Value, ApiError> {
    rt.served(raw.decode(key)?)
}

/// Appends a stored object to `out` as JSON, as `rt` (whose `apiVersion` is `api_version`)
/// serves it. The stored bytes are copied with their resourceVersion spliced in only for types
/// without a conversion whose stored `apiVersion` is the served one; every other object is
/// decoded and made the served version by [`ResourceType::served`]. `key` names the object in
/// errors.
///
/// # Errors
/// [`ApiError::CorruptObject`] when the stored bytes are not JSON; a conversion's error.
pub(crate) fn write_served(
    out: &mut Vec<u8>,
    rt: &ResourceType,
    api_version: &str,
    key: &str,
    raw: &RawObject,
    shape: Shape,
) -> Result<(), ApiError> {
    if rt.conversion.is_none() && crate::raw::splice(out, raw, api_version, shape) {
        return Ok(());
    }
    let mut obj = decode_served(rt, key, raw)?;
    if shape == Shape::ListItem {
        obj = strip_type(obj);
    }
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, &obj);
    Ok(())
}

/// List items carry no apiVersion/kind, as upstream encodes them.
pub(crate) fn strip_type(mut obj: Value) -> Value {
    if let Some(map) = obj.as_object_mut() {
        map.shift_remove("apiVersion");
        map.shift_remove("kind");
    }
    obj
}

/// Serves every request under `/api` and `/apis`.
pub async fn serve(State(state): State<Arc<ApiState>>, request: Request) -> Response {
    match route(&state, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn route(state: &Arc<ApiState>, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let target = parse_path(parts.uri.path()).ok_or(ApiError::NoRoute)?;
    let path = match target {
        Target::GroupVersion { group, version } => {
            return discovery::resource_list(&state.registry.index(), &group, &version)
                .map(|v| axum::Json(v).into_response())
                .ok_or(ApiError::NoRoute);
        }
        Target::Resource(path) => path,
    };
    let rt = state
        .registry
        .index()
        .get(&path.group, &path.version, &path.plural)
        .cloned()
        .ok_or(ApiError::NoRoute)?;
    if rt.namespaced && path.namespace.is_none() && path.name.is_some() {
        return Err(ApiError::NoRoute);
    }
    let query = Query::parse(parts.uri.query());
    let body = read_body(body).await?;
    let ctx = Ctx {
        state,
        rt,
        path,
        query,
        headers: parts.headers,
    };
    if let Some(answer) = ctx.rt.strategy.review() {
        let user = parts.extensions.get::<crate::auth::User>();
        return review::serve(&ctx, answer, &parts.method, &body, user).await;
    }
    if ctx.rt.is_binding() {
        return match (
            &parts.method,
            ctx.path.name.is_some(),
            &ctx.path.subresource,
        ) {
            (&Method::POST, false, None) => binding::bind(&ctx, &body).await,
            (_, _, Some(_)) => Err(ApiError::NoRoute),
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
    let sub = ctx.path.subresource.clone();
    let has_name = ctx.path.name.is_some();
    match (&parts.method, has_name, sub.as_deref()) {
        (&Method::GET, false, None) if ctx.query.flag("watch") || ctx.path.legacy_watch => {
            watch::watch(&ctx).await
        }
        (&Method::GET, true, None) if ctx.path.legacy_watch => watch::watch(&ctx).await,
        (&Method::GET, false, None) => read::list(&ctx).await,
        (&Method::GET, true, None | Some("status")) => read::get(&ctx).await,
        (&Method::GET, true, Some("scale")) if ctx.rt.subresources.scale => {
            read::get_scale(&ctx).await
        }
        (&Method::POST, false, None) => write::create(&ctx, &body).await,
        (&Method::PUT, true, None) => write::update(&ctx, &body, lifecycle::Part::Main).await,
        (&Method::PUT, true, Some("status")) if ctx.rt.subresources.status => {
            write::update(&ctx, &body, lifecycle::Part::Status).await
        }
        (&Method::PUT, true, Some("scale")) if ctx.rt.subresources.scale => {
            write::update_scale(&ctx, &body).await
        }
        (&Method::POST, true, Some("eviction")) if ctx.rt.subresources.eviction => {
            eviction::evict(&ctx, &body).await
        }
        (&Method::PUT, true, Some("finalize")) if ctx.rt.kind == "Namespace" => {
            write::finalize(&ctx, &body).await
        }
        (&Method::PATCH, true, None) => write::patch(&ctx, &body, lifecycle::Part::Main).await,
        (&Method::PATCH, true, Some("status")) if ctx.rt.subresources.status => {
            write::patch(&ctx, &body, lifecycle::Part::Status).await
        }
        (&Method::PATCH, true, Some("scale")) if ctx.rt.subresources.scale => {
            write::patch_scale(&ctx, &body).await
        }
        (&Method::POST, true, Some("binding")) if ctx.rt.subresources.binding => {
            binding::bind(&ctx, &body).await
        }
        (&Method::DELETE, true, None) => write::delete(&ctx, &body).await,
        (&Method::DELETE, false, None) => write::delete_collection(&ctx, &body).await,
        (_, _, Some(_)) if !known_subresource(&ctx.rt, sub.as_deref()) => Err(ApiError::NoRoute),
        _ => Err(ApiError::MethodNotAllowed),
    }
}

fn known_subresource(rt: &ResourceType, sub: Option<&str>) -> bool {
    match sub {
        Some("status") => rt.subresources.status,
        Some("scale") => rt.subresources.scale,
        Some("binding") => rt.subresources.binding,
        Some("eviction") => rt.subresources.eviction,
        _ => false,
    }
}

async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::BadRequest(format!(
            "request body too large or unreadable (limit {MAX_BODY} bytes)"
        ))
    })
}
