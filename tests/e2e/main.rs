//! End-to-end tests: the real `rudder` binary, driven by the real `/usr/bin/kubectl` and by
//! client libraries, over TLS on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

mod acceptance;
mod api_errors;
mod durability;
mod etcd;
mod kube_client;
mod kubectl_basics;
mod kubectl_crds_and_auth;
mod namespaces;
mod python_client;
mod scheduler;
mod server_side_apply;
mod services;
