//! Rudder's certificates: the cluster CA made on first start, the API server's serving
//! certificate, client certificates, the TLS server configuration, static bearer tokens and
//! the admin kubeconfig, and the node join token.
//!
//! Everything here works on paths it is given; nothing reads global state except the clock in
//! [`ClusterPki::load_or_create`] and [`ClusterPki::issue_client_cert`].

mod cluster;
mod error;
mod files;
mod inspect;
mod issue;
mod join;
mod kubeconfig;
mod tls;
mod tokens;

pub use cluster::{
    ClusterPki, ADMIN_CERT_FILE, ADMIN_GROUP, ADMIN_KEY_FILE, ADMIN_USER, CA_CERT_FILE,
    CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE,
};
pub use error::PkiError;
pub use inspect::{client_identity, ClientIdentity};
pub use issue::{CA_COMMON_NAME, MAX_ORGANIZATIONS};
pub use join::{ca_hash, JoinToken, JoinTokenError, JOIN_TOKEN_USER};
pub use kubeconfig::{
    write_admin_kubeconfig, AuthInfo, Cluster, Context, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};
pub use tokens::{TokenFile, TokenLineError, TokenUser};
