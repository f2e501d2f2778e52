//! The Endpoints controller: every Service with a selector has an Endpoints object of its
//! name listing its selected pods' addresses (ready and not ready) and the ports its target
//! ports resolve to on each pod; it goes when the Service goes.

pub mod decision;
pub mod pods;

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use kube::api::{Api, DeleteParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::Store;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::harness::Harness;
use crate::informer::{Informers, SharedInformer};
use pods::Membership;

/// Why reconciling a Service's Endpoints failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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

/// What the Endpoints and EndpointSlice reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Every pod, from the shared informer.
    pub pods: Store<Pod>,
    /// Every node, from the shared informer.
    pub nodes: Store<Node>,
}

impl Context {
    /// The context over the manager's shared informers.
    pub fn new(client: Client, informers: &Informers) -> Self {
        Self {
            client,
            pods: informers.pods.store(),
            nodes: informers.nodes.store(),
        }
    }

    /// The pods `service` selects, from the shared cache.
    pub fn selected_pods(&self, service: &Service) -> Vec<Arc<Pod>> {
        self.pods
            .state()
            .into_iter()
            .filter(|pod| pods::selects(service, pod))
            .collect()
    }
}

/// A controller over Services, woken by the pods they select (now or when last seen).
pub fn harness(
    name: &'static str,
    client: &Client,
    pods: &SharedInformer<Pod>,
) -> Harness<Service> {
    let harness = Harness::new(name, Api::<Service>::all(client.clone()));
    let services = harness.store();
    let membership = Membership::default();
    let (harness, _) = harness.watches_shared(pods, move |pod: &Pod| {
        membership.services_for(&services, pod)
    });
    harness
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(client: Client, informers: Informers, shutdown: CancellationToken) {
    let cleanup_client = client.clone();
    harness("endpoint", &client, &informers.pods)
        .on_deleted(move |namespace, name| {
            delete_endpoints(cleanup_client.clone(), namespace, name)
        })
        .run(
            reconcile,
            Arc::new(Context::new(client, &informers)),
            shutdown,
        )
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
/// [`Error::GetEndpoints`] and [`Error::WriteEndpoints`].
pub async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
    if pods::selector(&service).is_none() || service.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let selected = ctx.selected_pods(&service);
    let api: Api<Endpoints> = Api::namespaced(ctx.client.clone(), &namespace);
    let current = api
        .get_opt(&name)
        .await
        .map_err(|source| Error::GetEndpoints {
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })?;
    let pods: Vec<&Pod> = selected.iter().map(AsRef::as_ref).collect();
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
