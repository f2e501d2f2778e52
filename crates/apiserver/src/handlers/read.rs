//! get, list and the scale view.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::request::{representation, respond, respond_json, Representation};
use super::{strip_type, write_served, Ctx};
use crate::error::ApiError;
use crate::meta;
use crate::raw::{RawObject, Shape};
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::storage::{Page, ReadAt};
use crate::table::{self, IncludeObject};

/// The label and field selectors of a list or watch.
pub(crate) struct Filter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

/// Just the labels of a stored object: what a label selector needs, read without building the
/// rest of the object.
#[derive(Deserialize, Default)]
struct LabelsOnly {
    #[serde(default)]
    metadata: MetadataLabels,
}

#[derive(Deserialize, Default)]
struct MetadataLabels {
    #[serde(default)]
    labels: Option<Map<String, Value>>,
}

impl Filter {
    /// Parses the request's selectors.
    pub fn from_ctx(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        Ok(Self {
            labels: LabelSelector::parse(ctx.query.get("labelSelector").unwrap_or_default())?,
            fields: FieldSelector::parse(
                ctx.query.get("fieldSelector").unwrap_or_default(),
                &ctx.rt.group,
                &ctx.rt.kind,
            )?
            .renamed(|field| ctx.rt.storage_field(field)),
        })
    }

    /// Whether `obj` passes both selectors.
    pub fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(meta::labels(obj)) && self.fields.matches(obj)
    }

    /// Whether the stored object passes both selectors, decoding only what they need.
    ///
    /// # Errors
    /// [`ApiError::CorruptObject`] when a selector needs the object and it is not JSON.
    pub fn keeps(&self, key: &str, raw: &RawObject) -> Result<bool, ApiError> {
        if self.fields.is_empty() {
            if self.labels.is_empty() {
                return Ok(true);
            }
            let only: LabelsOnly =
                serde_json::from_slice(&raw.value).map_err(|source| ApiError::CorruptObject {
                    key: key.to_owned(),
                    source,
                })?;
            return Ok(self.labels.matches(only.metadata.labels.as_ref()));
        }
        Ok(self.matches(&raw.decode(key)?))
    }
}

/// Encodes one object, as stored, in the version and representation the client asked for.
pub(crate) fn object_response(
    ctx: &Ctx<'_>,
    code: StatusCode,
    obj: &Value,
    warnings: &[String],
) -> Response {
    let repr = representation(&ctx.headers);
    if repr == Representation::Table {
        let include = IncludeObject::parse(ctx.query.get("includeObject"));
        let rv = meta::str_at(obj, "/metadata/resourceVersion");
        let body = super::table_of(
            &ctx.rt,
            std::slice::from_ref(obj),
            include,
            json!({"resourceVersion": rv}),
        );
        return respond(code, &body, Representation::Json, warnings);
    }
    if repr == Representation::Metadata {
        return respond(code, &meta::partial_of(obj), Representation::Json, warnings);
    }
    match ctx.rt.served(obj.clone()) {
        Ok(obj) => respond(code, &obj, repr, warnings),
        Err(e) => e.into_response(),
    }
}

/// Encodes one stored object in the representation the client asked for: JSON straight from
/// the stored bytes when they are the served version.
///
/// # Errors
/// [`ApiError::CorruptObject`] when the stored bytes are not JSON.
pub(crate) fn stored_response(
    ctx: &Ctx<'_>,
    code: StatusCode,
    key: &str,
    raw: &RawObject,
    warnings: &[String],
) -> Result<Response, ApiError> {
    match representation(&ctx.headers) {
        Representation::Json => {}
        Representation::Metadata => {
            let partial = raw.partial_metadata(key)?;
            return Ok(respond(code, &partial, Representation::Json, warnings));
        }
        _ => return Ok(object_response(ctx, code, &raw.decode(key)?, warnings)),
    }
    let mut body = Vec::new();
    write_served(
        &mut body,
        &ctx.rt,
        &ctx.rt.api_version(),
        key,
        raw,
        Shape::Object,
    )?;
    Ok(respond_json(code, body, warnings))
}

/// GET of one object (also serves `/status`).
pub(crate) async fn get(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let key = ctx.key();
    let stored = ctx.state.objects.get_raw(&key).await?;
    let stored =
        stored.ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, ctx.name()))?;
    stored_response(ctx, StatusCode::OK, &key, &stored, &[])
}

/// Which revision a list reads at, from `resourceVersion` and `resourceVersionMatch`.
pub(crate) fn read_at(ctx: &Ctx<'_>) -> Result<ReadAt, ApiError> {
    let rv = ctx.query.get("resourceVersion").filter(|v| !v.is_empty());
    let parsed = rv
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {v}")))
        })
        .transpose()?;
    match (ctx.query.get("resourceVersionMatch"), parsed) {
        (Some("Exact"), Some(rv)) if rv > 0 => Ok(ReadAt::Exact(rv)),
        (Some("Exact"), _) => Err(ApiError::BadRequest(
            "resourceVersionMatch \"Exact\" requires a non-zero resourceVersion".to_owned(),
        )),
        (Some("NotOlderThan") | Some("") | None, _) => Ok(ReadAt::Latest),
        (Some(other), _) => Err(ApiError::BadRequest(format!(
            "unsupported resourceVersionMatch value {other:?}"
        ))),
    }
}

