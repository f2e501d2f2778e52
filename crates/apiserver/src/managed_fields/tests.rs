//! Field sets, update bookkeeping and server-side apply, over a small Deployment-like schema.

use serde_json::{json, Map, Value};

use super::entries::{self, ManagedEntry, Operation};
use super::fieldset::FieldSet;
use super::ownership::{self, Scope, Writer};
use super::typed::{compare, to_field_set};
use super::{manager_name, FieldManagerError};
use crate::error::ApiError;
use crate::patch::schema::PatchSchema;

fn definitions() -> Map<String, Value> {
    let defs = json!({
        "Deployment": {"properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"$ref": "#/components/schemas/ObjectMeta"},
            "spec": {"$ref": "#/components/schemas/DeploymentSpec"},
            "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}},
        "ObjectMeta": {"properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"},
                "x-kubernetes-list-type": "set"}}},
        "DeploymentSpec": {"properties": {
            "replicas": {"type": "integer"},
            "selector": {"$ref": "#/components/schemas/LabelSelector"},
            "template": {"$ref": "#/components/schemas/PodTemplateSpec"}}},
        "LabelSelector": {"x-kubernetes-map-type": "atomic", "properties": {
            "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}}}},
        "PodTemplateSpec": {"properties": {
            "metadata": {"$ref": "#/components/schemas/ObjectMeta"},
            "spec": {"$ref": "#/components/schemas/PodSpec"}}},
        "PodSpec": {"properties": {"containers": {"type": "array",
            "items": {"$ref": "#/components/schemas/Container"},
            "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]}}},
        "Container": {"properties": {
            "name": {"type": "string"}, "image": {"type": "string"},
            "args": {"type": "array", "items": {"type": "string"}},
            "ports": {"type": "array", "items": {"$ref": "#/components/schemas/ContainerPort"},
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["containerPort", "protocol"]}}},
        "ContainerPort": {"properties": {
            "containerPort": {"type": "integer"}, "protocol": {"type": "string"}}}
    });
    match defs {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn deployment(replicas: i64, labels: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{
                "name": "nginx", "image": "nginx:1", "args": ["-g"],
                "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]
            }]}}
        }
    })
}

fn writer<'a>(manager: &'a str, now: &'a str) -> Writer<'a> {
    Writer {
        manager,
        api_version: "apps/v1",
        subresource: "",
        scope: Scope::AllButStatus,
        now,
    }
}

fn owned(entries: &[ManagedEntry], manager: &str) -> Value {
    entries
        .iter()
        .find(|e| e.manager == manager)
        .map(|e| e.fields.to_fields_v1())
        .unwrap_or(Value::Null)
}

#[test]
fn field_set_keys_associative_lists_and_keeps_atomic_values_whole() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let set = to_field_set(&deployment(2, json!({"app": "web"})), &schema);
    let container = json!({
        ".": {}, "f:args": {}, "f:image": {}, "f:name": {},
        "f:ports": {
            "k:{\"containerPort\":53,\"protocol\":\"UDP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}},
            "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}
        }
    });
    let expected = json!({
        "f:apiVersion": {}, "f:kind": {},
        "f:metadata": {"f:labels": {"f:app": {}}, "f:name": {}},
        "f:spec": {
            "f:replicas": {}, "f:selector": {},
            "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": container}}}
        }
    });
    assert_eq!(set.to_fields_v1(), expected);
    assert_eq!(FieldSet::from_fields_v1(&expected).ok(), Some(set));
}

#[test]
fn set_operations_work_path_by_path() {
    let parse = |v: Value| FieldSet::from_fields_v1(&v).unwrap_or_default();
    let a = parse(json!({"f:spec": {"f:replicas": {}, "f:paused": {}}}));
    let b = parse(json!({"f:spec": {"f:replicas": {}, "f:minReadySeconds": {}}}));
    assert_eq!(
        a.union(&b).to_fields_v1(),
        json!({"f:spec": {"f:minReadySeconds": {}, "f:paused": {}, "f:replicas": {}}})
    );
    assert_eq!(
        a.difference(&b).to_fields_v1(),
        json!({"f:spec": {"f:paused": {}}})
    );
    assert_eq!(
        a.intersection(&b).to_fields_v1(),
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(a.difference(&a).is_empty());
}

#[test]
fn set_lists_are_keyed_by_value() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let obj = json!({"metadata": {"finalizers": ["a", "b"]}});
    let set = to_field_set(&obj, &schema);
    assert_eq!(
        set.to_fields_v1(),
        json!({"f:metadata": {"f:finalizers": {"v:\"a\"": {}, "v:\"b\"": {}}}})
    );
}

