//! StatefulSet decisions, driven step by step against a tiny simulated cluster.
#![allow(clippy::unwrap_used)]

use k8s_openapi::api::apps::v1::{RollingUpdateStatefulSetStrategy, StatefulSetUpdateStrategy};
use k8s_openapi::api::core::v1::{PodCondition, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::SignedDuration;

use super::*;
use crate::statefulset::identity::tests::set;
use crate::workload::history::{new_revision, template_patch};
use crate::workload::pod::controller_ref;

fn now() -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_hours(1000)
}

fn revision(s: &StatefulSet, name: &str, image: &str) -> ControllerRevision {
    let mut template = s.spec.as_ref().unwrap().template.clone();
    template.spec.as_mut().unwrap().containers[0].image = Some(image.to_owned());
    new_revision(
        controller_ref("apps/v1", "StatefulSet", "web", "s1"),
        "shop",
        name.to_owned(),
        BTreeMap::new(),
        None,
        template_patch(&template),
        1,
    )
}

/// A simulated namespace: pods and claims as the API server would hold them.
struct World {
    set: StatefulSet,
    current: ControllerRevision,
    update: ControllerRevision,
    pods: Vec<Pod>,
    claims: BTreeMap<String, PersistentVolumeClaim>,
}

impl World {
    fn new(s: StatefulSet) -> World {
        let rev = revision(&s, "web-r1", "nginx:1");
        World {
            set: s,
            current: rev.clone(),
            update: rev,
            pods: Vec::new(),
            claims: BTreeMap::new(),
        }
    }

    fn plan(&self) -> Plan {
        sync(&Input {
            set: &self.set,
            current: &self.current,
            update: &self.update,
            collision_count: 0,
            pods: &self.pods,
            claims: &self.claims,
            now: now(),
        })
    }

    /// Carries out one sync; returns the names created and deleted.
    fn step(&mut self) -> (Vec<String>, Vec<String>) {
        let plan = self.plan();
        self.set.status = Some(plan.status.clone());
        let (mut created, mut deleted) = (Vec::new(), Vec::new());
        for step in plan.steps {
            match step {
                Step::CreateClaims(claims) => {
                    for c in claims {
                        self.claims.insert(c.metadata.name.clone().unwrap(), c);
                    }
                }
                Step::CreatePods(pods) => {
                    for mut p in pods {
                        let name = p.metadata.name.clone().unwrap();
                        p.metadata.uid = Some(format!("{name}-uid-{}", self.pods.len()));
                        p.status = Some(PodStatus {
                            phase: Some("Pending".to_owned()),
                            ..PodStatus::default()
                        });
                        created.push(name);
                        self.pods.push(p);
                    }
                }
                Step::DeletePods(pods) => {
                    for p in pods {
                        deleted.push(p.metadata.name.clone().unwrap());
                        self.pods.retain(|q| q.metadata.name != p.metadata.name);
                    }
                }
                Step::Relabel(_) | Step::SetClaimOwners(..) => {}
            }
        }
        (created, deleted)
    }

    fn make_ready(&mut self) {
        for p in &mut self.pods {
            let status = p.status.as_mut().unwrap();
            status.phase = Some("Running".to_owned());
            status.conditions = Some(vec![PodCondition {
                type_: "Ready".to_owned(),
                status: "True".to_owned(),
                last_transition_time: Some(Time(now() - SignedDuration::from_secs(60))),
                ..PodCondition::default()
            }]);
        }
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .pods
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        names.sort();
        names
    }

    fn revision_of(&self, name: &str) -> String {
        let pod = self
            .pods
            .iter()
            .find(|p| p.metadata.name.as_deref() == Some(name))
            .unwrap();
        pod_revision(pod).to_owned()
    }

