//! The embedded backend: a write-ahead log and snapshots on local disk, and an in-memory MVCC
//! index that serves every read.
//!
//! - `index`: the in-memory history of every key (pure data, no I/O).
//! - `commit`: the decision for a group of writes (preconditions, revisions), no I/O.
//! - `wal` and `snapshot`: the two file formats; `files`: the data directory, recovery and
//!   checkpoints.
//! - `writer`: the one thread that makes writes durable (group commit) and applies them.
//! - `watch`: watchers and their streams.
//!
//! Reads take the index's read lock and are served synchronously. Writes go to the writer thread
//! over a channel and resolve once their group is synced to disk and applied.

mod codec;
mod commit;
mod files;
mod index;
mod snapshot;
mod wal;
mod watch;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::oneshot;

use crate::{
    Precondition, RangeRequest, RangeResponse, Revision, Store, StoreError, WatchStream,
    WriteOutcome,
};
use commit::Request;
use index::Index;
use watch::Registry;
use writer::{Answer, Command, Limits, Writer};

/// Tuning of an [`EmbeddedStore`].
#[derive(Debug, Clone)]
pub struct EmbeddedOptions {
    /// Once the log reaches this many bytes, the writer snapshots the state and starts a new
    /// log. Default 64 MiB.
    pub wal_snapshot_bytes: u64,
    /// How many commit groups a watcher may have buffered before it is ended with
    /// [`StoreError::WatcherLagged`]. Default 1024.
    pub watch_buffer: usize,
    /// The largest value a put accepts, in bytes. Default 16 MiB.
    pub max_value_bytes: usize,
    /// At most this many writes share one sync. Default 4096.
    pub max_group: usize,
}

impl Default for EmbeddedOptions {
    fn default() -> Self {
        Self {
            wal_snapshot_bytes: 64 << 20,
            watch_buffer: 1024,
            max_value_bytes: 16 << 20,
            max_group: 4096,
        }
    }
}

/// The largest key a write accepts, in bytes.
const MAX_KEY_BYTES: usize = 64 << 10;

/// What readers, watchers and the writer share.
#[derive(Default)]
pub(crate) struct Shared {
    index: RwLock<Index>,
    watchers: Arc<Registry>,
    closed: AtomicBool,
}

impl Shared {
    fn read_index(&self) -> RwLockReadGuard<'_, Index> {
        // The index is only mutated by code that does not panic midway; a poisoned lock still
        // holds a consistent index.
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_index(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Closed);
        }
        Ok(())
    }
}

