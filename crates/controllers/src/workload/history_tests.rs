//! Revision names, data, numbering and pruning.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::core::v1::{Container, PodSpec};

use super::*;
use crate::workload::pod::controller_ref;

fn template(image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: None,
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "c".to_owned(),
                image: Some(image.to_owned()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
    }
}

fn rev(name: &str, image: &str, number: i64) -> ControllerRevision {
    new_revision(
        controller_ref("apps/v1", "StatefulSet", "web", "u1"),
        "ns",
        name.to_owned(),
        BTreeMap::new(),
        None,
        template_patch(&template(image)),
        number,
    )
}

#[test]
fn revision_data_is_a_replace_patch_of_the_template_and_reads_back() {
    let data = template_patch(&template("nginx:1"));
    assert_eq!(data["spec"]["template"]["$patch"], "replace");
    assert_eq!(
        data["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1"
    );
    let back = template_of(&rev("web-a", "nginx:1", 1)).unwrap();
    assert_eq!(back, template("nginx:1"));
}

#[test]
fn revision_names_truncate_long_parents() {
    assert_eq!(revision_name("web", "abc"), "web-abc");
    let long = "x".repeat(300);
    assert_eq!(revision_name(&long, "h").len(), 223 + 2);
}

#[test]
fn the_newest_equal_revision_is_reused() {
    let revisions = vec![rev("web-a", "nginx:1", 1), rev("web-b", "nginx:2", 2)];
    let wanted = rev("web-new", "nginx:2", 3);
    assert_eq!(
        resolve(&revisions, wanted),
        Resolution::Existing(revisions[1].clone())
    );
}

#[test]
fn an_older_equal_revision_is_renumbered_as_a_rollback() {
    let revisions = vec![rev("web-a", "nginx:1", 1), rev("web-b", "nginx:2", 2)];
    let resolved = resolve(&revisions, rev("web-new", "nginx:1", 3));
    let Resolution::Renumber(r) = resolved else {
        panic!("{resolved:?}")
    };
    assert_eq!(r.metadata.name.as_deref(), Some("web-a"));
    assert_eq!(r.revision, 3);
}

#[test]
fn new_data_makes_a_new_revision_with_the_next_number() {
    let mut revisions = vec![rev("web-b", "nginx:2", 2), rev("web-a", "nginx:1", 1)];
    sort(&mut revisions);
    assert_eq!(next_number(&revisions), 3);
    assert_eq!(next_number(&[]), 1);
    let wanted = rev("web-c", "nginx:3", 3);
    assert_eq!(
        resolve(&revisions, wanted.clone()),
        Resolution::Create(wanted)
    );
}

#[test]
fn pruning_keeps_live_revisions_and_the_newest_up_to_the_limit() {
    let revisions: Vec<ControllerRevision> = (1..=5)
        .map(|n| rev(&format!("r{n}"), &format!("i{n}"), n))
        .collect();
    let live = HashSet::from(["r1", "r5"]);
    let names = |v: Vec<&ControllerRevision>| -> Vec<String> {
        v.iter().map(|r| r.metadata.name.clone().unwrap()).collect()
    };
    assert_eq!(names(to_prune(&revisions, &live, 1)), ["r2", "r3"]);
    assert!(to_prune(&revisions, &live, 10).is_empty());
    assert!(to_prune(&revisions, &live, -1).is_empty());
}
