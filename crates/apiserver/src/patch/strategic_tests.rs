use serde_json::{json, Map, Value};

use super::*;

/// A pod-like schema: containers merge by name, ports by containerPort, finalizers are a merged
/// set of strings, args are replaced, strategy retains keys.
fn definitions() -> Map<String, Value> {
    let defs = json!({
        "Pod": {"properties": {
            "metadata": {"allOf": [{"$ref": "#/components/schemas/Meta"}]},
            "spec": {"allOf": [{"$ref": "#/components/schemas/Spec"}]}}},
        "Meta": {"properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"},
                "x-kubernetes-patch-strategy": "merge"}}},
        "Spec": {"properties": {
            "containers": {"type": "array", "items": {"$ref": "#/components/schemas/Container"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "name"},
            "strategy": {"allOf": [{"$ref": "#/components/schemas/Strategy"}],
                "x-kubernetes-patch-strategy": "retainKeys"},
            "selector": {"type": "object", "x-kubernetes-patch-strategy": "replace"}}},
        "Strategy": {"properties": {"type": {"type": "string"}, "rollingUpdate": {"type": "object"}}},
        "Container": {"properties": {
            "name": {"type": "string"},
            "image": {"type": "string"},
            "args": {"type": "array", "items": {"type": "string"}},
            "ports": {"type": "array", "items": {"$ref": "#/components/schemas/Port"},
                "x-kubernetes-patch-strategy": "merge", "x-kubernetes-patch-merge-key": "containerPort"}}},
        "Port": {"properties": {"containerPort": {"type": "integer"}, "name": {"type": "string"}}}
    });
    match defs {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn patched(original: Value, patch: Value) -> std::result::Result<Value, StrategicPatchError> {
    let defs = definitions();
    apply(&original, &patch, &PatchSchema::new(&defs, "Pod"))
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"containers": containers}})
}

#[test]
fn containers_merge_by_name_and_new_ones_are_appended() {
    let original = pod(json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]));
    let patch = json!({"spec": {"containers": [{"name": "b", "image": "b:2"}, {"name": "c", "image": "c:1"}]}});
    assert_eq!(
        patched(original, patch),
        Ok(pod(json!([
            {"name": "a", "image": "a:1"},
            {"name": "b", "image": "b:2"},
            {"name": "c", "image": "c:1"}
        ])))
    );
}

#[test]
fn nested_ports_merge_by_container_port() {
    let original = pod(json!([{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}]}});
    assert_eq!(
        patched(original, patch),
        Ok(pod(
            json!([{"name": "a", "ports": [{"containerPort": 80, "name": "web"}, {"containerPort": 443}]}])
        ))
    );
}

#[test]
fn lists_without_merge_strategy_are_replaced() {
    let original = pod(json!([{"name": "a", "args": ["x", "y"]}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "args": ["z"]}]}});
    assert_eq!(
        patched(original, patch),
        Ok(pod(json!([{"name": "a", "args": ["z"]}])))
    );
}

#[test]
fn merged_scalar_lists_are_unioned() {
    let original = json!({"metadata": {"finalizers": ["a", "b"]}});
    let patch = json!({"metadata": {"finalizers": ["b", "c"]}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"metadata": {"finalizers": ["a", "b", "c"]}}))
    );
}

#[test]
fn null_deletes_map_keys() {
    let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
    let patch = json!({"metadata": {"labels": {"a": null, "c": "3"}}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"metadata": {"labels": {"b": "2", "c": "3"}}}))
    );
}

#[test]
fn patch_delete_in_list_element_removes_the_matching_element() {
    let original = pod(json!([{"name": "a"}, {"name": "b"}]));
    let patch = json!({"spec": {"containers": [{"name": "a", "$patch": "delete"}]}});
    assert_eq!(patched(original, patch), Ok(pod(json!([{"name": "b"}]))));
}

#[test]
fn patch_replace_in_list_replaces_the_whole_list() {
    let original = pod(json!([{"name": "a"}, {"name": "b"}]));
    let patch = json!({"spec": {"containers": [{"name": "c"}, {"$patch": "replace"}]}});
    assert_eq!(patched(original, patch), Ok(pod(json!([{"name": "c"}]))));
}

#[test]
fn patch_replace_in_map_replaces_the_map() {
    let original = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
    let patch = json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"metadata": {"labels": {"c": "3"}}}))
    );
}

#[test]
fn patch_delete_in_map_empties_the_map() {
    let original = json!({"metadata": {"labels": {"a": "1"}}});
    let patch = json!({"metadata": {"labels": {"$patch": "delete"}}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"metadata": {"labels": {}}}))
    );
}