/// The embedded, durable [`Store`] backend.
///
/// Dropping it shuts the writer down like [`EmbeddedStore::close`].
pub struct EmbeddedStore {
    shared: Arc<Shared>,
    commands: mpsc::Sender<Command>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// The data directory's lock, released by [`EmbeddedStore::close`].
    lock: Mutex<Option<std::fs::File>>,
    options: EmbeddedOptions,
    dir: PathBuf,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens the store in `dir` (created if missing) with default options.
    ///
    /// This is synchronous and does blocking file I/O (it replays the log); from async code on a
    /// busy runtime, call it inside `tokio::task::spawn_blocking`.
    ///
    /// The store holds the directory's `LOCK` file locked until it is closed or dropped.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another store (in this or another process) has the directory
    /// open, [`StoreError::Io`] when the directory cannot be read or written,
    /// [`StoreError::Corrupt`] when its files are damaged (other than a torn last log record,
    /// which is dropped).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with(dir, EmbeddedOptions::default())
    }

    /// Opens the store in `dir` with `options`. See [`EmbeddedStore::open`].
    ///
    /// # Errors
    /// As [`EmbeddedStore::open`], and [`StoreError::Io`] when the writer thread cannot start.
    pub fn open_with(dir: &Path, options: EmbeddedOptions) -> Result<Self, StoreError> {
        let lock = files::lock(dir)?;
        let recovered = files::recover(dir)?;
        let shared = Arc::new(Shared {
            index: RwLock::new(recovered.index),
            ..Shared::default()
        });
        let (commands, receiver) = mpsc::channel();
        let writer = Writer {
            shared: Arc::clone(&shared),
            commands: receiver,
            wal: recovered.wal,
            dir: dir.to_path_buf(),
            generation: recovered.generation,
            limits: Limits {
                checkpoint_bytes: options.wal_snapshot_bytes,
                max_group: options.max_group.max(1),
                max_group_bytes: 64 << 20,
            },
        };
        let handle = std::thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || writer.run())
            .map_err(|source| StoreError::Io {
                operation: "starting the writer thread",
                source,
            })?;
        Ok(Self {
            shared,
            commands,
            writer: Mutex::new(Some(handle)),
            lock: Mutex::new(Some(lock)),
            options,
            dir: dir.to_path_buf(),
        })
    }

    /// Stops the writer after the writes already sent to it, ends every watch with
    /// [`StoreError::Closed`], and releases the directory's lock. Later calls fail with
    /// [`StoreError::Closed`]. Idempotent.
    ///
    /// Blocks until the writer thread has exited: at most one commit group (and a checkpoint, if
    /// one was due) away.
    pub fn close(&self) {
        // The writer may already be gone (after a fatal I/O error); then there is nobody to tell.
        let _ = self.commands.send(Command::Shutdown);
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            if handle.join().is_err() {
                tracing::error!("the store's writer thread panicked");
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        self.shared.watchers.close();
        // The writer has exited: nothing touches the directory any more.
        drop(
            self.lock
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
    }

    /// The number of live watchers (for tests and metrics).
    pub fn watcher_count(&self) -> usize {
        self.shared.watchers.len()
    }

    async fn submit(&self, request: Request) -> Result<Answer, StoreError> {
        self.shared.check_open()?;
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Write { request, reply })
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    async fn write(&self, request: Request) -> Result<WriteOutcome, StoreError> {
        match self.submit(request).await? {
            Answer::Write(outcome) => Ok(outcome),
            // The writer answers a put or delete with `Answer::Write`; never reached.
            Answer::Compacted => Err(StoreError::Closed),
        }
    }

    fn check_key(key: &str) -> Result<(), StoreError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(StoreError::TooLarge {
                size: key.len(),
                limit: MAX_KEY_BYTES,
            });
        }
        Ok(())
    }
}

impl Drop for EmbeddedStore {
    fn drop(&mut self) {
        self.close();
    }
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse, StoreError> {
        self.shared.check_open()?;
        self.shared.read_index().range(&request)
    }

    /// Cancel safety: a put whose future is dropped may still apply.
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: Precondition,
    ) -> Result<WriteOutcome, StoreError> {
        Self::check_key(key)?;
        let limit = self.options.max_value_bytes;
        if value.len() > limit {
            return Err(StoreError::TooLarge {
                size: value.len(),
                limit,
            });
        }
        self.write(Request::Put {
            key: key.to_owned(),
            value,
            precondition,
        })
        .await
    }

    /// Cancel safety: a delete whose future is dropped may still apply.
    async fn delete(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> Result<WriteOutcome, StoreError> {
        Self::check_key(key)?;
        self.write(Request::Delete {
            key: key.to_owned(),
            precondition,
        })
        .await
    }

    async fn watch(
        &self,
        start: &str,
        end: &str,
        revision: Revision,
    ) -> Result<WatchStream, StoreError> {
        self.shared.check_open()?;
        // Held until the watcher is registered, so no commit group falls between the replay and
        // the subscription (see `watch`).
        let index = self.shared.read_index();
        if revision > 0 && revision <= index.compacted() {
            return Err(StoreError::Compacted {
                requested: revision,
                compacted: index.compacted(),
            });
        }
        let from = if revision > 0 {
            revision
        } else {
            index.revision() + 1
        };
        let replay = if from <= index.revision() {
            index.events_since(start, end, from)
        } else {
            Vec::new()
        };
        let from = from.max(index.revision() + 1);
        self.shared
            .watchers
            .register(start, end, from, replay, self.options.watch_buffer)
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        match self.submit(Request::Compact { revision }).await? {
            Answer::Compacted => Ok(()),
            // The writer answers a compaction with `Answer::Compacted`; never reached.
            Answer::Write(_) => Err(StoreError::Closed),
        }
    }

    async fn revisions(&self) -> Result<(Revision, Revision), StoreError> {
        self.shared.check_open()?;
        let index = self.shared.read_index();
        Ok((index.revision(), index.compacted()))
    }
}
