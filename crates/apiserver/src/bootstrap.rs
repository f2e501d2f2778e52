//! Objects the API server makes on start, as upstream's apiserver does.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::error::ApiError;
use crate::handlers::ApiState;
use crate::meta;

/// Creates `object` under `key` unless something is stored there, with a fresh uid and
/// creation time; losing a race with another server creating it is fine.
async fn create_missing(state: &ApiState, key: &str, mut object: Value) -> Result<(), ApiError> {
    if state.objects.get(key).await?.is_some() {
        return Ok(());
    }
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("uid".to_owned(), json!(uuid::Uuid::new_v4().to_string()));
        metadata.insert("creationTimestamp".to_owned(), json!(meta::now_rfc3339()));
    }
    state.objects.create(key, &object).await?;
    Ok(())
}

/// The namespaces every cluster has.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Creates the system namespaces that do not exist yet.
///
/// # Errors
/// Store failures.
pub async fn ensure_system_namespaces(state: &Arc<ApiState>) -> Result<(), ApiError> {
    for name in SYSTEM_NAMESPACES {
        let namespace = json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/metadata.name": name},
            },
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"},
        });
        create_missing(state, &format!("/registry/namespaces/{name}"), namespace).await?;
    }
    Ok(())
}

/// Creates the `kubernetes` Service in `default` (the first address of the service range, port
/// 443 to the API server), as upstream's apiserver does.
///
/// # Errors
/// Store failures, or the address being taken by another Service.
pub async fn ensure_kubernetes_service(
    state: &Arc<ApiState>,
    cidr: crate::allocators::ServiceCidr,
    port: u16,
) -> Result<(), ApiError> {
    let key = "/registry/services/default/kubernetes";
    if state.objects.get(key).await?.is_some() {
        return Ok(());
    }
    let ip = cidr.nth(0).to_string();
    let mut service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": meta::now_rfc3339(),
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}],
            "sessionAffinity": "None",
        },
        "status": {"loadBalancer": {}},
    });
    crate::strategy::defaults::service(&mut service);
    let hook = state
        .hooks
        .iter()
        .find(|(g, k, _)| g.is_empty() && *k == "Service")
        .map(|(_, _, h)| h.clone());
    if let Some(hook) = &hook {
        hook.before_create(&mut service).await?;
    }
    if state.objects.create(key, &service).await?.is_none() {
        if let Some(hook) = &hook {
            hook.release(&service, None).await;
        }
    }
    Ok(())
}

/// Creates k3s's `local-path` StorageClass (the default class, provisioned by the built-in
/// `rancher.io/local-path` provisioner once a pod's node is chosen) unless it exists.
///
/// # Errors
/// Store failures.
pub async fn ensure_local_path_storage_class(state: &Arc<ApiState>) -> Result<(), ApiError> {
    let index = state.registry.index();
    let Some(classes) = index.get("storage.k8s.io", "v1", "storageclasses") else {
        return Ok(());
    };
    let class = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "local-path",
            "annotations": {crate::admission::default_storage_class::IS_DEFAULT_CLASS: "true"},
        },
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    });
    create_missing(state, &classes.key("", "local-path"), class).await
}

/// Creates the built-in PriorityClasses (`system-node-critical`, `system-cluster-critical`)
/// that do not exist yet.
///
/// # Errors
/// Store failures.
pub async fn ensure_system_priority_classes(state: &Arc<ApiState>) -> Result<(), ApiError> {
    let index = state.registry.index();
    let Some(classes) = index.get("scheduling.k8s.io", "v1", "priorityclasses") else {
        return Ok(());
    };
    for (name, value, description) in crate::admission::priority::SYSTEM_PRIORITY_CLASSES {
        let class = json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": name},
            "value": value,
            "globalDefault": false,
            "description": description,
            "preemptionPolicy": "PreemptLowerPriority",
        });
        create_missing(state, &classes.key("", name), class).await?;
    }
    Ok(())
}
