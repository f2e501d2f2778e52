//! ControllerRevisions, as upstream's `pkg/controller/history`: the immutable snapshots of a
//! StatefulSet's or DaemonSet's pod template, numbered in the order they were (last) used, that
//! `kubectl rollout history|undo` read and apply. Decisions only; the writes are
//! [`super::revisions`]'.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::apps::v1::ControllerRevision;
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::runtime::RawExtension;
use serde_json::{json, Value};

use super::hash::pruned;

/// The label a DaemonSet's pods and revisions carry with the revision's hash, and a
/// StatefulSet's pods with the revision's name.
pub const CONTROLLER_REVISION_HASH: &str = "controller-revision-hash";

/// The label a StatefulSet's revisions carry with their hash.
pub const REVISION_HASH: &str = "controller.kubernetes.io/hash";

/// The longest parent name kept in a revision name (upstream's limit).
const MAX_PREFIX: usize = 223;

/// What a StatefulSet or DaemonSet revision stores: the strategic merge patch that puts
/// `template` back (`{"spec": {"template": {…, "$patch": "replace"}}}`).
pub fn template_patch(template: &PodTemplateSpec) -> Value {
    let mut template = serde_json::to_value(template).unwrap_or_else(|_| json!({}));
    if let Some(map) = template.as_object_mut() {
        map.insert("$patch".to_owned(), json!("replace"));
    }
    json!({"spec": {"template": template}})
}

/// The pod template a revision restores, if it holds one.
pub fn template_of(revision: &ControllerRevision) -> Option<PodTemplateSpec> {
    let mut template = revision.data.as_ref()?.0.pointer("/spec/template")?.clone();
    if let Some(map) = template.as_object_mut() {
        map.remove("$patch");
    }
    serde_json::from_value(template).ok()
}

/// The name of `parent`'s revision with `hash`: `<parent>-<hash>`.
pub fn revision_name(parent: &str, hash: &str) -> String {
    let cut = parent
        .char_indices()
        .nth(MAX_PREFIX)
        .map_or(parent.len(), |(i, _)| i);
    format!("{}-{hash}", &parent[..cut])
}

/// A new revision of the parent `owner` names.
pub fn new_revision(
    owner: OwnerReference,
    namespace: &str,
    name: String,
    labels: BTreeMap<String, String>,
    annotations: Option<BTreeMap<String, String>>,
    data: Value,
    revision: i64,
) -> ControllerRevision {
    ControllerRevision {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            annotations,
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        data: Some(RawExtension(data)),
        revision,
    }
}

/// Whether two revisions hold the same data (empty members taken as absent).
pub fn equal_data(a: &ControllerRevision, b: &ControllerRevision) -> bool {
    let data =
        |r: &ControllerRevision| pruned(r.data.as_ref().map_or(Value::Null, |d| d.0.clone()));
    data(a) == data(b)
}

/// Sorts revisions oldest first: by number, then creation time, then name.
pub fn sort(revisions: &mut [ControllerRevision]) {
    revisions.sort_by(|a, b| {
        let created = |r: &ControllerRevision| r.metadata.creation_timestamp.as_ref().map(|t| t.0);
        a.revision
            .cmp(&b.revision)
            .then_with(|| created(a).cmp(&created(b)))
            .then_with(|| a.metadata.name.cmp(&b.metadata.name))
    });
}

/// The number the next revision gets: one past the highest of `sorted`, or 1.
pub fn next_number(sorted: &[ControllerRevision]) -> i64 {
    sorted.last().map_or(1, |r| r.revision.saturating_add(1))
}

/// How the revision for the parent's current template is found or made.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The newest revision already holds it.
    Existing(ControllerRevision),
    /// An older revision holds it (a rollback): it is renumbered to the next number.
    Renumber(ControllerRevision),
    /// No revision holds it: create this one.
    Create(ControllerRevision),
}

impl Resolution {
    /// The revision as it will be once the resolution is carried out.
    pub fn revision(&self) -> &ControllerRevision {
        match self {
            Self::Existing(r) | Self::Renumber(r) | Self::Create(r) => r,
        }
    }
}

/// Finds the revision among `sorted` (oldest first) with the data of `wanted` (which carries
/// the next number), or says to create `wanted`.
pub fn resolve(sorted: &[ControllerRevision], wanted: ControllerRevision) -> Resolution {
    let equal = sorted.iter().rev().find(|r| equal_data(r, &wanted));
    match equal {
        Some(r)
            if sorted
                .last()
                .is_some_and(|last| last.metadata.name == r.metadata.name) =>
        {
            Resolution::Existing(r.clone())
        }
        Some(r) => {
            let mut renumbered = r.clone();
            renumbered.revision = wanted.revision;
            Resolution::Renumber(renumbered)
        }
        None => Resolution::Create(wanted),
    }
}

/// The revisions to delete so that at most `limit` revisions not named in `live` remain,
/// oldest first. A negative limit keeps everything.
pub fn to_prune<'a>(
    sorted: &'a [ControllerRevision],
    live: &HashSet<&str>,
    limit: i32,
) -> Vec<&'a ControllerRevision> {
    let Ok(limit) = usize::try_from(limit) else {
        return Vec::new();
    };
    let old: Vec<&ControllerRevision> = sorted
        .iter()
        .filter(|r| !live.contains(r.metadata.name.as_deref().unwrap_or_default()))
        .collect();
    let excess = old.len().saturating_sub(limit);
    old.into_iter().take(excess).collect()
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
