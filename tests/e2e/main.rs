//! End-to-end tests: the real `rudder` binary, driven by the real `/usr/bin/kubectl` and by
//! client libraries, over TLS on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod support;

mod api_errors;
mod durability;
mod kubectl_basics;
mod namespaces;
mod services;
