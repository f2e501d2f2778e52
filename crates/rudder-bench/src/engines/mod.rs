//! The engine comparison behind the embedded store's design: the same workload on the embedded
//! store (through the `Store` trait), on redb and on SQLite (kine's schema), each reduced to the
//! MVCC operations the benchmark needs.
//!
//! - `embedded`: the `Store` trait seen as an [`Engine`].
//! - `threaded`: one writer thread per database that batches pending writes into one durable
//!   transaction (group commit), or commits each alone; redb and SQLite both serialise writers,
//!   so this is how a store would be built on either.
//! - `redb` and `sqlite`: the two candidates' schemas and transactions.
//! - `workload`: what is measured and how.

mod embedded;
mod redb;
mod sqlite;
mod threaded;
mod workload;

use std::path::Path;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use rudder_store::{Precondition, Revision};

pub use workload::run;

/// One key's newest version.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The key.
    pub key: String,
    /// The revision of the write that made this version.
    pub mod_revision: Revision,
    /// The revision of the write that created the key.
    pub create_revision: Revision,
    /// The value.
    pub value: Bytes,
}

/// The operations a store built on an engine needs, as far as the benchmark uses them.
#[async_trait]
pub trait Engine: Send + Sync + 'static {
    /// Writes `value` under `key` at the next global revision if `precondition` holds; resolves
    /// once the write is durable. `None` when the precondition failed.
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: Precondition,
    ) -> anyhow::Result<Option<Revision>>;

    /// The newest version of `key`.
    async fn get(&self, key: &str) -> anyhow::Result<Option<Entry>>;

    /// The newest version of every key under `prefix`, in key order.
    async fn range(&self, prefix: &str) -> anyhow::Result<Vec<Entry>>;

    /// Drops every version superseded at or below `revision`.
    async fn compact(&self, revision: Revision) -> anyhow::Result<()>;

    /// Gives the space that compaction freed back to the file system, where that is a separate
    /// step (SQLite's `VACUUM`, redb's `compact`). Returns whether there was such a step.
    async fn reclaim(&self) -> anyhow::Result<bool>;

    /// The directory holding the engine's files.
    fn dir(&self) -> &Path;
}

/// Bytes the files directly in `dir` take on disk (allocated blocks, as `du` counts them).
///
/// # Errors
/// When the directory or a file's metadata cannot be read.
pub fn disk_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let metadata = entry?.metadata()?;
        if metadata.is_file() {
            total += metadata.blocks() * 512;
        }
    }
    Ok(total)
}

/// Bytes this process has caused to be written to storage so far (`write_bytes` of
/// `/proc/self/io`: pages dirtied, counted when dirtied).
///
/// # Errors
/// When the file cannot be read or has no such line.
pub fn written_bytes() -> anyhow::Result<u64> {
    let io = std::fs::read_to_string("/proc/self/io").context("reading /proc/self/io")?;
    let line = io
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))
        .context("no write_bytes line in /proc/self/io")?;
    line.trim().parse().context("parsing write_bytes")
}
