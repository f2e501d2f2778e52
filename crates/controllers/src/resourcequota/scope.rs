//! Quota scopes (`spec.scopes`, `spec.scopeSelector`): which pods a scoped quota counts, after
//! upstream's pod evaluator. Other kinds match no scope, so a scoped quota counts none of them.

use k8s_openapi::api::core::v1::{Pod, ResourceQuotaSpec, ScopedResourceSelectorRequirement};

/// Whether `pod` falls under every scope and scope selector requirement of `spec`.
pub fn pod_matches(spec: &ResourceQuotaSpec, pod: &Pod) -> bool {
    let scopes = spec.scopes.iter().flatten().map(|scope| {
        let exists = ScopedResourceSelectorRequirement {
            scope_name: scope.clone(),
            operator: "Exists".to_owned(),
            values: None,
        };
        pod_matches_requirement(&exists, pod)
    });
    let selector = spec
        .scope_selector
        .iter()
        .flat_map(|s| s.match_expressions.iter().flatten())
        .map(|req| pod_matches_requirement(req, pod));
    scopes.chain(selector).all(|matched| matched)
}

/// Whether `spec` restricts what it counts at all.
pub fn is_scoped(spec: &ResourceQuotaSpec) -> bool {
    spec.scopes.as_ref().is_some_and(|s| !s.is_empty())
        || spec
            .scope_selector
            .as_ref()
            .and_then(|s| s.match_expressions.as_ref())
            .is_some_and(|m| !m.is_empty())
}

fn pod_matches_requirement(req: &ScopedResourceSelectorRequirement, pod: &Pod) -> bool {
    match req.scope_name.as_str() {
        "Terminating" => is_terminating(pod),
        "NotTerminating" => !is_terminating(pod),
        "BestEffort" => is_best_effort(pod),
        "NotBestEffort" => !is_best_effort(pod),
        "PriorityClass" => priority_class_matches(req, pod),
        "CrossNamespacePodAffinity" => uses_cross_namespace_affinity(pod),
        _ => false,
    }
}

/// A pod with an active deadline is "terminating" for quota purposes.
fn is_terminating(pod: &Pod) -> bool {
    pod.spec
        .as_ref()
        .and_then(|s| s.active_deadline_seconds)
        .is_some_and(|d| d >= 0)
}

/// The BestEffort QoS class: no container requests or limits cpu or memory.
pub fn is_best_effort(pod: &Pod) -> bool {
    if let Some(class) = pod.status.as_ref().and_then(|s| s.qos_class.as_deref()) {
        return class == "BestEffort";
    }
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    let containers = spec
        .containers
        .iter()
        .chain(spec.init_containers.iter().flatten());
    !containers
        .filter_map(|c| c.resources.as_ref())
        .flat_map(|r| r.requests.iter().chain(r.limits.iter()))
        .flat_map(|list| list.iter())
        .filter(|(name, _)| matches!(name.as_str(), "cpu" | "memory"))
        .any(|(_, q)| rudder_quantity::Quantity::from_wire(q).is_ok_and(|q| !q.is_zero()))
}

/// The PriorityClass scope: the pod's class against the requirement's operator and values.
fn priority_class_matches(req: &ScopedResourceSelectorRequirement, pod: &Pod) -> bool {
    let class = pod
        .spec
        .as_ref()
        .and_then(|s| s.priority_class_name.as_deref())
        .unwrap_or_default();
    let values = req.values.iter().flatten();
    match req.operator.as_str() {
        "Exists" => !class.is_empty(),
        "In" => values.into_iter().any(|v| v == class),
        "NotIn" => !values.into_iter().any(|v| v == class),
        // The class is always present in the label set upstream matches, empty or not.
        _ => false,
    }
}

/// Pod (anti-)affinity terms that reach other namespaces.
fn uses_cross_namespace_affinity(pod: &Pod) -> bool {
    let Some(affinity) = pod.spec.as_ref().and_then(|s| s.affinity.as_ref()) else {
        return false;
    };
    let crosses = |t: &k8s_openapi::api::core::v1::PodAffinityTerm| {
        t.namespaces.as_ref().is_some_and(|n| !n.is_empty()) || t.namespace_selector.is_some()
    };
    // PodAffinity and PodAntiAffinity are distinct types with the same term fields.
    macro_rules! terms {
        ($field:expr) => {
            $field.iter().flat_map(|a| {
                let required = a
                    .required_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten();
                let preferred = a
                    .preferred_during_scheduling_ignored_during_execution
                    .iter()
                    .flatten()
                    .map(|w| &w.pod_affinity_term);
                required.chain(preferred)
            })
        };
    }
    terms!(affinity.pod_affinity)
        .chain(terms!(affinity.pod_anti_affinity))
        .any(crosses)
}
