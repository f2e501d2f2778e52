use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::*;

#[test]
fn behaviour_comes_from_the_annotations() {
    let pod = Pod {
        metadata: ObjectMeta {
            annotations: Some(BTreeMap::from([
                (RUN_SECONDS_ANNOTATION.to_owned(), "5".to_owned()),
                (EXIT_CODE_ANNOTATION.to_owned(), "3".to_owned()),
            ])),
            ..ObjectMeta::default()
        },
        ..Pod::default()
    };
    assert_eq!(
        behaviour(&pod),
        Behaviour {
            run_for: Some(SignedDuration::from_secs(5)),
            exit_code: 3
        }
    );
    assert_eq!(behaviour(&Pod::default()), Behaviour::default());
}

#[test]
fn crash_backoff_is_immediate_once_then_doubles_from_ten_seconds_to_five_minutes() {
    let secs: Vec<i64> = [0, 1, 2, 3, 6, 20]
        .into_iter()
        .map(|n| crash_backoff(n).as_secs())
        .collect();
    assert_eq!(secs, [0, 10, 20, 40, 300, 300]);
}

#[test]
fn image_names_are_normalized_as_a_runtime_reports_them() {
    assert_eq!(normalized_image("nginx"), "docker.io/library/nginx:latest");
    assert_eq!(
        normalized_image("nginx:1.27"),
        "docker.io/library/nginx:1.27"
    );
    assert_eq!(
        normalized_image("bitnami/redis"),
        "docker.io/bitnami/redis:latest"
    );
    assert_eq!(
        normalized_image("registry.k8s.io/pause:3.10"),
        "registry.k8s.io/pause:3.10"
    );
    assert_eq!(
        normalized_image("localhost:5000/app"),
        "localhost:5000/app:latest"
    );
}

#[test]
fn image_ids_name_the_repository_with_a_digest() {
    assert!(image_id("registry.k8s.io/pause:3.10").starts_with("registry.k8s.io/pause@sha256:"));
    assert!(image_id("localhost:5000/app").starts_with("localhost:5000/app@sha256:"));
}
