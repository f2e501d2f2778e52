//! The garbage collector's decisions, without I/O: given what a live read found about an
//! object and its owners, what to do with it — delete it (and with which propagation),
//! drop owner references, or release an owner waiting in the foreground.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;

use super::graph::{FOREGROUND, ORPHAN};
use crate::namespace::decision::DiscoveredResource;

/// The types the collector watches: every type that can be listed, watched and deleted,
/// except Events (as upstream, they are never owners worth following).
pub fn watched(resources: &[DiscoveredResource]) -> Vec<&DiscoveredResource> {
    let supports = |r: &DiscoveredResource, verb: &str| r.verbs.iter().any(|v| v == verb);
    resources
        .iter()
        .filter(|r| ["list", "watch", "delete"].iter().all(|v| supports(r, v)))
        .filter(|r| !(r.plural == "events" && (r.group.is_empty() || r.group == "events.k8s.io")))
        .collect()
}

/// A delete's propagation policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Propagation {
    /// Dependents are collected after the object is gone.
    Background,
    /// The object waits for its blocking dependents.
    Foreground,
    /// Dependents lose their reference to the object.
    Orphan,
}

impl Propagation {
    /// The wire value of `propagationPolicy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Background => "Background",
            Self::Foreground => "Foreground",
            Self::Orphan => "Orphan",
        }
    }
}

/// What a live read of one owner reference found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    /// The owner exists with this uid and is not waiting for its dependents.
    Solid,
    /// No object with this uid exists where the reference points.
    Dangling,
    /// The owner is being deleted in the foreground.
    WaitingForDependents,
    /// A cluster-scoped object names a namespaced owner: the reference can never resolve.
    InvalidScope,
}

/// What to do to the object at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Delete it (with a uid precondition) with this propagation.
    Delete(Propagation),
    /// Remove its owner references to these uids.
    RemoveOwnerRefs(Vec<String>),
    /// Make its owner references to these uids stop blocking the owner's deletion.
    UnblockOwnerRefs(Vec<String>),
    /// Remove this finalizer from it.
    RemoveFinalizer(&'static str),
    /// Check the object with this uid (a blocking dependent).
    AttemptToDelete(String),
}

/// What the graph knows of the object's own dependents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dependents {
    /// It has any.
    pub any: bool,
    /// One of them is itself deleting its dependents in the foreground.
    pub any_deleting_dependents: bool,
}

/// The step for an owner deleting in the foreground, given its blocking dependents (uid,
/// and whether each waits for its own dependents): release it when none is left, else make
/// sure each is being collected.
pub fn foreground_step(blocking: &[(String, bool)], cache_synced: bool) -> Vec<Action> {
    if blocking.is_empty() {
        if cache_synced {
            vec![Action::RemoveFinalizer(FOREGROUND)]
        } else {
            Vec::new()
        }
    } else {
        blocking
            .iter()
            .filter(|(_, deleting_dependents)| !deleting_dependents)
            .map(|(uid, _)| Action::AttemptToDelete(uid.clone()))
            .collect()
    }
}

/// What to do with an object whose owner references were classified as `owners`, given its
/// finalizers and its own dependents. Upstream's rules: an object with a live owner stays
/// (its dangling references, and those to owners waiting for it, are dropped); one whose
/// owners wait for it in the foreground and which has dependents goes in the foreground
/// too; any other is collected, honouring a propagation its finalizers already record.
pub fn collect(
    owners: &[(OwnerReference, OwnerState)],
    finalizers: &[String],
    dependents: Dependents,
) -> Vec<Action> {
    if owners.is_empty() || owners.iter().any(|(_, s)| *s == OwnerState::InvalidScope) {
        return Vec::new();
    }
    let uids = |state: OwnerState| -> Vec<String> {
        owners
            .iter()
            .filter(|(_, s)| *s == state)
            .map(|(o, _)| o.uid.clone())
            .collect()
    };
    let dangling = uids(OwnerState::Dangling);
    let waiting = uids(OwnerState::WaitingForDependents);
    if !uids(OwnerState::Solid).is_empty() {
        let mut drop: Vec<String> = dangling;
        drop.extend(waiting);
        return if drop.is_empty() {
            Vec::new()
        } else {
            vec![Action::RemoveOwnerRefs(drop)]
        };
    }
    if !waiting.is_empty() && dependents.any {
        let delete = Action::Delete(Propagation::Foreground);
        return if dependents.any_deleting_dependents {
            // Possibly a cycle: stop blocking the waiting owners first.
            vec![Action::UnblockOwnerRefs(waiting), delete]
        } else {
            vec![delete]
        };
    }
    let has = |f: &str| finalizers.iter().any(|x| x == f);
    let policy = if has(ORPHAN) {
        Propagation::Orphan
    } else if has(FOREGROUND) {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    vec![Action::Delete(policy)]
}

/// `refs` without the references to `uids`.
pub fn without_owners(refs: &[OwnerReference], uids: &[String]) -> Vec<OwnerReference> {
    refs.iter()
        .filter(|r| !uids.contains(&r.uid))
        .cloned()
        .collect()
}

/// `refs` with the references to `uids` no longer blocking their owner's deletion.
pub fn unblocked(refs: &[OwnerReference], uids: &[String]) -> Vec<OwnerReference> {
    refs.iter()
        .cloned()
        .map(|mut r| {
            if uids.contains(&r.uid) {
                r.block_owner_deletion = Some(false);
            }
            r
        })
        .collect()
}

/// `finalizers` without `finalizer`.
pub fn without_finalizer(finalizers: &[String], finalizer: &str) -> Vec<String> {
    finalizers
        .iter()
        .filter(|f| *f != finalizer)
        .cloned()
        .collect()
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
