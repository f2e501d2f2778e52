//! A store on an engine that serialises writers (redb, SQLite): one writer thread owns the write
//! side, takes every pending put, applies them in order in one transaction and commits it
//! durably (group commit, as the embedded store's writer does), then answers each caller.
//! Readers use the engine's own concurrent read transactions on the callers' threads.
//!
//! With a batch limit of 1 every put is its own transaction, as kine commits them.

use std::path::Path;
use std::sync::{mpsc, Mutex, PoisonError};
use std::thread::JoinHandle;

use anyhow::Context;
use async_trait::async_trait;
use bytes::Bytes;
use rudder_store::{Precondition, Revision};
use tempfile::TempDir;
use tokio::sync::oneshot;

use super::{Engine, Entry};

/// One put, as the writer thread gets it.
#[derive(Debug)]
pub struct Put {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Bytes,
    /// What must hold for the put to apply.
    pub precondition: Precondition,
}

/// The write side of an engine, owned by the writer thread.
pub trait Writes: Send + 'static {
    /// Applies `puts` in order in one transaction (later puts see earlier ones) and commits it
    /// durably. Each put's new revision, or `None` when its precondition failed.
    ///
    /// # Errors
    /// When the transaction fails; then none of the puts applied.
    fn commit(&mut self, puts: &[Put]) -> anyhow::Result<Vec<Option<Revision>>>;

    /// Drops every version superseded at or below `revision`.
    ///
    /// # Errors
    /// When the transaction fails.
    fn compact(&mut self, revision: Revision) -> anyhow::Result<()>;

    /// Shrinks the files to what compaction left.
    ///
    /// # Errors
    /// When the engine fails to.
    fn reclaim(&mut self) -> anyhow::Result<()>;
}

/// The read side of an engine, shared by every caller.
pub trait Reads: Send + Sync + 'static {
    /// The newest version of `key`.
    ///
    /// # Errors
    /// When the read fails.
    fn get(&self, key: &str) -> anyhow::Result<Option<Entry>>;

    /// The newest version of every key under `prefix`, in key order.
    ///
    /// # Errors
    /// When the read fails.
    fn range(&self, prefix: &str) -> anyhow::Result<Vec<Entry>>;
}

type Reply<T> = oneshot::Sender<anyhow::Result<T>>;

enum Command {
    Put(Put, Reply<Option<Revision>>),
    Compact(Revision, Reply<()>),
    Reclaim(Reply<()>),
}

/// An engine behind a writer thread, in a temporary directory removed when dropped.
pub struct Threaded<R> {
    commands: Option<mpsc::Sender<Command>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    reads: R,
    dir: TempDir,
}

/// A new temporary directory for one engine's files.
///
/// # Errors
/// When it cannot be made.
pub fn temp_dir(engine: &str) -> anyhow::Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("rudder-bench-{engine}-"))
        .tempdir()
        .context("creating the engine's directory")
}

impl<R: Reads> Threaded<R> {
    /// Starts the writer thread over `writes`; at most `batch` puts share a transaction.
    ///
    /// # Errors
    /// When the thread cannot start.
    pub fn start<W: Writes>(
        writes: W,
        reads: R,
        dir: TempDir,
        batch: usize,
    ) -> anyhow::Result<Self> {
        let (commands, receiver) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("engine-writer".to_owned())
            .spawn(move || write_loop(writes, &receiver, batch.max(1)))
            .context("starting the writer thread")?;
        Ok(Self {
            commands: Some(commands),
            writer: Mutex::new(Some(writer)),
            reads,
            dir,
        })
    }

    async fn ask<T>(&self, command: impl FnOnce(Reply<T>) -> Command) -> anyhow::Result<T> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .as_ref()
            .context("the engine is closed")?
            .send(command(reply))
            .ok()
            .context("the writer thread has stopped")?;
        answer.await.context("the writer thread has stopped")?
    }
}

impl<R> Drop for Threaded<R> {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop; wait for it before the directory goes.
        self.commands = None;
        let writer = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }
}

fn write_loop<W: Writes>(mut writes: W, commands: &mpsc::Receiver<Command>, batch: usize) {
    let mut next = commands.recv().ok();
    while let Some(command) = next.take() {
        match command {
            Command::Put(put, reply) => {
                let mut puts = vec![put];
                let mut replies = vec![reply];
                while puts.len() < batch {
                    match commands.try_recv() {
                        Ok(Command::Put(put, reply)) => {
                            puts.push(put);
                            replies.push(reply);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                answer_all(replies, writes.commit(&puts));
            }
            Command::Compact(revision, reply) => {
                let _ = reply.send(writes.compact(revision));
            }
            Command::Reclaim(reply) => {
                let _ = reply.send(writes.reclaim());
            }
        }
        if next.is_none() {
            next = commands.recv().ok();
        }
    }
}

fn answer_all(
    replies: Vec<Reply<Option<Revision>>>,
    outcome: anyhow::Result<Vec<Option<Revision>>>,
) {
    match outcome {
        Ok(revisions) => {
            for (reply, revision) in replies.into_iter().zip(revisions) {
                let _ = reply.send(Ok(revision));
            }
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(anyhow::anyhow!("the commit failed: {error:#}")));
            }
        }
    }
}

#[async_trait]
impl<R: Reads> Engine for Threaded<R> {
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: Precondition,
    ) -> anyhow::Result<Option<Revision>> {
        let put = Put {
            key: key.to_owned(),
            value,
            precondition,
        };
        self.ask(|reply| Command::Put(put, reply)).await
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Entry>> {
        self.reads.get(key)
    }

    async fn range(&self, prefix: &str) -> anyhow::Result<Vec<Entry>> {
        self.reads.range(prefix)
    }

    async fn compact(&self, revision: Revision) -> anyhow::Result<()> {
        self.ask(|reply| Command::Compact(revision, reply)).await
    }

    async fn reclaim(&self) -> anyhow::Result<bool> {
        self.ask(Command::Reclaim).await.map(|()| true)
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Whether `current` (the key's newest mod revision, `None` when absent) satisfies
/// `precondition`.
pub fn holds(precondition: Precondition, current: Option<Revision>) -> bool {
    match precondition {
        Precondition::None => true,
        Precondition::Absent => current.is_none(),
        Precondition::ModRevision(revision) => current == Some(revision),
    }
}
