//! The commit decision for one group of writes, without I/O.
//!
//! [`Planner`] evaluates each request's precondition in order against the index as it will be
//! once the earlier requests of the same group have applied, and assigns consecutive revisions.
//! The writer thread then makes the resulting [`Op`]s durable and applies them.

use std::collections::HashMap;

use bytes::Bytes;

use super::index::{next_life, Index, Op};
use crate::{KeyValue, Precondition, Revision, StoreError, WriteOutcome};

/// A write asked of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    /// [`crate::Store::put`].
    Put {
        /// The key.
        key: String,
        /// The value.
        value: Bytes,
        /// The condition.
        precondition: Precondition,
    },
    /// [`crate::Store::delete`].
    Delete {
        /// The key.
        key: String,
        /// The condition.
        precondition: Precondition,
    },
    /// [`crate::Store::compact`].
    Compact {
        /// The revision to compact to.
        revision: Revision,
    },
}

/// What one request will do once the group is durable.
#[derive(Debug)]
pub(crate) enum Decision {
    /// A put or delete: `op` is `Some` when the write applies, and `outcome` is the answer.
    Write {
        /// The change to make durable, if the precondition held.
        op: Option<Op>,
        /// The answer to give once the group is durable.
        outcome: WriteOutcome,
    },
    /// A valid compaction.
    Compact {
        /// The compaction to make durable.
        op: Op,
    },
    /// A compaction that was refused.
    Refused {
        /// Why.
        error: StoreError,
    },
}

/// Evaluates a group of requests against an index plus the group's own earlier writes.
pub(crate) struct Planner<'a> {
    index: &'a Index,
    written: HashMap<String, Option<KeyValue>>,
    revision: Revision,
    compacted: Revision,
}

impl<'a> Planner<'a> {
    /// A planner over `index` with nothing planned yet.
    pub(crate) fn new(index: &'a Index) -> Self {
        Self {
            index,
            written: HashMap::new(),
            revision: index.revision(),
            compacted: index.compacted(),
        }
    }

    /// Decides one request; later requests see its effect.
    pub(crate) fn decide(&mut self, request: Request) -> Decision {
        match request {
            Request::Put {
                key,
                value,
                precondition,
            } => self.put(key, value, precondition),
            Request::Delete { key, precondition } => self.delete(key, precondition),
            Request::Compact { revision } => self.compact(revision),
        }
    }

    fn current(&self, key: &str) -> Option<KeyValue> {
        match self.written.get(key) {
            Some(kv) => kv.clone(),
            None => self.index.current(key),
        }
    }

    fn put(&mut self, key: String, value: Bytes, precondition: Precondition) -> Decision {
        let current = self.current(&key);
        if !holds(precondition, current.as_ref()) {
            return Decision::Write {
                op: None,
                outcome: WriteOutcome::Failed { current },
            };
        }
        self.revision += 1;
        let revision = self.revision;
        let (create_revision, version) = next_life(current.as_ref(), revision);
        let new = KeyValue {
            key: key.clone(),
            value: value.clone(),
            create_revision,
            mod_revision: revision,
            version,
        };
        self.written.insert(key.clone(), Some(new));
        Decision::Write {
            op: Some(Op::Put {
                revision,
                key,
                value,
            }),
            outcome: WriteOutcome::Applied {
                revision,
                previous: current,
            },
        }
    }

    fn delete(&mut self, key: String, precondition: Precondition) -> Decision {
        let current = self.current(&key);
        if current.is_none() || !holds(precondition, current.as_ref()) {
            return Decision::Write {
                op: None,
                outcome: WriteOutcome::Failed { current },
            };
        }
        self.revision += 1;
        let revision = self.revision;
        self.written.insert(key.clone(), None);
        Decision::Write {
            op: Some(Op::Delete { revision, key }),
            outcome: WriteOutcome::Applied {
                revision,
                previous: current,
            },
        }
    }

