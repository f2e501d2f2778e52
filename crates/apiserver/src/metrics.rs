//! `/metrics`: request counts and latencies by verb and resource, the watches in flight, and the
//! process's resident memory, in the Prometheus text exposition format (OpenMetrics flavour).
//!
//! One middleware, [`track`], measures every request and answers `GET /metrics` itself, so no
//! handler carries instrumentation. Labels follow upstream's `apiserver_request_total` and
//! `apiserver_request_duration_seconds` (verb, dry_run, group, version, resource, subresource,
//! scope, component; `code` on the counter), with upstream's verbs: `LIST` and `WATCH` for
//! collection reads, `APPLY` for server-side apply, `DELETECOLLECTION`. Requests outside the
//! resource tree are labelled by a fixed path template in `subresource`, as upstream labels its
//! non-resource URLs, so unknown paths cannot grow the label space.
//!
//! Registry: the `prometheus-client` crate, the Prometheus project's own Rust client: typed
//! label sets, lock-free counters, and an encoder kept current with the exposition format.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use http::{header, HeaderMap, Method, StatusCode, Uri};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::handlers::request::{parse_path, Query, Target};

/// The `component` label of every request metric.
pub const COMPONENT: &str = "apiserver";

/// The path the metrics are served on.
pub const METRICS_PATH: &str = "/metrics";

/// The exposition's content type.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Upstream's `apiserver_request_duration_seconds` buckets, in seconds.
pub const DURATION_BUCKETS: [f64; 23] = [
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0,
    10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
];

/// Non-resource paths labelled by themselves (a sub-path such as `/readyz/ping` takes its
/// parent's label); any other path outside `/api` and `/apis` is labelled `other`.
const NON_RESOURCE_PATHS: &[&str] = &[
    "/api",
    "/apis",
    "/version",
    "/healthz",
    "/livez",
    "/readyz",
    METRICS_PATH,
    "/openapi/v2",
    "/openapi/v3",
];

/// The labels a request is counted and timed under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// `GET`, `LIST`, `WATCH`, `POST`, `PUT`, `PATCH`, `APPLY`, `DELETE`, `DELETECOLLECTION`;
    /// the HTTP method for non-resource requests.
    pub verb: &'static str,
    /// `All` for a dry run, else empty.
    pub dry_run: &'static str,
    /// The API group ("" for core and for non-resource requests).
    pub group: String,
    /// The API version.
    pub version: String,
    /// The plural resource.
    pub resource: String,
    /// The subresource; for non-resource requests, the path template.
    pub subresource: String,
    /// `resource` (one named object), `namespace` (a namespaced collection), `cluster` (a
    /// cluster-wide collection), or empty for non-resource requests.
    pub scope: &'static str,
    /// Always [`COMPONENT`].
    pub component: &'static str,
}

/// The response code label of `apiserver_request_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

impl RequestLabels {
    /// Derives the labels from what a request asks for, before it is served.
    pub fn of(method: &Method, uri: &Uri, headers: &HeaderMap) -> Self {
        let path = match parse_path(uri.path()) {
            Some(Target::Resource(path)) => path,
            Some(Target::GroupVersion { group, version }) => {
                return Self {
                    verb: method_label(method),
                    group,
                    version,
                    component: COMPONENT,
                    ..Self::default()
                };
            }
            None => return Self::non_resource(method, uri.path()),
        };
        let query = Query::parse(uri.query());
        let named = path.name.is_some();
        let watch = path.legacy_watch || query.flag("watch");
        let verb = match *method {
            Method::GET if watch => "WATCH",
            Method::GET if named => "GET",
            Method::GET => "LIST",
            Method::PATCH if is_apply(headers) => "APPLY",
            Method::DELETE if !named => "DELETECOLLECTION",
            _ => method_label(method),
        };
        let scope = if named {
            "resource"
        } else if path.namespace.is_some() {
            "namespace"
        } else {
            "cluster"
        };
        Self {
            verb,
            dry_run: if query.get("dryRun") == Some("All") {
                "All"
            } else {
                ""
            },
            group: path.group,
            version: path.version,
            resource: path.plural,
            subresource: path.subresource.unwrap_or_default(),
            scope,
            component: COMPONENT,
        }
    }

    fn non_resource(method: &Method, path: &str) -> Self {
        let template = NON_RESOURCE_PATHS
            .iter()
            .find(|p| path == **p || path.strip_prefix(**p).is_some_and(|r| r.starts_with('/')))
            .copied()
            .unwrap_or("other");
        Self {
            verb: method_label(method),
            subresource: template.to_owned(),
            component: COMPONENT,
            ..Self::default()
        }
    }

