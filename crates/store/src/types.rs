//! The values that cross the [`crate::Store`] boundary.

use bytes::Bytes;
use futures::stream::BoxStream;

/// A store revision. Revision 0 means "none" or "current", by context.
pub type Revision = i64;

/// One key at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The stored bytes.
    pub value: Bytes,
    /// The revision at which this key was last created.
    pub create_revision: Revision,
    /// The revision of the write that produced this value.
    pub mod_revision: Revision,
    /// Writes to this key since its creation, 1 for the creating write.
    pub version: i64,
}

/// A read of the keys in `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeRequest {
    /// The first key (inclusive).
    pub start: String,
    /// The end of the range (exclusive). Empty means exactly `start`.
    pub end: String,
    /// At most this many keys; 0 means no limit.
    pub limit: usize,
    /// The revision to read at; 0 means the current revision.
    pub revision: Revision,
    /// Return only the count, no keys.
    pub count_only: bool,
}

impl RangeRequest {
    /// A read of exactly one key at the current revision.
    pub fn key(key: &str) -> Self {
        Self {
            start: key.to_owned(),
            ..Self::default()
        }
    }

    /// A read of every key beginning with `prefix` at the current revision.
    pub fn prefix(prefix: &str) -> Self {
        Self {
            start: prefix.to_owned(),
            end: crate::prefix_end(prefix),
            ..Self::default()
        }
    }
}

/// The answer to a [`RangeRequest`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeResponse {
    /// The keys, in key order (empty when `count_only`).
    pub kvs: Vec<KeyValue>,
    /// Whether keys past the limit remain in the range.
    pub more: bool,
    /// How many keys the whole range holds (ignoring the limit).
    pub count: usize,
    /// The revision the read was served at: the requested revision, or the current one when the
    /// request asked for the current revision.
    pub revision: Revision,
}

/// The condition a write checks before it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Write unconditionally.
    None,
    /// The key must not exist (mod revision 0).
    Absent,
    /// The key must exist with exactly this mod revision.
    ModRevision(Revision),
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The write applied.
    Applied {
        /// The revision the write took.
        revision: Revision,
        /// The key's value before the write, if it existed.
        previous: Option<KeyValue>,
    },
    /// The precondition failed; nothing changed.
    Failed {
        /// The key's value now, if it exists.
        current: Option<KeyValue>,
    },
}

/// What kind of change an [`Event`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A key was created or modified.
    Put,
    /// A key was deleted.
    Delete,
}

/// One change delivered by a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Put or delete.
    pub kind: EventKind,
    /// The key after the change. For a delete: the key, an empty value and the delete's revision as
    /// `mod_revision`.
    pub kv: KeyValue,
    /// The key's value before the change, if it existed.
    pub prev: Option<KeyValue>,
}

/// A watch: batches of events in revision order, ending with an error if the watch breaks (for
/// example [`StoreError::WatcherLagged`] when the watcher fell too far behind, or
/// [`StoreError::Closed`] when the store shut down). Dropping the stream cancels the watch.
pub type WatchStream = BoxStream<'static, Result<Vec<Event>, StoreError>>;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The requested revision was compacted away.
    #[error("required revision {requested} has been compacted (compacted revision {compacted})")]
    Compacted {
        /// The revision asked for.
        requested: Revision,
        /// The oldest revision still held.
        compacted: Revision,
    },
    /// The requested revision is newer than the store's current revision.
    #[error("required revision {requested} is a future revision (current revision {current})")]
    FutureRevision {
        /// The revision asked for.
        requested: Revision,
        /// The current revision.
        current: Revision,
    },
    /// Reading or writing the backend's files failed.
    #[error("store I/O failed during {operation}")]
    Io {
        /// What the store was doing.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The files on disk are not a valid store.
    #[error("store data is corrupt: {detail}")]
    Corrupt {
        /// What was found to be wrong.
        detail: String,
    },
    /// The backend is shut down or its writer has stopped.
    #[error("store is closed")]
    Closed,
    /// A key or value is larger than the backend accepts.
    #[error("request of {size} bytes is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The size of the key or value.
        size: usize,
        /// The largest size accepted.
        limit: usize,
    },
    /// A watcher fell so far behind that its buffer filled up; the watch was ended rather than
    /// stalling every writer. Watching again from `next_revision` resumes without a gap (unless
    /// that revision has been compacted meanwhile).
    #[error("watcher fell behind; resume the watch from revision {next_revision}")]
    WatcherLagged {
        /// The first revision the ended watch did not deliver.
        next_revision: Revision,
    },
    /// Another store (in this or another process) holds the data directory open.
    #[error("store directory {} is in use by another store (its lock file is held)", path.display())]
    Locked {
        /// The lock file.
        path: std::path::PathBuf,
    },
    /// The remote backend (etcd) failed or could not be reached.
    #[error("store backend request failed during {operation}")]
    Backend {
        /// What the store was doing.
        operation: &'static str,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    /// Whether retrying the same request later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            StoreError::Backend { .. } | StoreError::Closed | StoreError::WatcherLagged { .. }
        )
    }
}
