//! The registry of resource types the server serves: built-in kinds and, later, custom resources.
//!
//! Routing, discovery, OpenAPI and storage all read from here; nothing else lists resources.

mod builtin;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::conversion::Conversion;
use crate::error::ApiError;
use crate::strategy::Strategy;

/// Which subresources a resource type has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Subresources {
    /// `/status`: the main resource ignores status changes, the subresource takes only status.
    pub status: bool,
    /// `/scale`: an autoscaling/v1 Scale view of `spec.replicas`.
    pub scale: bool,
    /// `/binding`: a pod's core/v1 Binding to a node (create only).
    pub binding: bool,
    /// `/eviction`: a policy/v1 Eviction deletes the pod if its PodDisruptionBudget allows.
    pub eviction: bool,
}

/// One served resource type at one group-version.
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// API version within the group.
    pub version: String,
    /// Plural lower-case name used in paths (`deployments`).
    pub plural: String,
    /// Singular lower-case name (`deployment`).
    pub singular: String,
    /// The kind (`Deployment`).
    pub kind: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Short names kubectl accepts (`deploy`).
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Subresources served.
    pub subresources: Subresources,
    /// Store key prefix for this resource's objects, without a trailing slash. Versions of the
    /// same resource share it.
    pub storage_prefix: String,
    /// The per-type behaviour: schema checks, defaulting, validation, printing.
    pub strategy: Arc<dyn Strategy>,
    /// How objects of this version convert to and from the storage version; `None` when this
    /// version is stored as it is served (only `apiVersion` may differ).
    pub conversion: Option<Arc<dyn Conversion>>,
}

impl std::fmt::Debug for ResourceType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceType")
            .field("group", &self.group)
            .field("version", &self.version)
            .field("plural", &self.plural)
            .finish_non_exhaustive()
    }
}

impl ResourceType {
    /// `apiVersion` of the objects: `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The key of an object (`namespace` is ignored for cluster-scoped types).
    pub fn key(&self, namespace: &str, name: &str) -> String {
        if self.namespaced {
            format!("{}/{}/{}", self.storage_prefix, namespace, name)
        } else {
            format!("{}/{}", self.storage_prefix, name)
        }
    }

    /// The key prefix of all objects in `namespace`, or of every object when `None`.
    pub fn prefix(&self, namespace: Option<&str>) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}/{}/", self.storage_prefix, ns),
            _ => format!("{}/", self.storage_prefix),
        }
    }

    /// `obj`, as read from the store, in this version.
    ///
    /// # Errors
    /// 500 when a stored object cannot be converted.
    pub fn served(&self, mut obj: Value) -> Result<Value, ApiError> {
        match &self.conversion {
            Some(conversion) => conversion.to_served(obj).map_err(ApiError::ConvertStored),
            None => {
                self.stamp_api_version(&mut obj);
                Ok(obj)
            }
        }
    }

    /// `obj`, of this version, as the store keeps it.
    ///
    /// # Errors
    /// 400 when the object cannot be converted.
    pub fn stored(&self, obj: Value) -> Result<Value, ApiError> {
        match &self.conversion {
            Some(conversion) => conversion.to_storage(obj).map_err(ApiError::ConvertRequest),
            None => Ok(obj),
        }
    }

    /// Sets `obj`'s apiVersion to this version's: all that differs between versions stored
    /// without conversion (custom resources).
    pub fn stamp_api_version(&self, obj: &mut Value) {
        let api_version = self.api_version();
        if let Some(map) = obj.as_object_mut() {
            if map.get("apiVersion").and_then(Value::as_str) != Some(api_version.as_str()) {
                map.insert("apiVersion".to_owned(), Value::String(api_version));
            }
        }
    }

    /// The stored object's field that a field selector's `label` of this version selects on.
    pub fn storage_field<'a>(&self, label: &'a str) -> &'a str {
        match &self.conversion {
            Some(conversion) => conversion.storage_field(label),
            None => label,
        }
    }

    /// The group and resource, for messages.
    pub fn group_resource(&self) -> crate::error::GroupResource {
        crate::error::gr(&self.group, &self.plural)
    }

    /// Whether this is core/v1 Binding, which is created to bind a pod and never stored itself.
    pub fn is_binding(&self) -> bool {
        self.group.is_empty() && self.kind == "Binding"
    }

    /// Whether only `create` is served: kinds that are answered and never stored (see
    /// [`Strategy::review`]) and [`ResourceType::is_binding`].
    pub fn create_only(&self) -> bool {
        self.strategy.review().is_some() || self.is_binding()
    }

    /// The verbs served on the main resource (see [`ResourceType::create_only`]).
    pub fn verbs(&self) -> &'static [&'static str] {
        if self.create_only() {
            return &["create"];
        }
        &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

/// The set of served resource types, readable concurrently and extensible at run time.
#[derive(Default)]
pub struct Registry {
    inner: RwLock<Arc<Index>>,
    openapi: crate::openapi::Cache,
}

/// An immutable snapshot of the registry.
#[derive(Default)]
pub struct Index {
    /// Every resource type, in the order discovery lists them.
    pub types: Vec<Arc<ResourceType>>,
    by_path: HashMap<(String, String, String), Arc<ResourceType>>,
}

impl Index {
    /// The resource type served at `group/version/plural`.
    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceType>> {
        self.by_path
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    /// The group-versions served, in discovery order, each with its groups's preferred version
    /// first within the group.
    pub fn group_versions(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for t in &self.types {
            let gv = (t.group.clone(), t.version.clone());
            if !out.contains(&gv) {
                out.push(gv);
            }
        }
        out
    }

    /// The resource types of one group-version.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceType>> + 'a {
        self.types
            .iter()
            .filter(move |t| t.group == group && t.version == version)
    }
}

impl Registry {
    /// A registry holding every built-in resource type.
    pub fn with_builtins() -> Self {
        let registry = Registry::default();
        registry.replace_all(builtin::all());
        registry
    }

    /// The current snapshot.
    pub fn index(&self) -> Arc<Index> {
        match self.inner.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The OpenAPI model of the current snapshot, built on first use after each change.
    pub fn openapi(&self) -> Arc<crate::openapi::Model> {
        self.openapi.model(self.index())
    }

    /// Replaces the whole set of types.
    pub fn replace_all(&self, types: Vec<Arc<ResourceType>>) {
        let by_path = types
            .iter()
            .map(|t| {
                (
                    (t.group.clone(), t.version.clone(), t.plural.clone()),
                    t.clone(),
                )
            })
            .collect();
        let index = Arc::new(Index { types, by_path });
        match self.inner.write() {
            Ok(mut guard) => *guard = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
    }
}
