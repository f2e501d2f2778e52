#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::routing::get;
use axum::Router;
use futures::StreamExt;
use tower::ServiceExt;

use super::*;

fn labels(method: Method, uri: &str) -> RequestLabels {
    RequestLabels::of(&method, &uri.parse().unwrap(), &HeaderMap::new())
}

#[test]
fn named_get_is_get_with_resource_scope() {
    let l = labels(Method::GET, "/api/v1/namespaces/default/configmaps/cm1");
    assert_eq!(
        (l.verb, l.group.as_str(), l.version.as_str()),
        ("GET", "", "v1")
    );
    assert_eq!((l.resource.as_str(), l.scope), ("configmaps", "resource"));
    assert_eq!(l.component, "apiserver");
}

#[test]
fn collection_get_is_list_and_watch_query_makes_it_watch() {
    let list = labels(
        Method::GET,
        "/apis/apps/v1/namespaces/ns/deployments?limit=500",
    );
    assert_eq!((list.verb, list.scope), ("LIST", "namespace"));
    assert_eq!(list.group, "apps");
    let watch = labels(Method::GET, "/apis/apps/v1/deployments?watch=true&rv=1");
    assert_eq!((watch.verb, watch.scope), ("WATCH", "cluster"));
    assert!(watch.is_watch());
    let legacy = labels(Method::GET, "/api/v1/watch/namespaces/ns/pods");
    assert_eq!(legacy.verb, "WATCH");
    assert_eq!(legacy.resource, "pods");
}

#[test]
fn writes_map_to_upstream_verbs() {
    let create = labels(Method::POST, "/api/v1/namespaces/ns/configmaps?dryRun=All");
    assert_eq!((create.verb, create.dry_run), ("POST", "All"));
    let sweep = labels(Method::DELETE, "/api/v1/namespaces/ns/configmaps");
    assert_eq!(sweep.verb, "DELETECOLLECTION");
    let delete = labels(Method::DELETE, "/api/v1/namespaces/ns/configmaps/a");
    assert_eq!(delete.verb, "DELETE");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "application/apply-patch+yaml".parse().unwrap(),
    );
    let apply = RequestLabels::of(
        &Method::PATCH,
        &"/apis/apps/v1/namespaces/ns/deployments/d".parse().unwrap(),
        &headers,
    );
    assert_eq!(apply.verb, "APPLY");
}

#[test]
fn subresources_and_namespaces_are_labelled_like_upstream() {
    let status = labels(
        Method::PUT,
        "/apis/apps/v1/namespaces/ns/deployments/d/status",
    );
    assert_eq!(
        (status.resource.as_str(), status.subresource.as_str()),
        ("deployments", "status")
    );
    let ns = labels(Method::GET, "/api/v1/namespaces/kube-system");
    assert_eq!(
        (ns.verb, ns.resource.as_str(), ns.scope),
        ("GET", "namespaces", "resource")
    );
}

#[test]
fn non_resource_paths_use_a_bounded_template() {
    assert_eq!(
        labels(Method::GET, "/readyz?verbose").subresource,
        "/readyz"
    );
    assert_eq!(labels(Method::GET, "/readyz/ping").subresource, "/readyz");
    assert_eq!(
        labels(Method::GET, "/openapi/v3/apis/apps/v1?hash=abc").subresource,
        "/openapi/v3"
    );
    assert_eq!(labels(Method::GET, "/no/such/thing").subresource, "other");
    assert_eq!(labels(Method::GET, "/readyzzz").subresource, "other");
    let gv = labels(Method::GET, "/apis/apps/v1");
    assert_eq!(
        (gv.group.as_str(), gv.version.as_str(), gv.scope),
        ("apps", "v1", "")
    );
}

