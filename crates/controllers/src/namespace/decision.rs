//! The namespace controller's decision core, without I/O: whether a namespace needs emptying,
//! which resource types to delete and how, the deletion conditions upstream reports, and when
//! the `kubernetes` finalizer may be removed.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Namespace, NamespaceCondition};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The finalizer in `spec.finalizers` this controller owns.
pub const FINALIZER: &str = "kubernetes";

/// What the controller does with a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Not being deleted: nothing to do.
    Ignore,
    /// Being deleted, but our finalizer is already gone: nothing left for us.
    AlreadyFinalized,
    /// Being deleted with our finalizer: delete its content, then finalize.
    EmptyThenFinalize,
}

/// What to do with `ns`.
pub fn plan(ns: &Namespace) -> Plan {
    if ns.metadata.deletion_timestamp.is_none() {
        Plan::Ignore
    } else if spec_finalizers(ns).iter().any(|f| f == FINALIZER) {
        Plan::EmptyThenFinalize
    } else {
        Plan::AlreadyFinalized
    }
}

fn spec_finalizers(ns: &Namespace) -> Vec<String> {
    ns.spec
        .as_ref()
        .and_then(|s| s.finalizers.clone())
        .unwrap_or_default()
}

/// `ns` with our finalizer removed from `spec.finalizers`: the body of the `/finalize` PUT.
pub fn finalized(ns: &Namespace) -> Namespace {
    let mut out = ns.clone();
    let rest: Vec<String> = spec_finalizers(ns)
        .into_iter()
        .filter(|f| f != FINALIZER)
        .collect();
    out.spec.get_or_insert_with(Default::default).finalizers = Some(rest);
    out
}

/// A resource type as discovery reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredResource {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural resource name.
    pub plural: String,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// The verbs it supports.
    pub verbs: Vec<String>,
}

impl DiscoveredResource {
    fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }

    /// `plural.group`, as upstream names a resource in its conditions.
    pub fn group_resource(&self) -> String {
        format!("{}.{}", self.plural, self.group)
    }
}

/// How the objects of one type are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// One `deletecollection` for the namespace.
    Collection,
    /// A list, then a `delete` per object.
    EachObject,
}

/// One resource type to empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// The type.
    pub resource: DiscoveredResource,
    /// How its objects are deleted.
    pub method: Method,
}

/// The types whose objects must go: every namespaced type that can be listed and deleted,
/// preferring `deletecollection`; pods first (as upstream's ordered namespace deletion does,
/// so workloads stop before the objects they use).
pub fn deletions(resources: &[DiscoveredResource]) -> Vec<Deletion> {
    let mut out: Vec<Deletion> = resources
        .iter()
        .filter(|r| r.namespaced && r.supports("list"))
        .filter_map(|r| {
            let method = if r.supports("deletecollection") {
                Method::Collection
            } else if r.supports("delete") {
                Method::EachObject
            } else {
                return None;
            };
            Some(Deletion {
                resource: r.clone(),
                method,
            })
        })
        .collect();
    out.sort_by_key(|d| !(d.resource.group.is_empty() && d.resource.plural == "pods"));
    out
}

/// What one pass over a namespace's content found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentReport {
    /// Why discovery failed, if it did.
    pub discovery_failure: Option<String>,
    /// One message per resource type whose deletion failed.
    pub deletion_failures: Vec<String>,
    /// Objects left, by `plural.group`.
    pub remaining: BTreeMap<String, usize>,
    /// Objects left carrying each finalizer.
    pub finalizers: BTreeMap<String, usize>,
}

impl ContentReport {
    /// Records the objects of `resource` still present and the finalizers they carry.
    pub fn record_remaining<'a>(
        &mut self,
        resource: &DiscoveredResource,
        objects: impl IntoIterator<Item = &'a [String]>,
    ) {
        let mut count = 0;
        for finalizers in objects {
            count += 1;
            for f in finalizers {
                *self.finalizers.entry(f.clone()).or_default() += 1;
            }
        }
        if count > 0 {
            *self.remaining.entry(resource.group_resource()).or_default() += count;
        }
    }
}

