//! Joining a cluster with a join token, as a k3s agent does: fetch the CA from the server's
//! public `/cacerts` over an unverified connection, check it against the hash the token pins,
//! then trust only that CA and present the token's secret as a bearer token.

use kube::Client;
use rudder_controllers::{ClientError, TokenCredentials};
use rudder_pki::{JoinToken, JoinTokenError};

/// The public path the server serves its CA bundle at (k3s's).
pub const CA_CERTS_PATH: &str = "/cacerts";

/// Why joining failed.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    /// The token is malformed.
    #[error("reading the join token")]
    ParseToken(#[source] JoinTokenError),
    /// The server URL does not parse.
    #[error("invalid server URL {url:?}")]
    InvalidServerUrl {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The client that fetches the CA could not be built.
    #[error("building the client that fetches the CA")]
    BuildCaClient(#[source] kube::Error),
    /// The request for the CA could not be built.
    #[error("building the request for the CA")]
    BuildCaRequest(#[source] http::Error),
    /// The server did not hand out its CA.
    #[error("fetching the CA from {url}")]
    FetchCa {
        /// The server.
        url: String,
        /// The error.
        #[source]
        source: kube::Error,
    },
    /// The CA the server sent is not the one the token pins.
    #[error("the CA served by {url} does not match the join token's CA hash")]
    CaMismatch {
        /// The server.
        url: String,
    },
    /// The authenticated client could not be built.
    #[error("building the API client")]
    BuildClient(#[source] ClientError),
}

/// A client of the API server at `server`, authenticated by the join `token`.
///
/// # Errors
/// The [`JoinError`] naming the step that failed.
pub async fn join(server: &str, token: &str) -> Result<Client, JoinError> {
    let token = JoinToken::parse(token).map_err(JoinError::ParseToken)?;
    let ca_pem = fetch_ca(server).await?;
    if !token.ca_matches(ca_pem.as_bytes()) {
        return Err(JoinError::CaMismatch {
            url: server.to_owned(),
        });
    }
    TokenCredentials {
        server: server.to_owned(),
        ca_pem,
        token: token.secret().to_owned(),
    }
    .client()
    .map_err(JoinError::BuildClient)
}

/// The server's CA bundle, fetched without verifying the server (the caller checks it).
async fn fetch_ca(server: &str) -> Result<String, JoinError> {
    let url = server
        .parse::<http::Uri>()
        .map_err(|source| JoinError::InvalidServerUrl {
            url: server.to_owned(),
            source,
        })?;
    let mut config = kube::Config::new(url);
    config.accept_invalid_certs = true;
    let client = Client::try_from(config).map_err(JoinError::BuildCaClient)?;
    let request = http::Request::get(CA_CERTS_PATH)
        .body(Vec::new())
        .map_err(JoinError::BuildCaRequest)?;
    client
        .request_text(request)
        .await
        .map_err(|source| JoinError::FetchCa {
            url: server.to_owned(),
            source,
        })
}
