//! The garbage collector's dependency graph, without I/O: every observed object (and every
//! owner named but not yet observed, as a "virtual" node) keyed by uid, with its owner
//! references and its dependents. Watch events go in; the work they imply comes out as
//! [`Effect`]s (which nodes to check for deletion or orphaning, which events to record).

use std::collections::{BTreeSet, HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

/// The finalizer that makes an owner wait for its blocking dependents to be deleted.
pub const FOREGROUND: &str = "foregroundDeletion";
/// The finalizer that makes an owner wait for its dependents to be orphaned.
pub const ORPHAN: &str = "orphan";

/// Which object a node stands for: an owner reference's coordinates and a namespace
/// (empty for cluster-scoped objects).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// `group/version` or `version`.
    pub api_version: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// uid.
    pub uid: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
}

impl Identity {
    /// The API group of this identity's type.
    pub fn group(&self) -> &str {
        self.api_version
            .rsplit_once('/')
            .map_or("", |(group, _)| group)
    }

    /// A virtual owner's identity: the coordinates of `owner`, in `namespace`.
    pub fn of_owner(owner: &OwnerReference, namespace: &str) -> Self {
        Self {
            api_version: owner.api_version.clone(),
            kind: owner.kind.clone(),
            name: owner.name.clone(),
            uid: owner.uid.clone(),
            namespace: namespace.to_owned(),
        }
    }
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}/{}, namespace: {}, name: {}, uid: {}]",
            self.api_version, self.kind, self.namespace, self.name, self.uid
        )
    }
}

/// What a watch reported about one object.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// Which object.
    pub identity: Identity,
    /// Its owner references.
    pub owners: Vec<OwnerReference>,
    /// Whether it has a deletionTimestamp.
    pub deleting: bool,
    /// Its finalizers.
    pub finalizers: Vec<String>,
}

impl Observed {
    /// The observation of an object of `api_version`/`kind` with metadata `meta`.
    pub fn from_meta(api_version: &str, kind: &str, meta: &ObjectMeta) -> Self {
        Self {
            identity: Identity {
                api_version: api_version.to_owned(),
                kind: kind.to_owned(),
                name: meta.name.clone().unwrap_or_default(),
                uid: meta.uid.clone().unwrap_or_default(),
                namespace: meta.namespace.clone().unwrap_or_default(),
            },
            owners: meta.owner_references.clone().unwrap_or_default(),
            deleting: meta.deletion_timestamp.is_some(),
            finalizers: meta.finalizers.clone().unwrap_or_default(),
        }
    }

    fn has_finalizer(&self, finalizer: &str) -> bool {
        self.finalizers.iter().any(|f| f == finalizer)
    }
}

/// One object in the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Which object.
    pub identity: Identity,
    /// Its owner references, as last observed.
    pub owners: Vec<OwnerReference>,
    /// The uids of the objects naming it as owner.
    pub dependents: BTreeSet<String>,
    /// It has a deletionTimestamp.
    pub being_deleted: bool,
    /// It is being deleted in the foreground: it waits for its blocking dependents.
    pub deleting_dependents: bool,
    /// It is being deleted with the orphan finalizer: its dependents are to be orphaned.
    pub orphaning: bool,
    /// Seen by a watch, rather than only named by a dependent.
    pub observed: bool,
}

impl Node {
    fn new(identity: Identity, observed: bool) -> Self {
        Self {
            identity,
            owners: Vec::new(),
            dependents: BTreeSet::new(),
            being_deleted: false,
            deleting_dependents: false,
            orphaning: false,
            observed,
        }
    }
}

/// Work a graph change implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Check whether the object with this uid is garbage (or, deleting in the foreground,
    /// whether it may go now).
    AttemptToDelete(String),
    /// Orphan the dependents of the object with this uid.
    AttemptToOrphan(String),
    /// Warn (event `OwnerRefInvalidNamespace`) that `dependent` names as owner an object
    /// living in another namespace.
    InvalidOwnerNamespace {
        /// The object with the bad reference.
        dependent: Box<Identity>,
        /// The owner it names, in the dependent's namespace.
        owner: Box<Identity>,
    },
}

