//! Scaling outside a rollout.
#![allow(clippy::unwrap_used)]

use super::super::fixtures::{deployment, set_image, set_replicas, Sim};
use super::super::util;

#[test]
fn scaling_a_settled_deployment_resizes_its_only_replica_set() {
    let mut sim = Sim::new(deployment(3, "25%", "25%", "v1"));
    sim.settle(20, |_| {});
    for n in [10, 2, 0, 4] {
        set_replicas(&mut sim.d, n);
        sim.settle(20, |_| {});
        assert_eq!(util::replicas(sim.rs_of("v1").unwrap()), n);
        assert_eq!(
            util::annotation(sim.rs_of("v1").unwrap(), util::DESIRED_REPLICAS),
            Some(n.to_string().as_str())
        );
        assert_eq!(sim.rses.len(), 1);
    }
}

#[test]
fn scaling_mid_rollout_spreads_the_change_in_proportion() {
    let mut sim = Sim::new(deployment(10, "3", "2", "v1"));
    sim.settle(20, |_| {});
    set_image(&mut sim.d, "v2");
    sim.sync();
    // Mid-rollout: old and new ReplicaSets both active; 13 pods wanted.
    let (old, new) = (
        util::replicas(sim.rs_of("v1").unwrap()),
        util::replicas(sim.rs_of("v2").unwrap()),
    );
    assert!(old > 0 && new > 0, "old {old} new {new}");
    set_replicas(&mut sim.d, 20);
    let plan = sim.sync();
    assert!(!plan.writes.is_empty());
    let (old2, new2) = (
        util::replicas(sim.rs_of("v1").unwrap()),
        util::replicas(sim.rs_of("v2").unwrap()),
    );
    assert_eq!(old2 + new2, 20 + 3, "replicas plus the surge");
    assert!(
        old2 > old && new2 > new,
        "both grow: {old}->{old2}, {new}->{new2}"
    );
    sim.settle(100, |_| {});
    assert_eq!(util::replicas(sim.rs_of("v2").unwrap()), 20);
}

#[test]
fn paused_deployment_scales_but_does_not_roll() {
    let mut sim = Sim::new(deployment(2, "1", "0", "v1"));
    sim.settle(20, |_| {});
    sim.d.spec.as_mut().unwrap().paused = Some(true);
    set_image(&mut sim.d, "v2");
    set_replicas(&mut sim.d, 4);
    sim.settle(20, |_| {});
    assert!(sim.rs_of("v2").is_none());
    assert_eq!(util::replicas(sim.rs_of("v1").unwrap()), 4);
    let progressing = sim
        .d
        .status
        .as_ref()
        .unwrap()
        .conditions
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.type_ == "Progressing")
        .cloned()
        .unwrap();
    assert_eq!(
        (progressing.status.as_str(), progressing.reason.as_deref()),
        ("Unknown", Some("DeploymentPaused"))
    );
    sim.d.spec.as_mut().unwrap().paused = Some(false);
    sim.settle(50, |_| {});
    assert_eq!(util::replicas(sim.rs_of("v2").unwrap()), 4);
}
