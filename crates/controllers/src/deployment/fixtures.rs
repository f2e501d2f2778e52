//! Deployments and ReplicaSets for the decision tests, and a tiny simulated cluster that
//! applies plans and brings pods up, so rollouts can be driven step by step.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, ReplicaSet, ReplicaSetStatus,
    RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use super::plan::{sync, Input, Plan, Write};
use super::util;

pub fn t(secs: i64) -> Timestamp {
    Timestamp::UNIX_EPOCH + SignedDuration::from_secs(1_000_000 + secs)
}

pub fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([("app".to_owned(), "web".to_owned())])
}

pub fn template(image: &str) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "web".to_owned(),
                image: Some(image.to_owned()),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
    }
}

/// An int-or-percent from "25%" or "3".
pub fn ios(v: &str) -> IntOrString {
    v.parse()
        .map_or_else(|_| IntOrString::String(v.to_owned()), IntOrString::Int)
}

pub fn deployment(replicas: i32, surge: &str, unavailable: &str, image: &str) -> Deployment {
    Deployment {
        metadata: ObjectMeta {
            name: Some("web".to_owned()),
            namespace: Some("shop".to_owned()),
            uid: Some("d1".to_owned()),
            generation: Some(1),
            ..ObjectMeta::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(labels()),
                ..LabelSelector::default()
            },
            template: template(image),
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".to_owned()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(ios(surge)),
                    max_unavailable: Some(ios(unavailable)),
                }),
            }),
            revision_history_limit: Some(10),
            progress_deadline_seconds: Some(600),
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

pub fn recreate(mut d: Deployment) -> Deployment {
    if let Some(spec) = d.spec.as_mut() {
        spec.strategy = Some(DeploymentStrategy {
            type_: Some("Recreate".to_owned()),
            rolling_update: None,
        });
    }
    d
}

/// Changes the template's image, as `kubectl set image` does (a new generation).
pub fn set_image(d: &mut Deployment, image: &str) {
    d.spec.as_mut().unwrap().template = template(image);
    d.metadata.generation = Some(d.metadata.generation.unwrap_or(1) + 1);
}

/// Changes the desired replicas, as `kubectl scale` does.
pub fn set_replicas(d: &mut Deployment, n: i32) {
    d.spec.as_mut().unwrap().replicas = Some(n);
    d.metadata.generation = Some(d.metadata.generation.unwrap_or(1) + 1);
}

/// A cluster holding one Deployment and its ReplicaSets; pods are counts in RS status.
pub struct Sim {
    pub d: Deployment,
    pub rses: Vec<ReplicaSet>,
    pub now: i64,
    /// How many pods of each ReplicaSet become available per step (0: all at once).
    pub ready_per_step: i32,
    pub plans: Vec<Plan>,
}

impl Sim {
    pub fn new(d: Deployment) -> Sim {
        Sim {
            d,
            rses: Vec::new(),
            now: 0,
            ready_per_step: 0,
            plans: Vec::new(),
        }
    }

    /// Runs one sync and applies its writes; returns the plan.
    pub fn sync(&mut self) -> Plan {
        self.now += 1;
        let plan = sync(Input {
            deployment: self.d.clone(),
            replica_sets: self.rses.clone(),
            pods: Vec::new(),
            now: t(self.now),
        });
        for (write, _) in &plan.writes {
            match write {
                Write::Create(rs) => {
                    let mut rs = rs.clone();
                    rs.metadata.creation_timestamp = Some(Time(t(self.now)));
                    rs.metadata.uid = rs.metadata.name.clone();
                    self.rses.push(rs);
                }
                Write::Update(rs) => {
                    let i = self
                        .rses
                        .iter()
                        .position(|r| r.metadata.name == rs.metadata.name)
                        .unwrap();
                    self.rses[i] = rs.clone();
                }
                Write::Delete(rs) => self.rses.retain(|r| r.metadata.name != rs.metadata.name),
            }
        }
        if let Some(rev) = &plan.revision {
            self.d
                .metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert(util::REVISION.to_owned(), rev.clone());
        }
        if let Some(status) = &plan.status {
            self.d.status = Some(status.clone());
        }
        self.plans.push(plan.clone());
        plan
    }

    /// The ReplicaSet controller and the kubelet: pods follow spec, scale-downs remove
    /// available pods at once, new pods become available `ready_per_step` at a time.
    pub fn pods_follow(&mut self) {
        for rs in &mut self.rses {
            let want = util::replicas(rs);
            let status = rs.status.get_or_insert_with(ReplicaSetStatus::default);
            let available = status.available_replicas.unwrap_or(0).min(want);
            let step = if self.ready_per_step == 0 {
                want
            } else {
                self.ready_per_step
            };
            let available = (available + step).min(want);
            status.replicas = want;
            status.ready_replicas = Some(available);
            status.available_replicas = Some(available);
            status.observed_generation = rs.metadata.generation;
        }
    }

    pub fn total_replicas(&self) -> i32 {
        self.rses.iter().map(util::replicas).sum()
    }

    pub fn total_available(&self) -> i32 {
        self.rses.iter().map(|rs| util::observed(rs).1).sum()
    }

    /// The ReplicaSet running `image`.
    pub fn rs_of(&self, image: &str) -> Option<&ReplicaSet> {
        self.rses.iter().find(|rs| {
            let t = rs.spec.as_ref().and_then(|s| s.template.as_ref()).unwrap();
            t.spec.as_ref().unwrap().containers[0].image.as_deref() == Some(image)
        })
    }

    /// Syncs and lets pods follow until nothing changes any more (at most `limit` rounds).
    pub fn settle(&mut self, limit: usize, mut check: impl FnMut(&Sim)) {
        for _ in 0..limit {
            let plan = self.sync();
            check(self);
            let before = self.rses.clone();
            self.pods_follow();
            check(self);
            let quiet = plan.writes.is_empty() && plan.status.is_none() && plan.revision.is_none();
            if quiet && before == self.rses {
                return;
            }
        }
        panic!("the rollout did not settle in {limit} rounds");
    }
}
