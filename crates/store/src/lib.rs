//! The cluster store.
//!
//! [`Store`] is the one contract every backend implements. It has etcd v3's semantics, reduced to
//! what the API server needs:
//!
//! - a single global **revision** that increases by one with every successful write;
//! - per key a `create_revision`, a `mod_revision` and a `version` (writes since creation);
//! - **range** reads over `[start, end)` with a limit, at the current or a past revision;
//! - **conditional writes** ([`Store::put`], [`Store::delete`]) that compare the key's mod revision
//!   (0 meaning "must not exist") and either apply or report the current value;
//! - **watch** of a key range from a revision, delivering every change in revision order, with
//!   the previous value of each changed key;
//! - **compaction**: history before the compacted revision is dropped; reads and watches at an
//!   older revision fail with [`StoreError::Compacted`].
//!
//! The [`conformance`] module states the contract as executable tests that every backend runs.
//! [`embedded::EmbeddedStore`] is the default backend: a write-ahead log with group commit,
//! snapshots, and an in-memory MVCC index. [`etcd::EtcdStore`] speaks to a real etcd v3 cluster.
//! With the `etcd-launcher` feature, `testing::EtcdServer` starts a throwaway etcd for tests and
//! benchmarks.

pub mod conformance;
pub mod embedded;
pub mod etcd;
#[cfg(feature = "etcd-launcher")]
pub mod testing;
mod types;

pub use types::{
    Event, EventKind, KeyValue, Precondition, RangeRequest, RangeResponse, Revision, StoreError,
    WatchStream, WriteOutcome,
};

use async_trait::async_trait;
use bytes::Bytes;

/// A key-value store with etcd's MVCC semantics.
///
/// # Contract
/// - Every successful write (put or delete) takes the next revision; a failed precondition takes
///   none. Revisions start at 1 for the first write; an empty store is at revision 0.
/// - A write is acknowledged (its future resolves `Ok`) only once it is durable: after a crash
///   every acknowledged write is present, and no write that returned an error is.
/// - Reads see every write acknowledged before they started (linearizable on one node).
/// - A watch started at revision `r` delivers every event with revision `>= r` exactly once, in
///   revision order, then follows live writes; it fails with [`StoreError::Compacted`] if `r` is
///   at or below the compacted revision and the history is gone.
/// - Deleting a key ends its life: a later put creates it anew (new `create_revision`, `version` 1).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Reads a range of keys.
    ///
    /// # Errors
    /// [`StoreError::Compacted`] when `request.revision` is older than the compacted revision,
    /// [`StoreError::FutureRevision`] when it is newer than the current one.
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse, StoreError>;

    /// Writes `value` under `key` if `precondition` holds.
    ///
    /// # Errors
    /// Only on a backend failure; a failed precondition is [`WriteOutcome::Failed`].
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: Precondition,
    ) -> Result<WriteOutcome, StoreError>;

    /// Deletes `key` if `precondition` holds. Deleting a missing key fails the precondition
    /// (`Failed { current: None }`).
    ///
    /// # Errors
    /// Only on a backend failure.
    async fn delete(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> Result<WriteOutcome, StoreError>;

    /// Watches keys in `[start, end)` from `revision` (0 means "from the next write").
    ///
    /// # Errors
    /// [`StoreError::Compacted`] when `revision` is at or below the compacted revision.
    async fn watch(
        &self,
        start: &str,
        end: &str,
        revision: Revision,
    ) -> Result<WatchStream, StoreError>;

    /// Drops history older than `revision`: afterwards only the newest version of each live key
    /// at or below `revision` is kept.
    ///
    /// # Errors
    /// [`StoreError::Compacted`] when `revision` is not above the last compaction,
    /// [`StoreError::FutureRevision`] when it is above the current revision.
    async fn compact(&self, revision: Revision) -> Result<(), StoreError>;

    /// The current revision and the compacted revision, in that order.
    ///
    /// # Errors
    /// Only on a backend failure.
    async fn revisions(&self) -> Result<(Revision, Revision), StoreError>;
}

/// The end of the range holding every key that starts with `prefix` (etcd's "prefix end").
pub fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            // Keys are ASCII (Kubernetes names and paths), so this stays valid UTF-8.
            return String::from_utf8(bytes).unwrap_or_default();
        }
    }
    // No upper bound: the whole key space.
    String::from("\u{7f}")
}
