//! The embedded store as an [`Engine`], through the `Store` trait as the API server uses it.

use std::path::Path;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use rudder_store::embedded::EmbeddedStore;
use rudder_store::{KeyValue, Precondition, RangeRequest, Revision, Store, WriteOutcome};
use tempfile::TempDir;

use super::{Engine, Entry};

/// An embedded store in a temporary directory, removed when dropped.
pub struct Embedded {
    store: EmbeddedStore,
    dir: TempDir,
}

impl Embedded {
    /// Opens a fresh store in a new temporary directory.
    ///
    /// # Errors
    /// When the directory or the store cannot be made.
    pub fn open() -> anyhow::Result<Self> {
        let dir = super::threaded::temp_dir("embedded")?;
        let store = EmbeddedStore::open(dir.path()).context("opening the embedded store")?;
        Ok(Self { store, dir })
    }
}

fn entry(kv: KeyValue) -> Entry {
    Entry {
        key: kv.key,
        mod_revision: kv.mod_revision,
        create_revision: kv.create_revision,
        value: kv.value,
    }
}

#[async_trait]
impl Engine for Embedded {
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: Precondition,
    ) -> anyhow::Result<Option<Revision>> {
        Ok(match self.store.put(key, value, precondition).await? {
            WriteOutcome::Applied { revision, .. } => Some(revision),
            WriteOutcome::Failed { .. } => None,
        })
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Entry>> {
        let response = self.store.range(RangeRequest::key(key)).await?;
        Ok(response.kvs.into_iter().next().map(entry))
    }

    async fn range(&self, prefix: &str) -> anyhow::Result<Vec<Entry>> {
        let response = self.store.range(RangeRequest::prefix(prefix)).await?;
        Ok(response.kvs.into_iter().map(entry).collect())
    }

    async fn compact(&self, revision: Revision) -> anyhow::Result<()> {
        // The writer snapshots right after a compaction, before it takes the next write.
        Ok(self.store.compact(revision).await?)
    }

    async fn reclaim(&self) -> anyhow::Result<bool> {
        // The snapshot after a compaction already replaced the log: nothing is left to give back.
        Ok(false)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }
}
