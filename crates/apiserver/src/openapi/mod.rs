//! OpenAPI v3, generated from the registry: `GET /openapi/v3` lists one document per served
//! group-version, each at a URL carrying its content hash; `GET /openapi/v3/apis/<g>/<v>` (or
//! `/openapi/v3/api/v1`) serves the document. kubectl reads these to validate (`fieldValidation`),
//! to `explain`, and to learn the merge keys of strategic merge patches; the server uses the same
//! schemas for strategic merge patch.
//!
//! A [`Model`] describes one registry snapshot and is built on first use; the [`Cache`] rebuilds it
//! when the registry's snapshot changes (custom resources added or removed).

mod map_meta;
mod patch_meta;
mod paths;
mod schemas;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::handlers::ApiState;
use crate::patch::schema::PatchSchema;
use crate::registry::{Index, ResourceType};

pub use schemas::Gvk;

/// One group-version's document, serialized, with its hash.
pub struct Document {
    /// The JSON document.
    pub json: Bytes,
    /// Upper-case hex SHA-512 of `json`: the `hash` query parameter and the ETag.
    pub hash: String,
}

/// The OpenAPI view of one registry snapshot.
pub struct Model {
    index: Arc<Index>,
    definitions: schemas::Definitions,
    documents: OnceLock<BTreeMap<String, Document>>,
}

impl Model {
    /// Generates the component schemas of every type in `index`; documents follow on demand.
    pub fn build(index: Arc<Index>) -> Self {
        let definitions = schemas::generate(&index);
        Self {
            index,
            definitions,
            documents: OnceLock::new(),
        }
    }

    /// Every component schema, by definition name.
    pub fn schemas(&self) -> &Map<String, Value> {
        &self.definitions.schemas
    }

    /// The root definition name of a served kind.
    pub fn root(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.definitions
            .roots
            .get(&(group.to_owned(), version.to_owned(), kind.to_owned()))
            .map(String::as_str)
    }

    /// The strategic-merge schema of `rt`'s objects (unknown when the type has no schema).
    pub fn patch_schema(&self, rt: &ResourceType) -> PatchSchema<'_> {
        match self.root(&rt.group, &rt.version, &rt.kind) {
            Some(root) => PatchSchema::new(&self.definitions.schemas, root),
            None => PatchSchema::unknown(),
        }
    }

    /// The documents by group-version path (`api/v1`, `apis/apps/v1`).
    pub fn documents(&self) -> &BTreeMap<String, Document> {
        self.documents.get_or_init(|| {
            self.index
                .group_versions()
                .into_iter()
                .map(|(group, version)| {
                    let key = if group.is_empty() {
                        format!("api/{version}")
                    } else {
                        format!("apis/{group}/{version}")
                    };
                    (key, serialize(&self.document(&group, &version)))
                })
                .collect()
        })
    }

    /// The `/openapi/v3` listing.
    pub fn discovery(&self) -> Value {
        let paths: Map<String, Value> = self
            .documents()
            .iter()
            .map(|(gv, doc)| {
                (
                    gv.clone(),
                    json!({"serverRelativeURL": relative_url(gv, &doc.hash)}),
                )
            })
            .collect();
        json!({ "paths": paths })
    }

    fn document(&self, group: &str, version: &str) -> Value {
        let mut paths = Map::new();
        let mut roots = vec![
            schemas::STATUS,
            schemas::DELETE_OPTIONS,
            schemas::PATCH,
            paths::LIST_META,
        ];
        for rt in self.index.in_group_version(group, version) {
            let Some(root) = self.root(group, version, &rt.kind) else {
                continue;
            };
            paths::add_resource(&mut paths, rt, root);
            roots.push(root);
            if rt.subresources.scale {
                roots.push(schemas::SCALE);
            }
        }
        let all = &self.definitions.schemas;
        let components: Map<String, Value> = schemas::reachable(all, &roots)
            .into_iter()
            .filter_map(|name| Some((name.to_owned(), all.get(name)?.clone())))
            .collect();
        json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": crate::KUBERNETES_VERSION},
            "paths": paths,
            "components": {"schemas": components},
        })
    }
}

