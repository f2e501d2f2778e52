//! One sync of a Deployment, decided without I/O: given the Deployment and the ReplicaSets it
//! controls, the ReplicaSet writes, the Deployment's revision annotation and status, and the
//! Events to record, in the order upstream's controller would make them.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::jiff::Timestamp;

use super::hash::{equal_ignoring_hash, pod_template_hash, POD_TEMPLATE_HASH};
use super::status::{self, Reason};
use super::util::{self, desired, max_surge, replicas, revision, set_new_rs_annotations};
use crate::events::EventType;
use crate::workload::pod::controller_ref;

/// An Event to record about the Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Normal or Warning.
    pub event_type: EventType,
    /// The Event's reason.
    pub reason: &'static str,
    /// The Event's message.
    pub message: String,
}

/// A write to one ReplicaSet.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Create it.
    Create(ReplicaSet),
    /// Replace it (its resourceVersion guards against lost updates).
    Update(ReplicaSet),
    /// Delete it.
    Delete(ReplicaSet),
}

impl Write {
    fn name(&self) -> Option<&str> {
        match self {
            Self::Create(rs) | Self::Update(rs) | Self::Delete(rs) => rs.metadata.name.as_deref(),
        }
    }
}

/// What one sync does.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Plan {
    /// ReplicaSet writes in order, each with the Events to record once it succeeds.
    pub writes: Vec<(Write, Vec<Note>)>,
    /// The Deployment's new `deployment.kubernetes.io/revision`, when it changed.
    pub revision: Option<String>,
    /// The Deployment's new status, when it changed.
    pub status: Option<DeploymentStatus>,
    /// Events to record whatever happens.
    pub notes: Vec<Note>,
    /// When to sync again though nothing changes (progress deadline, availability).
    pub requeue: Option<Duration>,
}

/// What a sync starts from.
#[derive(Debug, Clone)]
pub struct Input {
    /// The Deployment.
    pub deployment: Deployment,
    /// The ReplicaSets it controls (after adoption and release).
    pub replica_sets: Vec<ReplicaSet>,
    /// Its pods (only the Recreate strategy looks at them).
    pub pods: Vec<Pod>,
    /// The current time.
    pub now: Timestamp,
}

/// The working state of one sync.
pub(super) struct Sync {
    pub(super) d: Deployment,
    pub(super) rses: Vec<ReplicaSet>,
    pub(super) new: Option<usize>,
    pub(super) plan: Plan,
    pub(super) now: Timestamp,
    pub(super) original_status: DeploymentStatus,
    original_annotations: Option<BTreeMap<String, String>>,
}

/// Decides one sync of a Deployment.
pub fn sync(input: Input) -> Plan {
    let mut s = Sync {
        original_status: input.deployment.status.clone().unwrap_or_default(),
        original_annotations: input.deployment.metadata.annotations.clone(),
        d: input.deployment,
        rses: input.replica_sets,
        new: None,
        plan: Plan::default(),
        now: input.now,
    };
    s.rses.sort_by(util::by_creation);
    let spec = s.d.spec.clone().unwrap_or_default();
    if spec.selector == LabelSelector::default() {
        s.plan.notes.push(Note {
            event_type: EventType::Warning,
            reason: "SelectingAll",
            message: "This deployment is selecting all pods. A non-empty selector is required."
                .to_owned(),
        });
        let generation = s.d.metadata.generation;
        s.status_mut().observed_generation = generation;
    } else if s.d.metadata.deletion_timestamp.is_some() {
        s.sync_revision(false);
        s.sync_status();
    } else {
        s.check_paused_conditions();
        if spec.paused == Some(true) || s.is_scaling_event() {
            s.sync_scale();
        } else if util::is_rolling(&s.d) {
            s.rollout_rolling();
        } else {
            s.rollout_recreate(&input.pods);
        }
    }
    s.finish()
}

impl Sync {
    pub(super) fn status_mut(&mut self) -> &mut DeploymentStatus {
        self.d.status.get_or_insert_with(Default::default)
    }

    /// Indices of the ReplicaSets that are not the new one, in creation order.
    pub(super) fn old(&self) -> Vec<usize> {
        (0..self.rses.len())
            .filter(|i| Some(*i) != self.new)
            .collect()
    }

    /// Indices of the old ReplicaSets that want pods, in creation order.
    pub(super) fn active_old(&self) -> Vec<usize> {
        self.old()
            .into_iter()
            .filter(|i| util::is_active(&self.rses[*i]))
            .collect()
    }

    /// Indices of every ReplicaSet: the old ones, then the new one.
    pub(super) fn all(&self) -> Vec<usize> {
        let mut all = self.old();
        all.extend(self.new);
        all
    }

    /// Sum of desired replicas over `indices`.
    pub(super) fn sum_replicas(&self, indices: &[usize]) -> i32 {
        indices.iter().map(|i| replicas(&self.rses[*i])).sum()
    }

    /// Queues the current state of ReplicaSet `i` to be written, merged with any earlier write
    /// of it in this sync (all of them start from the same resourceVersion).
    pub(super) fn record(&mut self, i: usize, note: Option<Note>) {
        let rs = self.rses[i].clone();
        let name = rs.metadata.name.clone();
        let existing = self
            .plan
            .writes
            .iter_mut()
            .find(|(w, _)| w.name() == name.as_deref());
        match existing {
            Some((Write::Create(old) | Write::Update(old), notes)) => {
                *old = rs;
                notes.extend(note);
            }
            _ => self
                .plan
                .writes
                .push((Write::Update(rs), note.into_iter().collect())),
        }
    }