    fn roll_to(&mut self, image: &str) {
        self.update = revision(&self.set, "web-r2", image);
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn ordered_ready_creates_each_member_only_after_the_previous_is_ready() {
    let mut w = World::new(set(3));
    for n in 0..3 {
        let (created, _) = w.step();
        assert_eq!(created, [format!("web-{n}")]);
        assert_eq!(w.step(), (vec![], vec![]), "web-{n} is not ready: wait");
        w.make_ready();
    }
    assert_eq!(w.step(), (vec![], vec![]));
    let status = w.plan().status;
    assert_eq!((status.replicas, status.ready_replicas), (3, Some(3)));
    assert_eq!(
        w.claims.keys().cloned().collect::<Vec<_>>(),
        strs(&["data-web-0", "data-web-1", "data-web-2"])
    );
}

#[test]
fn claims_are_created_before_the_pod_that_mounts_them() {
    let w = World::new(set(1));
    let plan = w.plan();
    assert!(matches!(&plan.steps[0], Step::CreateClaims(c) if c.len() == 1));
    assert!(matches!(&plan.steps[1], Step::CreatePods(p) if p.len() == 1));
}

#[test]
fn parallel_creates_and_deletes_all_at_once() {
    let mut s = set(3);
    s.spec.as_mut().unwrap().pod_management_policy = Some("Parallel".to_owned());
    let mut w = World::new(s);
    assert_eq!(w.step().0, strs(&["web-0", "web-1", "web-2"]));
    w.set.spec.as_mut().unwrap().replicas = Some(1);
    let (_, mut deleted) = w.step();
    deleted.sort();
    assert_eq!(deleted, strs(&["web-1", "web-2"]));
}

#[test]
fn scale_down_removes_the_highest_ordinal_first_and_keeps_the_claims() {
    let mut w = World::new(set(3));
    for _ in 0..3 {
        w.step();
        w.make_ready();
    }
    w.set.spec.as_mut().unwrap().replicas = Some(1);
    assert_eq!(w.step().1, ["web-2"]);
    assert_eq!(w.step().1, ["web-1"]);
    assert_eq!(w.step(), (vec![], vec![]));
    assert_eq!(w.names(), ["web-0"]);
    assert_eq!(w.claims.len(), 3);
}

#[test]
fn ordered_scale_down_waits_while_a_remaining_member_is_unready() {
    let mut w = World::new(set(3));
    for _ in 0..3 {
        w.step();
        w.make_ready();
    }
    w.set.spec.as_mut().unwrap().replicas = Some(1);
    w.pods[0].status.as_mut().unwrap().conditions = None;
    assert_eq!(w.step(), (vec![], vec![]), "web-0 unready blocks");
}

#[test]
fn rolling_update_replaces_from_the_highest_ordinal_waiting_for_readiness() {
    let mut w = World::new(set(3));
    for _ in 0..3 {
        w.step();
        w.make_ready();
    }
    w.roll_to("nginx:2");
    let mut order = Vec::new();
    for _ in 0..12 {
        let (created, deleted) = w.step();
        order.extend(deleted.into_iter().map(|d| format!("-{d}")));
        order.extend(created.into_iter().map(|c| format!("+{c}")));
        w.make_ready();
    }
    assert_eq!(
        order,
        strs(&["-web-2", "+web-2", "-web-1", "+web-1", "-web-0", "+web-0"])
    );
    assert!(w.names().iter().all(|n| w.revision_of(n) == "web-r2"));
    let status = w.plan().status;
    assert_eq!(
        status.current_revision.as_deref(),
        Some("web-r2"),
        "update completes"
    );
    assert_eq!(status.current_replicas, Some(3));
}

#[test]
fn partition_keeps_lower_ordinals_at_the_current_revision() {
    let mut s = set(3);
    s.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".to_owned()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            partition: Some(2),
            max_unavailable: None,
        }),
    });
    let mut w = World::new(s);
    for _ in 0..3 {
        w.step();
        w.make_ready();
    }
    w.roll_to("nginx:2");
    for _ in 0..6 {
        w.step();
        w.make_ready();
    }
    assert_eq!(w.revision_of("web-2"), "web-r2");
    assert_eq!(w.revision_of("web-1"), "web-r1");
    assert_eq!(w.revision_of("web-0"), "web-r1");
    // A member below the partition that is lost comes back at the current revision.
    w.pods
        .retain(|p| p.metadata.name.as_deref() != Some("web-0"));
    assert_eq!(w.step().0, ["web-0"]);
    assert_eq!(w.revision_of("web-0"), "web-r1");
    let status = w.plan().status;
    assert_eq!(
        (status.current_replicas, status.updated_replicas),
        (Some(2), Some(1))
    );
}

#[test]
fn on_delete_replaces_only_members_deleted_by_the_user() {
    let mut s = set(2);
    s.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("OnDelete".to_owned()),
        rolling_update: None,
    });
    let mut w = World::new(s);
    for _ in 0..2 {
        w.step();
        w.make_ready();
    }
    w.roll_to("nginx:2");
    assert_eq!(w.step(), (vec![], vec![]));
    w.pods
        .retain(|p| p.metadata.name.as_deref() != Some("web-0"));
    assert_eq!(w.step().0, ["web-0"]);
    assert_eq!(w.revision_of("web-0"), "web-r2");
    assert_eq!(w.revision_of("web-1"), "web-r1");
}

#[test]
fn a_failed_member_is_deleted_then_recreated() {
    let mut w = World::new(set(1));
    w.step();
    w.pods[0].status.as_mut().unwrap().phase = Some("Failed".to_owned());
    assert_eq!(w.step().1, ["web-0"]);
    assert_eq!(w.step().0, ["web-0"]);
}

#[test]
fn max_unavailable_replaces_several_members_at_once() {
    let mut s = set(4);
    s.spec.as_mut().unwrap().update_strategy = Some(StatefulSetUpdateStrategy {
        type_: Some("RollingUpdate".to_owned()),
        rolling_update: Some(RollingUpdateStatefulSetStrategy {
            partition: Some(0),
            max_unavailable: Some(IntOrStringValue::Int(2)),
        }),
    });
    let mut w = World::new(s);
    for _ in 0..4 {
        w.step();
        w.make_ready();
    }
    w.roll_to("nginx:2");
    assert_eq!(w.step().1, ["web-3", "web-2"]);
}

#[test]
fn a_deleting_set_only_reports_status() {
    let mut w = World::new(set(2));
    w.set.metadata.deletion_timestamp = Some(Time(now()));
    let plan = w.plan();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.status.observed_generation, Some(1));
}

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString as IntOrStringValue;
