//! What the workload controllers (ReplicaSet, ReplicationController, Deployment) share, after
//! upstream's `controller_utils.go`: pod readiness and availability, building pods from a
//! template, claiming objects through controller references, the order pods are removed in
//! when scaling down, and expectations of writes not yet seen through the watch.

pub mod claim;
pub mod expectations;
pub mod pod;
pub mod ranking;
