//! Integration tests of `rudder-pki`, in one binary to keep links few.

mod cluster;
mod kubeconfig;
mod tls;
mod tokens;

/// The error type of these tests.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Reads the first certificate of a PEM document as DER.
pub fn cert_der(pem: &str) -> Result<rustls::pki_types::CertificateDer<'static>, std::io::Error> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .unwrap_or_else(|| Err(std::io::Error::other("no certificate in PEM")))
}

/// Reads the private key of a PEM document as DER.
pub fn key_der(pem: &str) -> Result<rustls::pki_types::PrivateKeyDer<'static>, std::io::Error> {
    rustls_pemfile::private_key(&mut pem.as_bytes())?
        .ok_or_else(|| std::io::Error::other("no key in PEM"))
}
