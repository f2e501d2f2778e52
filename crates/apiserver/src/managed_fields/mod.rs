//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! Every write records which manager set which fields. An update takes ownership of the fields
//! it changed; an apply owns exactly the fields of its configuration, removes the fields it
//! applied before and no longer applies (unless someone else owns them), and refuses to change
//! fields other managers own unless forced. Field sets are tries of paths ([`fieldset`]) computed
//! from objects through their OpenAPI schema ([`typed`]); the decisions are pure functions
//! ([`ownership`]); [`FieldManager`] runs them for one request.

pub mod entries;
pub mod fieldset;
pub mod merge;
pub mod ownership;
mod request;
pub mod typed;

#[cfg(test)]
mod create_tests;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::error::{ApiError, Cause};
use crate::patch::schema::PatchSchema;
use fieldset::Path;
use ownership::{Scope, Writer};

pub(crate) use request::{apply_force, for_request};

/// Longest manager name accepted, as upstream.
pub const MAX_MANAGER_LEN: usize = 128;

/// One field another manager owns that an apply would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The owner, as messages name it (`"kubectl" using apps/v1`).
    pub manager: String,
    /// The field.
    pub path: Path,
}

/// Why field management refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldManagerError {
    /// Stored or sent `managedFields` could not be read.
    #[error("invalid managedFields: {0}")]
    InvalidFields(String),
    /// An applied configuration carried `metadata.managedFields`.
    #[error("metadata.managedFields must be nil")]
    ManagedFieldsInConfig,
    /// An applied configuration was not an object.
    #[error("an applied configuration must be an object")]
    ConfigNotAnObject,
    /// An apply without `fieldManager`.
    #[error("fieldManager is required for apply patch")]
    MissingFieldManager,
    /// A `fieldManager` longer than [`MAX_MANAGER_LEN`].
    #[error("fieldManager may not be longer than {MAX_MANAGER_LEN} characters")]
    ManagerTooLong(String),
    /// `force` on a patch that is not an apply.
    #[error("force may not be specified for non-apply patch")]
    ForceOutsideApply,
    /// The apply would change fields other managers own.
    #[error("{}", conflict_message(.0))]
    Conflicts(Vec<Conflict>),
}

fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            only.manager, only.path
        );
    }
    let mut lines = Vec::new();
    let mut current: Option<&str> = None;
    for c in conflicts {
        if current != Some(c.manager.as_str()) {
            lines.push(format!("conflicts with {}:", c.manager));
            current = Some(c.manager.as_str());
        }
        lines.push(format!("- {}", c.path));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

fn patch_options_invalid(cause: Cause) -> ApiError {
    ApiError::Invalid {
        kind: "PatchOptions".to_owned(),
        group: "meta.k8s.io".to_owned(),
        name: String::new(),
        causes: vec![cause],
    }
}

impl From<FieldManagerError> for ApiError {
    fn from(e: FieldManagerError) -> Self {
        match e {
            FieldManagerError::Conflicts(conflicts) => ApiError::ApplyConflict {
                message: conflict_message(&conflicts),
                causes: conflicts
                    .iter()
                    .map(|c| Cause {
                        reason: "FieldManagerConflict",
                        message: format!("conflict with {}", c.manager),
                        field: c.path.to_string(),
                    })
                    .collect(),
            },
            FieldManagerError::MissingFieldManager => patch_options_invalid(Cause::required(
                "fieldManager",
                "is required for apply patch",
            )),
            FieldManagerError::ManagerTooLong(name) => patch_options_invalid(Cause {
                reason: "FieldValueTooLong",
                message: format!(
                    "Too long: may not be more than {MAX_MANAGER_LEN} bytes (was {})",
                    name.len()
                ),
                field: "fieldManager".to_owned(),
            }),
            FieldManagerError::ForceOutsideApply => patch_options_invalid(Cause::forbidden(
                "force",
                "may not be specified for non-apply patch",
            )),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

/// The manager of a write: `fieldManager` when given, else the product of the User-Agent
/// (`kubectl` of `kubectl/v1.33.0 (linux/amd64) …`).
///
/// # Errors
/// [`FieldManagerError::ManagerTooLong`] past [`MAX_MANAGER_LEN`] bytes.
pub fn manager_name(
    field_manager: Option<&str>,
    user_agent: Option<&str>,
) -> Result<String, FieldManagerError> {
    match field_manager.filter(|m| !m.is_empty()) {
        Some(m) if m.len() > MAX_MANAGER_LEN => {
            Err(FieldManagerError::ManagerTooLong(m.to_owned()))
        }
        Some(m) => Ok(m.to_owned()),
        None => {
            let ua = user_agent.unwrap_or_default();
            let product = ua.split('/').next().unwrap_or_default();
            Ok(product.chars().take(MAX_MANAGER_LEN).collect())
        }
    }
}

/// Field management for one write request.
#[derive(Debug, Clone)]
pub struct FieldManager<'a> {
    manager: String,
    api_version: String,
    subresource: &'static str,
    scope: Scope,
    schema: PatchSchema<'a>,
    now: String,
}

impl<'a> FieldManager<'a> {
    /// Field management for `manager` writing through `subresource` ("" for the main resource)
    /// with `api_version`, owning what `scope` allows, over objects of `schema`.
    pub fn new(
        manager: String,
        api_version: String,
        subresource: &'static str,
        scope: Scope,
        schema: PatchSchema<'a>,
    ) -> Self {
        Self {
            manager,
            api_version,
            subresource,
            scope,
            schema,
            now: crate::meta::now_rfc3339(),
        }
    }

    /// The manager's name.
    pub fn manager(&self) -> &str {
        &self.manager
    }

    fn writer(&self) -> Writer<'_> {
        Writer {
            manager: &self.manager,
            api_version: &self.api_version,
            subresource: self.subresource,
            scope: self.scope,
            now: &self.now,
        }
    }

    /// The entries a non-apply write starts from: those the client sent, when it sent valid
    /// ones to the main resource; none when it sent `[{}]`; else the stored ones.
    fn base_entries(&self, old: Option<&Value>, new: &Value) -> Vec<entries::ManagedEntry> {
        let stored = || {
            old.and_then(|o| entries::decode(o).ok())
                .unwrap_or_default()
        };
        if entries::asks_reset(new) {
            return Vec::new();
        }
        if !self.subresource.is_empty() {
            return stored();
        }
        match entries::decode(new) {
            Ok(sent) if !sent.is_empty() => sent,
            _ => stored(),
        }
    }

    /// Records a create (`old` is `None`) or an update of `old` into `new`: the manager takes the
    /// fields it changed.
    pub fn track_update(&self, old: Option<&Value>, new: &mut Value) {
        let base = self.base_entries(old, new);
        let updated = match old {
            None if base.is_empty() => ownership::create(new, &self.schema, &self.writer()),
            _ => {
                let empty = Value::Object(Map::new());
                let old = old.unwrap_or(&empty);
                ownership::update(base, old, new, &self.schema, &self.writer())
            }
        };
        entries::encode(new, updated);
    }

    /// Server-side apply of `config` to `live`: the merged object, with its managed fields.
    ///
    /// # Errors
    /// [`FieldManagerError::Conflicts`] without `force` when other managers own fields the
    /// configuration changes; 400-class errors for a malformed configuration.
    pub fn apply(
        &self,
        live: &Value,
        config: &Value,
        force: bool,
    ) -> Result<Value, FieldManagerError> {
        check_config(config)?;
        let stored = entries::decode(live).unwrap_or_default();
        let (mut merged, updated) =
            ownership::apply(stored, live, config, &self.schema, &self.writer(), force)?;
        entries::encode(&mut merged, updated);
        Ok(merged)
    }

    /// Records the creation of `new` from the applied `config`: the manager owns the fields of
    /// the configuration.
    ///
    /// # Errors
    /// As [`FieldManager::apply`].
    pub fn track_apply_create(
        &self,
        config: &Value,
        new: &mut Value,
    ) -> Result<(), FieldManagerError> {
        check_config(config)?;
        let empty = Value::Object(Map::new());
        let (_, created) = ownership::apply(
            Vec::new(),
            &empty,
            config,
            &self.schema,
            &self.writer(),
            true,
        )?;
        entries::encode(new, created);
        Ok(())
    }
}

fn check_config(config: &Value) -> Result<(), FieldManagerError> {
    if !config.is_object() {
        return Err(FieldManagerError::ConfigNotAnObject);
    }
    match config.pointer("/metadata/managedFields") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(items)) if items.is_empty() => Ok(()),
        Some(_) => Err(FieldManagerError::ManagedFieldsInConfig),
    }
}
