//! What wakes a workload controller: a change to an object it controls wakes it (and, for
//! pods, counts towards its expectations), and a change to an orphan wakes every controller of
//! the kind in the namespace whose selector matches it (it may adopt it).

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource, ResourceExt};

use super::expectations::Expectations;
use super::pod::controller_of;

/// The key expectations are kept under: `namespace/name`.
pub fn key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// Copies of the cached objects in `namespace`.
pub fn cached_in<K>(cache: &Store<K>, namespace: &str) -> Vec<K>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    cache
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
        .map(|o| K::clone(o))
        .collect()
}

/// The controller of kind `K` of an object, if it has one.
pub fn controlled_by<K>(meta: &ObjectMeta) -> Option<ObjectRef<K>>
where
    K: Resource<DynamicType = ()>,
{
    let owner = controller_of(meta).filter(|r| r.kind == K::kind(&()))?;
    let namespace = meta.namespace.as_deref().unwrap_or_default();
    Some(ObjectRef::new(&owner.name).within(namespace))
}

/// Maps a pod event to the controllers of kind `K` to sync: its controller when that is of
/// kind `K` (noting the event for expectations), or, for an orphan, every object of `owners` in
/// its namespace whose `selector` matches it.
pub fn pod_mapper<K>(
    owners: Store<K>,
    expectations: Arc<Expectations>,
    selector: fn(&K) -> Option<Selector>,
) -> impl Fn(&Pod) -> Vec<ObjectRef<K>> + Send + Sync + 'static
where
    K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static,
{
    move |pod: &Pod| {
        let namespace = pod.namespace().unwrap_or_default();
        if let Some(owner) = controller_of(&pod.metadata) {
            if owner.kind != K::kind(&()) {
                return Vec::new();
            }
            let uid = pod.metadata.uid.as_deref().unwrap_or_default();
            let terminating = pod.metadata.deletion_timestamp.is_some();
            expectations.observe(&key(&namespace, &owner.name), uid, terminating);
            return vec![ObjectRef::new(&owner.name).within(&namespace)];
        }
        selecting(&owners, &namespace, pod.labels(), selector)
    }
}

/// The objects of `owners` in `namespace` whose `selector` matches `labels`.
pub fn selecting<K>(
    owners: &Store<K>,
    namespace: &str,
    labels: &BTreeMap<String, String>,
    selector: fn(&K) -> Option<Selector>,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    owners
        .state()
        .iter()
        .filter(|o| o.meta().namespace.as_deref() == Some(namespace))
        .filter(|o| selector(o).is_some_and(|s| s.matches(labels)))
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}