    /// Whether the request is a watch, which is measured until its stream ends.
    pub fn is_watch(&self) -> bool {
        self.verb == "WATCH"
    }
}

fn is_apply(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/apply-patch"))
}

fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The API server's metrics registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<(RequestLabels, CodeLabel), Counter>,
    durations: Family<RequestLabels, Histogram>,
    long_running: Family<RequestLabels, Gauge>,
    resident_memory: Gauge,
}

fn duration_histogram() -> Histogram {
    Histogram::new(DURATION_BUCKETS)
}

impl Metrics {
    /// A registry with every metric registered and no samples yet. (The encoder ends each
    /// help text with a full stop, so ours have none.)
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::default();
        let requests = Family::<(RequestLabels, CodeLabel), Counter>::default();
        let durations = Family::<RequestLabels, Histogram>::new_with_constructor(
            duration_histogram as fn() -> Histogram,
        );
        let long_running = Family::<RequestLabels, Gauge>::default();
        let resident_memory = Gauge::default();
        registry.register(
            "apiserver_request",
            "Counter of apiserver requests broken out for each verb, dry run value, group, \
             version, resource, scope, component, and HTTP response code",
            requests.clone(),
        );
        registry.register_with_unit(
            "apiserver_request_duration",
            "Response latency distribution in seconds for each verb, dry run value, group, \
             version, resource, subresource, scope and component",
            Unit::Seconds,
            durations.clone(),
        );
        registry.register(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests (watches) broken out by verb, \
             group, version, resource, scope and component",
            long_running.clone(),
        );
        registry.register_with_unit(
            "process_resident_memory",
            "Resident memory size in bytes",
            Unit::Bytes,
            resident_memory.clone(),
        );
        Arc::new(Self {
            registry,
            requests,
            durations,
            long_running,
            resident_memory,
        })
    }

    /// Counts and times one finished request.
    pub fn observe(&self, labels: &RequestLabels, code: StatusCode, elapsed: Duration) {
        let code = CodeLabel {
            code: code.as_u16(),
        };
        self.requests.get_or_create(&(labels.clone(), code)).inc();
        self.durations
            .get_or_create(labels)
            .observe(elapsed.as_secs_f64());
    }

    /// The exposition text, with the resident memory read now.
    pub fn render(&self) -> String {
        if let Some(rss) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .as_deref()
            .and_then(resident_memory_bytes)
        {
            self.resident_memory
                .set(i64::try_from(rss).unwrap_or(i64::MAX));
        }
        let mut out = String::with_capacity(16 * 1024);
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            // Writing to a String cannot fail; keep whatever was written.
            let _ = writeln!(out, "# EOF");
        }
        out
    }

    /// A watch has started: counted in `apiserver_longrunning_requests` until the guard drops,
    /// when the request is counted and timed.
    fn watch_started(
        self: &Arc<Self>,
        labels: RequestLabels,
        code: StatusCode,
        started: Instant,
    ) -> WatchGuard {
        self.long_running.get_or_create(&labels).inc();
        WatchGuard {
            metrics: self.clone(),
            labels,
            code,
            started,
        }
    }
}

/// Ends a watch's measurement when its response stream is dropped.
struct WatchGuard {
    metrics: Arc<Metrics>,
    labels: RequestLabels,
    code: StatusCode,
    started: Instant,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.metrics.long_running.get_or_create(&self.labels).dec();
        self.metrics
            .observe(&self.labels, self.code, self.started.elapsed());
    }
}

/// `VmRSS` from the text of `/proc/<pid>/status`, in bytes.
pub fn resident_memory_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The middleware: serves `GET /metrics`, and counts and times every request. Watches are
/// measured until their stream ends; every other request until its response head is ready.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let labels = RequestLabels::of(request.method(), request.uri(), request.headers());
    if request.method() == Method::GET && request.uri().path() == METRICS_PATH {
        let response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CONTENT_TYPE)],
            metrics.render(),
        )
            .into_response();
        metrics.observe(&labels, response.status(), started.elapsed());
        return response;
    }
    let response = next.run(request).await;
    let code = response.status();
    if !(labels.is_watch() && code.is_success()) {
        metrics.observe(&labels, code, started.elapsed());
        return response;
    }
    let guard = metrics.watch_started(labels, code, started);
    let (parts, body) = response.into_parts();
    let stream = body.into_data_stream().map(move |chunk| {
        let _measured = &guard;
        chunk
    });
    Response::from_parts(parts, Body::from_stream(stream))
}

#[cfg(test)]
mod tests;
