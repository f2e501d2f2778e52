//! The create fast path ([`ownership::create`]) against the general update bookkeeping from an
//! empty object, on built-in types with their real OpenAPI schemas.

use serde_json::{json, Map, Value};

use super::entries;
use super::ownership::{self, Scope, Writer};
use crate::registry::Registry;

/// `metadata.managedFields` of `obj` (a `group`/`version` `plural`) created by the general
/// path and by the fast path, each as JSON text.
fn both_paths(group: &str, version: &str, plural: &str, obj: &Value) -> (String, String) {
    let registry = Registry::with_builtins();
    let model = registry.openapi();
    let index = registry.index();
    let Some(rt) = index.get(group, version, plural) else {
        panic!("{plural} are served");
    };
    let schema = model.patch_schema(rt);
    let scope = if rt.subresources.status {
        Scope::AllButStatus
    } else {
        Scope::Whole
    };
    let api_version = rt.api_version();
    let writer = Writer {
        manager: "kubectl-create",
        api_version: &api_version,
        subresource: "",
        scope,
        now: "2024-01-01T00:00:00Z",
    };
    let empty = Value::Object(Map::new());
    let general = ownership::update(Vec::new(), &empty, obj, &schema, &writer);
    let fast = ownership::create(obj, &schema, &writer);
    assert_eq!(general, fast);
    let text = |list| {
        let mut out = obj.clone();
        entries::encode(&mut out, list);
        out.pointer("/metadata/managedFields")
            .map(Value::to_string)
            .unwrap_or_default()
    };
    (text(general), text(fast))
}

fn server_metadata() -> Value {
    json!({"name": "x", "namespace": "default", "uid": "u", "resourceVersion": "5",
        "creationTimestamp": "2024-01-01T00:00:00Z", "generation": 1,
        "labels": {"app": "web", "tier": "front"}, "annotations": {"a": "b"},
        "finalizers": ["f1", "f2"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "o"}]})
}

#[test]
fn create_fields_of_a_config_map_match_the_general_path() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": server_metadata(),
        "data": {"payload": "x", "empty": ""}, "binaryData": {"b": "AA=="}, "immutable": false});
    let (general, fast) = both_paths("", "v1", "configmaps", &obj);
    assert_eq!(general, fast);
    assert!(fast.contains("\"f:payload\""), "{fast}");
}

#[test]
fn create_fields_of_a_deployment_match_the_general_path() {
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": server_metadata(),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                "containers": [
                    {"name": "nginx", "image": "nginx:1", "args": ["-g", "daemon off;"],
                     "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
                     "env": [{"name": "A", "value": "1"}, {"name": "A", "value": "dup"}],
                     "resources": {}},
                    {"name": "nginx", "image": "duplicate"},
                    {"name": "side", "image": "busybox"}],
                "volumes": [{"name": "v", "emptyDir": {}}],
                "tolerations": [{"key": "k", "operator": "Exists"}]}}},
        "status": {"replicas": 3}});
    let (general, fast) = both_paths("apps", "v1", "deployments", &obj);
    assert_eq!(general, fast);
    assert!(!fast.contains("f:status"), "{fast}");
}

#[test]
fn create_fields_of_a_pod_and_a_service_match_the_general_path() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i", "command": ["sh"]}],
            "nodeSelector": {}, "hostNetwork": null}});
    let (general, fast) = both_paths("", "v1", "pods", &pod);
    assert_eq!(general, fast);
    let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 53, "protocol": "UDP"}],
            "selector": {"app": "web"}, "type": "ClusterIP"}});
    let (general, fast) = both_paths("", "v1", "services", &service);
    assert_eq!(general, fast);
}

#[test]
fn create_of_only_server_metadata_owns_nothing_on_either_path() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "default", "uid": "u"}});
    let (general, fast) = both_paths("", "v1", "configmaps", &obj);
    assert_eq!((general.as_str(), fast.as_str()), ("", ""));
}
