//! The in-memory MVCC index: every key's versions since the compacted revision.
//!
//! This is pure data and logic, no I/O: the writer thread applies durable [`Op`]s to it, readers
//! query it under a read lock, recovery rebuilds it from a snapshot and the log.

use std::collections::BTreeMap;
use std::ops::Bound;

use bytes::Bytes;

use crate::{Event, EventKind, KeyValue, RangeRequest, RangeResponse, Revision, StoreError};

/// One version of a key. A tombstone (`value: None`) records a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Version {
    /// The revision of the write that produced this version.
    pub(crate) mod_revision: Revision,
    /// The revision that created the key's current life (0 for a tombstone).
    pub(crate) create_revision: Revision,
    /// Writes since creation, 1 for the creating write (0 for a tombstone).
    pub(crate) version: i64,
    /// The value, or `None` for a delete.
    pub(crate) value: Option<Bytes>,
}

impl Version {
    fn to_key_value(&self, key: &str) -> Option<KeyValue> {
        let value = self.value.clone()?;
        Some(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: self.create_revision,
            mod_revision: self.mod_revision,
            version: self.version,
        })
    }
}

/// A durable change, as written to the log and applied to the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Op {
    /// `key` takes `value` at `revision`.
    Put {
        /// The revision the write takes.
        revision: Revision,
        /// The key.
        key: String,
        /// The new value.
        value: Bytes,
    },
    /// `key` is deleted at `revision`.
    Delete {
        /// The revision the delete takes.
        revision: Revision,
        /// The key.
        key: String,
    },
    /// History before `revision` is dropped. Takes no revision of its own.
    Compact {
        /// The new compacted revision.
        revision: Revision,
    },
}

/// The `(create_revision, version)` a put at `revision` gives a key whose live value is `previous`.
pub(crate) fn next_life(previous: Option<&KeyValue>, revision: Revision) -> (Revision, i64) {
    match previous {
        Some(kv) => (kv.create_revision, kv.version + 1),
        None => (revision, 1),
    }
}

/// Whether `key` lies in `[start, end)`, where an empty `end` means exactly `start`.
pub(crate) fn in_range(key: &str, start: &str, end: &str) -> bool {
    if end.is_empty() {
        key == start
    } else {
        key >= start && key < end
    }
}

/// Every key's history, the current revision and the compacted revision.
#[derive(Debug, Default)]
pub(crate) struct Index {
    keys: BTreeMap<String, Vec<Version>>,
    revision: Revision,
    compacted: Revision,
}

impl Index {
    /// An empty index at revision 0.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Rebuilds an index from a snapshot's parts.
    pub(crate) fn from_parts(
        keys: BTreeMap<String, Vec<Version>>,
        revision: Revision,
        compacted: Revision,
    ) -> Self {
        Self {
            keys,
            revision,
            compacted,
        }
    }

    /// The current revision.
    pub(crate) fn revision(&self) -> Revision {
        self.revision
    }

    /// The compacted revision.
    pub(crate) fn compacted(&self) -> Revision {
        self.compacted
    }

    /// Every key with its retained versions, in key order.
    pub(crate) fn histories(&self) -> impl ExactSizeIterator<Item = (&String, &Vec<Version>)> {
        self.keys.iter()
    }

    /// The live value of `key` at the current revision.
    pub(crate) fn current(&self, key: &str) -> Option<KeyValue> {
        self.keys.get(key)?.last()?.to_key_value(key)
    }

    fn keys_in(&self, start: &str, end: &str) -> impl Iterator<Item = (&String, &Vec<Version>)> {
        let upper = if end.is_empty() {
            Bound::Included(start)
        } else {
            Bound::Excluded(end)
        };
        let empty = !end.is_empty() && end <= start;
        let range = if empty {
            None
        } else {
            Some(self.keys.range::<str, _>((Bound::Included(start), upper)))
        };
        range.into_iter().flatten()
    }