/// Reads a page of the objects under `prefix` that pass `filter`.
///
/// Reads of the newest state (no continue token, no exact revision) are served by the watch
/// cache once it has caught up with the store's current revision, as upstream serves
/// consistent lists from its cache (ConsistentListFromCache, on by default since 1.31); a
/// continuation or an exact revision reads the store.
pub(crate) async fn list_page(
    ctx: &Ctx<'_>,
    prefix: &str,
    limit: usize,
    filter: &Filter,
    continue_token: Option<&str>,
    read_at: ReadAt,
) -> Result<Page, ApiError> {
    let keep = |key: &str, raw: &RawObject| filter.keeps(key, raw);
    if continue_token.is_none() && read_at == ReadAt::Latest {
        let (current, _) = ctx.state.objects.store().revisions().await?;
        let cached = ctx.state.watch_cache.list(prefix, limit, current, &keep);
        if let Some(page) = cached.await? {
            return Ok(page);
        }
    }
    ctx.state
        .objects
        .list(prefix, limit, continue_token, read_at, &keep)
        .await
}

/// LIST of a collection, paginated and filtered.
pub(crate) async fn list(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let filter = Filter::from_ctx(ctx)?;
    let limit = usize::try_from(ctx.query.int("limit")?.unwrap_or(0).max(0)).unwrap_or(0);
    let prefix = ctx.rt.prefix(ctx.path.namespace.as_deref());
    let continue_token = ctx.query.get("continue").filter(|c| !c.is_empty());
    let page = list_page(ctx, &prefix, limit, &filter, continue_token, read_at(ctx)?).await?;
    let mut list_meta = Map::new();
    list_meta.insert(
        "resourceVersion".to_owned(),
        json!(page.revision.to_string()),
    );
    if let Some(token) = &page.continue_token {
        list_meta.insert("continue".to_owned(), json!(token));
    }
    if let Some(remaining) = page.remaining {
        list_meta.insert("remainingItemCount".to_owned(), json!(remaining));
    }
    let repr = representation(&ctx.headers);
    let api_version = ctx.rt.api_version();
    let kind = format!("{}List", ctx.rt.kind);
    if repr == Representation::Json {
        let body = list_json(ctx, &prefix, &kind, &api_version, &list_meta, &page.items)?;
        return Ok(respond_json(StatusCode::OK, body, &[]));
    }
    if repr == Representation::Metadata {
        let items = page
            .items
            .iter()
            .map(|raw| raw.partial_metadata(&prefix))
            .collect::<Result<Vec<_>, _>>()?;
        let body = json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": list_meta,
            "items": items,
        });
        return Ok(respond(StatusCode::OK, &body, Representation::Json, &[]));
    }
    if repr == Representation::Table {
        let include = IncludeObject::parse(ctx.query.get("includeObject"));
        let items = page.decoded(&prefix)?;
        let body = super::table_of(&ctx.rt, &items, include, Value::Object(list_meta));
        return Ok(respond(StatusCode::OK, &body, Representation::Json, &[]));
    }
    let items = super::served_items(&ctx.rt, page.decoded(&prefix)?)?;
    let items: Vec<Value> = items.into_iter().map(strip_type).collect();
    let body = json!({
        "kind": kind,
        "apiVersion": api_version,
        "metadata": list_meta,
        "items": items,
    });
    Ok(respond(StatusCode::OK, &body, repr, &[]))
}

/// A list as JSON, its items written from their stored bytes (see [`write_served`]); the same
/// document as encoding `{kind, apiVersion, metadata, items}`.
fn list_json(
    ctx: &Ctx<'_>,
    prefix: &str,
    kind: &str,
    api_version: &str,
    list_meta: &Map<String, Value>,
    items: &[RawObject],
) -> Result<Vec<u8>, ApiError> {
    let size: usize = items.iter().map(|i| i.value.len() + 32).sum();
    let mut out = Vec::with_capacity(size + 256);
    let head = json!({"kind": kind, "apiVersion": api_version, "metadata": list_meta});
    // Writing a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut out, &head);
    out.pop(); // the closing brace: the items follow
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_served(
            &mut out,
            &ctx.rt,
            api_version,
            prefix,
            item,
            Shape::ListItem,
        )?;
    }
    out.extend_from_slice(b"]}");
    Ok(out)
}

/// The autoscaling/v1 Scale view of an object of type `rt`.
pub(crate) fn scale_of(rt: &ResourceType, obj: &Value) -> Value {
    match rt.strategy.scale_paths() {
        Some(paths) => paths.scale(obj),
        None => builtin_scale_of(obj),
    }
}

/// The autoscaling/v1 Scale view of an object with `spec.replicas`.
fn builtin_scale_of(obj: &Value) -> Value {
    let selector = obj.pointer("/spec/selector");
    let selector_text = match selector {
        Some(sel) if sel.get("matchLabels").is_some() || sel.get("matchExpressions").is_some() => {
            table::selector_text(Some(sel))
        }
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    };
    let metadata = obj.get("metadata").cloned().unwrap_or_default();
    let mut scale_meta = Map::new();
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = metadata.get(key) {
            scale_meta.insert(key.to_owned(), v.clone());
        }
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector_text,
        },
    })
}

/// GET of `/scale`.
pub(crate) async fn get_scale(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let stored = ctx.state.objects.get(&ctx.key()).await?;
    let stored =
        stored.ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, ctx.name()))?;
    Ok(respond(
        StatusCode::OK,
        &scale_of(&ctx.rt, &stored.object),
        representation(&ctx.headers),
        &[],
    ))
}