#[test]
fn patch_merge_directive_merges_as_usual() {
    let original = json!({"metadata": {"labels": {"a": "1"}}});
    let patch = json!({"metadata": {"labels": {"$patch": "merge", "b": "2"}}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"metadata": {"labels": {"a": "1", "b": "2"}}}))
    );
}

#[test]
fn unknown_patch_directive_is_rejected() {
    let patch = json!({"metadata": {"labels": {"$patch": "explode"}}});
    assert!(matches!(
        patched(json!({}), patch),
        Err(StrategicPatchError::UnknownDirective(_))
    ));
}

#[test]
fn set_element_order_reorders_the_merged_list() {
    let original = pod(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
    let patch = json!({"spec": {
        "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
        "containers": [{"name": "a", "image": "a:2"}]}});
    assert_eq!(
        patched(original, patch),
        Ok(pod(
            json!([{"name": "c"}, {"name": "a", "image": "a:2"}, {"name": "b"}])
        ))
    );
}

#[test]
fn set_element_order_keeps_server_only_elements_in_their_place() {
    let original = pod(json!([{"name": "a"}, {"name": "server"}, {"name": "b"}]));
    let patch = json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}]}});
    assert_eq!(patched(original.clone(), patch), Ok(original));
}

#[test]
fn retain_keys_drops_keys_the_directive_does_not_list() {
    let original =
        json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"spec": {"strategy": {"type": "Recreate"}}}))
    );
}

#[test]
fn retain_keys_rejects_a_patch_setting_unlisted_keys() {
    let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}});
    assert_eq!(
        patched(json!({}), patch),
        Err(StrategicPatchError::NotRetained("rollingUpdate".to_owned()))
    );
}

#[test]
fn delete_from_primitive_list_removes_the_values() {
    let original = json!({"metadata": {"finalizers": ["a", "b", "c"]}});
    let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"metadata": {"finalizers": ["a", "c"]}}))
    );
}

#[test]
fn replace_strategy_on_a_map_field_replaces_it() {
    let original = json!({"spec": {"selector": {"a": "1"}}});
    let patch = json!({"spec": {"selector": {"b": "2"}}});
    assert_eq!(
        patched(original, patch),
        Ok(json!({"spec": {"selector": {"b": "2"}}}))
    );
}

#[test]
fn element_without_merge_key_is_a_bad_request() {
    let original = pod(json!([{"name": "a"}]));
    let patch = json!({"spec": {"containers": [{"image": "x"}]}});
    let err = patched(original, patch).err();
    assert!(matches!(
        err,
        Some(StrategicPatchError::MissingMergeKey { .. })
    ));
    let api: Option<ApiError> = err.map(Into::into);
    assert!(matches!(api, Some(ApiError::BadRequest(_))));
}

#[test]
fn directives_in_new_fields_do_not_leak_into_the_object() {
    let patch = json!({"spec": {"containers": [{"name": "a", "$setElementOrder/ports": [{"containerPort": 80}], "ports": [{"containerPort": 80}]}]}});
    assert_eq!(
        patched(json!({"spec": {}}), patch),
        Ok(json!({"spec": {"containers": [{"name": "a", "ports": [{"containerPort": 80}]}]}}))
    );
}

#[test]
fn without_a_schema_lists_are_replaced_like_a_merge_patch() {
    let original = json!({"spec": {"items": [1, 2], "keep": true, "drop": 1}});
    let patch = json!({"spec": {"items": [3], "drop": null}});
    assert_eq!(
        apply(&original, &patch, &PatchSchema::unknown()),
        Ok(json!({"spec": {"items": [3], "keep": true}}))
    );
}

#[test]
fn a_patch_that_is_not_an_object_is_rejected() {
    assert_eq!(
        apply(&json!({}), &json!([1]), &PatchSchema::unknown()),
        Err(StrategicPatchError::NotAnObject)
    );
}

#[test]
fn strategic_patch_of_a_deployment_merges_containers_by_name() {
    let registry = crate::registry::Registry::with_builtins();
    let model = registry.openapi();
    let index = registry.index();
    let Some(rt) = index.get("apps", "v1", "deployments") else {
        panic!("deployments are served");
    };
    let original = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "a:1", "ports": [{"containerPort": 80}]},
        {"name": "b", "image": "b:1"}]}}}});
    let patch = json!({"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}],
        "containers": [{"name": "a", "image": "a:2"}]}}}});
    let patched = apply(&original, &patch, &model.patch_schema(rt));
    assert_eq!(
        patched,
        Ok(json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:2", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "b:1"}]}}}}))
    );
}
