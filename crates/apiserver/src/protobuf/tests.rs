//! Objects encoded with the k8s-pb types (an independent encoder) must decode to their JSON.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::authorization::v1 as authz;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as core;
use k8s_pb::apiextensions_apiserver::pkg::apis::apiextensions::v1 as ext;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::{json, Value};

use super::*;

fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some(api_version.to_owned()),
            kind: Some(kind.to_owned()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

fn decoded(api_version: &str, kind: &str, object: &impl Message) -> Value {
    let body = envelope(api_version, kind, object.encode_to_vec());
    match decode_object(&body) {
        Ok(value) => value,
        Err(e) => panic!("decode failed: {e}"),
    }
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

/// Metadata as Go writes it: its non-pointer fields present with zero values.
fn go_metadata(name: &str, pairs: &[(&str, &str)]) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(""),
        self_link: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(meta::Time {
            seconds: Some(0),
            nanos: Some(0),
        }),
        labels: labels(pairs),
        ..Default::default()
    }
}

fn go_container(name: &str, image: &str) -> core::Container {
    core::Container {
        name: s(name),
        image: s(image),
        resources: Some(core::ResourceRequirements::default()),
        termination_message_path: s(""),
        image_pull_policy: s(""),
        stdin: Some(false),
        stdin_once: Some(false),
        tty: Some(false),
        ..Default::default()
    }
}

#[test]
fn deployment_decodes_to_the_json_kubectl_create_sends() {
    let deployment = apps::Deployment {
        metadata: Some(go_metadata("web", &[("app", "web")])),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(2),
            selector: Some(meta::LabelSelector {
                match_labels: labels(&[("app", "web")]),
                ..Default::default()
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(go_metadata("", &[("app", "web")])),
                spec: Some(core::PodSpec {
                    containers: vec![go_container("nginx", "nginx:1.25")],
                    restart_policy: s(""),
                    dns_policy: s(""),
                    host_network: Some(false),
                    ..Default::default()
                }),
            }),
            strategy: Some(apps::DeploymentStrategy::default()),
            min_ready_seconds: Some(0),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus::default()),
    };
    assert_eq!(
        decoded("apps/v1", "Deployment", &deployment),
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "creationTimestamp": null, "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25", "resources": {}}]}
                },
                "strategy": {}
            },
            "status": {}
        })
    );
}

