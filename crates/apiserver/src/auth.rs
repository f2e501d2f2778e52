//! Authentication: client certificates (verified by TLS) and bearer tokens from a token file.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header;
use rudder_pki::TokenFile;

use crate::error::ApiError;

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The user's uid, when the authenticator knows one.
    pub uid: String,
    /// The groups the user belongs to.
    pub groups: Vec<String>,
}

/// The identity the TLS layer proved with a client certificate, attached to each request of
/// the connection.
#[derive(Debug, Clone)]
pub struct CertificateIdentity(pub Option<User>);

/// The authenticators the server was configured with.
#[derive(Default)]
pub struct Authenticator {
    /// Static bearer tokens.
    pub tokens: Option<TokenFile>,
}

/// Paths anyone may read, as upstream's `system:public-info-viewer` role allows.
const PUBLIC_PATHS: &[&str] = &["/version", "/healthz", "/livez", "/readyz"];

impl Authenticator {
    /// The user a request authenticates as, if any.
    pub fn authenticate(&self, request: &Request) -> Option<User> {
        if let Some(CertificateIdentity(Some(user))) =
            request.extensions().get::<CertificateIdentity>()
        {
            return Some(user.clone());
        }
        let bearer = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))?;
        let user = self.tokens.as_ref()?.authenticate(bearer.trim())?;
        let mut groups = user.groups.clone();
        groups.push("system:authenticated".to_owned());
        Some(User {
            name: user.name.clone(),
            uid: user.uid.clone(),
            groups,
        })
    }
}

/// Middleware: attaches the [`User`] or answers 401.
pub async fn authenticate(
    State(auth): State<Arc<Authenticator>>,
    mut request: Request,
    next: Next,
) -> Response {
    match auth.authenticate(&request) {
        Some(user) => {
            request.extensions_mut().insert(user);
            next.run(request).await
        }
        None if PUBLIC_PATHS.iter().any(|p| {
            request.uri().path() == *p || request.uri().path().starts_with(&format!("{p}/"))
        }) =>
        {
            next.run(request).await
        }
        None => ApiError::Unauthorized.into_response(),
    }
}
