//! Objects the API server makes on start, as upstream's apiserver does.

use std::sync::Arc;

use serde_json::json;

use crate::error::ApiError;
use crate::handlers::ApiState;
use crate::meta;

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates the system namespaces that do not exist yet.
///
/// # Errors
/// Store failures.
pub async fn ensure_system_namespaces(state: &Arc<ApiState>) -> Result<(), ApiError> {
    for name in SYSTEM_NAMESPACES {
        let key = format!("/registry/namespaces/{name}");
        if state.objects.get(&key).await?.is_some() {
            continue;
        }
        let namespace = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": meta::now_rfc3339(),
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        // Losing a race with another server creating it is fine.
        state.objects.create(&key, &namespace).await?;
    }
    Ok(())
}
