//! The node's heartbeat Lease in `kube-node-lease`, as upstream's node lease controller keeps
//! it: named after the node, held by the node, owned by the Node object.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta, OwnerReference};
use k8s_openapi::jiff::Timestamp;

/// The namespace node Leases live in.
pub const LEASE_NAMESPACE: &str = "kube-node-lease";

/// The owner reference a node's Lease carries, when the Node's uid is known.
fn owner(node: &Node) -> Option<OwnerReference> {
    Some(OwnerReference {
        api_version: "v1".to_owned(),
        kind: "Node".to_owned(),
        name: node.metadata.name.clone()?,
        uid: node.metadata.uid.clone()?,
        ..OwnerReference::default()
    })
}

/// A new Lease for `node`, renewed at `now`.
pub fn new_lease(node: &Node, duration_seconds: i32, now: Timestamp) -> Lease {
    let name = node.metadata.name.clone().unwrap_or_default();
    Lease {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(LEASE_NAMESPACE.to_owned()),
            owner_references: owner(node).map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(name),
            lease_duration_seconds: Some(duration_seconds),
            renew_time: Some(MicroTime(now)),
            ..LeaseSpec::default()
        }),
    }
}

/// `lease` renewed at `now` by `node`: holder and duration restated, and the owner reference
/// added when the Lease was made before the Node was known.
pub fn renewed(lease: &Lease, node: &Node, duration_seconds: i32, now: Timestamp) -> Lease {
    let mut lease = lease.clone();
    let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
    spec.holder_identity = node.metadata.name.clone();
    spec.lease_duration_seconds = Some(duration_seconds);
    spec.renew_time = Some(MicroTime(now));
    if lease
        .metadata
        .owner_references
        .as_ref()
        .is_none_or(Vec::is_empty)
    {
        lease.metadata.owner_references = owner(node).map(|o| vec![o]);
    }
    lease
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> Node {
        Node {
            metadata: ObjectMeta {
                name: Some("sim-0".to_owned()),
                uid: Some("u1".to_owned()),
                ..ObjectMeta::default()
            },
            ..Node::default()
        }
    }

    #[test]
    fn new_lease_is_held_by_and_owned_by_its_node() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let lease = new_lease(&node(), 40, now);
        assert_eq!(lease.metadata.name.as_deref(), Some("sim-0"));
        assert_eq!(lease.metadata.namespace.as_deref(), Some(LEASE_NAMESPACE));
        let owner = &lease.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("Node", "u1"));
        let spec = lease.spec.unwrap();
        assert_eq!(spec.holder_identity.as_deref(), Some("sim-0"));
        assert_eq!(spec.lease_duration_seconds, Some(40));
        assert_eq!(spec.renew_time, Some(MicroTime(now)));
    }

    #[test]
    fn renewal_moves_renew_time_and_adds_a_missing_owner() {
        let then = Timestamp::from_second(1_700_000_000).unwrap();
        let now = Timestamp::from_second(1_700_000_010).unwrap();
        let mut orphan = new_lease(&node(), 40, then);
        orphan.metadata.owner_references = None;
        let lease = renewed(&orphan, &node(), 40, now);
        assert_eq!(lease.spec.unwrap().renew_time, Some(MicroTime(now)));
        assert_eq!(lease.metadata.owner_references.unwrap()[0].name, "sim-0");
    }
}
