//! Allocations a resource needs beside its own object — Service cluster IPs and node ports —
//! held as store keys created with an "absent" precondition, so two objects never get the same
//! value even when created concurrently on different servers.

mod range;
mod service;

pub use range::{PortRange, ServiceCidr};
pub use service::ServiceAllocator;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::ApiError;

/// Side effects a resource type needs around its writes.
#[async_trait]
pub trait WriteHook: Send + Sync {
    /// Before a new object is stored: reserves what it needs and fills the fields in `obj`.
    ///
    /// # Errors
    /// 422 when a requested value is taken or out of range; store failures.
    async fn before_create(&self, obj: &mut Value) -> Result<(), ApiError>;

    /// Before an update is stored: carries allocated values over and reserves new ones.
    ///
    /// # Errors
    /// 422 for an immutable field changed or a value taken; store failures.
    async fn before_update(&self, old: &Value, new: &mut Value) -> Result<(), ApiError>;

    /// Releases what `obj` holds that `kept` (the object still stored, if any) does not.
    async fn release(&self, obj: &Value, kept: Option<&Value>);
}
