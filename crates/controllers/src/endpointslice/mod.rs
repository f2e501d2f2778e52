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
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::endpoint::{self, pods, Context};
use crate::informer::Informers;
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
pub async fn run(client: Client, informers: Informers, shutdown: CancellationToken) {
    let ours = format!("{MANAGED_BY}={CONTROLLER_NAME}");
    endpoint::harness("endpointslice", &client, &informers.pods)
        .watches(
            Api::<EndpointSlice>::all(client.clone()),
            watcher::Config::default().labels(&ours),
            |slice: EndpointSlice| {
                let service = slice.labels().get(SERVICE_NAME).cloned()?;
                let namespace = slice.namespace()?;
                Some(ObjectRef::<Service>::new(&service).within(&namespace))
            },
        )
        .run(
            reconcile,
            Arc::new(Context::new(client, &informers)),
            shutdown,
        )
        .await;
}

/// The zones of the nodes `pods` run on, from each node's topology label.
fn zones(nodes: &Store<Node>, pods: &[&Pod]) -> BTreeMap<String, String> {
    pods.iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.clone())
        .filter_map(|node| {
            let zone = nodes
                .get(&ObjectRef::new(&node))?
                .labels()
                .get(ZONE_LABEL)?
                .clone();
            Some((node, zone))
        })
        .collect()
}

/// Brings the EndpointSlices of `service` in line with its pods.
///
/// # Errors
/// [`Error::Read`] and [`Error::Write`].
pub async fn reconcile(service: Arc<Service>, ctx: Arc<Context>) -> Result<Action, Error> {
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
    let selected = ctx.selected_pods(&service);
    let pods: Vec<&Pod> = selected.iter().map(AsRef::as_ref).collect();
    let zones = zones(&ctx.nodes, &pods);
    let api: Api<EndpointSlice> = Api::namespaced(ctx.client.clone(), &namespace);
    let ours = format!("{SERVICE_NAME}={name},{MANAGED_BY}={CONTROLLER_NAME}");
    let existing: Vec<EndpointSlice> = api
        .list(&ListParams::default().labels(&ours))
        .await
        .map_err(read)?
        .items
        .into_iter()
        .filter(|s| s.address_type == "IPv4")
        .collect();
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