#[test]
fn exposition_has_upstream_names_labels_and_buckets() {
    let metrics = Metrics::new();
    let l = labels(Method::POST, "/api/v1/namespaces/ns/configmaps");
    metrics.observe(&l, StatusCode::CREATED, Duration::from_millis(3));
    metrics.observe(&l, StatusCode::CREATED, Duration::from_millis(30));
    let text = metrics.render();
    let series = "verb=\"POST\",dry_run=\"\",group=\"\",version=\"v1\",resource=\"configmaps\",\
                  subresource=\"\",scope=\"namespace\",component=\"apiserver\"";
    assert!(text.contains("# TYPE apiserver_request counter"), "{text}");
    assert!(
        text.contains(&format!(
            "apiserver_request_total{{{series},code=\"201\"}} 2"
        )),
        "{text}"
    );
    assert!(text.contains("# TYPE apiserver_request_duration_seconds histogram"));
    assert!(
        text.contains(&format!(
            "apiserver_request_duration_seconds_bucket{{le=\"0.005\",{series}}} 1"
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "apiserver_request_duration_seconds_bucket{{le=\"60.0\",{series}}} 2"
    )));
    assert!(text.contains(&format!(
        "apiserver_request_duration_seconds_count{{{series}}} 2"
    )));
    assert!(text.contains("process_resident_memory_bytes "));
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn resident_memory_is_read_from_proc_status() {
    let status = "Name:\trudder\nVmPeak:\t  9000 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
    assert_eq!(resident_memory_bytes(status), Some(12345 * 1024));
    assert_eq!(resident_memory_bytes("Name:\tx\n"), None);
}

fn app(metrics: Arc<Metrics>) -> Router {
    let watch = || async {
        let stream = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("{}\n"))]);
        Body::from_stream(stream)
    };
    Router::new()
        .route("/api/v1/namespaces/{ns}/configmaps", get(watch))
        .route(
            "/api/v1/namespaces/{ns}/configmaps/{name}",
            get(|| async { "{}" }),
        )
        .layer(axum::middleware::from_fn_with_state(metrics, track))
}

async fn scrape(app: &Router) -> String {
    let response = app
        .clone()
        .oneshot(Request::get(METRICS_PATH).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], CONTENT_TYPE);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

#[tokio::test]
async fn middleware_counts_requests_and_serves_metrics() {
    let app = app(Metrics::new());
    let get = Request::get("/api/v1/namespaces/ns/configmaps/a")
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        app.clone().oneshot(get).await.unwrap().status(),
        StatusCode::OK
    );
    let text = scrape(&app).await;
    assert!(
        text.contains("apiserver_request_total{verb=\"GET\",dry_run=\"\",group=\"\",version=\"v1\",resource=\"configmaps\",subresource=\"\",scope=\"resource\",component=\"apiserver\",code=\"200\"} 1"),
        "{text}"
    );
    // The scrape itself is counted too, once it has been answered.
    assert!(scrape(&app).await.contains("subresource=\"/metrics\""));
}

#[tokio::test]
async fn a_watch_is_long_running_until_its_stream_is_dropped() {
    let app = app(Metrics::new());
    let watch = Request::get("/api/v1/namespaces/ns/configmaps?watch=1")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(watch).await.unwrap();
    let gauge = "apiserver_longrunning_requests{verb=\"WATCH\"";
    let line = |text: &str| {
        text.lines()
            .find(|l| l.starts_with(gauge))
            .map(|l| l.rsplit(' ').next().unwrap_or_default().to_owned())
    };
    assert_eq!(line(&scrape(&app).await).as_deref(), Some("1"));
    // The stream still carries its events through the wrapper.
    let mut stream = response.into_body().into_data_stream();
    assert_eq!(stream.next().await.unwrap().unwrap(), "{}\n");
    drop(stream);
    let text = scrape(&app).await;
    assert_eq!(line(&text).as_deref(), Some("0"));
    assert!(
        text.contains("apiserver_request_total{verb=\"WATCH\""),
        "{text}"
    );
}
