//! The storage objects the VolumeBinding plugin reads: PersistentVolumeClaims,
//! PersistentVolumes and StorageClasses, as the watches last reported them.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;

/// Claims (by `namespace/name`), volumes and classes (by name).
#[derive(Debug, Default)]
pub struct Volumes {
    claims: HashMap<String, Arc<PersistentVolumeClaim>>,
    volumes: HashMap<String, Arc<PersistentVolume>>,
    classes: HashMap<String, Arc<StorageClass>>,
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

impl Volumes {
    /// No storage objects.
    pub fn new() -> Self {
        Self::default()
    }

    /// The claim `name` in `namespace`.
    pub fn claim(&self, namespace: &str, name: &str) -> Option<&Arc<PersistentVolumeClaim>> {
        self.claims.get(&format!("{namespace}/{name}"))
    }

    /// The volume `name`.
    pub fn volume(&self, name: &str) -> Option<&Arc<PersistentVolume>> {
        self.volumes.get(name)
    }

    /// Every volume.
    pub fn volumes(&self) -> impl Iterator<Item = &Arc<PersistentVolume>> {
        self.volumes.values()
    }

    /// The class `name`.
    pub fn class(&self, name: &str) -> Option<&Arc<StorageClass>> {
        self.classes.get(name)
    }

    /// Adds or replaces a claim.
    pub fn upsert_claim(&mut self, claim: PersistentVolumeClaim) {
        let namespace = claim.metadata.namespace.clone().unwrap_or_default();
        let key = format!("{namespace}/{}", name_of(&claim.metadata));
        self.claims.insert(key, Arc::new(claim));
    }

    /// Forgets the claim with `key` (`namespace/name`).
    pub fn remove_claim(&mut self, key: &str) {
        self.claims.remove(key);
    }

    /// Adds or replaces a volume.
    pub fn upsert_volume(&mut self, volume: PersistentVolume) {
        self.volumes
            .insert(name_of(&volume.metadata), Arc::new(volume));
    }

    /// Forgets the volume `name`.
    pub fn remove_volume(&mut self, name: &str) {
        self.volumes.remove(name);
    }

    /// Adds or replaces a class.
    pub fn upsert_class(&mut self, class: StorageClass) {
        self.classes
            .insert(name_of(&class.metadata), Arc::new(class));
    }

    /// Forgets the class `name`.
    pub fn remove_class(&mut self, name: &str) {
        self.classes.remove(name);
    }
}
