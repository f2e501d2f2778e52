//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while making, loading or using the cluster's certificates.
///
/// Every variant names the step that failed and keeps its source. All of them are fatal for the
/// step that returned them: retrying without changing the files or the input gives the same error.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// The directory that holds the certificates could not be created.
    #[error("creating certificate directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file could not be read.
    #[error("reading {path}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// A file could not be written (temporary file, permissions, sync or rename).
    #[error("writing {path}")]
    WriteFile {
        /// The file that was being replaced.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// `ca.crt` exists but its private key `ca.key` does not; refusing to replace a CA that
    /// clients may already trust.
    #[error("CA certificate {cert} exists but its key {key} is missing")]
    CaKeyMissing {
        /// The CA certificate file.
        cert: PathBuf,
        /// The missing key file.
        key: PathBuf,
    },
    /// `ca.key` does not hold the private key of `ca.crt`.
    #[error("CA key {key} does not match CA certificate {cert}")]
    CaKeyMismatch {
        /// The CA certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// A new key pair could not be generated.
    #[error("generating a key pair")]
    GenerateKey(#[source] rcgen::Error),
    /// A PEM private key could not be parsed.
    #[error("parsing private key {what}")]
    ParseKey {
        /// Which key (file name or role).
        what: String,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// The CA certificate could not be turned into an issuer.
    #[error("loading CA certificate {what} as an issuer")]
    LoadIssuer {
        /// Which certificate.
        what: String,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// A host name given for the serving certificate is not a valid DNS name.
    #[error("host {host:?} is neither an IP address nor a valid DNS name")]
    InvalidHost {
        /// The rejected host.
        host: String,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// More organizations were asked for than one certificate subject can hold here
    /// (see [`crate::MAX_ORGANIZATIONS`]).
    #[error("{count} organizations requested; at most {max} fit in a certificate subject", max = crate::MAX_ORGANIZATIONS)]
    TooManyOrganizations {
        /// How many were requested.
        count: usize,
    },
    /// A certificate could not be built or signed.
    #[error("signing the {what} certificate")]
    SignCertificate {
        /// Which certificate (`CA`, `serving`, `client`).
        what: &'static str,
        /// The underlying error.
        source: rcgen::Error,
    },
    /// A PEM document could not be decoded.
    #[error("decoding PEM of {what}")]
    DecodePem {
        /// Which document.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A PEM document held no item of the expected kind.
    #[error("{what} holds no {expected}")]
    MissingPemItem {
        /// Which document.
        what: String,
        /// What was looked for (`certificate`, `private key`).
        expected: &'static str,
    },
    /// A DER certificate could not be parsed.
    #[error("parsing X.509 certificate {what}")]
    ParseCertificate {
        /// Which certificate.
        what: String,
        /// The underlying error.
        source: x509_parser::nom::Err<x509_parser::error::X509Error>,
    },
    /// A certificate's subject alternative names could not be read.
    #[error("reading subject alternative names of {what}")]
    ReadSans {
        /// Which certificate.
        what: String,
        /// The underlying error.
        source: x509_parser::error::X509Error,
    },
    /// A certificate's subject holds a name attribute that is not a string.
    #[error("reading subject attribute of client certificate")]
    ReadSubject(#[source] x509_parser::error::X509Error),
    /// The client certificate carries no common name, so it names no user.
    #[error("client certificate has no subject common name")]
    MissingCommonName,
    /// The CA certificate was rejected as a trust anchor.
    #[error("adding the CA certificate as a trust anchor")]
    TrustAnchor(#[source] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("building the client certificate verifier")]
    ClientVerifier(#[source] rustls::server::VerifierBuilderError),
    /// The TLS server configuration could not be built.
    #[error("building the TLS server configuration")]
    ServerConfig(#[source] rustls::Error),
    /// A line of the static token file is malformed.
    #[error("malformed line {line} of token file {path}")]
    TokenFileLine {
        /// The token file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        #[source]
        problem: crate::tokens::TokenLineError,
    },
    /// The node join token file holds no valid token, or a new one could not be made.
    #[error("node join token {path}")]
    JoinToken {
        /// The token file.
        path: PathBuf,
        /// What is wrong.
        source: crate::join::JoinTokenError,
    },
    /// The kubeconfig could not be serialized.
    #[error("serializing kubeconfig")]
    SerializeKubeconfig(#[source] serde_yaml::Error),
}