fn serialize(document: &Value) -> Document {
    let json = Bytes::from(document.to_string());
    let hash = sha512_hex(&json);
    Document { json, hash }
}

fn sha512_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA512, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

fn relative_url(group_version: &str, hash: &str) -> String {
    format!("/openapi/v3/{group_version}?hash={hash}")
}

/// The model of the latest registry snapshot, rebuilt when the snapshot changes.
#[derive(Default)]
pub struct Cache {
    current: Mutex<Option<Arc<Model>>>,
}

impl Cache {
    /// The model of `index`, built now unless the cached one describes the same snapshot.
    pub fn model(&self, index: Arc<Index>) -> Arc<Model> {
        let mut current = match self.current.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(model) = current.as_ref().filter(|m| Arc::ptr_eq(&m.index, &index)) {
            return model.clone();
        }
        let model = Arc::new(Model::build(index));
        *current = Some(model.clone());
        model
    }
}

/// `GET /openapi/v3`.
pub async fn root(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let body = Bytes::from(state.registry.openapi().discovery().to_string());
    let etag = format!("\"{}\"", sha512_hex(&body));
    let mut response =
        if_none_match(&headers, &etag).unwrap_or_else(|| (StatusCode::OK, body).into_response());
    set(&mut response, header::CONTENT_TYPE, "application/json");
    set(&mut response, header::ETAG, &etag);
    set(&mut response, header::CACHE_CONTROL, "no-cache, private");
    response
}

/// `GET /openapi/v3/<group-version>`: the document, immutable when asked for by its hash.
pub async fn document(
    State(state): State<Arc<ApiState>>,
    Path(group_version): Path<String>,
    request: Request,
) -> Response {
    let model = state.registry.openapi();
    let Some(doc) = model.documents().get(group_version.trim_end_matches('/')) else {
        return ApiError::NoRoute.into_response();
    };
    let headers = request.headers();
    if !accepts_json(headers) {
        return ApiError::NotAcceptable.into_response();
    }
    let asked = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("hash=")));
    if asked.is_some_and(|h| !h.is_empty() && h != doc.hash) {
        let mut response = StatusCode::MOVED_PERMANENTLY.into_response();
        set(
            &mut response,
            header::LOCATION,
            &relative_url(&group_version, &doc.hash),
        );
        return response;
    }
    let etag = format!("\"{}\"", doc.hash);
    let mut response = if_none_match(headers, &etag)
        .unwrap_or_else(|| (StatusCode::OK, doc.json.clone()).into_response());
    set(&mut response, header::CONTENT_TYPE, "application/json");
    set(&mut response, header::ETAG, &etag);
    set(&mut response, header::VARY, "Accept");
    if asked.is_some() {
        let expires = chrono::Utc::now() + chrono::Duration::days(365);
        set(&mut response, header::CACHE_CONTROL, "public, immutable");
        let expires = expires.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        set(&mut response, header::EXPIRES, &expires);
    } else {
        set(&mut response, header::CACHE_CONTROL, "no-cache, private");
    }
    response
}

/// A 304 when the client already holds `etag`.
fn if_none_match(headers: &HeaderMap, etag: &str) -> Option<Response> {
    let held = headers.get(header::IF_NONE_MATCH)?.to_str().ok()?;
    held.split(',')
        .any(|t| t.trim() == etag || t.trim() == "*")
        .then(|| StatusCode::NOT_MODIFIED.into_response())
}

/// Whether the Accept header allows JSON (documents are served only as JSON).
fn accepts_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    accept.split(',').any(|clause| {
        let media = clause.split(';').next().unwrap_or_default().trim();
        matches!(media, "" | "*/*" | "application/*" | "application/json")
    })
}

fn set(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

#[cfg(test)]
mod tests;
