//! The CRD status the server maintains, decided without I/O: which names each CRD is granted
//! (first come, first served within a group), its `NamesAccepted` and `Established` conditions,
//! and its stored versions.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionNames,
};
use serde_json::{json, Value};

use super::definition::decode;
use crate::meta;

/// The finalizer that holds a CRD until its custom resources are gone.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// What the server decided for one CRD.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The CRD's name.
    pub name: String,
    /// The CRD, decoded.
    pub crd: CustomResourceDefinition,
    /// The status it should have.
    pub status: Value,
    /// The names its resources are served under, once any were accepted.
    pub accepted: Option<CustomResourceDefinitionNames>,
}

impl Decision {
    /// Whether the CRD's resources are served.
    pub fn established(&self) -> bool {
        self.accepted.is_some()
    }
}

/// Decides the status of every CRD in `crds`; `now` stamps conditions that change.
pub fn plan(crds: &[&Value], now: &str) -> Vec<Decision> {
    let mut decoded: Vec<(String, &Value, CustomResourceDefinition)> = crds
        .iter()
        .filter_map(|obj| {
            let crd = decode(obj).ok()?;
            let created = meta::str_at(obj, "/metadata/creationTimestamp").to_owned();
            Some((created, *obj, crd))
        })
        .collect();
    decoded.sort_by(|a, b| (&a.0, meta::name(a.1)).cmp(&(&b.0, meta::name(b.1))));
    let mut accepted: BTreeMap<String, CustomResourceDefinitionNames> = decoded
        .iter()
        .filter_map(|(_, obj, crd)| {
            let names = crd.status.as_ref()?.accepted_names.clone()?;
            (!names.plural.is_empty()).then(|| (meta::name(obj).to_owned(), names))
        })
        .collect();
    let mut out = Vec::new();
    for (_, obj, crd) in decoded {
        let name = meta::name(obj).to_owned();
        let requested = requested_names(&crd);
        let conflict = find_conflict(&crd, &name, &requested, &accepted, &out);
        if conflict.is_none() {
            accepted.insert(name.clone(), requested);
        }
        let granted = accepted.get(&name).cloned();
        let status = status_of(obj, &crd, granted.as_ref(), conflict, now);
        out.push(Decision {
            name,
            crd,
            status,
            accepted: granted,
        });
    }
    out
}

fn requested_names(crd: &CustomResourceDefinition) -> CustomResourceDefinitionNames {
    let mut names = crd.spec.names.clone();
    if names.singular.as_deref().is_none_or(str::is_empty) {
        names.singular = Some(names.kind.to_lowercase());
    }
    if names.list_kind.as_deref().is_none_or(str::is_empty) {
        names.list_kind = Some(format!("{}List", names.kind));
    }
    names
}

/// The first name of `requested` another CRD of the group already holds: (reason, name).
fn find_conflict(
    crd: &CustomResourceDefinition,
    name: &str,
    requested: &CustomResourceDefinitionNames,
    accepted: &BTreeMap<String, CustomResourceDefinitionNames>,
    decided: &[Decision],
) -> Option<(&'static str, String)> {
    let group_of = |other: &str| {
        decided
            .iter()
            .find(|d| d.name == other)
            .map(|d| d.crd.spec.group.clone())
            .or_else(|| other.split_once('.').map(|(_, g)| g.to_owned()))
    };
    let mut resources = HashSet::new();
    let mut kinds = HashSet::new();
    for (other, names) in accepted {
        if other == name || group_of(other).as_deref() != Some(crd.spec.group.as_str()) {
            continue;
        }
        resources.insert(names.plural.clone());
        resources.extend(names.singular.clone());
        resources.extend(names.short_names.iter().flatten().cloned());
        kinds.insert(names.kind.clone());
        kinds.extend(names.list_kind.clone());
    }
    let taken = |n: &str| resources.contains(n);
    if taken(&requested.plural) {
        return Some(("PluralConflict", requested.plural.clone()));
    }
    if let Some(s) = requested.singular.as_deref().filter(|s| taken(s)) {
        return Some(("SingularConflict", s.to_owned()));
    }
    if let Some(s) = requested.short_names.iter().flatten().find(|s| taken(s)) {
        return Some(("ShortNamesConflict", s.clone()));
    }
    if kinds.contains(&requested.kind) {
        return Some(("KindConflict", requested.kind.clone()));
    }
    if let Some(k) = requested
        .list_kind
        .as_deref()
        .filter(|k| kinds.contains(*k))
    {
        return Some(("ListKindConflict", k.to_owned()));
    }
    None
}

