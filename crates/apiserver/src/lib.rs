//! The Kubernetes API server.
//!
//! One generic pipeline ([`handlers`]) serves every resource type in the [`registry`]: it decodes
//! the request, checks the object against its type, defaults and validates it through the type's
//! [`strategy`], and reads or writes it through [`storage`] over the cluster store. Watches fan out
//! from one [`watch_cache`]. Discovery and Table output are generated from the same registry.

pub mod admission;
pub mod allocators;
pub mod auth;
pub mod bootstrap;
pub mod compactor;
pub mod compression;
pub mod conversion;
pub mod crd;
pub mod discovery;
pub mod error;
pub mod handlers;
pub mod managed_fields;
pub mod meta;
pub mod metrics;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod raw;
pub mod registry;
pub mod selectors;
pub mod server;
pub mod storage;
pub mod strategy;
pub mod table;
#[cfg(test)]
mod test_server;
pub mod watch_cache;

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{header, HeaderMap, StatusCode};
use rudder_store::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::error::ApiError;
use crate::handlers::ApiState;
use crate::registry::Registry;
use crate::storage::Objects;
use crate::watch_cache::WatchCache;

/// The Kubernetes version the server reports; `/usr/bin/kubectl` picks its kubectl by it.
pub const KUBERNETES_VERSION: &str = "v1.33.0";

/// How many recent changes the watch cache keeps for watches that resume.
const WATCH_WINDOW: usize = 100_000;

/// What an API server is configured with.
#[derive(Debug, Clone, Default)]
pub struct ApiConfig {
    /// The range Service cluster IPs come from.
    pub service_cidr: allocators::ServiceCidr,
    /// The range Service node ports come from.
    pub node_ports: allocators::PortRange,
}

/// The default service CIDR (k3s's).
pub const DEFAULT_SERVICE_CIDR: &str = "10.43.0.0/16";

/// A running API server's shared state, ready to be served.
pub struct ApiServer {
    state: Arc<ApiState>,
    auth: Arc<auth::Authenticator>,
}

impl ApiServer {
    /// Builds the server over `store` and starts its watch cache and the CRD controller, which
    /// serves the custom resources of the CRDs already stored before this returns (both are
    /// stopped by `shutdown`; the handle ends when both have).
    ///
    /// # Errors
    /// When the store cannot report its revision or list the CRDs.
    pub async fn start(
        store: Arc<dyn Store>,
        config: ApiConfig,
        authenticator: auth::Authenticator,
        shutdown: CancellationToken,
    ) -> Result<(Self, tokio::task::JoinHandle<()>), ApiError> {
        // The cache starts from the oldest history the store still holds (bounded by the
        // window), so a watch resumed after a restart continues without a gap.
        let watch_cache = Arc::new(WatchCache::load(&store, WATCH_WINDOW).await?);
        let cache_task = tokio::spawn(watch_cache.clone().run(store.clone(), shutdown.clone()));
        let services = Arc::new(allocators::ServiceAllocator::new(
            store.clone(),
            config.service_cidr,
            config.node_ports,
        ));
        let registry = Arc::new(Registry::with_builtins());
        let objects = Objects::new(store);
        let mut hooks: Vec<(&'static str, &'static str, Arc<dyn allocators::WriteHook>)> =
            vec![("", "Service", services)];
        if let Some(classes) = registry
            .index()
            .get("storage.k8s.io", "v1", "storageclasses")
        {
            let default_class = admission::default_storage_class::DefaultStorageClass::new(
                objects.clone(),
                classes.prefix(None),
            );
            hooks.push(("", "PersistentVolumeClaim", Arc::new(default_class)));
        }
        if let Some(classes) = registry
            .index()
            .get("scheduling.k8s.io", "v1", "priorityclasses")
        {
            let priority =
                admission::priority::Priority::new(objects.clone(), classes.prefix(None));
            hooks.push(("", "Pod", Arc::new(priority)));
        }
        let state = Arc::new(ApiState {
            registry,
            objects,
            watch_cache,
            shutdown: shutdown.clone(),
            hooks,
        });
        let crd_task = crd::start(state.clone(), shutdown).await?;
        let cache_task = tokio::spawn(async move {
            let _ = tokio::join!(cache_task, crd_task);
        });
        Ok((
            Self {
                state,
                auth: Arc::new(authenticator),
            },
            cache_task,
        ))
    }

    /// The shared request state.
    pub fn state(&self) -> &Arc<ApiState> {
        &self.state
    }

    /// The HTTP application: every route, behind authentication.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/version", get(version))
            .route("/healthz", get(health))
            .route("/livez", get(health))
            .route("/readyz", get(health))
            .route("/api", get(api_root))
            .route("/apis", get(apis_root))
            .route("/apis/{group}", get(api_group))
            .route("/openapi/v2", get(|| async { ApiError::NoRoute }))
            .route("/openapi/v3", get(openapi::root))
            .route("/openapi/v3/{*group_version}", get(openapi::document))
            .fallback(handlers::serve)
            .with_state(self.state.clone())
            .layer(axum::middleware::from_fn_with_state(
                metrics::Metrics::new(),
                metrics::track,
            ))
            .layer(compression::layer())
            .layer(axum::middleware::from_fn_with_state(
                self.auth.clone(),
                auth::authenticate,
            ))
    }
}

/// The public route node agents fetch the cluster CA bundle from before they trust the server
/// (k3s's `/cacerts`): merged next to [`ApiServer::router`], outside authentication. Joining
/// agents check what it returns against the CA hash pinned in their join token.
pub fn ca_certs_router(ca_pem: String) -> Router {
    Router::new().route(
        "/cacerts",
        get(move || {
            let body = ca_pem.clone();
            async move { ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body) }
        }),
    )
}

async fn version() -> Json<serde_json::Value> {
    Json(json!({
        "major": "1",
        "minor": "33",
        "gitVersion": KUBERNETES_VERSION,
        "gitCommit": "rudder",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "rust",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, if cfg!(target_arch = "x86_64") { "amd64" } else { std::env::consts::ARCH }),
    }))
}

async fn health(request: Request) -> Response {
    let verbose = request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|p| p == "verbose" || p.starts_with("verbose="))
    });
    let path = request.uri().path().trim_start_matches('/').to_owned();
    if verbose {
        let body = format!("[+]ping ok\n[+]etcd ok\n[+]informer-sync ok\n{path} check passed\n");
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            body,
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok",
    )
        .into_response()
}

fn discovery_response(
    headers: &HeaderMap,
    aggregated: impl FnOnce() -> serde_json::Value,
    legacy: impl FnOnce() -> serde_json::Value,
) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if discovery::wants_aggregated(accept) {
        let body = aggregated().to_string();
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, discovery::AGGREGATED_CONTENT_TYPE)],
            body,
        )
            .into_response();
    }
    Json(legacy()).into_response()
}

async fn api_root(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let index = state.registry.index();
    discovery_response(
        &headers,
        || discovery::aggregated(&index, true),
        discovery::core_versions,
    )
}

async fn apis_root(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    let index = state.registry.index();
    discovery_response(
        &headers,
        || discovery::aggregated(&index, false),
        || discovery::group_list(&index),
    )
}

async fn api_group(
    State(state): State<Arc<ApiState>>,
    Path(group): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    discovery::group(&state.registry.index(), &group)
        .map(Json)
        .ok_or(ApiError::NoRoute)
}
