//! The expected pod count of a budget given as `maxUnavailable` or a percentage: the summed
//! `/scale` of the controllers owning the selected pods (a Deployment's rather than its
//! ReplicaSet's), as upstream's disruption controller finds them.

use std::collections::HashMap;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::ResourceExt;

use super::Context;
use crate::workload::pod::controller_of;

/// Why the controllers' scale could not be found.
#[derive(Debug, thiserror::Error)]
pub enum ScaleError {
    /// A selected pod's controller has no scale to read.
    #[error("found no controllers for pod {0:?}")]
    NoController(String),
    /// Reading a controller or its scale failed.
    #[error("reading the scale of {kind} {name}")]
    Lookup {
        /// The controller's kind.
        kind: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// The summed scale of the pods' controllers, and the pods that have none.
#[derive(Debug, Default)]
pub struct Expected {
    /// The replicas the controllers want.
    pub replicas: i32,
    /// Names of pods without a controller (not counted).
    pub unmanaged: Vec<String>,
}

/// Sums the scale of the controllers of `pods`, each counted once.
///
/// # Errors
/// [`ScaleError`] when a controller's scale cannot be read or a pod's controller has none.
pub async fn expected(
    ctx: &Context,
    namespace: &str,
    pods: &[&Pod],
) -> Result<Expected, ScaleError> {
    let mut seen: HashMap<String, i32> = HashMap::new();
    let mut known_owners: HashMap<String, String> = HashMap::new();
    let mut expected = Expected::default();
    for pod in pods {
        let Some(owner) = controller_of(&pod.metadata) else {
            expected.unmanaged.push(pod.name_any());
            continue;
        };
        if known_owners.contains_key(&owner.uid) {
            continue;
        }
        let (uid, replicas) = controller_scale(ctx, namespace, owner)
            .await?
            .ok_or_else(|| ScaleError::NoController(pod.name_any()))?;
        known_owners.insert(owner.uid.clone(), uid.clone());
        seen.insert(uid, replicas);
    }
    expected.replicas = seen.values().sum();
    Ok(expected)
}

fn lookup_error(owner: &OwnerReference) -> impl FnOnce(kube::Error) -> ScaleError + '_ {
    move |source| ScaleError::Lookup {
        kind: owner.kind.clone(),
        name: owner.name.clone(),
        source,
    }
}

/// The UID and desired replicas of the controller `owner` names (its Deployment's, for a
/// ReplicaSet a Deployment controls); `None` when there is no such controller.
async fn controller_scale(
    ctx: &Context,
    namespace: &str,
    owner: &OwnerReference,
) -> Result<Option<(String, i32)>, ScaleError> {
    let mut owner = owner.clone();
    if owner.kind == "ReplicaSet" && owner.api_version == "apps/v1" {
        let api: Api<ReplicaSet> = Api::namespaced(ctx.client.clone(), namespace);
        let rs = api
            .get_opt(&owner.name)
            .await
            .map_err(lookup_error(&owner))?;
        let deployment = rs
            .filter(|rs| rs.uid().as_deref() == Some(owner.uid.as_str()))
            .and_then(|rs| controller_of(&rs.metadata).cloned())
            .filter(|c| c.kind == "Deployment" && c.api_version == "apps/v1");
        if let Some(deployment) = deployment {
            owner = deployment;
        }
    }
    let Some(resource) = resource_of(ctx, &owner).await? else {
        return Ok(None);
    };
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &resource);
    match api.get_scale(&owner.name).await {
        Ok(scale) if scale.metadata.uid.as_deref() == Some(owner.uid.as_str()) => {
            let replicas = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
            Ok(Some((owner.uid, replicas)))
        }
        Ok(_) => Ok(None),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(source) => Err(lookup_error(&owner)(source)),
    }
}

/// The API resource of the owner's kind, from discovery (remembered); `None` when the server
/// does not serve it.
async fn resource_of(
    ctx: &Context,
    owner: &OwnerReference,
) -> Result<Option<ApiResource>, ScaleError> {
    let gvk = GroupVersionKind::from(owner.clone());
    if let Some(found) = ctx
        .kinds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&gvk)
    {
        return Ok(Some(found.clone()));
    }
    match kube::discovery::pinned_kind(&ctx.client, &gvk).await {
        Ok((resource, _)) => {
            ctx.kinds
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(gvk, resource.clone());
            Ok(Some(resource))
        }
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(kube::Error::Discovery(_)) => Ok(None),
        Err(source) => Err(lookup_error(owner)(source)),
    }
}
