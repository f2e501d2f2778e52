//! A CRD's whole life through the router, without a socket: create it, wait for Established,
//! create/list/watch/patch its custom resources (schema, status and scale included), delete it
//! and see its custom resources go.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use rudder_apiserver::auth::{Authenticator, CertificateIdentity, User};
use rudder_apiserver::{ApiConfig, ApiServer};
use rudder_store::embedded::EmbeddedStore;
use rudder_store::Store;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

const CRD: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
const CRONTABS: &str = "/apis/stable.example.com/v1/namespaces/default/crontabs";

fn admin() -> CertificateIdentity {
    CertificateIdentity(Some(User {
        name: "admin".to_owned(),
        uid: String::new(),
        groups: vec!["system:masters".to_owned()],
    }))
}

struct Reply {
    status: StatusCode,
    warnings: Vec<String>,
    body: Value,
}

async fn send(
    app: &Router,
    method: Method,
    path: &str,
    content_type: &str,
    body: Value,
    accept: &str,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .header("accept", accept)
        .body(if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        })
        .unwrap_or_default();
    request.extensions_mut().insert(admin());
    let response = match app.clone().oneshot(request).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    let status = response.status();
    let warnings = response
        .headers()
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    Reply {
        status,
        warnings,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

async fn call(app: &Router, method: Method, path: &str, body: Value) -> Reply {
    send(
        app,
        method,
        path,
        "application/json",
        body,
        "application/json",
    )
    .await
}

fn crontab_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "crontabs.stable.example.com"},
        "spec": {"group": "stable.example.com", "scope": "Namespaced",
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": ["ct"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "cronSpec": {"type": "string"},
                        "replicas": {"type": "integer", "minimum": 1, "default": 1}}},
                    "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}]}]}
    })
}

