//! Which nodes a DaemonSet's pods belong on, as upstream's `NodeShouldRunDaemonPod`: the
//! node must be the template's `nodeName` if it names one, match its `nodeSelector` and
//! required node affinity, and carry no NoSchedule or NoExecute taint its pods do not tolerate
//! (a pod already there keeps running unless a NoExecute taint is untolerated). Also the
//! tolerations every daemon pod gets and the node affinity that pins it to its node.

use k8s_openapi::api::core::v1::{
    Affinity, Node, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod,
    PodSpec, Toleration,
};

use crate::taints::tolerates;

/// Whether a daemon pod should be placed on a node and whether one there may stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// A pod should run there.
    pub should_run: bool,
    /// A pod already there may keep running.
    pub should_continue: bool,
}

/// The field the pinning affinity selects nodes by.
const NODE_NAME_FIELD: &str = "metadata.name";

/// Where a pod with `spec` (daemon tolerations included) belongs relative to `node`.
pub fn placement(spec: &PodSpec, node: &Node) -> Placement {
    let none = Placement {
        should_run: false,
        should_continue: false,
    };
    let name = node.metadata.name.as_deref().unwrap_or_default();
    if spec
        .node_name
        .as_deref()
        .is_some_and(|n| !n.is_empty() && n != name)
    {
        return none;
    }
    if !fits_selector(spec, node) || !fits_affinity(spec, node) {
        return none;
    }
    let taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_deref())
        .unwrap_or_default();
    let tolerations = spec.tolerations.as_deref().unwrap_or_default();
    let untolerated = |effect: &str| {
        taints
            .iter()
            .filter(|t| t.effect == effect)
            .any(|t| !tolerations.iter().any(|tol| tolerates(tol, t)))
    };
    let no_execute = untolerated("NoExecute");
    Placement {
        should_run: !no_execute && !untolerated("NoSchedule"),
        should_continue: !no_execute,
    }
}

fn fits_selector(spec: &PodSpec, node: &Node) -> bool {
    let labels = node.metadata.labels.as_ref();
    spec.node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v))
}

fn fits_affinity(spec: &PodSpec, node: &Node) -> bool {
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    required.is_none_or(|r| r.node_selector_terms.iter().any(|t| term_matches(t, node)))
}

/// Whether a node selector term selects `node` (a term with no requirements selects none).
pub fn term_matches(term: &NodeSelectorTerm, node: &Node) -> bool {
    let expressions = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if expressions.is_empty() && fields.is_empty() {
        return false;
    }
    let labels = node.metadata.labels.as_ref();
    let name = node.metadata.name.as_deref();
    expressions
        .iter()
        .all(|r| requirement_matches(r, labels.and_then(|l| l.get(&r.key)).map(String::as_str)))
        && fields
            .iter()
            .all(|r| r.key == NODE_NAME_FIELD && requirement_matches(r, name))
}

fn requirement_matches(r: &NodeSelectorRequirement, value: Option<&str>) -> bool {
    let values = r.values.as_deref().unwrap_or_default();
    let number = |s: &str| s.parse::<i64>().ok();
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => !value.is_some_and(|v| values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), Some(bound)) = (
                value.and_then(number),
                values.first().and_then(|b| number(b)),
            ) else {
                return false;
            };
            if r.operator == "Gt" {
                v > bound
            } else {
                v < bound
            }
        }
        _ => false,
    }
}

/// The tolerations every daemon pod carries (upstream's `AddOrUpdateDaemonPodTolerations`):
/// not-ready and unreachable (NoExecute), the pressure conditions and unschedulable
/// (NoSchedule), and network-unavailable for host-network pods.
pub fn add_daemon_tolerations(spec: &mut PodSpec) {
    let mut wanted = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.host_network == Some(true) {
        wanted.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for (key, effect) in wanted {
        let toleration = Toleration {
            key: Some(key.to_owned()),
            operator: Some("Exists".to_owned()),
            effect: Some(effect.to_owned()),
            ..Toleration::default()
        };
        let same =
            |t: &Toleration| t.key.as_deref() == Some(key) && t.effect.as_deref() == Some(effect);
        match tolerations.iter_mut().find(|t| same(t)) {
            Some(existing) => *existing = toleration,
            None => tolerations.push(toleration),
        }
    }
}

/// Pins a pod to `node` the way upstream does: its required node affinity becomes the one term
/// `metadata.name In [node]` (the node already satisfies the template's own affinity).
pub fn pin_to_node(spec: &mut PodSpec, node: &str) {
    let term = NodeSelectorTerm {
        match_fields: Some(vec![NodeSelectorRequirement {
            key: NODE_NAME_FIELD.to_owned(),
            operator: "In".to_owned(),
            values: Some(vec![node.to_owned()]),
        }]),
        match_expressions: None,
    };
    let affinity = spec.affinity.get_or_insert_with(Affinity::default);
    let node_affinity = affinity
        .node_affinity
        .get_or_insert_with(NodeAffinity::default);
    node_affinity.required_during_scheduling_ignored_during_execution = Some(NodeSelector {
        node_selector_terms: vec![term],
    });
}

/// The node a daemon pod is on or pinned to: its `nodeName`, else the single node its
/// required affinity names.
pub fn target_node(pod: &Pod) -> Option<&str> {
    let spec = pod.spec.as_ref()?;
    if let Some(name) = spec.node_name.as_deref().filter(|n| !n.is_empty()) {
        return Some(name);
    }
    let required = spec
        .affinity
        .as_ref()?
        .node_affinity
        .as_ref()?
        .required_during_scheduling_ignored_during_execution
        .as_ref()?;
    let terms = &required.node_selector_terms;
    let fields = terms
        .first()
        .filter(|_| terms.len() == 1)?
        .match_fields
        .as_deref()?;
    let pin = fields
        .iter()
        .find(|r| r.key == NODE_NAME_FIELD && r.operator == "In")?;
    match pin.values.as_deref() {
        Some([only]) => Some(only.as_str()),
        _ => None,
    }
}

#[cfg(test)]
#[path = "placement_tests.rs"]
pub(super) mod tests;
