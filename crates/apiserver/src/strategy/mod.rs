//! Per-type behaviour plugged into the generic request pipeline: schema checks, defaulting,
//! validation and printing. The pipeline itself lives in [`crate::handlers`] and is the same for
//! every type.

pub mod autoscaling;
pub mod defaults;
pub mod events;
mod names;
pub mod review;
mod scale;
mod schema;
mod typed;
pub mod validation;

pub use names::NameRule;
pub use review::{Review, ReviewStrategy};
pub use scale::ScalePaths;
pub use schema::{check_typed, Checked, SchemaProblem};
pub use typed::{typed, Hooks, Typed};

use serde_json::Value;

use crate::error::Cause;
use crate::table::{Column, IncludeObject};

/// What one resource type contributes to the pipeline.
pub trait Strategy: Send + Sync {
    /// Checks that `obj` has the type's shape: `Err` for a value of the wrong type, otherwise
    /// the object as the type encodes it and the paths of fields it does not know.
    ///
    /// # Errors
    /// [`SchemaProblem`] when a field has the wrong type.
    fn check_schema(&self, obj: &Value) -> Result<Checked, SchemaProblem>;

    /// Whether `metadata.generation` counts changes to the object's spec.
    fn tracks_generation(&self) -> bool;

    /// Fills in defaults, as upstream's defaulting functions do.
    fn default(&self, obj: &mut Value);

    /// Validates the whole object (`old` is the stored object on update).
    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause>;

    /// How names of this type must look.
    fn name_rule(&self) -> NameRule;

    /// The columns `kubectl get` prints.
    fn columns(&self) -> &[Column];

    /// Adds the type's OpenAPI schema (and those it references) to `generator`'s definitions and
    /// returns its definition name (`io.k8s.api.apps.v1.Deployment`); `None` when the type has
    /// no schema, which makes strategic merge patch fall back to merge-patch semantics.
    fn json_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        let _ = generator;
        None
    }

    /// The Table `kubectl get` shows for `objects`; built from [`Strategy::columns`] unless the
    /// type computes its cells otherwise (custom resources' printer columns).
    fn table(&self, objects: &[Value], include: IncludeObject, list_metadata: Value) -> Value {
        crate::table::table(self.columns(), objects, include, list_metadata)
    }

    /// Where the `/scale` subresource reads and writes replicas; `None` for the built-in layout
    /// (`spec.replicas`, `status.replicas`, `spec.selector`).
    fn scale_paths(&self) -> Option<&ScalePaths> {
        None
    }

    /// Whether a new object's status is dropped on create (custom resources with a status
    /// subresource) rather than replaced by the server's initial status (built-in kinds).
    fn drops_status_on_create(&self) -> bool {
        false
    }

    /// For create-only kinds that are answered and never stored (SelfSubjectReview and the
    /// access reviews), what computes the answer; `None` for every stored kind.
    fn review(&self) -> Option<&dyn Review> {
        None
    }
}