fn status_of(
    obj: &Value,
    crd: &CustomResourceDefinition,
    granted: Option<&CustomResourceDefinitionNames>,
    conflict: Option<(&'static str, String)>,
    now: &str,
) -> Value {
    let mut status = obj.get("status").cloned().unwrap_or_else(|| json!({}));
    if !status.is_object() {
        status = json!({});
    }
    let names_accepted = match &conflict {
        None => condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
        Some((reason, name)) => condition(
            "NamesAccepted",
            "False",
            reason,
            &format!("\"{name}\" is already in use"),
        ),
    };
    let established = if granted.is_some() {
        condition(
            "Established",
            "True",
            "InitialNamesAccepted",
            "the initial names have been accepted",
        )
    } else {
        condition(
            "Established",
            "False",
            "NotAccepted",
            "not all names are accepted",
        )
    };
    set_condition(&mut status, names_accepted, now);
    set_condition(&mut status, established, now);
    status["acceptedNames"] = match granted {
        Some(names) => serde_json::to_value(names).unwrap_or_else(|_| json!({})),
        None => json!({"plural": "", "kind": ""}),
    };
    let mut stored: Vec<Value> = status
        .get("storedVersions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(storage) = crd.spec.versions.iter().find(|v| v.storage) {
        if !stored
            .iter()
            .any(|v| v.as_str() == Some(storage.name.as_str()))
        {
            stored.push(json!(storage.name));
        }
    }
    status["storedVersions"] = json!(stored);
    status
}

fn condition(kind: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": status, "reason": reason, "message": message})
}

/// Sets a condition in `status.conditions`, keeping its transition time when its status holds.
pub fn set_condition(status: &mut Value, mut new: Value, now: &str) {
    if !status.get("conditions").is_some_and(Value::is_array) {
        status["conditions"] = json!([]);
    }
    let Some(conditions) = status.get_mut("conditions").and_then(Value::as_array_mut) else {
        return;
    };
    let kind = new["type"].clone();
    match conditions.iter_mut().find(|c| c["type"] == kind) {
        Some(old) => {
            let same = old["status"] == new["status"];
            new["lastTransitionTime"] = match old.get("lastTransitionTime") {
                Some(t) if same => t.clone(),
                _ => json!(now),
            };
            *old = new;
        }
        None => {
            new["lastTransitionTime"] = json!(now);
            conditions.push(new);
        }
    }
}

/// Marks a CRD for deletion as upstream does: the cleanup finalizer and a `Terminating`
/// condition.
pub fn mark_terminating(obj: &mut Value) {
    let mut finalizers = meta::finalizers(obj);
    if !finalizers.iter().any(|f| f == CLEANUP_FINALIZER) {
        finalizers.push(CLEANUP_FINALIZER.to_owned());
        meta::set_meta(obj, "finalizers", json!(finalizers));
    }
    if let Some(map) = obj.as_object_mut() {
        let status = map.entry("status").or_insert_with(|| json!({}));
        if !status.is_object() {
            *status = json!({});
        }
        set_condition(
            status,
            condition(
                "Terminating",
                "True",
                "InstanceDeletionPending",
                "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
            ),
            &meta::now_rfc3339(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(name: &str, plural: &str, kind: &str, created: &str) -> Value {
        let group = name.split_once('.').map(|(_, g)| g).unwrap_or_default();
        json!({"metadata": {"name": name, "creationTimestamp": created},
            "spec": {"group": group, "scope": "Namespaced", "names": {"plural": plural, "kind": kind},
                "versions": [{"name": "v1", "served": true, "storage": true}]}})
    }

    fn condition_of(d: &Decision, kind: &str) -> (String, String) {
        let c = d.status["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["type"] == kind);
        c.map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_owned(),
                c["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .unwrap_or_default()
    }

    #[test]
    fn a_new_crd_is_accepted_and_established_with_its_stored_version() {
        let a = crd(
            "crontabs.stable.example.com",
            "crontabs",
            "CronTab",
            "2024-01-01T00:00:00Z",
        );
        let plan = plan(&[&a], "2024-01-01T00:00:01Z");
        assert_eq!(
            condition_of(&plan[0], "NamesAccepted"),
            ("True".into(), "NoConflicts".into())
        );
        assert_eq!(
            condition_of(&plan[0], "Established"),
            ("True".into(), "InitialNamesAccepted".into())
        );
        assert_eq!(
            plan[0].status["acceptedNames"]["listKind"],
            json!("CronTabList")
        );
        assert_eq!(plan[0].status["storedVersions"], json!(["v1"]));
    }

    #[test]
    fn the_later_crd_claiming_a_taken_kind_is_not_accepted() {
        let a = crd(
            "crontabs.stable.example.com",
            "crontabs",
            "CronTab",
            "2024-01-01T00:00:00Z",
        );
        let mut b = crd(
            "crons.stable.example.com",
            "crons",
            "CronTab",
            "2024-01-02T00:00:00Z",
        );
        b["spec"]["names"]["singular"] = json!("cron");
        let plan = plan(&[&b, &a], "2024-01-03T00:00:00Z");
        let later = plan.iter().find(|d| d.name == "crons.stable.example.com");
        let later = later.map(|d| {
            (
                condition_of(d, "NamesAccepted"),
                d.established(),
                d.status["conditions"][0]["message"].clone(),
            )
        });
        assert_eq!(
            later,
            Some((
                ("False".into(), "KindConflict".into()),
                false,
                json!("\"CronTab\" is already in use")
            ))
        );
    }

    #[test]
    fn an_unchanged_condition_keeps_its_transition_time() {
        let a = crd(
            "crontabs.stable.example.com",
            "crontabs",
            "CronTab",
            "2024-01-01T00:00:00Z",
        );
        let first = plan(&[&a], "2024-01-01T00:00:01Z");
        let mut again = a.clone();
        again["status"] = first[0].status.clone();
        let second = plan(&[&again], "2024-01-01T00:00:02Z");
        assert_eq!(first[0].status, second[0].status);
    }

    #[test]
    fn marking_for_deletion_adds_the_cleanup_finalizer_once() {
        let mut a = crd("crontabs.stable.example.com", "crontabs", "CronTab", "");
        mark_terminating(&mut a);
        mark_terminating(&mut a);
        assert_eq!(meta::finalizers(&a), vec![CLEANUP_FINALIZER.to_owned()]);
        assert_eq!(a["status"]["conditions"][0]["type"], json!("Terminating"));
    }
}