#[test]
fn comparison_reports_modified_leaves_and_added_items() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let old = deployment(2, json!({"app": "web"}));
    let mut new = deployment(3, json!({"app": "web", "tier": "front"}));
    new["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-x"]);
    let cmp = compare(&old, &new, &schema);
    assert_eq!(
        cmp.modified.to_fields_v1(),
        json!({"f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {
            "k:{\"name\":\"nginx\"}": {"f:args": {}}}}}}})
    );
    assert_eq!(
        cmp.added.to_fields_v1(),
        json!({"f:metadata": {"f:labels": {"f:tier": {}}}})
    );
    assert!(cmp.removed.is_empty());
}

#[test]
fn update_takes_ownership_of_changed_fields_from_other_managers() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let empty = json!({});
    let v1 = deployment(2, json!({"app": "web"}));
    let created = ownership::update(
        Vec::new(),
        &empty,
        &v1,
        &schema,
        &writer("kubectl-create", "t1"),
    );
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].operation, Operation::Update);
    let v2 = deployment(5, json!({"app": "web"}));
    let scaled = ownership::update(created, &v1, &v2, &schema, &writer("kubectl-scale", "t2"));
    assert_eq!(
        owned(&scaled, "kubectl-scale"),
        json!({"f:spec": {"f:replicas": {}}})
    );
    let creator = owned(&scaled, "kubectl-create");
    assert!(creator.pointer("/f:spec/f:replicas").is_none());
    assert!(creator.pointer("/f:spec/f:selector").is_some());
}

#[test]
fn update_that_changes_nothing_keeps_entries_and_times() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let v1 = deployment(2, json!({"app": "web"}));
    let created = ownership::update(Vec::new(), &json!({}), &v1, &schema, &writer("a", "t1"));
    let again = ownership::update(created.clone(), &v1, &v1, &schema, &writer("b", "t2"));
    assert_eq!(again, created);
}

fn apply(
    entries: Vec<ManagedEntry>,
    live: &Value,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<(Value, Vec<ManagedEntry>), FieldManagerError> {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    ownership::apply(entries, live, config, &schema, &writer(manager, "t"), force)
}

#[test]
fn apply_removes_a_field_the_manager_stopped_applying() {
    let first = deployment(2, json!({"app": "web", "tier": "front"}));
    let (live, managed) = apply(Vec::new(), &json!({}), &first, "kubectl", false)
        .unwrap_or_else(|e| panic!("first apply: {e}"));
    let second = deployment(2, json!({"app": "web"}));
    let (after, managed) = apply(managed, &live, &second, "kubectl", false)
        .unwrap_or_else(|e| panic!("second apply: {e}"));
    assert_eq!(after["metadata"]["labels"], json!({"app": "web"}));
    assert_eq!(managed.len(), 1);
    assert_eq!(managed[0].operation, Operation::Apply);
}

#[test]
fn apply_keeps_a_dropped_field_another_manager_owns() {
    let first = deployment(2, json!({"app": "web", "tier": "front"}));
    let (live, mut managed) = apply(Vec::new(), &json!({}), &first, "kubectl", false)
        .unwrap_or_else(|e| panic!("first apply: {e}"));
    let labeler = FieldSet::from_fields_v1(&json!({"f:metadata": {"f:labels": {"f:tier": {}}}}))
        .unwrap_or_default();
    managed.push(ManagedEntry {
        manager: "kubectl-label".into(),
        operation: Operation::Update,
        api_version: "apps/v1".into(),
        subresource: String::new(),
        time: None,
        fields: labeler,
    });
    let second = deployment(2, json!({"app": "web"}));
    let (after, _) = apply(managed, &live, &second, "kubectl", false)
        .unwrap_or_else(|e| panic!("second apply: {e}"));
    assert_eq!(after["metadata"]["labels"]["tier"], json!("front"));
}

#[test]
fn apply_conflicts_with_an_updater_and_force_takes_the_field() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let v1 = deployment(2, json!({"app": "web"}));
    let (live, managed) = apply(Vec::new(), &json!({}), &v1, "kubectl", false)
        .unwrap_or_else(|e| panic!("apply: {e}"));
    let scaled_obj = deployment(5, json!({"app": "web"}));
    let mut scale_writer = writer("kubectl", "t2");
    scale_writer.subresource = "scale";
    let scaled = ownership::update(managed, &live, &scaled_obj, &schema, &scale_writer);
    let err = apply(scaled.clone(), &scaled_obj, &v1, "kubectl", false).err();
    let Some(err @ FieldManagerError::Conflicts(_)) = err else {
        panic!("expected a conflict, got {err:?}");
    };
    assert_eq!(
        err.to_string(),
        "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
    let api = ApiError::from(err);
    assert_eq!(api.code(), http::StatusCode::CONFLICT);
    assert_eq!(
        api.to_status()["details"]["causes"][0],
        json!({"reason": "FieldManagerConflict", "field": ".spec.replicas",
            "message": "conflict with \"kubectl\" with subresource \"scale\" using apps/v1"})
    );
    let (forced, managed) = apply(scaled, &scaled_obj, &v1, "kubectl", true)
        .unwrap_or_else(|e| panic!("forced apply: {e}"));
    assert_eq!(forced["spec"]["replicas"], json!(2));
    assert!(managed.iter().all(|e| e.subresource.is_empty()));
}

#[test]
fn applying_the_value_another_manager_set_shares_the_field() {
    let v1 = deployment(2, json!({"app": "web"}));
    let (live, managed) =
        apply(Vec::new(), &json!({}), &v1, "alice", false).unwrap_or_else(|e| panic!("apply: {e}"));
    let (_, managed) =
        apply(managed, &live, &v1, "bob", false).unwrap_or_else(|e| panic!("shared apply: {e}"));
    assert_eq!(owned(&managed, "alice"), owned(&managed, "bob"));
}

#[test]
fn apply_merges_keyed_lists_and_replaces_atomic_ones() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let live = deployment(2, json!({"app": "web"}));
    let config = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "nginx", "args": ["-y"]}, {"name": "sidecar", "image": "busybox"}]}}}});
    let merged = super::merge::merge(&live, &config, &schema);
    let containers = &merged["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0]["image"], json!("nginx:1"));
    assert_eq!(containers[0]["args"], json!(["-y"]));
    assert_eq!(containers[1]["name"], json!("sidecar"));
}