#[test]
fn explicit_zero_replicas_and_backoff_limit_are_kept() {
    let job = batch::Job {
        metadata: Some(go_metadata("j", &[])),
        spec: Some(batch::JobSpec {
            backoff_limit: Some(0),
            parallelism: Some(0),
            template: Some(core::PodTemplateSpec {
                metadata: None,
                spec: Some(core::PodSpec {
                    containers: vec![go_container("j", "busybox")],
                    restart_policy: s("Never"),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }),
        status: None,
    };
    let value = decoded("batch/v1", "Job", &job);
    assert_eq!(value["spec"]["backoffLimit"], json!(0));
    assert_eq!(value["spec"]["parallelism"], json!(0));
    assert_eq!(
        value["spec"]["template"]["spec"]["restartPolicy"],
        json!("Never")
    );
}

#[test]
fn secret_bytes_become_base64_and_string_data_stays_text() {
    let secret = core::Secret {
        metadata: Some(go_metadata("s", &[])),
        data: [("p".to_owned(), b"q".to_vec())].into_iter().collect(),
        string_data: labels(&[("plain", "text")]),
        r#type: s("Opaque"),
        immutable: None,
    };
    let value = decoded("v1", "Secret", &secret);
    assert_eq!(value["data"], json!({"p": "cQ=="}));
    assert_eq!(value["stringData"], json!({"plain": "text"}));
    assert_eq!(value["type"], json!("Opaque"));
}

#[test]
fn config_map_keeps_empty_values_in_its_maps() {
    let cm = core::ConfigMap {
        metadata: Some(go_metadata("c", &[])),
        data: labels(&[("a", "b"), ("empty", "")]),
        binary_data: [("bin".to_owned(), vec![0u8, 1, 2])].into_iter().collect(),
        immutable: None,
    };
    let value = decoded("v1", "ConfigMap", &cm);
    assert_eq!(value["data"], json!({"a": "b", "empty": ""}));
    assert_eq!(value["binaryData"], json!({"bin": "AAEC"}));
}

#[test]
fn service_ports_decode_int_or_string_target_ports() {
    let port = |name: &str, target: IntOrString| core::ServicePort {
        name: s(name),
        protocol: s("TCP"),
        port: Some(80),
        target_port: Some(target),
        ..Default::default()
    };
    let service = core::Service {
        metadata: Some(go_metadata("web", &[("app", "web")])),
        spec: Some(core::ServiceSpec {
            ports: vec![
                port(
                    "80-8080",
                    IntOrString {
                        r#type: Some(0),
                        int_val: Some(8080),
                        str_val: s(""),
                    },
                ),
                port(
                    "named",
                    IntOrString {
                        r#type: Some(1),
                        int_val: Some(0),
                        str_val: s("http"),
                    },
                ),
            ],
            selector: labels(&[("app", "web")]),
            r#type: s("ClusterIP"),
            ..Default::default()
        }),
        status: None,
    };
    let value = decoded("v1", "Service", &service);
    assert_eq!(
        value["spec"]["ports"],
        json!([
            {"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080},
            {"name": "named", "protocol": "TCP", "port": 80, "targetPort": "http"}
        ])
    );
}

#[test]
fn inline_volume_sources_probe_handlers_and_quantities_take_their_json_shape() {
    let mut container = go_container("app", "busybox");
    container.liveness_probe = Some(core::Probe {
        handler: Some(core::ProbeHandler {
            http_get: Some(core::HttpGetAction {
                path: s("/healthz"),
                port: Some(IntOrString {
                    r#type: Some(0),
                    int_val: Some(8080),
                    str_val: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
        period_seconds: Some(5),
        ..Default::default()
    });
    container.resources = Some(core::ResourceRequirements {
        limits: [("memory".to_owned(), Quantity { string: s("64Mi") })]
            .into_iter()
            .collect(),
        ..Default::default()
    });
    let pod = core::Pod {
        metadata: Some(meta::ObjectMeta {
            name: s("p"),
            creation_timestamp: Some(meta::Time {
                seconds: Some(1_700_000_000),
                nanos: Some(0),
            }),
            ..Default::default()
        }),
        spec: Some(core::PodSpec {
            containers: vec![container],
            volumes: vec![core::Volume {
                name: s("scratch"),
                volume_source: Some(core::VolumeSource {
                    empty_dir: Some(core::EmptyDirVolumeSource::default()),
                    ..Default::default()
                }),
            }],
            ..Default::default()
        }),
        status: None,
    };
    let value = decoded("v1", "Pod", &pod);
    assert_eq!(
        value["metadata"]["creationTimestamp"],
        json!("2023-11-14T22:13:20Z")
    );
    assert_eq!(
        value["spec"]["volumes"],
        json!([{"name": "scratch", "emptyDir": {}}])
    );
    let c = &value["spec"]["containers"][0];
    assert_eq!(
        c["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5})
    );
    assert_eq!(c["resources"], json!({"limits": {"memory": "64Mi"}}));
}

#[test]
fn self_subject_access_review_decodes() {
    let review = authz::SelfSubjectAccessReview {
        metadata: Some(go_metadata("", &[])),
        spec: Some(authz::SelfSubjectAccessReviewSpec {
            resource_attributes: Some(authz::ResourceAttributes {
                namespace: s("default"),
                verb: s("create"),
                resource: s("pods"),
                ..Default::default()
            }),
            non_resource_attributes: None,
        }),
        status: Some(authz::SubjectAccessReviewStatus {
            allowed: Some(false),
            ..Default::default()
        }),
    };
    let value = decoded(
        "authorization.k8s.io/v1",
        "SelfSubjectAccessReview",
        &review,
    );
    assert_eq!(
        value["spec"],
        json!({"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}})
    );
    assert_eq!(value["status"], json!({"allowed": false}));
}

#[test]
fn crd_schemas_keep_their_dollar_and_extension_names() {
    let child = ext::JsonSchemaProps {
        r#type: s("object"),
        x_kubernetes_preserve_unknown_fields: Some(true),
        ..Default::default()
    };
    let crd = ext::CustomResourceDefinition {
        metadata: Some(go_metadata("widgets.example.com", &[])),
        spec: Some(ext::CustomResourceDefinitionSpec {
            group: s("example.com"),
            versions: vec![ext::CustomResourceDefinitionVersion {
                name: s("v1"),
                served: Some(true),
                storage: Some(true),
                schema: Some(ext::CustomResourceValidation {
                    open_apiv3_schema: Some(ext::JsonSchemaProps {
                        r#type: s("object"),
                        properties: [("spec".to_owned(), child)].into_iter().collect(),
                        additional_properties: Some(Box::new(ext::JsonSchemaPropsOrBool {
                            allows: Some(false),
                            schema: None,
                        })),
                        ..Default::default()
                    }),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }),
        status: None,
    };
    let value = decoded("apiextensions.k8s.io/v1", "CustomResourceDefinition", &crd);
    assert_eq!(
        value["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
        json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
            "additionalProperties": false
        })
    );
}

#[test]
fn a_kind_without_a_schema_is_unsupported_media_type() {
    let body = envelope("example.com/v1", "Widget", Vec::new());
    let err = decode(&Bytes::from(body));
    assert!(
        matches!(err, Err(ApiError::UnsupportedMediaType)),
        "{err:?}"
    );
}

#[test]
fn a_body_without_the_magic_is_bad_request() {
    let err = decode(&Bytes::from_static(b"{\"kind\":\"Pod\"}"));
    assert!(
        matches!(&err, Err(ApiError::BadRequest(m)) if m.contains("k8s\\0")),
        "{err:?}"
    );
}

#[test]
fn a_truncated_object_is_bad_request() {
    let cm = core::ConfigMap {
        metadata: Some(go_metadata("c", &[])),
        data: labels(&[("a", "b")]),
        ..Default::default()
    };
    let mut raw = cm.encode_to_vec();
    raw.truncate(raw.len() - 2);
    let err = decode(&Bytes::from(envelope("v1", "ConfigMap", raw)));
    assert!(
        matches!(&err, Err(ApiError::BadRequest(m)) if m.contains("malformed protobuf")),
        "{err:?}"
    );
}
