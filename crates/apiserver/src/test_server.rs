//! A test API server on an embedded store, driven without a socket.

use std::sync::Arc;

use axum::body::Body;
use http::{Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use crate::auth::{Authenticator, CertificateIdentity, User};
use crate::{ApiConfig, ApiServer};

/// A server over a fresh embedded store in a temp dir, stopped on drop.
pub struct Server {
    _dir: tempfile::TempDir,
    /// The router, served without a socket.
    pub app: axum::Router,
    shutdown: tokio_util::sync::CancellationToken,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts a [`Server`].
pub async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let store = rudder_store::embedded::EmbeddedStore::open(dir.path())
        .unwrap_or_else(|e| panic!("store: {e}"));
    let shutdown = tokio_util::sync::CancellationToken::new();
    let (api, _task) = ApiServer::start(
        Arc::new(store),
        ApiConfig::default(),
        Authenticator::default(),
        shutdown.clone(),
    )
    .await
    .unwrap_or_else(|e| panic!("server: {e}"));
    Server {
        _dir: dir,
        app: api.router(),
        shutdown,
    }
}

/// Sends one request as `system:admin`; the answer's status and JSON body.
pub async fn send(server: &Server, method: Method, uri: &str, body: Value) -> (StatusCode, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default();
    request
        .extensions_mut()
        .insert(CertificateIdentity(Some(User {
            name: "system:admin".to_owned(),
            uid: String::new(),
            groups: vec![
                "system:masters".to_owned(),
                "system:authenticated".to_owned(),
            ],
        })));
    let response = server
        .app
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
