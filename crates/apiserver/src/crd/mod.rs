//! CustomResourceDefinitions (apiextensions.k8s.io/v1) and the custom resources they define,
//! served dynamically as upstream's apiextensions-apiserver does.
//!
//! A [`controller`] follows CRDs through the watch cache. For every established CRD it adds one
//! resource type per served version to the registry (storage shared at
//! `/registry/<group>/<plural>`, conversion `None`: only `apiVersion` differs), keeps the CRD's
//! `NamesAccepted`/`Established` conditions and accepted names, and, when a CRD is deleted,
//! removes its custom resources before the cleanup finalizer. Custom resources are pruned,
//! defaulted and validated against their version's [`schema`] by a [`strategy`].

pub mod cleanup;
pub mod controller;
pub mod definition;
pub mod definition_strategy;
pub mod jsonpath;
pub mod schema;
pub mod status;
pub mod strategy;
pub mod structural;
pub mod table;
pub mod validation;

pub use controller::{is_definition, start};
pub use status::{mark_terminating, CLEANUP_FINALIZER};

use crate::error::ApiError;

/// What can go wrong in the CRD controller; each is logged and retried on the next change.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// Listing CRDs or subscribing to changes failed after the watch was lost.
    #[error("re-listing CustomResourceDefinitions failed")]
    ResyncFailed {
        /// The failure.
        #[source]
        source: ApiError,
    },
    /// A stored CRD's schema does not compile, so its resources are not served.
    #[error("CustomResourceDefinition {name} has an unusable schema")]
    SchemaUnusable {
        /// The CRD.
        name: String,
        /// Why.
        #[source]
        source: schema::CompileError,
    },
    /// Writing a CRD's status failed.
    #[error("writing the status of CustomResourceDefinition {name} failed")]
    StatusWriteFailed {
        /// The CRD.
        name: String,
        /// The failure.
        #[source]
        source: ApiError,
    },
    /// Deleting a CRD's custom resources failed.
    #[error("cleaning up the custom resources of {name} failed")]
    CleanupFailed {
        /// The CRD.
        name: String,
        /// The failure.
        #[source]
        source: ApiError,
    },
}
