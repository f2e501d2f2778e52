//! The data directory: which files exist, recovery on open, and the checkpoint that replaces the
//! log with a snapshot.
//!
//! Files carry a generation number `g`: `snapshot-g.snap` is the state when `wal-g.log` was
//! started, and `wal-g.log` holds the writes after it (`wal-0.log` starts from the empty store).
//! A checkpoint writes `snapshot.tmp`, syncs it, renames it to `snapshot-(g+1).snap`, syncs the
//! directory, creates `wal-(g+1).log`, syncs the directory, and only then removes older files.
//! Recovery loads the newest snapshot and replays every log in generation order, skipping what
//! the snapshot already holds, so a crash between any two of those steps loses nothing.
//!
//! `LOCK` is held with an exclusive advisory lock (`flock`) for as long as a store has the
//! directory open, so a second store, in this process or another, refuses to open it. The
//! kernel releases the lock when the holder exits, however it exits.

use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};

use super::index::{Index, Op};
use super::snapshot::{self, sync_dir};
use super::wal::{self, WalWriter};
use crate::StoreError;

const TMP_SNAPSHOT: &str = "snapshot.tmp";
const LOCK: &str = "LOCK";

fn snapshot_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("snapshot-{generation:020}.snap"))
}

fn wal_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("wal-{generation:020}.log"))
}

fn io_error(operation: &'static str) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { operation, source }
}

/// Creates `dir` if missing and takes its lock; the lock lasts as long as the returned file.
///
/// # Errors
/// [`StoreError::Locked`] when another store holds it, [`StoreError::Io`] when the directory or
/// the lock file cannot be created or locked.
pub(crate) fn lock(dir: &Path) -> Result<File, StoreError> {
    fs::create_dir_all(dir).map_err(io_error("creating the data directory"))?;
    let path = dir.join(LOCK);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_error("opening the lock file"))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
        Err(TryLockError::Error(source)) => Err(StoreError::Io {
            operation: "locking the data directory",
            source,
        }),
    }
}

/// The snapshot and log files present, each sorted by generation.
#[derive(Debug, Default)]
struct Listing {
    snapshots: Vec<(u64, PathBuf)>,
    wals: Vec<(u64, PathBuf)>,
}

fn list(dir: &Path) -> Result<Listing, StoreError> {
    let mut listing = Listing::default();
    for entry in fs::read_dir(dir).map_err(io_error("listing the data directory"))? {
        let path = entry
            .map_err(io_error("listing the data directory"))?
            .path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let parse = |prefix: &str, suffix: &str| {
            name.strip_prefix(prefix)?
                .strip_suffix(suffix)?
                .parse::<u64>()
                .ok()
        };
        if let Some(generation) = parse("snapshot-", ".snap") {
            listing.snapshots.push((generation, path));
        } else if let Some(generation) = parse("wal-", ".log") {
            listing.wals.push((generation, path));
        }
    }
    listing.snapshots.sort();
    listing.wals.sort();
    Ok(listing)
}

/// The state found on disk, and the log to append to.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The rebuilt index.
    pub(crate) index: Index,
    /// The log the writer continues.
    pub(crate) wal: WalWriter,
    /// The newest generation in use; the next checkpoint takes the one after.
    pub(crate) generation: u64,
}

