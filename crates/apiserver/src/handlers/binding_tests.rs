use http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::test_server::{send, server, Server};

const PODS: &str = "/api/v1/namespaces/default/pods";

async fn create_pod(server: &Server, name: &str) -> Value {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
    send(server, Method::POST, "/api/v1/namespaces", ns).await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]}});
    let (status, body) = send(server, Method::POST, PODS, pod).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

fn binding(pod: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": pod},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node}})
}

async fn get_pod(server: &Server, name: &str) -> Value {
    send(server, Method::GET, &format!("{PODS}/{name}"), Value::Null)
        .await
        .1
}

fn scheduled_condition(pod: &Value) -> Value {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["type"] == "PodScheduled"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn binding_subresource_sets_node_name_and_scheduled_condition() {
    let server = server().await;
    create_pod(&server, "web").await;
    let mut b = binding("web", "node-1");
    b["metadata"]["annotations"] = json!({"scheduler/note": "x"});
    let uri = format!("{PODS}/web/binding");
    let (status, body) = send(&server, Method::POST, &uri, b).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["kind"], json!("Status"));
    assert_eq!(body["status"], json!("Success"));
    let pod = get_pod(&server, "web").await;
    assert_eq!(pod["spec"]["nodeName"], json!("node-1"));
    assert_eq!(pod["metadata"]["annotations"]["scheduler/note"], json!("x"));
    assert_eq!(scheduled_condition(&pod)["status"], json!("True"));
}

#[tokio::test]
async fn binding_an_already_bound_pod_is_a_conflict() {
    let server = server().await;
    create_pod(&server, "web").await;
    let uri = format!("{PODS}/web/binding");
    let (status, _) = send(&server, Method::POST, &uri, binding("web", "a")).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = send(&server, Method::POST, &uri, binding("web", "b")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        json!("Operation cannot be fulfilled on pods/binding \"web\": pod web is already assigned to node \"a\"")
    );
    assert_eq!(
        get_pod(&server, "web").await["spec"]["nodeName"],
        json!("a")
    );
}

#[tokio::test]
async fn bindings_collection_binds_the_pod_its_metadata_names() {
    let server = server().await;
    create_pod(&server, "web").await;
    let uri = "/api/v1/namespaces/default/bindings";
    let (status, body) = send(&server, Method::POST, uri, binding("web", "n")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        get_pod(&server, "web").await["spec"]["nodeName"],
        json!("n")
    );
    let (status, _) = send(&server, Method::GET, uri, Value::Null).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn binding_without_target_is_invalid_and_name_mismatch_is_bad_request() {
    let server = server().await;
    create_pod(&server, "web").await;
    let uri = format!("{PODS}/web/binding");
    let (status, body) = send(&server, Method::POST, &uri, binding("web", "")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = send(&server, Method::POST, &uri, binding("other", "n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        &server,
        Method::POST,
        &format!("{PODS}/nope/binding"),
        binding("nope", "n"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn binding_with_a_stale_uid_is_a_conflict() {
    let server = server().await;
    create_pod(&server, "web").await;
    let mut b = binding("web", "n");
    b["metadata"]["uid"] = json!("not-the-uid");
    let (status, _) = send(&server, Method::POST, &format!("{PODS}/web/binding"), b).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn discovery_lists_pods_binding_and_bindings_as_create_only() {
    let server = server().await;
    let (_, list) = send(&server, Method::GET, "/api/v1", Value::Null).await;
    let resources = list["resources"].as_array().cloned().unwrap_or_default();
    let find = |name: &str| resources.iter().find(|r| r["name"] == name).cloned();
    let sub = find("pods/binding").unwrap_or(Value::Null);
    assert_eq!(sub["kind"], json!("Binding"));
    assert_eq!(sub["verbs"], json!(["create"]));
    let collection = find("bindings").unwrap_or(Value::Null);
    assert_eq!(collection["verbs"], json!(["create"]));
}
