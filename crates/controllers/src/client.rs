//! The controller manager's connection to the API server: a `kube::Config` built in memory
//! from the cluster URL, the CA and a client certificate, with no kubeconfig file.

use base64::Engine;
use kube::config::AuthInfo;
use secrecy::SecretString;

/// Where the API server is and how to prove who we are to it.
#[derive(Clone)]
pub struct Credentials {
    /// `https://host:port` of the API server.
    pub server: String,
    /// The cluster CA certificate, PEM.
    pub ca_pem: String,
    /// The client certificate, PEM.
    pub cert_pem: String,
    /// The client certificate's private key, PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why a client configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL does not parse.
    #[error("invalid API server URL {url:?}")]
    InvalidServerUrl {
        /// The URL given.
        url: String,
        /// Why it does not parse.
        #[source]
        source: http::uri::InvalidUri,
    },
    /// The CA PEM holds no readable certificate.
    #[error("reading the cluster CA certificate")]
    ReadCaCertificate(#[source] std::io::Error),
    /// The CA PEM holds no certificate at all.
    #[error("the cluster CA PEM holds no certificate")]
    NoCaCertificate,
    /// kube rejected the configuration.
    #[error("building the API client")]
    BuildClient(#[source] kube::Error),
}

/// Where the API server is and the bearer token to present to it (a node agent joining with a
/// join token's secret).
#[derive(Clone)]
pub struct TokenCredentials {
    /// `https://host:port` of the API server.
    pub server: String,
    /// The cluster CA certificate, PEM.
    pub ca_pem: String,
    /// The bearer token.
    pub token: String,
}

impl std::fmt::Debug for TokenCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCredentials")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// A configuration for `server` that trusts only the CA in `ca_pem`, with no credentials yet.
fn trusting(server: &str, ca_pem: &str) -> Result<kube::Config, ClientError> {
    let url = server
        .parse::<http::Uri>()
        .map_err(|source| ClientError::InvalidServerUrl {
            url: server.to_owned(),
            source,
        })?;
    let mut reader = ca_pem.as_bytes();
    let roots = rustls_pemfile::certs(&mut reader)
        .map(|c| c.map(|der| der.as_ref().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ClientError::ReadCaCertificate)?;
    if roots.is_empty() {
        return Err(ClientError::NoCaCertificate);
    }
    let mut config = kube::Config::new(url);
    config.root_cert = Some(roots);
    Ok(config)
}

impl Credentials {
    /// The kube-rs configuration for these credentials.
    ///
    /// # Errors
    /// [`ClientError::InvalidServerUrl`], [`ClientError::ReadCaCertificate`] and
    /// [`ClientError::NoCaCertificate`].
    pub fn config(&self) -> Result<kube::Config, ClientError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut config = trusting(&self.server, &self.ca_pem)?;
        config.auth_info = AuthInfo {
            client_certificate_data: Some(b64.encode(&self.cert_pem)),
            client_key_data: Some(SecretString::from(b64.encode(&self.key_pem))),
            ..AuthInfo::default()
        };
        Ok(config)
    }

    /// A kube-rs client for these credentials.
    ///
    /// # Errors
    /// Those of [`Credentials::config`], and [`ClientError::BuildClient`].
    pub fn client(&self) -> Result<kube::Client, ClientError> {
        kube::Client::try_from(self.config()?).map_err(ClientError::BuildClient)
    }
}

impl TokenCredentials {
    /// The kube-rs configuration for these credentials.
    ///
    /// # Errors
    /// As [`Credentials::config`].
    pub fn config(&self) -> Result<kube::Config, ClientError> {
        let mut config = trusting(&self.server, &self.ca_pem)?;
        config.auth_info = AuthInfo {
            token: Some(SecretString::from(self.token.clone())),
            ..AuthInfo::default()
        };
        Ok(config)
    }

    /// A kube-rs client for these credentials.
    ///
    /// # Errors
    /// Those of [`TokenCredentials::config`], and [`ClientError::BuildClient`].
    pub fn client(&self) -> Result<kube::Client, ClientError> {
        kube::Client::try_from(self.config()?).map_err(ClientError::BuildClient)
    }
}
