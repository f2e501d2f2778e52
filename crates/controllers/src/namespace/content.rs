//! The namespace controller's I/O on content: discovery of resource types, and deleting and
//! counting the objects of one type in one namespace.

use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope};
use kube::{Client, ResourceExt};

use super::decision::{ContentReport, Deletion, DiscoveredResource, Method};

/// Every resource type the API server serves, at its preferred version.
///
/// # Errors
/// The discovery request's failure.
pub(crate) async fn discover(client: &Client) -> Result<Vec<DiscoveredResource>, kube::Error> {
    let discovery = Discovery::new(client.clone()).run_aggregated().await?;
    Ok(discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .map(|(ar, caps)| DiscoveredResource {
            group: ar.group,
            version: ar.version,
            kind: ar.kind,
            plural: ar.plural,
            namespaced: caps.scope == Scope::Namespaced,
            verbs: caps.operations,
        })
        .collect())
}

/// The kube-rs description of `r`, for dynamic API calls.
pub(crate) fn api_resource(r: &DiscoveredResource) -> ApiResource {
    let api_version = if r.group.is_empty() {
        r.version.clone()
    } else {
        format!("{}/{}", r.group, r.version)
    };
    ApiResource {
        group: r.group.clone(),
        version: r.version.clone(),
        api_version,
        kind: r.kind.clone(),
        plural: r.plural.clone(),
    }
}

/// Deletes the objects of `deletion`'s type in `namespace`, then records in `report` what is
/// left (objects held by finalizers or a grace period) or why deletion failed.
pub(crate) async fn delete_all(
    client: &Client,
    namespace: &str,
    deletion: &Deletion,
    report: &mut ContentReport,
) {
    let resource = &deletion.resource;
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), namespace, &api_resource(resource));
    if let Err(e) = delete(&api, deletion.method).await {
        report
            .deletion_failures
            .push(format!("{}: {e}", resource.group_resource()));
        return;
    }
    match api.list(&ListParams::default()).await {
        Ok(list) => {
            let finalizers: Vec<Vec<String>> =
                list.items.iter().map(|o| o.finalizers().to_vec()).collect();
            report.record_remaining(resource, finalizers.iter().map(Vec::as_slice));
        }
        Err(e) => report
            .deletion_failures
            .push(format!("{}: {e}", resource.group_resource())),
    }
}

async fn delete(api: &Api<DynamicObject>, method: Method) -> Result<(), kube::Error> {
    let params = DeleteParams::background();
    match method {
        Method::Collection => api
            .delete_collection(&params, &ListParams::default())
            .await
            .map(|_| ()),
        Method::EachObject => {
            for obj in api.list(&ListParams::default()).await?.items {
                match api.delete(&obj.name_any(), &params).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        }
    }
}