/// Opens (creating if needed) the data directory and rebuilds the index from it.
///
/// More than one log means a checkpoint was interrupted (or failed and the writer kept its old
/// log): after replaying them all, recovery checkpoints afresh so exactly one log remains.
///
/// # Errors
/// [`StoreError::Io`] when the files cannot be read or written, [`StoreError::Corrupt`] when they
/// do not form a valid store.
pub(crate) fn recover(dir: &Path) -> Result<Recovered, StoreError> {
    fs::create_dir_all(dir).map_err(io_error("creating the data directory"))?;
    let listing = list(dir)?;
    let (snapshot_generation, mut index) = match listing.snapshots.last() {
        Some((generation, path)) => (*generation, snapshot::read(path)?),
        None => (0, Index::new()),
    };
    // Only the last log with records in it can end in a torn record.
    let mut last_written = None;
    for (position, (_, path)) in listing.wals.iter().enumerate() {
        let len = fs::metadata(path)
            .map_err(io_error("reading the log"))?
            .len();
        if len > 0 {
            last_written = Some(position);
        }
    }
    let mut valid_len = 0;
    for (position, (_, path)) in listing.wals.iter().enumerate() {
        let buf = fs::read(path).map_err(io_error("reading the log"))?;
        let scan = wal::scan(&buf, path)?;
        if scan.torn && Some(position) != last_written {
            return Err(StoreError::Corrupt {
                detail: format!(
                    "{}: torn record in a log followed by another",
                    path.display()
                ),
            });
        }
        if scan.torn {
            tracing::warn!(
                log = %path.display(),
                kept_bytes = scan.valid_len,
                dropped_bytes = buf.len() - scan.valid_len,
                "dropping a torn record at the end of the log (never acknowledged)"
            );
        }
        for op in scan.ops {
            replay(&mut index, op)?;
        }
        valid_len = scan.valid_len as u64;
    }
    let newest = listing.wals.last().map_or(0, |(generation, _)| *generation);
    let generation = newest.max(snapshot_generation);
    let wal = match listing.wals.as_slice() {
        [(_, path)] => {
            WalWriter::open(path.clone(), valid_len).map_err(io_error("opening the log"))?
        }
        [] => {
            let wal = WalWriter::create(wal_path(dir, snapshot_generation))
                .map_err(io_error("creating the log"))?;
            sync_dir(dir).map_err(io_error("syncing the data directory"))?;
            wal
        }
        _ => {
            let wal = checkpoint(dir, &index, generation + 1)?;
            return Ok(Recovered {
                index,
                wal,
                generation: generation + 1,
            });
        }
    };
    if let Err(error) = remove_superseded(dir, wal.path()) {
        tracing::warn!(%error, "could not remove superseded store files");
    }
    Ok(Recovered {
        index,
        wal,
        generation,
    })
}

/// Applies a logged op unless the snapshot already holds it.
fn replay(index: &mut Index, op: Op) -> Result<(), StoreError> {
    let held = match &op {
        Op::Put { revision, .. } | Op::Delete { revision, .. } => *revision <= index.revision(),
        Op::Compact { revision } => *revision <= index.compacted(),
    };
    if !held {
        index.apply(op)?;
    }
    Ok(())
}

/// Removes every log but `active`, every snapshot but the newest, and a leftover temporary
/// snapshot. Safe once the newest snapshot and `active` hold the whole state.
fn remove_superseded(dir: &Path, active: &Path) -> Result<(), StoreError> {
    let listing = list(dir)?;
    let newest_snapshot = listing.snapshots.last().map(|(_, path)| path.clone());
    let stale_wals = listing
        .wals
        .into_iter()
        .map(|(_, path)| path)
        .filter(|p| p != active);
    let stale_snapshots = listing
        .snapshots
        .into_iter()
        .map(|(_, path)| path)
        .filter(|p| Some(p) != newest_snapshot.as_ref());
    let tmp = dir.join(TMP_SNAPSHOT);
    let leftovers = tmp.exists().then_some(tmp);
    let mut removed = false;
    for path in stale_wals.chain(stale_snapshots).chain(leftovers) {
        fs::remove_file(&path).map_err(io_error("removing a superseded file"))?;
        removed = true;
    }
    if removed {
        sync_dir(dir).map_err(io_error("syncing the data directory"))?;
    }
    Ok(())
}

/// Writes a snapshot of `index` as generation `generation` and starts that generation's log.
/// Older files are removed only once both are durable.
///
/// # Errors
/// [`StoreError::Io`] at any step. The caller then keeps appending to its current log, which
/// remains correct: recovery replays it on top of whichever snapshot is newest.
pub(crate) fn checkpoint(
    dir: &Path,
    index: &Index,
    generation: u64,
) -> Result<WalWriter, StoreError> {
    let tmp = dir.join(TMP_SNAPSHOT);
    snapshot::write(&tmp, index)?;
    fs::rename(&tmp, snapshot_path(dir, generation)).map_err(io_error("renaming a snapshot"))?;
    sync_dir(dir).map_err(io_error("syncing the data directory"))?;
    let wal = WalWriter::create(wal_path(dir, generation)).map_err(io_error("creating the log"))?;
    sync_dir(dir).map_err(io_error("syncing the data directory"))?;
    // The new log is in place; from here on a failure only leaves stale files behind, which the
    // next checkpoint or recovery removes.
    if let Err(error) = remove_superseded(dir, wal.path()) {
        tracing::warn!(%error, "could not remove superseded store files");
    }
    Ok(wal)
}
