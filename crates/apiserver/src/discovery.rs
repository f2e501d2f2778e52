//! API discovery: legacy (`/api`, `/apis`, group-version resource lists) and aggregated
//! (`apidiscovery.k8s.io/v2`), both generated from the registry.

use serde_json::{json, Value};

use crate::registry::{Index, ResourceType};

/// The content type kubectl requires on aggregated discovery answers.
pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether an Accept header asks for aggregated discovery v2.
pub fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').any(|part| {
        let part = part.replace(' ', "");
        part.contains("g=apidiscovery.k8s.io")
            && part.contains("v=v2;")
            && part.contains("as=APIGroupDiscoveryList")
            || part.ends_with("g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    })
}

/// `GET /api`.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}],
    })
}

fn group_entry(name: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or_default()})
}

/// The named groups with their versions, in registry order.
fn groups(index: &Index) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for (group, version) in index.group_versions() {
        if group.is_empty() {
            continue;
        }
        match out.iter_mut().find(|(g, _)| *g == group) {
            Some((_, versions)) => versions.push(version),
            None => out.push((group, vec![version])),
        }
    }
    out
}

/// `GET /apis`.
pub fn group_list(index: &Index) -> Value {
    let groups: Vec<Value> = groups(index)
        .iter()
        .map(|(g, v)| group_entry(g, v))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/{group}`.
pub fn group(index: &Index, name: &str) -> Option<Value> {
    let (group, versions) = groups(index).into_iter().find(|(g, _)| g == name)?;
    let mut entry = group_entry(&group, &versions);
    if let Some(map) = entry.as_object_mut() {
        map.insert("kind".to_owned(), json!("APIGroup"));
        map.insert("apiVersion".to_owned(), json!("v1"));
    }
    Some(entry)
}

fn scope(rt: &ResourceType) -> &'static str {
    if rt.namespaced {
        "Namespaced"
    } else {
        "Cluster"
    }
}

/// `GET /api/v1` or `/apis/{group}/{version}`: the APIResourceList.
pub fn resource_list(index: &Index, group: &str, version: &str) -> Option<Value> {
    let mut resources = Vec::new();
    for rt in index.in_group_version(group, version) {
        resources.push(json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs(),
            "shortNames": rt.short_names,
            "categories": rt.categories,
        }));
        if rt.subresources.status {
            resources.push(json!({
                "name": format!("{}/status", rt.plural), "singularName": "", "namespaced": rt.namespaced,
                "kind": rt.kind, "verbs": ["get", "patch", "update"],
            }));
        }
        if rt.subresources.scale {
            resources.push(json!({
                "name": format!("{}/scale", rt.plural), "singularName": "", "namespaced": rt.namespaced,
                "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"],
            }));
        }
        if rt.subresources.binding {
            resources.push(json!({
                "name": format!("{}/binding", rt.plural), "singularName": "", "namespaced": rt.namespaced,
                "kind": "Binding", "verbs": ["create"],
            }));
        }
        if rt.subresources.eviction {
            // kubectl drain looks for this entry (group and version set) to use evictions.
            resources.push(json!({
                "name": format!("{}/eviction", rt.plural), "singularName": "", "namespaced": rt.namespaced,
                "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

fn aggregated_resource(rt: &ResourceType) -> Value {
    let mut subresources = Vec::new();
    if rt.subresources.status {
        subresources.push(json!({
            "subresource": "status",
            "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
            "verbs": ["get", "patch", "update"],
        }));
    }
    if rt.subresources.scale {
        subresources.push(json!({
            "subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": ["get", "patch", "update"],
        }));
    }
    if rt.subresources.binding {
        subresources.push(json!({
            "subresource": "binding",
            "responseKind": {"group": "", "version": "v1", "kind": "Binding"},
            "verbs": ["create"],
        }));
    }
    if rt.subresources.eviction {
        subresources.push(json!({
            "subresource": "eviction",
            "responseKind": {"group": "policy", "version": "v1", "kind": "Eviction"},
            "verbs": ["create"],
        }));
    }
    let mut entry = json!({
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": scope(rt),
        "singularResource": rt.singular,
        "verbs": rt.verbs(),
    });
    if !rt.short_names.is_empty() {
        entry["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        entry["categories"] = json!(rt.categories);
    }
    if !subresources.is_empty() {
        entry["subresources"] = json!(subresources);
    }
    entry
}

fn aggregated_group(index: &Index, group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let resources: Vec<Value> = index
                .in_group_version(group, v)
                .map(|rt| aggregated_resource(rt))
                .collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() {
        json!({"creationTimestamp": null})
    } else {
        json!({"name": group, "creationTimestamp": null})
    };
    json!({"metadata": metadata, "versions": versions})
}

/// Aggregated discovery of `/api` (`core == true`) or `/apis`.
pub fn aggregated(index: &Index, core: bool) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group(index, "", &["v1".to_owned()])]
    } else {
        groups(index)
            .iter()
            .map(|(g, v)| aggregated_group(index, g, v))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}
