//! The writer thread: group commit.
//!
//! It takes every request pending on its channel as one group, decides them in order
//! ([`Planner`]), appends one log record for the applied ones, syncs once, and only then applies
//! them to the index, publishes their events and answers the callers. A write is therefore never
//! visible before it is durable. When the log has grown past its threshold, or after a
//! compaction, it checkpoints (see [`super::files`]).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{mpsc, Arc};

use tokio::sync::oneshot;

use super::commit::{Decision, Planner, Request};
use super::files;
use super::index::Op;
use super::wal::{encode_record, WalWriter};
use super::Shared;
use crate::{StoreError, WriteOutcome};

/// What a request resolves to.
#[derive(Debug)]
pub(crate) enum Answer {
    /// A put or delete was decided.
    Write(WriteOutcome),
    /// A compaction applied.
    Compacted,
}

/// The reply channel of one request.
pub(crate) type Reply = oneshot::Sender<Result<Answer, StoreError>>;

/// A message to the writer thread.
#[derive(Debug)]
pub(crate) enum Command {
    /// Decide and, if it applies, commit a request.
    Write {
        /// The request.
        request: Request,
        /// Where to send the answer.
        reply: Reply,
    },
    /// Finish the requests received so far, then stop.
    Shutdown,
}

/// Limits and thresholds of the writer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Checkpoint once the log is this long.
    pub(crate) checkpoint_bytes: u64,
    /// At most this many requests per group.
    pub(crate) max_group: usize,
    /// Stop adding requests to a group once their payloads reach this many bytes.
    pub(crate) max_group_bytes: usize,
}

/// The state owned by the writer thread.
pub(crate) struct Writer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) wal: WalWriter,
    pub(crate) dir: PathBuf,
    pub(crate) generation: u64,
    pub(crate) limits: Limits,
}

/// Why the writer must stop.
struct Fatal;

impl Writer {
    /// Runs until shut down, until every sender is gone, or until the log can no longer be
    /// written. Then ends every watch.
    pub(crate) fn run(mut self) {
        let mut checkpoint_at = self.limits.checkpoint_bytes;
        while let Ok(first) = self.commands.recv() {
            let (group, shutdown) = self.gather(first);
            match self.commit(group) {
                Ok(compacted) => {
                    if compacted || self.wal.len() >= checkpoint_at {
                        checkpoint_at = self.checkpoint();
                    }
                }
                Err(Fatal) => break,
            }
            if shutdown {
                break;
            }
        }
        self.shared.closed.store(true, Ordering::Release);
        self.shared.watchers.close();
    }

    /// Collects `first` and whatever else is already pending, up to the group limits.
    fn gather(&self, first: Command) -> (Vec<(Request, Reply)>, bool) {
        let mut group = Vec::new();
        let mut bytes = 0;
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Shutdown => return (group, true),
                Command::Write { request, reply } => {
                    bytes += match &request {
                        Request::Put { key, value, .. } => key.len() + value.len(),
                        Request::Delete { key, .. } => key.len(),
                        Request::Compact { .. } => 0,
                    };
                    group.push((request, reply));
                }
            }
            if group.len() < self.limits.max_group && bytes < self.limits.max_group_bytes {
                next = self.commands.try_recv().ok();
            }
        }
        (group, false)
    }

    /// Commits one group. Returns whether it compacted.
    fn commit(&mut self, group: Vec<(Request, Reply)>) -> Result<bool, Fatal> {
        let mut ops: Vec<Op> = Vec::new();
        let mut answers = Vec::with_capacity(group.len());
        let mut replies = Vec::with_capacity(group.len());
        {
            let index = self.shared.read_index();
            let mut planner = Planner::new(&index);
            for (request, reply) in group {
                replies.push(reply);
                answers.push(match planner.decide(request) {
                    Decision::Write { op, outcome } => {
                        ops.extend(op);
                        Ok(Answer::Write(outcome))
                    }
                    Decision::Compact { op } => {
                        ops.push(op);
                        Ok(Answer::Compacted)
                    }
                    Decision::Refused { error } => Err(error),
                });
            }
        }
        let compacted = ops.iter().any(|op| matches!(op, Op::Compact { .. }));
        if !ops.is_empty() {
            let record = match encode_record(ops.iter()) {
                Ok(record) => record,
                Err(error) => {
                    // Nothing was written: refuse the group and carry on.
                    fail_all(replies, &error);
                    return Ok(false);
                }
            };
            if let Err(source) = self.wal.append(&record) {
                let error = StoreError::Io {
                    operation: "appending to the log",
                    source,
                };
                tracing::error!(%error, "the store's log cannot be written; stopping the writer");
                fail_all(replies, &error);
                return Err(Fatal);
            }
        }
        let mut events = Vec::with_capacity(ops.len());
        {
            let mut index = self.shared.write_index();
            for op in ops {
                match index.apply(op) {
                    Ok(event) => events.extend(event),
                    Err(error) => {
                        // The planner and the index disagree: a bug. Stop before it spreads.
                        tracing::error!(%error, "durable write does not follow the index");
                        drop(index);
                        fail_all(replies, &error);
                        return Err(Fatal);
                    }
                }
            }
        }
        self.shared.watchers.publish(&events);
        for (reply, answer) in replies.into_iter().zip(answers) {
            // A caller that stopped waiting does not undo its write.
            let _ = reply.send(answer);
        }
        Ok(compacted)
    }

    /// Replaces the log with a snapshot. Returns the log length for the next checkpoint.
    fn checkpoint(&mut self) -> u64 {
        let generation = self.generation + 1;
        let result = {
            let index = self.shared.read_index();
            files::checkpoint(&self.dir, &index, generation)
        };
        match result {
            Ok(wal) => {
                self.wal = wal;
                self.generation = generation;
                tracing::debug!(generation, "checkpointed the store");
                self.limits.checkpoint_bytes
            }
            Err(error) => {
                tracing::warn!(%error, "checkpoint failed; continuing with the current log");
                self.wal.len().saturating_add(self.limits.checkpoint_bytes)
            }
        }
    }
}

/// Answers every request of a group with a copy of `error`.
fn fail_all(replies: Vec<Reply>, error: &StoreError) {
    for reply in replies {
        let _ = reply.send(Err(copy_error(error)));
    }
}

/// A copy of a commit error for each caller of the group (I/O errors are not `Clone`).
fn copy_error(error: &StoreError) -> StoreError {
    match error {
        StoreError::Io { operation, source } => StoreError::Io {
            operation,
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        StoreError::Corrupt { detail } => StoreError::Corrupt {
            detail: detail.clone(),
        },
        _ => StoreError::Closed,
    }
}
