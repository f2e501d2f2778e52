//! The Endpoints controller: every Service with a selector has an Endpoints object of its
//! name listing its selected pods' addresses (ready and not ready) and the ports its target
//! ports resolve to on each pod; it goes when the Service goes.

pub mod decision;
pub mod pods;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::harness::Harness;
use pods::Membership;

/// Why reconciling a Service's Endpoints failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Listing the Service's pods failed.
    #[error("listing the pods of service {namespace}/{name}")]
    ListPods {
        /// The namespace.
        namespace: String,
        /// The Service.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading the current Endpoints failed.
    #[error("reading the endpoints of service {namespace}/{name}")]
    GetEndpoints {
        /// The namespace.
        namespace: String,
        /// The Service.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the Endpoints failed.
    #[error("writing the endpoints of service {namespace}/{name}")]
    WriteEndpoints {
        /// The namespace.
        namespace: String,
        /// The Service.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// The pods `service` selects, listed live.
///
/// # Errors
/// The list's failure.
pub async fn selected_pods(client: &Client, service: &Service) -> Result<Vec<Pod>, kube::Error> {
    let Some(selector) = pods::selector(service) else {
        return Ok(Vec::new());
    };
    let namespace = service.namespace().unwrap_or_default();
    let labels: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
    let list = api
        .list(&ListParams::default().labels(&labels.join(",")))
        .await?;
    Ok(list.items)
}

/// A controller over Services, woken by the pods they select (now or when last seen).
pub fn harness(name: &'static str, client: &Client) -> Harness<Service> {
    let harness = Harness::new(name, Api::<Service>::all(client.clone()));
    let services = harness.store();
    let membership = Membership::default();
    harness.watches(
        Api::<Pod>::all(client.clone()),
        watcher::Config::default(),
        move |pod: Pod| membership.services_for(&services, &pod),
    )
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(client: Client, shutdown: CancellationToken) {
    let cleanup_client = client.clone();
    harness("endpoint", &client)
        .on_deleted(move |namespace, name| {
            delete_endpoints(cleanup_client.clone(), namespace, name)
        })
        .run(reconcile, Arc::new(client), shutdown)
        .await;
}

/// Deletes the Endpoints of a deleted Service.
async fn delete_endpoints(client: Client, namespace: String, name: String) {
    let api: Api<Endpoints> = Api::namespaced(client, &namespace);
    match api.delete(&name, &DeleteParams::default()).await {
        Ok(_) | Err(kube::Error::Api(_)) => {}
        Err(error) => {
            tracing::warn!(%namespace, %name, %error, "deleting the endpoints of a deleted service")
        }
    }
}

/// Brings the Endpoints of `service` in line with its pods.
///
/// # Errors
/// [`Error::ListPods`], [`Error::GetEndpoints`] and [`Error::WriteEndpoints`].
pub async fn reconcile(service: Arc<Service>, client: Arc<Client>) -> Result<Action, Error> {
    if pods::selector(&service).is_none() || service.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let selected = selected_pods(&client, &service)
        .await
        .map_err(|source| Error::ListPods {
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let api: Api<Endpoints> = Api::namespaced(Client::clone(&client), &namespace);
    let current = api
        .get_opt(&name)
        .await
        .map_err(|source| Error::GetEndpoints {
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let pods: Vec<&Pod> = selected.iter().collect();
    let Some(endpoints) = decision::desired(&service, &pods, current.as_ref()) else {
        return Ok(Action::await_change());
    };
    let written = match current {
        Some(_) => api.replace(&name, &PostParams::default(), &endpoints).await,
        None => api.create(&PostParams::default(), &endpoints).await,
    };
    match written {
        Ok(_) => Ok(Action::await_change()),
        Err(source) => Err(Error::WriteEndpoints {
            namespace,
            name,
            source,
        }),
    }
}