    fn compact(&mut self, revision: Revision) -> Decision {
        if revision <= self.compacted {
            let error = StoreError::Compacted {
                requested: revision,
                compacted: self.compacted,
            };
            return Decision::Refused { error };
        }
        if revision > self.revision {
            let error = StoreError::FutureRevision {
                requested: revision,
                current: self.revision,
            };
            return Decision::Refused { error };
        }
        self.compacted = revision;
        Decision::Compact {
            op: Op::Compact { revision },
        }
    }
}

/// Whether `precondition` holds for a key whose live value is `current`.
/// `ModRevision(0)` means "must not exist", as in etcd.
fn holds(precondition: Precondition, current: Option<&KeyValue>) -> bool {
    match precondition {
        Precondition::None => true,
        Precondition::Absent | Precondition::ModRevision(0) => current.is_none(),
        Precondition::ModRevision(revision) => current.map(|kv| kv.mod_revision) == Some(revision),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(key: &str, value: &'static [u8], precondition: Precondition) -> Request {
        Request::Put {
            key: key.to_owned(),
            value: Bytes::from_static(value),
            precondition,
        }
    }

    fn applied_revision(decision: &Decision) -> Option<Revision> {
        match decision {
            Decision::Write {
                outcome: WriteOutcome::Applied { revision, .. },
                ..
            } => Some(*revision),
            _ => None,
        }
    }

    #[test]
    fn later_requests_in_a_group_see_earlier_writes() {
        let index = Index::new();
        let mut planner = Planner::new(&index);
        let first = planner.decide(put("/a", b"1", Precondition::Absent));
        let second = planner.decide(put("/a", b"2", Precondition::Absent));
        let third = planner.decide(put("/a", b"3", Precondition::ModRevision(1)));
        assert_eq!(applied_revision(&first), Some(1));
        assert!(matches!(
            second,
            Decision::Write {
                op: None,
                outcome: WriteOutcome::Failed { current: Some(_) }
            }
        ));
        assert_eq!(applied_revision(&third), Some(2));
    }

    #[test]
    fn failed_preconditions_take_no_revision() {
        let index = Index::new();
        let mut planner = Planner::new(&index);
        let missing = Request::Delete {
            key: "/a".to_owned(),
            precondition: Precondition::None,
        };
        assert!(matches!(
            planner.decide(missing),
            Decision::Write {
                op: None,
                outcome: WriteOutcome::Failed { current: None }
            }
        ));
        let write = planner.decide(put("/a", b"1", Precondition::None));
        assert_eq!(applied_revision(&write), Some(1));
    }

    #[test]
    fn delete_in_a_group_lets_a_later_create_succeed() {
        let mut index = Index::new();
        let op = Op::Put {
            revision: 1,
            key: "/a".to_owned(),
            value: Bytes::from_static(b"1"),
        };
        assert!(index.apply(op).is_ok());
        let mut planner = Planner::new(&index);
        let delete = Request::Delete {
            key: "/a".into(),
            precondition: Precondition::None,
        };
        assert_eq!(applied_revision(&planner.decide(delete)), Some(2));
        let create = planner.decide(put("/a", b"2", Precondition::Absent));
        assert_eq!(applied_revision(&create), Some(3));
    }

    #[test]
    fn compaction_is_refused_outside_the_retained_history() {
        let index = Index::new();
        let mut planner = Planner::new(&index);
        assert!(matches!(
            planner.decide(Request::Compact { revision: 0 }),
            Decision::Refused {
                error: StoreError::Compacted { .. }
            }
        ));
        assert!(matches!(
            planner.decide(Request::Compact { revision: 1 }),
            Decision::Refused {
                error: StoreError::FutureRevision { .. }
            }
        ));
        assert_eq!(
            applied_revision(&planner.decide(put("/a", b"1", Precondition::None))),
            Some(1)
        );
        assert!(matches!(
            planner.decide(Request::Compact { revision: 1 }),
            Decision::Compact { .. }
        ));
    }
}