/// Polls `check` until it holds, for at most two seconds.
async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// The next line of a watch stream, as JSON.
async fn next_event(body: &mut Body) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(2), body.frame()).await;
    match frame {
        Ok(Some(Ok(frame))) => frame
            .into_data()
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crd_serves_its_custom_resources_until_it_is_deleted_with_them() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = Arc::new(EmbeddedStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
    let dyn_store: Arc<dyn Store> = store.clone();
    let shutdown = CancellationToken::new();
    let (api, tasks) = ApiServer::start(
        dyn_store,
        ApiConfig::default(),
        Authenticator::default(),
        shutdown.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    rudder_apiserver::bootstrap::ensure_system_namespaces(api.state())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let app = api.router();

    // An invalid CRD is refused with field paths.
    let mut bad = crontab_crd();
    bad["spec"]["names"]["kind"] = json!("");
    let reply = call(&app, Method::POST, CRD, bad).await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = reply.body["details"]["causes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert!(fields.contains(&"spec.names.kind"), "{:?}", reply.body);

    // A valid one becomes Established and shows in discovery.
    assert_eq!(
        call(&app, Method::POST, CRD, crontab_crd()).await.status,
        StatusCode::CREATED
    );
    let established = eventually(|| async {
        let crd = call(
            &app,
            Method::GET,
            &format!("{CRD}/crontabs.stable.example.com"),
            Value::Null,
        )
        .await
        .body;
        crd["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    })
    .await;
    assert!(established);
    let discovery = call(
        &app,
        Method::GET,
        "/apis/stable.example.com/v1",
        Value::Null,
    )
    .await
    .body;
    let names: Vec<&str> = discovery["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, vec!["crontabs", "crontabs/status", "crontabs/scale"]);

    // Create: unknown fields pruned with a warning, defaults applied, status dropped.
    let reply = call(&app, Method::POST, CRONTABS, json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "a"}, "spec": {"cronSpec": "* * * * *", "bogus": 1}, "status": {"replicas": 5}})).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(
        reply.body["spec"],
        json!({"cronSpec": "* * * * *", "replicas": 1})
    );
    assert_eq!(reply.body.get("status"), None);
    assert!(
        reply
            .warnings
            .iter()
            .any(|w| w.contains("unknown field \\\"spec.bogus\\\"")),
        "{:?}",
        reply.warnings
    );
    let created_rv = reply.body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // A wrong type is a 422 in upstream's words.
    let reply = call(
        &app,
        Method::POST,
        CRONTABS,
        json!({"apiVersion": "stable.example.com/v1", "kind": "CronTab",
        "metadata": {"name": "b"}, "spec": {"replicas": "three"}}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body["message"],
        json!(
            r#"CronTab.stable.example.com "b" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#
        )
    );

    // Table output uses the printer columns.
    let table = send(
        &app,
        Method::GET,
        CRONTABS,
        "application/json",
        Value::Null,
        "application/json;as=Table;v=v1;g=meta.k8s.io",
    )
    .await
    .body;
    assert_eq!(table["columnDefinitions"][1]["name"], json!("Spec"));
    assert_eq!(table["rows"][0]["cells"], json!(["a", "* * * * *"]));

    // A watch sees the status and scale writes.
    let mut request = Request::builder()
        .uri(format!(
            "{CRONTABS}?watch=true&resourceVersion={created_rv}"
        ))
        .body(Body::empty())
        .unwrap_or_default();
    request.extensions_mut().insert(admin());
    let watch = app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let mut stream = watch.into_body();

    let status_patch = send(
        &app,
        Method::PATCH,
        &format!("{CRONTABS}/a/status"),
        "application/merge-patch+json",
        json!({"status": {"replicas": 2}, "spec": {"cronSpec": "ignored"}}),
        "application/json",
    )
    .await;
    assert_eq!(status_patch.status, StatusCode::OK);
    assert_eq!(status_patch.body["status"], json!({"replicas": 2}));
    assert_eq!(status_patch.body["spec"]["cronSpec"], json!("* * * * *"));
    let event = next_event(&mut stream).await;
    assert_eq!(
        (event["type"].clone(), event["object"]["status"].clone()),
        (json!("MODIFIED"), json!({"replicas": 2}))
    );

    let scale = call(
        &app,
        Method::GET,
        &format!("{CRONTABS}/a/scale"),
        Value::Null,
    )
    .await
    .body;
    assert_eq!(
        (
            scale["spec"]["replicas"].clone(),
            scale["status"]["replicas"].clone()
        ),
        (json!(1), json!(2))
    );
    let scaled = send(
        &app,
        Method::PATCH,
        &format!("{CRONTABS}/a/scale"),
        "application/merge-patch+json",
        json!({"spec": {"replicas": 3}}),
        "application/json",
    )
    .await;
    assert_eq!(scaled.body["spec"]["replicas"], json!(3));
    let event = next_event(&mut stream).await;
    assert_eq!(event["object"]["spec"]["replicas"], json!(3));
    assert_eq!(event["object"]["metadata"]["generation"], json!(2));

    // Deleting the CRD removes its custom resources, then the CRD.
    let reply = call(
        &app,
        Method::DELETE,
        &format!("{CRD}/crontabs.stable.example.com"),
        Value::Null,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let event = next_event(&mut stream).await;
    assert_eq!(event["type"], json!("DELETED"));
    let gone = eventually(|| async {
        call(
            &app,
            Method::GET,
            &format!("{CRD}/crontabs.stable.example.com"),
            Value::Null,
        )
        .await
        .status
            == StatusCode::NOT_FOUND
    })
    .await;
    assert!(gone);
    let left = api
        .state()
        .objects
        .list(
            "/registry/stable.example.com/",
            0,
            None,
            rudder_apiserver::storage::ReadAt::Latest,
            &|_, _| Ok(true),
        )
        .await;
    assert_eq!(left.map(|p| p.items.len()).ok(), Some(0));
    let served = eventually(|| async {
        call(&app, Method::GET, CRONTABS, Value::Null).await.status == StatusCode::NOT_FOUND
    })
    .await;
    assert!(served, "the custom resource is no longer served");

    shutdown.cancel();
    let _ = tasks.await;
    store.close();
}

/// The component schema and PATCH parameters of `kind` in the served document of `gv`.
async fn published(app: &Router, gv: &str, definition: &str) -> (Value, Vec<String>) {
    let doc = call(app, Method::GET, &format!("/openapi/v3/{gv}"), Value::Null)
        .await
        .body;
    let schema = doc["components"]["schemas"][definition].clone();
    let gvk = schema["x-kubernetes-group-version-kind"].clone();
    let patch_parameters = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(_, item)| item.get("patch"))
        .filter(|op| op["x-kubernetes-group-version-kind"] == gvk[0])
        .flat_map(|op| op["parameters"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect();
    (schema, patch_parameters)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crds_schema_is_published_in_openapi_v3_and_follows_its_changes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store: Arc<dyn Store> =
        Arc::new(EmbeddedStore::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
    let shutdown = CancellationToken::new();
    let (api, tasks) = ApiServer::start(
        store,
        ApiConfig::default(),
        Authenticator::default(),
        shutdown.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let app = api.router();

    // The CRD kind itself is published, PATCH with fieldValidation included.
    let (schema, parameters) = published(
        &app,
        "apis/apiextensions.k8s.io/v1",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
    )
    .await;
    assert!(schema.is_object());
    assert!(parameters.contains(&"fieldValidation".to_owned()));

    assert_eq!(
        call(&app, Method::POST, CRD, crontab_crd()).await.status,
        StatusCode::CREATED
    );
    let definition = "com.example.stable.v1.CronTab";
    let gv = "apis/stable.example.com/v1";
    assert!(eventually(|| async { published(&app, gv, definition).await.0.is_object() }).await);
    let (schema, parameters) = published(&app, gv, definition).await;
    assert_eq!(
        schema["x-kubernetes-group-version-kind"],
        json!([{"group": "stable.example.com", "kind": "CronTab", "version": "v1"}])
    );
    assert_eq!(
        schema["properties"]["spec"]["properties"]["cronSpec"],
        json!({"type": "string"})
    );
    assert_eq!(schema["properties"]["apiVersion"]["type"], json!("string"));
    assert!(schema["properties"]["metadata"]
        .to_string()
        .contains("#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"));
    assert!(parameters.contains(&"fieldValidation".to_owned()));

    // A change to the CRD's schema shows in the next document.
    let mut changed = crontab_crd();
    changed["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        ["properties"]["image"] = json!({"type": "string"});
    let reply = send(
        &app,
        Method::PATCH,
        &format!("{CRD}/crontabs.stable.example.com"),
        "application/merge-patch+json",
        json!({"spec": {"versions": changed["spec"]["versions"]}}),
        "application/json",
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    let image_published = eventually(|| async {
        let (schema, _) = published(&app, gv, definition).await;
        schema["properties"]["spec"]["properties"]["image"] == json!({"type": "string"})
    })
    .await;
    assert!(image_published);

    shutdown.cancel();
    let _ = tasks.await;
}