    /// Scales ReplicaSet `i` to `to` (also refreshing its replica annotations); returns
    /// whether its size changed.
    pub(super) fn scale(&mut self, i: usize, to: i32) -> bool {
        let (desired, max) = (desired(&self.d), desired(&self.d) + max_surge(&self.d));
        let rs = &mut self.rses[i];
        let from = replicas(rs);
        let annotated = util::set_replicas_annotations(rs, desired, max);
        if from == to && !annotated {
            return false;
        }
        util::set_replicas(rs, to);
        let note = (from != to).then(|| Note {
            event_type: EventType::Normal,
            reason: "ScalingReplicaSet",
            message: format!(
                "Scaled {} replica set {} from {from} to {to}",
                if to > from { "up" } else { "down" },
                rs.metadata.name.as_deref().unwrap_or_default()
            ),
        });
        self.record(i, note);
        from != to
    }

    /// Scales ReplicaSet `i` to `to` unless it already has that size.
    pub(super) fn scale_if_needed(&mut self, i: usize, to: i32) -> bool {
        replicas(&self.rses[i]) != to && self.scale(i, to)
    }

    /// Finds (and, when `create`, makes) the ReplicaSet of the current template, gives it the
    /// next revision, and stamps that revision on the Deployment.
    pub(super) fn sync_revision(&mut self, create: bool) {
        let template = self
            .d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        self.new = self.rses.iter().position(|rs| {
            rs.spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .is_some_and(|t| equal_ignoring_hash(t, &template))
        });
        let max_old = self
            .old()
            .iter()
            .map(|i| revision(&self.rses[*i]))
            .max()
            .unwrap_or(0);
        let next = max_old + 1;
        if let Some(i) = self.new {
            let mut rs = self.rses[i].clone();
            let mut changed = set_new_rs_annotations(&self.d, &mut rs, next, true);
            let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);
            if let Some(spec) = rs
                .spec
                .as_mut()
                .filter(|s| s.min_ready_seconds != min_ready)
            {
                spec.min_ready_seconds = min_ready;
                changed = true;
            }
            if changed {
                self.rses[i] = rs;
                self.record(i, None);
            }
            let rev = util::annotation(&self.rses[i], util::REVISION)
                .unwrap_or_default()
                .to_owned();
            self.set_revision(&rev);
            if status::has_progress_deadline(&self.d) && self.condition("Progressing").is_none() {
                let msg = format!(
                    "Found new replica set \"{}\"",
                    self.rses[i].metadata.name.as_deref().unwrap_or_default()
                );
                self.set_condition("Progressing", "True", Reason::FoundNewReplicaSet, &msg);
            }
        } else if create {
            self.create_new(template, next);
        }
    }

    fn set_revision(&mut self, revision: &str) {
        let annotations = self
            .d
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new);
        if annotations.get(util::REVISION).map(String::as_str) != Some(revision) {
            annotations.insert(util::REVISION.to_owned(), revision.to_owned());
        }
    }

    fn create_new(&mut self, template: k8s_openapi::api::core::v1::PodTemplateSpec, next: i64) {
        let collisions = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = pod_template_hash(&template, collisions);
        let name = format!(
            "{}-{hash}",
            self.d.metadata.name.as_deref().unwrap_or_default()
        );
        let mut template = template;
        let meta = template.metadata.get_or_insert_with(Default::default);
        meta.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.to_owned(), hash.clone());
        let mut selector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        selector
            .match_labels
            .get_or_insert_with(BTreeMap::new)
            .insert(POD_TEMPLATE_HASH.to_owned(), hash);
        let owner = controller_ref(
            "apps/v1",
            "Deployment",
            self.d.metadata.name.as_deref().unwrap_or_default(),
            self.d.metadata.uid.as_deref().unwrap_or_default(),
        );
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.metadata.namespace.clone(),
                labels: meta.labels.clone(),
                owner_references: Some(vec![owner]),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(0),
                min_ready_seconds: self.d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector,
                template: Some(template),
            }),
            status: None,
        };
        set_new_rs_annotations(&self.d, &mut rs, next, false);
        self.rses.push(rs);
        let i = self.rses.len() - 1;
        let count = self.new_rs_new_replicas(i);
        util::set_replicas(&mut self.rses[i], count);
        self.new = Some(i);
        let note = (count > 0).then(|| Note {
            event_type: EventType::Normal,
            reason: "ScalingReplicaSet",
            message: format!("Scaled up replica set {name} from 0 to {count}"),
        });
        self.plan.writes.push((
            Write::Create(self.rses[i].clone()),
            note.into_iter().collect(),
        ));
        self.set_revision(&next.to_string());
        if status::has_progress_deadline(&self.d) {
            let msg = format!("Created new replica set \"{name}\"");
            self.set_condition("Progressing", "True", Reason::NewReplicaSetCreated, &msg);
        }
    }

    /// What the plan ends with: the Deployment's annotations and status where they changed.
    fn finish(mut self) -> Plan {
        let revision = |a: &Option<BTreeMap<String, String>>| {
            a.as_ref().and_then(|a| a.get(util::REVISION)).cloned()
        };
        if revision(&self.d.metadata.annotations) != revision(&self.original_annotations) {
            self.plan.revision = revision(&self.d.metadata.annotations);
        }
        let status = self.d.status.clone().unwrap_or_default();
        if status != self.original_status {
            self.plan.status = Some(status);
        }
        self.plan
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
