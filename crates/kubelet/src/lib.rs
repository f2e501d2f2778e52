//! Rudder's node agent.
//!
//! [`node`] is what every node agent does for its Node: register it, renew its Lease in
//! `kube-node-lease`, and report its status. [`simulated`] runs many nodes in one process with
//! a pod lifecycle simulator instead of containers, to test and measure the control plane
//! (as kwok does); the real kubelet reuses [`node`]. [`join`] turns a join token into a client.
#![deny(missing_docs)]

pub mod join;
pub mod node;
pub mod simulated;
