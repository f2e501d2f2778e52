//! get, list and the scale view.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Map, Value};

use super::request::{representation, respond, Representation};
use super::Ctx;
use crate::error::ApiError;
use crate::meta;
use crate::registry::ResourceType;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::storage::ReadAt;
use crate::table::{self, IncludeObject};

/// The label and field selectors of a list or watch.
pub(crate) struct Filter {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
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
    match ctx.rt.served(obj.clone()) {
        Ok(obj) => respond(code, &obj, repr, warnings),
        Err(e) => e.into_response(),
    }
}

/// GET of one object (also serves `/status`).
pub(crate) async fn get(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let stored = ctx.state.objects.get(&ctx.key()).await?;
    let stored =
        stored.ok_or_else(|| ApiError::not_found(&ctx.rt.group, &ctx.rt.plural, ctx.name()))?;
    Ok(object_response(ctx, StatusCode::OK, &stored.object, &[]))
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

/// LIST of a collection, paginated and filtered.
pub(crate) async fn list(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let filter = Filter::from_ctx(ctx)?;
    let limit = usize::try_from(ctx.query.int("limit")?.unwrap_or(0).max(0)).unwrap_or(0);
    let prefix = ctx.rt.prefix(ctx.path.namespace.as_deref());
    let page = ctx
        .state
        .objects
        .list(
            &prefix,
            limit,
            ctx.query.get("continue").filter(|c| !c.is_empty()),
            read_at(ctx)?,
            &|o| filter.matches(o),
        )
        .await?;
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
    if repr == Representation::Table {
        let include = IncludeObject::parse(ctx.query.get("includeObject"));
        let body = super::table_of(&ctx.rt, &page.items, include, Value::Object(list_meta));
        return Ok(respond(StatusCode::OK, &body, Representation::Json, &[]));
    }
    let items = super::served_items(&ctx.rt, page.items)?;
    let items: Vec<Value> = items.into_iter().map(strip_type).collect();
    let body = json!({
        "kind": format!("{}List", ctx.rt.kind),
        "apiVersion": ctx.rt.api_version(),
        "metadata": list_meta,
        "items": items,
    });
    Ok(respond(StatusCode::OK, &body, repr, &[]))
}

/// List items carry no apiVersion/kind, as upstream encodes them.
fn strip_type(mut obj: Value) -> Value {
    if let Some(map) = obj.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
    }
    obj
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
