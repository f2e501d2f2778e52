//! Rudder's controller manager: the control loops that drive the cluster's current state
//! towards the declared one. Every controller is a client of the API server (kube-rs over
//! HTTPS), runs on the shared [`harness`], keeps its decisions in an I/O-free core, and runs
//! only while this process holds the `kube-controller-manager` Lease ([`leader`]).
#![deny(missing_docs)]

pub mod client;
pub mod clock;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod disruption;
pub mod endpoint;
pub mod endpointslice;
pub mod events;
pub mod garbagecollector;
pub mod harness;
pub mod informer;
pub mod job;
pub mod leader;
pub mod manager;
pub mod namespace;
pub mod nodelifecycle;
pub mod podautoscaler;
pub mod replicaset;
pub mod resourcequota;
pub mod serviceaccount;
pub mod statefulset;
pub mod tainteviction;
pub mod taints;
pub mod ttlafterfinished;
pub mod volume;
pub mod workload;

pub use client::{ClientError, Credentials, TokenCredentials};
pub use manager::{start, ControllerOptions, ManagerConfig};
