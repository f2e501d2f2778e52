//! Kubeconfig files, with upstream's field names, and the admin kubeconfig writer.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::files::{write_atomic, PRIVATE_MODE};
use crate::{ClusterPki, PkiError};

/// Name of the cluster and context in the admin kubeconfig.
const CLUSTER_NAME: &str = "rudder";
/// Name of the user in the admin kubeconfig.
const ADMIN_USER_NAME: &str = "admin";

/// A kubeconfig file (`apiVersion: v1`, `kind: Config`): the subset of upstream's fields that
/// certificate and token authentication use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kubeconfig {
    /// Always `v1`.
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    /// Always `Config`.
    pub kind: String,
    /// The clusters, by name.
    #[serde(default)]
    pub clusters: Vec<NamedCluster>,
    /// The users (upstream calls them auth infos), by name.
    #[serde(default)]
    pub users: Vec<NamedAuthInfo>,
    /// The contexts, by name.
    #[serde(default)]
    pub contexts: Vec<NamedContext>,
    /// The context used when none is chosen.
    #[serde(rename = "current-context", default)]
    pub current_context: String,
}

/// A cluster with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedCluster {
    /// The name contexts refer to.
    pub name: String,
    /// How to reach the cluster.
    pub cluster: Cluster,
}

/// How to reach and trust a cluster's API server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Cluster {
    /// The API server URL, e.g. `https://127.0.0.1:6443`.
    pub server: String,
    /// The CA certificate PEM, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_authority_data: Option<String>,
}

/// A user with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedAuthInfo {
    /// The name contexts refer to.
    pub name: String,
    /// The user's credentials.
    pub user: AuthInfo,
}

/// A user's credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AuthInfo {
    /// The client certificate PEM, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_data: Option<String>,
    /// The client key PEM, base64-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_data: Option<String>,
    /// A bearer token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A context with its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedContext {
    /// The name `current-context` refers to.
    pub name: String,
    /// Which cluster and user.
    pub context: Context,
}

/// A pairing of a cluster and a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// The cluster's name.
    pub cluster: String,
    /// The user's name.
    pub user: String,
    /// The default namespace, if not `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl Kubeconfig {
    /// The admin kubeconfig: cluster `rudder` at `server_url` trusting the cluster CA, user
    /// `admin` with the admin client certificate, and context `rudder` as current context.
    pub fn admin(server_url: &str, pki: &ClusterPki) -> Kubeconfig {
        Kubeconfig {
            api_version: "v1".to_owned(),
            kind: "Config".to_owned(),
            clusters: vec![NamedCluster {
                name: CLUSTER_NAME.to_owned(),
                cluster: Cluster {
                    server: server_url.to_owned(),
                    certificate_authority_data: Some(BASE64.encode(pki.ca_cert_pem())),
                },
            }],
            users: vec![NamedAuthInfo {
                name: ADMIN_USER_NAME.to_owned(),
                user: AuthInfo {
                    client_certificate_data: Some(BASE64.encode(pki.admin_cert_pem())),
                    client_key_data: Some(BASE64.encode(pki.admin_key_pem())),
                    token: None,
                },
            }],
            contexts: vec![NamedContext {
                name: CLUSTER_NAME.to_owned(),
                context: Context {
                    cluster: CLUSTER_NAME.to_owned(),
                    user: ADMIN_USER_NAME.to_owned(),
                    namespace: None,
                },
            }],
            current_context: CLUSTER_NAME.to_owned(),
        }
    }

    /// Writes this kubeconfig as YAML to `path`, atomically, with mode 0600 (it holds
    /// credentials).
    ///
    /// # Errors
    /// [`PkiError::SerializeKubeconfig`] and [`PkiError::WriteFile`].
    pub fn write(&self, path: &Path) -> Result<(), PkiError> {
        let yaml = serde_yaml::to_string(self).map_err(PkiError::SerializeKubeconfig)?;
        write_atomic(path, yaml.as_bytes(), PRIVATE_MODE)
    }
}

/// Writes the admin kubeconfig ([`Kubeconfig::admin`]) for `server_url` to `path`, atomically,
/// with mode 0600.
///
/// # Errors
/// [`PkiError::SerializeKubeconfig`] and [`PkiError::WriteFile`].
pub fn write_admin_kubeconfig(
    path: &Path,
    server_url: &str,
    pki: &ClusterPki,
) -> Result<(), PkiError> {
    Kubeconfig::admin(server_url, pki).write(path)
}