/// What follows a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The namespace is empty: remove our finalizer.
    Finalize,
    /// Objects remain (being deleted, or held by finalizers): look again later.
    WaitForContent,
    /// Discovery or a deletion failed: retry with backoff.
    Retry,
}

/// What to do after the pass `report` describes.
pub fn verdict(report: &ContentReport) -> Verdict {
    if report.discovery_failure.is_some() || !report.deletion_failures.is_empty() {
        Verdict::Retry
    } else if !report.remaining.is_empty() {
        Verdict::WaitForContent
    } else {
        Verdict::Finalize
    }
}

/// Upstream's deletion condition types, in its order.
pub const CONDITION_TYPES: [&str; 5] = [
    "NamespaceDeletionDiscoveryFailure",
    "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining",
    "NamespaceFinalizersRemaining",
];

/// (type, status, reason, message) of each condition the report implies.
fn wanted(report: &ContentReport) -> [(&'static str, bool, &'static str, String); 5] {
    let listed = |items: Vec<String>| items.join(", ");
    let discovery = match &report.discovery_failure {
        Some(e) => (true, "DiscoveryFailed", e.clone()),
        None => (
            false,
            "ResourcesDiscovered",
            "All resources successfully discovered".to_owned(),
        ),
    };
    let content = if report.deletion_failures.is_empty() {
        (
            false,
            "ContentDeleted",
            "All content successfully deleted, may be waiting on finalization".to_owned(),
        )
    } else {
        let n = report.deletion_failures.len();
        (
            true,
            "ContentDeletionFailed",
            format!(
                "Failed to delete all resource types, {n} remaining: {}",
                listed(report.deletion_failures.clone())
            ),
        )
    };
    let remaining = if report.remaining.is_empty() {
        (
            false,
            "ContentRemoved",
            "All content successfully removed".to_owned(),
        )
    } else {
        let items = report
            .remaining
            .iter()
            .map(|(gr, n)| format!("{gr} has {n} resource instances"))
            .collect();
        (
            true,
            "SomeResourcesRemain",
            format!("Some resources are remaining: {}", listed(items)),
        )
    };
    let finalizers = if report.finalizers.is_empty() {
        (
            false,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".to_owned(),
        )
    } else {
        let items = report
            .finalizers
            .iter()
            .map(|(f, n)| format!("{f} in {n} resource instances"))
            .collect();
        (
            true,
            "SomeFinalizersRemain",
            format!(
                "Some content in the namespace has finalizers remaining: {}",
                listed(items)
            ),
        )
    };
    let parsing = (
        false,
        "ParsedGroupVersions",
        "All legacy kube types successfully parsed".to_owned(),
    );
    let [a, b, c, d, e] = CONDITION_TYPES;
    [
        (a, discovery.0, discovery.1, discovery.2),
        (b, parsing.0, parsing.1, parsing.2),
        (c, content.0, content.1, content.2),
        (d, remaining.0, remaining.1, remaining.2),
        (e, finalizers.0, finalizers.1, finalizers.2),
    ]
}

/// The namespace's conditions after the pass `report` describes, or `None` when they are
/// unchanged. As upstream, `lastTransitionTime` moves only when a condition's status changes;
/// conditions of other types are kept.
pub fn conditions(
    existing: &[NamespaceCondition],
    report: &ContentReport,
    now: Timestamp,
) -> Option<Vec<NamespaceCondition>> {
    let mut out = existing.to_vec();
    let mut changed = false;
    for (type_, status, reason, message) in wanted(report) {
        let status = if status { "True" } else { "False" };
        match out.iter_mut().find(|c| c.type_ == type_) {
            Some(c)
                if c.status == status
                    && c.reason.as_deref() == Some(reason)
                    && c.message.as_deref() == Some(message.as_str()) => {}
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = Some(Time(now));
                }
                c.status = status.to_owned();
                c.reason = Some(reason.to_owned());
                c.message = Some(message);
                changed = true;
            }
            None => {
                out.push(NamespaceCondition {
                    type_: type_.to_owned(),
                    status: status.to_owned(),
                    reason: Some(reason.to_owned()),
                    message: Some(message),
                    last_transition_time: Some(Time(now)),
                });
                changed = true;
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
#[path = "decision_tests.rs"]
mod tests;