/// The dependency graph.
#[derive(Debug, Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
}

impl Graph {
    /// The node with `uid`.
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// The dependents of `uid` whose reference to it blocks its foreground deletion, with
    /// whether each is itself deleting its dependents in the foreground.
    pub fn blocking_dependents(&self, uid: &str) -> Vec<(String, bool)> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        node.dependents
            .iter()
            .filter_map(|d| self.nodes.get(d))
            .filter(|d| {
                d.owners
                    .iter()
                    .any(|o| o.uid == uid && o.block_owner_deletion == Some(true))
            })
            .map(|d| (d.identity.uid.clone(), d.deleting_dependents))
            .collect()
    }

    /// The identities of `uid`'s dependents.
    pub fn dependents(&self, uid: &str) -> Vec<Identity> {
        self.nodes.get(uid).map_or_else(Vec::new, |node| {
            node.dependents
                .iter()
                .filter_map(|d| self.nodes.get(d))
                .map(|d| d.identity.clone())
                .collect()
        })
    }

    /// A watch saw `obj` added or changed.
    pub fn observe(&mut self, obj: &Observed) -> Vec<Effect> {
        let mut effects = Vec::new();
        let uid = obj.identity.uid.clone();
        let (was_orphaning, was_deleting_dependents) = match self.nodes.get_mut(&uid) {
            Some(node) => {
                if !node.observed {
                    node.observed = true;
                    if node.identity != obj.identity {
                        node.identity = obj.identity.clone();
                        effects.extend(self.recheck_dependents_of_observed(&uid));
                    }
                }
                let node = self
                    .nodes
                    .get(&uid)
                    .map(|n| (n.orphaning, n.deleting_dependents));
                let (orphaning, deleting) = node.unwrap_or_default();
                effects.extend(self.update_owners(&uid, &obj.owners));
                (orphaning, deleting)
            }
            None => {
                self.nodes
                    .insert(uid.clone(), Node::new(obj.identity.clone(), true));
                effects.extend(self.update_owners(&uid, &obj.owners));
                (false, false)
            }
        };
        let orphaning = obj.deleting && obj.has_finalizer(ORPHAN);
        let deleting_dependents = obj.deleting && obj.has_finalizer(FOREGROUND);
        if let Some(node) = self.nodes.get_mut(&uid) {
            node.being_deleted |= obj.deleting;
            node.orphaning = orphaning;
            node.deleting_dependents = deleting_dependents;
        }
        if orphaning && !was_orphaning {
            effects.push(Effect::AttemptToOrphan(uid));
        } else if deleting_dependents && !was_deleting_dependents {
            effects.extend(
                self.dependents_of(&uid)
                    .into_iter()
                    .map(Effect::AttemptToDelete),
            );
            effects.push(Effect::AttemptToDelete(uid));
        }
        effects
    }

    /// A watch saw the object with `uid` deleted, or a check found it gone (`virtual`: then
    /// a node seen by a watch stays, the watch has the last word).
    pub fn remove(&mut self, uid: &str, virtual_: bool) -> Vec<Effect> {
        if virtual_ && self.nodes.get(uid).is_some_and(|n| n.observed) {
            return Vec::new();
        }
        let Some(node) = self.nodes.remove(uid) else {
            return Vec::new();
        };
        let mut effects: Vec<Effect> = node
            .dependents
            .iter()
            .filter(|d| self.nodes.contains_key(*d))
            .cloned()
            .map(Effect::AttemptToDelete)
            .collect();
        for owner in &node.owners {
            if let Some(owner_node) = self.nodes.get_mut(&owner.uid) {
                owner_node.dependents.remove(uid);
                if owner_node.deleting_dependents {
                    effects.push(Effect::AttemptToDelete(owner.uid.clone()));
                }
            }
        }
        effects
    }

    /// A watch of `group`/`kind` listed its objects afresh and saw those in `seen`: the
    /// observed nodes of that type missing from it were deleted meanwhile.
    pub fn relisted(&mut self, group: &str, kind: &str, seen: &HashSet<String>) -> Vec<Effect> {
        let gone: Vec<String> = self
            .nodes
            .values()
            .filter(|n| n.observed && n.identity.kind == kind && n.identity.group() == group)
            .filter(|n| !seen.contains(&n.identity.uid))
            .map(|n| n.identity.uid.clone())
            .collect();
        gone.iter()
            .flat_map(|uid| self.remove(uid, false))
            .collect()
    }

    fn dependents_of(&self, uid: &str) -> Vec<String> {
        self.nodes
            .get(uid)
            .map_or_else(Vec::new, |n| n.dependents.iter().cloned().collect())
    }

    /// Replaces the owner references of `uid`, linking it to new owners (virtual nodes for
    /// those not seen yet) and unlinking it from former ones.
    fn update_owners(&mut self, uid: &str, owners: &[OwnerReference]) -> Vec<Effect> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        let old = node.owners.clone();
        if old == owners {
            return Vec::new();
        }
        let dependent = node.identity.clone();
        let mut effects = Vec::new();
        // Owners waiting for this dependent stop waiting when it no longer blocks them.
        for before in &old {
            let after = owners.iter().find(|o| o.uid == before.uid);
            let unblocked = before.block_owner_deletion == Some(true)
                && after.is_none_or(|a| a.block_owner_deletion != Some(true));
            if after.is_none() {
                if let Some(owner) = self.nodes.get_mut(&before.uid) {
                    owner.dependents.remove(uid);
                }
            }
            if unblocked
                && self
                    .nodes
                    .get(&before.uid)
                    .is_some_and(|o| o.deleting_dependents)
            {
                effects.push(Effect::AttemptToDelete(before.uid.clone()));
            }
        }
        let mut suspicious = false;
        for owner in owners
            .iter()
            .filter(|o| !old.iter().any(|b| b.uid == o.uid))
        {
            match self.nodes.get_mut(&owner.uid) {
                Some(node) => {
                    node.dependents.insert(uid.to_owned());
                    if node.observed
                        && !node.identity.namespace.is_empty()
                        && node.identity.namespace != dependent.namespace
                    {
                        effects.push(Effect::InvalidOwnerNamespace {
                            dependent: Box::new(dependent.clone()),
                            owner: Box::new(Identity::of_owner(owner, &dependent.namespace)),
                        });
                        suspicious = true;
                    }
                }
                None => {
                    let mut virtual_node =
                        Node::new(Identity::of_owner(owner, &dependent.namespace), false);
                    virtual_node.dependents.insert(uid.to_owned());
                    self.nodes.insert(owner.uid.clone(), virtual_node);
                    // Check whether the owner exists at all.
                    effects.push(Effect::AttemptToDelete(owner.uid.clone()));
                }
            }
        }
        if suspicious {
            effects.push(Effect::AttemptToDelete(uid.to_owned()));
        }
        if let Some(node) = self.nodes.get_mut(uid) {
            node.owners = owners.to_vec();
        }
        effects
    }

    /// A virtual node turned out, once observed, to live elsewhere than its dependents
    /// assumed: warn about dependents in another namespace and check them all.
    fn recheck_dependents_of_observed(&self, uid: &str) -> Vec<Effect> {
        let Some(node) = self.nodes.get(uid) else {
            return Vec::new();
        };
        let mut effects = Vec::new();
        for dep in node.dependents.iter().filter_map(|d| self.nodes.get(d)) {
            let namespace = &node.identity.namespace;
            if !namespace.is_empty() && &dep.identity.namespace != namespace {
                if let Some(owner) = dep.owners.iter().find(|o| o.uid == uid) {
                    effects.push(Effect::InvalidOwnerNamespace {
                        dependent: Box::new(dep.identity.clone()),
                        owner: Box::new(Identity::of_owner(owner, &dep.identity.namespace)),
                    });
                }
            }
            effects.push(Effect::AttemptToDelete(dep.identity.uid.clone()));
        }
        effects
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
