//! The API server's TLS configuration.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

use crate::inspect::{cert_der_from_pem, key_der_from_pem};
use crate::{ClusterPki, PkiError, CA_CERT_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE};

/// ALPN protocols the API server offers, most preferred first.
const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

impl ClusterPki {
    /// The TLS configuration of the API server: TLS 1.2 and 1.3 with the ring provider, ALPN
    /// `h2` and `http/1.1`, the serving certificate, and optional client certificates verified
    /// against the cluster CA. Clients without a certificate are let through (they may present
    /// a bearer token or be anonymous); a certificate that does not chain to the CA fails the
    /// handshake.
    ///
    /// # Errors
    /// [`PkiError::DecodePem`] / [`PkiError::MissingPemItem`] for unreadable PEMs,
    /// [`PkiError::TrustAnchor`], [`PkiError::ClientVerifier`] and [`PkiError::ServerConfig`]
    /// when rustls rejects the material.
    pub fn server_tls_config(&self) -> Result<Arc<ServerConfig>, PkiError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        roots
            .add(cert_der_from_pem(self.ca_cert_pem(), CA_CERT_FILE)?)
            .map_err(PkiError::TrustAnchor)?;
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(PkiError::ClientVerifier)?;
        let cert = cert_der_from_pem(self.server_cert_pem(), SERVER_CERT_FILE)?;
        let key = key_der_from_pem(self.server_key_pem(), SERVER_KEY_FILE)?;
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(PkiError::ServerConfig)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert], key)
            .map_err(PkiError::ServerConfig)?;
        config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}