    /// Checks that `requested` (0 or less: the current revision) can be read, and resolves it.
    ///
    /// # Errors
    /// [`StoreError::Compacted`] below the compacted revision, [`StoreError::FutureRevision`]
    /// above the current one.
    pub(crate) fn readable(&self, requested: Revision) -> Result<Revision, StoreError> {
        if requested <= 0 {
            return Ok(self.revision);
        }
        if requested < self.compacted {
            return Err(StoreError::Compacted {
                requested,
                compacted: self.compacted,
            });
        }
        if requested > self.revision {
            return Err(StoreError::FutureRevision {
                requested,
                current: self.revision,
            });
        }
        Ok(requested)
    }

    /// Serves a range read.
    ///
    /// # Errors
    /// As [`Index::readable`].
    pub(crate) fn range(&self, request: &RangeRequest) -> Result<RangeResponse, StoreError> {
        let at = self.readable(request.revision)?;
        let mut response = RangeResponse {
            revision: at,
            ..RangeResponse::default()
        };
        for (key, versions) in self.keys_in(&request.start, &request.end) {
            let newest = versions.partition_point(|v| v.mod_revision <= at);
            let Some(version) = newest.checked_sub(1).and_then(|i| versions.get(i)) else {
                continue;
            };
            if version.value.is_none() {
                continue;
            }
            response.count += 1;
            if request.count_only {
                continue;
            }
            if request.limit == 0 || response.kvs.len() < request.limit {
                response.kvs.extend(version.to_key_value(key));
            } else {
                response.more = true;
            }
        }
        Ok(response)
    }

    /// Every retained change to keys in `[start, end)` with revision `>= from`, in revision order.
    pub(crate) fn events_since(&self, start: &str, end: &str, from: Revision) -> Vec<Event> {
        let mut events = Vec::new();
        for (key, versions) in self.keys_in(start, end) {
            let first = versions.partition_point(|v| v.mod_revision < from);
            for i in first..versions.len() {
                let previous = i.checked_sub(1).and_then(|p| versions.get(p));
                events.push(event(key, &versions[i], previous));
            }
        }
        events.sort_by_key(|e| e.kv.mod_revision);
        events
    }

    /// Applies a durable op, returning the event it produced (none for a compaction).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] when the op does not follow the index (a revision gap, or a
    /// compaction beyond the current revision): the log does not match the state it extends.
    pub(crate) fn apply(&mut self, op: Op) -> Result<Option<Event>, StoreError> {
        match op {
            Op::Put {
                revision,
                key,
                value,
            } => {
                self.expect_next(revision)?;
                let previous = self.current(&key);
                let (create_revision, version) = next_life(previous.as_ref(), revision);
                let new = Version {
                    mod_revision: revision,
                    create_revision,
                    version,
                    value: Some(value),
                };
                Ok(Some(self.push(key, new)))
            }
            Op::Delete { revision, key } => {
                self.expect_next(revision)?;
                let tombstone = Version {
                    mod_revision: revision,
                    create_revision: 0,
                    version: 0,
                    value: None,
                };
                Ok(Some(self.push(key, tombstone)))
            }
            Op::Compact { revision } => {
                if revision > self.revision {
                    return Err(StoreError::Corrupt {
                        detail: format!(
                            "compaction to {revision} beyond current revision {}",
                            self.revision
                        ),
                    });
                }
                self.compact(revision);
                Ok(None)
            }
        }
    }

    fn expect_next(&self, revision: Revision) -> Result<(), StoreError> {
        if revision == self.revision + 1 {
            return Ok(());
        }
        Err(StoreError::Corrupt {
            detail: format!(
                "write at revision {revision} follows revision {}",
                self.revision
            ),
        })
    }

    fn push(&mut self, key: String, new: Version) -> Event {
        self.revision = new.mod_revision;
        let event = event(&key, &new, self.keys.get(&key).and_then(|v| v.last()));
        self.keys.entry(key).or_default().push(new);
        event
    }

    /// Drops every version older than `revision` except the newest one at or below it, and keys
    /// whose newest version at or below `revision` is a delete.
    fn compact(&mut self, revision: Revision) {
        self.compacted = self.compacted.max(revision);
        self.keys.retain(|_, versions| {
            let at_or_below = versions.partition_point(|v| v.mod_revision <= revision);
            let keep_from = match at_or_below.checked_sub(1).and_then(|i| versions.get(i)) {
                Some(newest) if newest.value.is_some() => at_or_below - 1,
                _ => at_or_below,
            };
            if keep_from > 0 {
                versions.drain(..keep_from);
                if versions.capacity() > 2 * versions.len() {
                    versions.shrink_to_fit();
                }
            }
            !versions.is_empty()
        });
    }
}

