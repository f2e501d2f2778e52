//! Kubernetes resource quantities (`500m`, `1Gi`, `2e3`) as upstream's `resource.Quantity`
//! treats them: exact values, sums that keep the first operand's format, and the canonical
//! form the API server and kubectl print. Also resource lists (`requests`, `hard`, `used`) and
//! a pod's effective requests and limits.
#![deny(missing_docs)]

pub mod list;
mod quantity;

pub use list::{pod_limits, pod_requests, ResourceList};
pub use quantity::{Format, ParseError, Quantity};
