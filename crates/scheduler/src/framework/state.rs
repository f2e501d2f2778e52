//! State plugins keep for one scheduling cycle (what PreFilter computed for Filter, what
//! PreScore computed for Score), keyed by plugin. A handful of entries at most, so a short
//! list beats hashing on the per-node hot path.

use std::any::Any;

/// Per-cycle plugin state.
#[derive(Default)]
pub struct CycleState {
    data: Vec<(&'static str, Box<dyn Any + Send + Sync>)>,
    skipped_filters: Vec<&'static str>,
}

impl CycleState {
    /// Fresh state for a new cycle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` under `key`.
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        self.data.retain(|(k, _)| *k != key);
        self.data.push((key, Box::new(value)));
    }

    /// The value under `key`, if it has type `T`.
    pub fn read<T: Any + Send + Sync>(&self, key: &'static str) -> Option<&T> {
        self.data
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.downcast_ref())
    }

    /// Marks `plugin`'s Filter as skipped this cycle.
    pub fn skip_filter(&mut self, plugin: &'static str) {
        self.skipped_filters.push(plugin);
    }

    /// Whether `plugin`'s Filter is skipped this cycle.
    pub fn skips_filter(&self, plugin: &'static str) -> bool {
        self.skipped_filters.contains(&plugin)
    }
}
