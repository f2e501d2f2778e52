//! State plugins keep for one scheduling cycle (what PreFilter computed for Filter, what
//! PreScore computed for Score), keyed by plugin.

use std::any::Any;
use std::collections::{HashMap, HashSet};

/// Per-cycle plugin state.
#[derive(Default)]
pub struct CycleState {
    data: HashMap<&'static str, Box<dyn Any + Send + Sync>>,
    skipped_filters: HashSet<&'static str>,
    skipped_scores: HashSet<&'static str>,
}

impl CycleState {
    /// Fresh state for a new cycle.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `value` under `key`.
    pub fn write<T: Any + Send + Sync>(&mut self, key: &'static str, value: T) {
        self.data.insert(key, Box::new(value));
    }

    /// The value under `key`, if it has type `T`.
    pub fn read<T: Any + Send + Sync>(&self, key: &'static str) -> Option<&T> {
        self.data.get(key).and_then(|v| v.downcast_ref())
    }

    /// The value under `key` for changing, if it has type `T`.
    pub fn read_mut<T: Any + Send + Sync>(&mut self, key: &'static str) -> Option<&mut T> {
        self.data.get_mut(key).and_then(|v| v.downcast_mut())
    }

    /// Marks `plugin`'s Filter as skipped this cycle.
    pub fn skip_filter(&mut self, plugin: &'static str) {
        self.skipped_filters.insert(plugin);
    }

    /// Whether `plugin`'s Filter is skipped this cycle.
    pub fn skips_filter(&self, plugin: &'static str) -> bool {
        self.skipped_filters.contains(plugin)
    }

    /// Marks `plugin`'s Score as skipped this cycle.
    pub fn skip_score(&mut self, plugin: &'static str) {
        self.skipped_scores.insert(plugin);
    }

    /// Whether `plugin`'s Score is skipped this cycle.
    pub fn skips_score(&self, plugin: &'static str) -> bool {
        self.skipped_scores.contains(plugin)
    }
}
