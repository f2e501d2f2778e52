//! The EndpointSlice controller: every Service with a selector has IPv4 EndpointSlices
//! (`<service>-<random>`, owned by the Service, labelled with its name and this manager)
//! holding its selected pods' endpoints with their conditions, node, zone and target.

pub mod decision;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::endpoint::{self, pods};
use decision::{CONTROLLER_NAME, MANAGED_BY, SERVICE_NAME, ZONE_LABEL};

/// Why reconciling a Service's EndpointSlices failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the Service's pods, their nodes or its slices failed.
    #[error("reading the pods, nodes and slices of service {namespace}/{name}")]
    Read {
        /// The namespace.
        namespace: String,
        /// The Service.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating, updating or deleting a slice failed.
    #[error("writing the endpoint slices of service {namespace}/{name}")]
    Write {
        /// The namespace.
        namespace: String,
        /// The Service.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(client: Client, shutdown: CancellationToken) {
    let ours = format!("{MANAGED_BY}={CONTROLLER_NAME}");
    endpoint::harness("endpointslice", &client)
        .watches(
            Api::<EndpointSlice>::all(client.clone()),
            watcher::Config::default().labels(&ours),
            |slice: EndpointSlice| {
                let service = slice.labels().get(SERVICE_NAME).cloned()?;
                let namespace = slice.namespace()?;
                Some(ObjectRef::<Service>::new(&service).within(&namespace))
            },
        )
        .run(reconcile, Arc::new(client), shutdown)
        .await;
}

/// The zones of the nodes `pods` run on, from each node's topology label.
async fn zones(client: &Client, pods: &[Pod]) -> Result<BTreeMap<String, String>, kube::Error> {
    let api: Api<Node> = Api::all(client.clone());
    let mut zones = BTreeMap::new();
    let nodes = pods
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone());
    for node in nodes {
        if zones.contains_key(&node) {
            continue;
        }
        let zone = api
            .get_opt(&node)
            .await?
            .and_then(|n| n.labels().get(ZONE_LABEL).cloned());
        if let Some(zone) = zone {
            zones.insert(node, zone);
        }
    }
    Ok(zones)
}

/// Brings the EndpointSlices of `service` in line with its pods.
///
/// # Errors
/// [`Error::Read`] and [`Error::Write`].
pub async fn reconcile(service: Arc<Service>, client: Arc<Client>) -> Result<Action, Error> {
    if pods::selector(&service).is_none() || service.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let namespace = service.namespace().unwrap_or_default();
    let name = service.name_any();
    let read = |source| Error::Read {
        namespace: namespace.clone(),
        name: name.clone(),
        source,
    };
    let selected = endpoint::selected_pods(&client, &service)
        .await
        .map_err(read)?;
    let zones = zones(&client, &selected).await.map_err(read)?;
    let api: Api<EndpointSlice> = Api::namespaced(Client::clone(&client), &namespace);
    let ours = format!("{SERVICE_NAME}={name},{MANAGED_BY}={CONTROLLER_NAME}");
    let existing: Vec<EndpointSlice> = api
        .list(&ListParams::default().labels(&ours))
        .await
        .map_err(read)?
        .items
        .into_iter()
        .filter(|s| s.address_type == "IPv4")
        .collect();
    let pods: Vec<&Pod> = selected.iter().collect();
    let desired = decision::desired_endpoints(&service, &pods, &zones);
    let trigger = pods::trigger_time(&service, &pods);
    let plan = decision::plan(&service, desired, &existing, trigger);
    let write = |source| Error::Write {
        namespace: namespace.clone(),
        name: name.clone(),
        source,
    };
    let post = PostParams::default();
    for slice in &plan.create {
        api.create(&post, slice).await.map_err(write)?;
    }
    for slice in &plan.update {
        api.replace(&slice.name_any(), &post, slice)
            .await
            .map_err(write)?;
    }
    for slice in &plan.delete {
        match api.delete(slice, &DeleteParams::default()).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => return Err(write(source)),
        }
    }
    Ok(Action::await_change())
}
