//! Rollouts driven step by step through a simulated cluster, with the rolling-update
//! invariants checked after every write and every pod change.
#![allow(clippy::unwrap_used)]

use super::super::fixtures::{deployment, recreate, set_image, Sim};
use super::super::util::{self, max_surge, max_unavailable, revision};

/// Rolls `replicas` pods from v1 to v2 with the given budgets, pods becoming ready
/// `ready_per_step` at a time, asserting surge and availability bounds at every moment.
fn roll(replicas: i32, surge: &str, unavailable: &str, ready_per_step: i32) {
    let case = format!("replicas={replicas} maxSurge={surge} maxUnavailable={unavailable} ready/step={ready_per_step}");
    let mut sim = Sim::new(deployment(replicas, surge, unavailable, "v1"));
    sim.settle(50, |_| {});
    assert_eq!(
        sim.total_available(),
        replicas,
        "{case}: v1 fully available"
    );
    sim.ready_per_step = ready_per_step;
    set_image(&mut sim.d, "v2");
    let ceiling = replicas + max_surge(&sim.d);
    let floor = replicas - max_unavailable(&sim.d);
    sim.settle(200, |s| {
        assert!(
            s.total_replicas() <= ceiling,
            "{case}: {} pods wanted, ceiling {ceiling}",
            s.total_replicas()
        );
        assert!(
            s.total_available() >= floor,
            "{case}: {} available, floor {floor}",
            s.total_available()
        );
    });
    let new = sim.rs_of("v2").unwrap();
    assert_eq!(util::replicas(new), replicas, "{case}");
    assert_eq!(util::replicas(sim.rs_of("v1").unwrap()), 0, "{case}");
    assert_eq!(
        (revision(sim.rs_of("v1").unwrap()), revision(new)),
        (1, 2),
        "{case}"
    );
    let status = sim.d.status.clone().unwrap();
    assert_eq!(
        (
            status.replicas,
            status.updated_replicas,
            status.available_replicas
        ),
        (Some(replicas), Some(replicas), Some(replicas)),
        "{case}"
    );
}

#[test]
fn rolling_update_never_exceeds_surge_nor_drops_below_minimum_availability() {
    let table = [
        (3, "25%", "25%"),
        (10, "3", "0"),
        (10, "0", "2"),
        (5, "50%", "50%"),
        (1, "1", "0"),
        (4, "0", "1"),
        (10, "30%", "10%"),
        (7, "0", "0"),
        (2, "100%", "0"),
    ];
    for (replicas, surge, unavailable) in table {
        for ready_per_step in [0, 1, 2] {
            roll(replicas, surge, unavailable, ready_per_step);
        }
    }
}

#[test]
fn budgets_resolve_percentages_like_upstream() {
    // Surge rounds up, unavailability down; both zero means one unavailable.
    let d = deployment(10, "25%", "25%", "v1");
    assert_eq!((max_surge(&d), max_unavailable(&d)), (3, 2));
    let d = deployment(3, "0", "0", "v1");
    assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 1));
    let d = deployment(2, "0", "5", "v1");
    assert_eq!(max_unavailable(&d), 2, "capped at replicas");
    let d = recreate(deployment(3, "1", "1", "v1"));
    assert_eq!((max_surge(&d), max_unavailable(&d)), (0, 0));
}

#[test]
fn recreate_removes_every_old_pod_before_creating_new_ones() {
    let mut sim = Sim::new(recreate(deployment(3, "25%", "25%", "v1")));
    sim.settle(20, |_| {});
    set_image(&mut sim.d, "v2");
    sim.settle(20, |s| {
        let old = s.rs_of("v1").map_or(0, |rs| util::observed(rs).0);
        let new = s.rs_of("v2").map_or(0, util::replicas);
        assert!(
            old == 0 || new == 0,
            "old pods {old} while new wanted {new}"
        );
    });
    assert_eq!(util::replicas(sim.rs_of("v2").unwrap()), 3);
}

#[test]
fn new_replica_set_is_named_after_the_deployment_and_template_hash() {
    let mut sim = Sim::new(deployment(3, "25%", "25%", "v1"));
    let plan = sim.sync();
    let rs = sim.rs_of("v1").unwrap();
    let hash = rs.metadata.labels.as_ref().unwrap()[super::super::hash::POD_TEMPLATE_HASH].clone();
    assert_eq!(
        rs.metadata.name.as_deref(),
        Some(format!("web-{hash}").as_str())
    );
    let selector = rs
        .spec
        .as_ref()
        .unwrap()
        .selector
        .match_labels
        .clone()
        .unwrap();
    assert_eq!(selector.get("pod-template-hash"), Some(&hash));
    let owner = &rs.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("Deployment", Some(true))
    );
    assert_eq!(plan.revision.as_deref(), Some("1"));
    let note = &plan.writes[0].1[0];
    assert_eq!(
        note.message,
        format!("Scaled up replica set web-{hash} from 0 to 3")
    );
}

#[test]
fn going_back_to_an_old_template_reuses_its_replica_set_with_a_new_revision() {
    let mut sim = Sim::new(deployment(2, "1", "0", "v1"));
    sim.settle(50, |_| {});
    set_image(&mut sim.d, "v2");
    sim.settle(50, |_| {});
    set_image(&mut sim.d, "v1");
    sim.settle(50, |_| {});
    assert_eq!(sim.rses.len(), 2, "no third ReplicaSet");
    let v1 = sim.rs_of("v1").unwrap();
    assert_eq!(revision(v1), 3);
    assert_eq!(util::annotation(v1, util::REVISION_HISTORY), Some("1"));
    assert_eq!(util::replicas(v1), 2);
    let rev = sim.d.metadata.annotations.as_ref().unwrap()[util::REVISION].clone();
    assert_eq!(rev, "3");
}

#[test]
fn old_replica_sets_beyond_the_history_limit_are_deleted_oldest_revision_first() {
    let mut sim = Sim::new(deployment(1, "1", "0", "v1"));
    sim.d.spec.as_mut().unwrap().revision_history_limit = Some(2);
    for image in ["v1", "v2", "v3", "v4", "v5"] {
        set_image(&mut sim.d, image);
        sim.settle(50, |_| {});
    }
    let mut revisions: Vec<i64> = sim.rses.iter().map(revision).collect();
    revisions.sort_unstable();
    assert_eq!(revisions, vec![3, 4, 5]);
}