#[test]
fn managed_fields_round_trip_in_upstream_order() {
    let mut obj = json!({"metadata": {"name": "x"}});
    let set = FieldSet::from_fields_v1(&json!({"f:spec": {"f:replicas": {}}})).unwrap_or_default();
    let entry = |manager: &str, op, time: &str| ManagedEntry {
        manager: manager.into(),
        operation: op,
        api_version: "apps/v1".into(),
        subresource: String::new(),
        time: Some(time.into()),
        fields: set.clone(),
    };
    entries::encode(
        &mut obj,
        vec![
            entry("b", Operation::Update, "2024-01-01T00:00:00Z"),
            entry("a", Operation::Apply, "2025-01-01T00:00:00Z"),
        ],
    );
    let decoded = entries::decode(&obj).unwrap_or_default();
    assert_eq!(
        decoded
            .iter()
            .map(|e| e.manager.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(
        obj["metadata"]["managedFields"][0]["operation"],
        json!("Apply")
    );
}

#[test]
fn manager_defaults_to_the_user_agent_product() {
    let ua = Some("kubectl/v1.33.0 (linux/amd64) kubernetes/abc");
    assert_eq!(manager_name(None, ua).ok().as_deref(), Some("kubectl"));
    assert_eq!(manager_name(Some("mine"), ua).ok().as_deref(), Some("mine"));
    assert!(manager_name(Some(&"x".repeat(129)), ua).is_err());
}

#[test]
fn status_writes_own_only_status_and_reset_clears_entries() {
    let defs = definitions();
    let schema = PatchSchema::new(&defs, "Deployment");
    let main = super::FieldManager::new(
        "creator".into(),
        "apps/v1".into(),
        "",
        Scope::AllButStatus,
        schema,
    );
    let mut created = deployment(2, json!({"app": "web"}));
    main.track_update(None, &mut created);
    let status = super::FieldManager::new(
        "ctrl".into(),
        "apps/v1".into(),
        "status",
        Scope::OnlyStatus,
        schema,
    );
    let mut reported = created.clone();
    reported["status"] = json!({"replicas": 2});
    reported["metadata"]["managedFields"] = json!([]);
    status.track_update(Some(&created), &mut reported);
    let managed = entries::decode(&reported).unwrap_or_default();
    assert_eq!(
        managed.len(),
        2,
        "stored entries survive an empty list: {managed:?}"
    );
    assert_eq!(
        owned(&managed, "ctrl"),
        json!({"f:status": {"f:replicas": {}}})
    );
    assert_eq!(managed[1].subresource, "status");

    let mut reset = reported.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    reset["spec"]["replicas"] = json!(3);
    main.track_update(Some(&reported), &mut reset);
    let managed = entries::decode(&reset).unwrap_or_default();
    assert_eq!(managed.len(), 1);
    assert_eq!(
        owned(&managed, "creator"),
        json!({"f:spec": {"f:replicas": {}}})
    );
}
