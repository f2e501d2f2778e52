//! kubectl with its default strict validation against custom resources (whose schemas the
//! server publishes in OpenAPI v3), and the review endpoints behind `kubectl auth`.

use crate::support::Cluster;

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What to run and when.
            properties:
              cronSpec: {type: string, description: The schedule in cron format.}
              image: {type: string}
"#;

fn crontab(name: &str, field: &str) -> String {
    format!(
        "apiVersion: stable.example.com/v1\nkind: CronTab\nmetadata:\n  name: {name}\nspec:\n  cronSpec: '*/5 * * * *'\n  {field}: my-image\n"
    )
}

#[test]
fn kubectl_applies_a_crd_and_custom_resources_under_strict_validation() {
    let cluster = Cluster::start();
    // No --validate=false: kubectl finds fieldValidation in the published OpenAPI v3 documents.
    cluster.apply(CRD, &[]);
    cluster.ok(&[
        "wait",
        "--for=condition=Established",
        "--timeout=20s",
        "crd/crontabs.stable.example.com",
    ]);
    let out = cluster.apply(&crontab("first", "image"), &[]);
    assert!(
        out.contains("crontab.stable.example.com/first created"),
        "{out}"
    );
    let out = cluster.apply(&crontab("first", "image"), &[]);
    assert!(out.contains("unchanged"), "{out}");

    let explained = cluster.ok(&["explain", "crontab.spec"]);
    assert!(explained.contains("What to run and when."), "{explained}");
    assert!(explained.contains("cronSpec"), "{explained}");

    let err = cluster.fails(&["apply", "-f", "-"], Some(&crontab("second", "imagez")));
    assert!(err.contains(r#"unknown field "spec.imagez""#), "{err}");
    let err = cluster.fails(&["create", "-f", "-"], Some(&crontab("second", "imagez")));
    assert!(err.contains(r#"unknown field "spec.imagez""#), "{err}");
    let names = cluster.ok(&["get", "ct", "-o", "name"]);
    assert_eq!(names.trim(), "crontab.stable.example.com/first");
}

#[test]
fn kubectl_auth_whoami_and_can_i_answer_for_the_admin() {
    let cluster = Cluster::start();
    let whoami = cluster.ok(&["auth", "whoami"]);
    let rows: Vec<Vec<&str>> = whoami
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["ATTRIBUTE", "VALUE"], "{whoami}");
    assert_eq!(rows[1], ["Username", "system:admin"], "{whoami}");
    assert_eq!(
        rows[2],
        ["Groups", "[system:masters", "system:authenticated]"],
        "{whoami}"
    );
    assert_eq!(
        cluster.ok(&["auth", "can-i", "create", "pods"]).trim(),
        "yes"
    );
    assert_eq!(
        cluster
            .ok(&[
                "auth",
                "can-i",
                "delete",
                "deployments",
                "-n",
                "kube-system"
            ])
            .trim(),
        "yes"
    );
}
