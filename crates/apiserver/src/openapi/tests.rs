use std::sync::{Arc, LazyLock};

use axum::body::Body;
use http::{header, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::auth::{Authenticator, CertificateIdentity, User};
use crate::registry::Registry;
use crate::{ApiConfig, ApiServer};

/// One model of the built-in types, shared by the tests (building it takes a moment).
static BUILTINS: LazyLock<Arc<Model>> = LazyLock::new(|| Registry::with_builtins().openapi());

fn document(group_version: &str) -> Value {
    BUILTINS
        .documents()
        .get(group_version)
        .and_then(|d| serde_json::from_slice(&d.json).ok())
        .unwrap_or(Value::Null)
}

fn property<'a>(schema: &'a Value, definition: &str, field: &str) -> &'a Value {
    &schema["components"]["schemas"][definition]["properties"][field]
}

#[test]
fn deployment_schema_carries_its_group_version_kind() {
    let doc = document("apis/apps/v1");
    let deployment = &doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        deployment["x-kubernetes-group-version-kind"],
        json!([{"group": "apps", "kind": "Deployment", "version": "v1"}])
    );
    assert_eq!(
        deployment["properties"]["spec"]["allOf"][0]["$ref"],
        json!("#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec")
    );
}

#[test]
fn deployment_patch_operation_declares_field_validation() {
    let doc = document("apis/apps/v1");
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(patch["x-kubernetes-action"], json!("patch"));
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "kind": "Deployment", "version": "v1"})
    );
    let declares = |name: &str| {
        patch["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["name"] == json!(name) && p["in"] == json!("query"))
        })
    };
    assert!(declares("fieldValidation"));
    assert!(declares("fieldManager"));
}

#[test]
fn every_patch_operation_of_a_kind_declares_field_validation() {
    for (gv, doc) in BUILTINS.documents() {
        let doc: Value = serde_json::from_slice(&doc.json).unwrap_or(Value::Null);
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            if let Some(params) = item.get("patch").map(|p| &p["parameters"]) {
                let found = params
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == json!("fieldValidation")));
                assert!(found, "{gv}: PATCH {path} lacks fieldValidation");
            }
        }
    }
}

#[test]
fn every_ref_in_a_document_resolves_within_it() {
    for (gv, doc) in BUILTINS.documents() {
        let text = String::from_utf8_lossy(&doc.json).into_owned();
        let doc: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut refs = Vec::new();
        schemas_refs(&doc, &mut refs);
        for target in refs {
            let name = target.trim_start_matches(schemas::REF_PREFIX);
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "{gv}: dangling {target}"
            );
        }
    }
}

fn schemas_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| match (k.as_str(), v) {
            ("$ref", Value::String(s)) => out.push(s.clone()),
            _ => schemas_refs(v, out),
        }),
        Value::Array(items) => items.iter().for_each(|v| schemas_refs(v, out)),
        _ => {}
    }
}

#[test]
fn container_ports_merge_by_container_port() {
    let doc = document("api/v1");
    let ports = property(&doc, "io.k8s.api.core.v1.Container", "ports");
    assert_eq!(
        ports["x-kubernetes-patch-merge-key"],
        json!("containerPort")
    );
    assert_eq!(ports["x-kubernetes-patch-strategy"], json!("merge"));
    assert_eq!(ports["x-kubernetes-list-type"], json!("map"));
    assert_eq!(
        ports["x-kubernetes-list-map-keys"],
        json!(["containerPort", "protocol"])
    );
}

#[test]
fn pod_spec_containers_merge_by_name() {
    let doc = document("apis/apps/v1");
    let containers = property(&doc, "io.k8s.api.core.v1.PodSpec", "containers");
    assert_eq!(containers["x-kubernetes-patch-merge-key"], json!("name"));
    assert_eq!(containers["x-kubernetes-patch-strategy"], json!("merge"));
    let volumes = property(&doc, "io.k8s.api.core.v1.PodSpec", "volumes");
    assert_eq!(
        volumes["x-kubernetes-patch-strategy"],
        json!("merge,retainKeys")
    );
}

#[test]
fn every_patch_metadata_entry_names_a_generated_field() {
    let schemas = BUILTINS.schemas();
    for (prefix, definitions) in patch_meta::TABLE {
        for (name, fields) in *definitions {
            let Some(definition) = schemas.get(&format!("{prefix}.{name}")) else {
                continue;
            };
            for (field, ..) in *fields {
                assert!(
                    definition["properties"].get(*field).is_some(),
                    "{prefix}.{name} has no field {field}"
                );
            }
        }
    }
}

#[test]
fn model_is_rebuilt_only_when_the_registry_changes() {
    let registry = Registry::with_builtins();
    let first = registry.openapi();
    assert!(Arc::ptr_eq(&first, &registry.openapi()));
    let types = registry.index().types.clone();
    registry.replace_all(types);
    assert!(!Arc::ptr_eq(&first, &registry.openapi()));
}

async fn server() -> (tempfile::TempDir, axum::Router) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = rudder_store::embedded::EmbeddedStore::open(dir.path())
        .unwrap_or_else(|e| panic!("store: {e}"));
    let (api, _task) = ApiServer::start(
        Arc::new(store),
        ApiConfig::default(),
        Authenticator::default(),
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("server: {e}"));
    (dir, api.router())
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let user = User {
        name: "admin".into(),
        uid: String::new(),
        groups: vec!["system:masters".into()],
    };
    let mut request = Request::get(uri).body(Body::empty()).unwrap_or_default();
    request
        .extensions_mut()
        .insert(CertificateIdentity(Some(user)));
    let response = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    (parts.status, parts.headers, bytes.to_vec())
}

#[tokio::test]
async fn root_lists_every_group_version_with_a_hash_url() {
    let (_dir, app) = server().await;
    let (status, headers, body) = get(&app, "/openapi/v3").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let root: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    for (group, version) in Registry::with_builtins().index().group_versions() {
        let gv = if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        };
        let url = root["paths"][&gv]["serverRelativeURL"]
            .as_str()
            .unwrap_or_default();
        let hash = url
            .strip_prefix(&format!("/openapi/v3/{gv}?hash="))
            .unwrap_or_default();
        assert_eq!(hash.len(), 128, "{gv}: {url}");
        assert!(hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()));
    }
}

#[tokio::test]
async fn hashed_documents_are_immutable_and_stale_hashes_redirect() {
    let (_dir, app) = server().await;
    let (_, _, body) = get(&app, "/openapi/v3").await;
    let root: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap_or_default();
    let (status, headers, _) = get(&app, url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "public, immutable");
    assert!(headers.contains_key(header::EXPIRES));
    let (status, headers, body) = get(&app, "/openapi/v3/apis/apps/v1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache, private");
    assert!(serde_json::from_slice::<Value>(&body).is_ok());
    let (status, headers, _) = get(&app, "/openapi/v3/apis/apps/v1?hash=0BAD").await;
    assert_eq!(status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(headers[header::LOCATION], url);
    let (status, _, _) = get(&app, "/openapi/v3/apis/nope/v1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get(&app, "/openapi/v2").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
