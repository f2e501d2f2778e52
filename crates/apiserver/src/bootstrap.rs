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
    let key = classes.key("", "local-path");
    if state.objects.get(&key).await?.is_some() {
        return Ok(());
    }
    let class = json!({
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "local-path",
            "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": meta::now_rfc3339(),
            "annotations": {crate::admission::default_storage_class::IS_DEFAULT_CLASS: "true"},
        },
        "provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    });
    // Losing a race with another server creating it is fine.
    state.objects.create(&key, &class).await?;
    Ok(())
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
        let key = classes.key("", name);
        if state.objects.get(&key).await?.is_some() {
            continue;
        }
        let class = json!({
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {
                "name": name,
                "uid": uuid::Uuid::new_v4().to_string(),
                "creationTimestamp": meta::now_rfc3339(),
            },
            "value": value,
            "globalDefault": false,
            "description": description,
            "preemptionPolicy": "PreemptLowerPriority",
        });
        // Losing a race with another server creating it is fine.
        state.objects.create(&key, &class).await?;
    }
    Ok(())
}
