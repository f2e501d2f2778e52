//! The ResourceQuota controller: keeps every quota's `status.hard` (its spec's limits) and
//! `status.used` (what the namespace's objects are charged) current, recalculating a quota
//! whenever an object of a counted kind in its namespace changes, and all of them every
//! resync period. Rejecting requests over quota is admission's job, not this controller's.

pub mod calculate;
mod count;
pub mod scope;
pub mod usage;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Pod, ReplicationController, ResourceQuota, Secret, Service,
};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Client, Resource, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::harness::Harness;
use crate::informer::Informers;
use crate::workload::post_params;
use calculate::Inventory;

/// Upstream's `--resource-quota-sync-period`.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(300);

/// What reconciles share.
pub struct Context {
    client: Client,
    clock: Arc<dyn Clock>,
    resync: Duration,
    pods: Store<Pod>,
    services: Store<Service>,
    claims: Store<PersistentVolumeClaim>,
    counter: count::Counter,
}

/// Why syncing one quota failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the status failed.
    #[error("updating the status of quota {quota}")]
    UpdateStatus {
        /// `namespace/name`.
        quota: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Some object counts could not be taken (the rest of the status was written).
    #[error("counting objects for quota {quota}")]
    Count {
        /// `namespace/name`.
        quota: String,
        /// The first failure.
        #[source]
        source: count::CountError,
    },
}

/// Runs the controller until `shutdown`, recalculating every quota each `resync`.
pub async fn run(
    client: Client,
    clock: Arc<dyn Clock>,
    resync: Duration,
    informers: Informers,
    shutdown: CancellationToken,
) {
    let harness = Harness::<ResourceQuota>::new("resourcequota", Api::all(client.clone()));
    let quotas = harness.store();
    let all = watcher::Config::default();
    let (harness, pods) = harness.watches_shared(&informers.pods, in_namespace_of(&quotas));
    let (harness, services) =
        harness.watches_cached(Api::all(client.clone()), all.clone(), in_namespace(&quotas));
    let (harness, claims) =
        harness.watches_cached(Api::all(client.clone()), all.clone(), in_namespace(&quotas));
    let harness = harness
        .watches(
            Api::<ConfigMap>::all(client.clone()),
            all.clone(),
            in_namespace(&quotas),
        )
        .watches(
            Api::<Secret>::all(client.clone()),
            all.clone(),
            in_namespace(&quotas),
        )
        .watches(
            Api::<ReplicationController>::all(client.clone()),
            all,
            in_namespace(&quotas),
        );
    let ctx = Arc::new(Context {
        counter: count::Counter::new(client.clone()),
        client,
        clock,
        resync,
        pods,
        services,
        claims,
    });
    harness.run(reconcile, ctx, shutdown).await;
}

/// Maps an object to every quota of its namespace.
fn in_namespace<O: Resource>(
    quotas: &Store<ResourceQuota>,
) -> impl Fn(O) -> Vec<ObjectRef<ResourceQuota>> + Send + Sync + 'static {
    let of = in_namespace_of(quotas);
    move |obj: O| of(&obj)
}

/// [`in_namespace`] for a shared cache's borrowed objects.
fn in_namespace_of<O: Resource>(
    quotas: &Store<ResourceQuota>,
) -> impl Fn(&O) -> Vec<ObjectRef<ResourceQuota>> + Send + Sync + 'static {
    let quotas = quotas.clone();
    move |obj: &O| {
        let namespace = obj.meta().namespace.as_ref();
        quotas
            .state()
            .iter()
            .filter(|q| q.metadata.namespace.as_ref() == namespace)
            .map(|q| ObjectRef::from_obj(q.as_ref()))
            .collect()
    }
}

/// The cached objects of `namespace`.
fn cached<K: Resource<DynamicType = ()> + Clone>(store: &Store<K>, namespace: &str) -> Vec<Arc<K>> {
    store
        .state()
        .into_iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
        .collect()
}

async fn reconcile(quota: Arc<ResourceQuota>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = quota.namespace().unwrap_or_default();
    let key = format!("{namespace}/{}", quota.name_any());
    let names = quota.spec.iter().flat_map(|s| s.hard.iter().flatten());
    let resources: Vec<&str> = names
        .filter(|(n, _)| usage::evaluator_for(n) == Some(usage::Evaluator::ObjectCount))
        .filter_map(|(n, _)| usage::count_resource(n))
        .collect();
    let (counts, count_error) = ctx.counter.count(&namespace, &resources).await;
    let inventory = Inventory {
        pods: cached(&ctx.pods, &namespace),
        services: cached(&ctx.services, &namespace),
        claims: cached(&ctx.claims, &namespace),
        counts,
    };
    if let Some(status) = calculate::status(&quota, &inventory, ctx.clock.now()) {
        let mut updated = ResourceQuota::clone(&quota);
        updated.status = Some(status);
        let api: Api<ResourceQuota> = Api::namespaced(ctx.client.clone(), &namespace);
        let params = post_params();
        match api
            .replace_status(&quota.name_any(), &params, &updated)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(Action::await_change()),
            Err(source) => return Err(Error::UpdateStatus { quota: key, source }),
        }
    }
    if let Some(source) = count_error {
        return Err(Error::Count { quota: key, source });
    }
    Ok(Action::requeue(ctx.resync))
}