/// The event for `version` of `key`, given the version before it.
fn event(key: &str, version: &Version, previous: Option<&Version>) -> Event {
    let prev = previous.and_then(|p| p.to_key_value(key));
    match version.to_key_value(key) {
        Some(kv) => Event {
            kind: EventKind::Put,
            kv,
            prev,
        },
        None => Event {
            kind: EventKind::Delete,
            kv: KeyValue {
                key: key.to_owned(),
                value: Bytes::new(),
                create_revision: 0,
                mod_revision: version.mod_revision,
                version: 0,
            },
            prev,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index_of(ops: Vec<Op>) -> Index {
        let mut index = Index::new();
        for op in ops {
            assert!(index.apply(op).is_ok());
        }
        index
    }

    fn put(revision: Revision, key: &str) -> Op {
        let value = Bytes::copy_from_slice(format!("{key}@{revision}").as_bytes());
        Op::Put {
            revision,
            key: key.to_owned(),
            value,
        }
    }

    fn delete(revision: Revision, key: &str) -> Op {
        Op::Delete {
            revision,
            key: key.to_owned(),
        }
    }

    fn retained(index: &Index) -> Vec<(String, Vec<Revision>)> {
        let histories = index.histories();
        histories
            .map(|(k, v)| (k.clone(), v.iter().map(|v| v.mod_revision).collect()))
            .collect()
    }

    #[test]
    fn compaction_keeps_the_newest_version_at_or_below_and_everything_after() {
        let mut index = index_of(vec![put(1, "/a"), put(2, "/a"), put(3, "/a"), put(4, "/b")]);
        assert!(index.apply(Op::Compact { revision: 2 }).is_ok());
        assert_eq!(
            retained(&index),
            [("/a".into(), vec![2, 3]), ("/b".into(), vec![4])]
        );
        assert_eq!(index.compacted(), 2);
    }

    #[test]
    fn compaction_drops_keys_deleted_at_or_below_it() {
        let ops = vec![
            put(1, "/a"),
            delete(2, "/a"),
            put(3, "/b"),
            delete(4, "/b"),
            put(5, "/b"),
        ];
        let mut index = index_of(ops);
        assert!(index.apply(Op::Compact { revision: 4 }).is_ok());
        assert_eq!(retained(&index), [("/b".into(), vec![5])]);
        let at_four = RangeRequest {
            revision: 4,
            ..RangeRequest::prefix("/")
        };
        assert_eq!(index.range(&at_four).map(|r| r.count).ok(), Some(0));
    }

    #[test]
    fn a_write_that_skips_a_revision_is_corruption() {
        let mut index = index_of(vec![put(1, "/a")]);
        assert!(matches!(
            index.apply(put(3, "/a")),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(matches!(
            index.apply(Op::Compact { revision: 2 }),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn events_since_interleave_keys_in_revision_order() {
        let index = index_of(vec![
            put(1, "/b"),
            put(2, "/a"),
            delete(3, "/b"),
            put(4, "/a"),
        ]);
        let events = index.events_since("/", "0", 2);
        let revisions: Vec<Revision> = events.iter().map(|e| e.kv.mod_revision).collect();
        assert_eq!(revisions, [2, 3, 4]);
        assert_eq!(events[1].kind, EventKind::Delete);
        assert_eq!(events[1].prev.as_ref().map(|p| p.mod_revision), Some(1));
    }

    #[test]
    fn a_range_whose_end_precedes_its_start_is_empty() {
        let index = index_of(vec![put(1, "/a"), put(2, "/b")]);
        let backwards = RangeRequest {
            start: "/b".into(),
            end: "/a".into(),
            ..Default::default()
        };
        assert_eq!(index.range(&backwards).map(|r| r.count).ok(), Some(0));
    }
}
