//! End-to-end tests: the real `rudder` binary, driven by the real `/usr/bin/kubectl` and by
//! client libraries, over TLS on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

mod acceptance;
mod api_errors;
mod daemonsets;
mod durability;
mod endpoints;
mod etcd;
mod eviction;
mod garbage_collection;
mod high_availability;
mod jobs;
mod kube_client;
mod kubectl_basics;
mod kubectl_crds_and_auth;
mod namespaces;
mod node_lifecycle;
mod python_client;
mod quota_volumes_autoscaling;
mod scheduler;
mod served_versions;
mod server_side_apply;
mod services;
mod simulated_nodes;
mod statefulsets;
mod workloads;
mod workloads_support;
