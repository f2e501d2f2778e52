//! Rudder's scheduler: assigns pending pods to nodes, as upstream's kube-scheduler does.
//!
//! - [`queue`]: the active, backoff and unschedulable queues.
//! - [`cache`]: nodes and the pods bound or assumed onto them, fed by watches, and the
//!   storage objects ([`volumes`]).
//! - [`framework`]: upstream's extension points as traits, and a profile of plugins.
//! - [`plugins`]: the default plugins, each free of I/O.
//! - [`core`]: one decision (filter, score, select), and [`preemption`] when nothing fits.
//! - [`run`]: the runtime — watches, the scheduling loop, binding, events, leader election.
#![deny(missing_docs)]

pub mod cache;
pub mod core;
pub mod fit_error;
pub mod framework;
pub mod node_info;
pub mod plugins;
pub mod pod_info;
pub mod preemption;
pub mod queue;
pub mod resources;
pub mod run;
pub mod selectors;
pub mod spread;
pub mod testing;
pub mod volumes;
