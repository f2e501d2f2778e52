//! What the engine comparison measures, the same way on every candidate:
//!
//! - **creates**: 1 KiB values under new keys at 1, 16 and 64 concurrent writers, durable at
//!   acknowledgement (the store figures' workload);
//! - **history**: 10,000 keys created and then each updated 10 times with a compare-and-put on
//!   its mod revision (110,000 writes from 64 writers), then point reads at 1 and 16 readers,
//!   ranges over the 6,000 keys of one prefix, the size on disk, a compaction to the current
//!   revision, the size after it, the separate space-reclaiming step where the engine has one,
//!   and the ranges again.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bytes::Bytes;
use rudder_store::{Precondition, Revision};

use super::{disk_bytes, embedded::Embedded, redb, sqlite, written_bytes, Engine, Entry};
use crate::api::spread;
use crate::report::{Disk, Report, Run, Stats};
use crate::store::{concurrently, WRITES};

/// How much each figure measures.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Creates per writer level.
    writes: usize,
    /// Keys of the history workload.
    keys: usize,
    /// Of those, the keys under the ranged prefix.
    listed: usize,
    /// Updates of every key after its create.
    updates: usize,
    /// Point reads per reader level.
    gets: usize,
    /// Ranges measured, before and after compaction.
    ranges: usize,
}

impl Plan {
    const FULL: Plan = Plan {
        writes: WRITES,
        keys: 10_000,
        listed: 6_000,
        updates: 10,
        gets: 20_000,
        ranges: 10,
    };

    /// A tenth of everything but the updates per key: a smoke test, not figures to publish.
    fn quick() -> Plan {
        let p = Self::FULL;
        Plan {
            writes: p.writes / 10,
            keys: p.keys / 10,
            listed: p.listed / 10,
            updates: p.updates,
            gets: p.gets / 10,
            ranges: 3,
        }
    }
}

/// Writers of the history workload.
const LOADERS: usize = 64;
/// Reader levels of the point reads.
const READERS: [usize; 2] = [1, 16];
/// At most this many writes share a commit on a grouping candidate (the embedded store's own
/// default group limit).
const GROUP: usize = 4096;
/// The ranged prefix.
const LISTED: &str = "/registry/configmaps/listed/";

#[derive(Debug, Clone, Copy)]
enum Candidate {
    Embedded,
    Redb { batch: usize },
    Sqlite { batch: usize },
}

/// Every candidate, in report order. The one-transaction-per-write variants share their file
/// format with the grouped ones, so only the grouped ones run the history workload (which would
/// otherwise take 110,000 syncs).
const CANDIDATES: [Candidate; 5] = [
    Candidate::Embedded,
    Candidate::Redb { batch: GROUP },
    Candidate::Sqlite { batch: GROUP },
    Candidate::Redb { batch: 1 },
    Candidate::Sqlite { batch: 1 },
];

impl Candidate {
    fn label(self) -> &'static str {
        match self {
            Candidate::Embedded => "embedded (WAL + memory index)",
            Candidate::Redb { batch: 1 } => "redb, commit per write",
            Candidate::Redb { .. } => "redb, group commit",
            Candidate::Sqlite { batch: 1 } => "SQLite/kine, commit per write",
            Candidate::Sqlite { .. } => "SQLite/kine, group commit",
        }
    }

    fn open(self) -> anyhow::Result<Arc<dyn Engine>> {
        Ok(match self {
            Candidate::Embedded => Arc::new(Embedded::open()?),
            Candidate::Redb { batch } => Arc::new(redb::open(batch)?),
            Candidate::Sqlite { batch } => Arc::new(sqlite::open(batch)?),
        })
    }

    fn groups(self) -> bool {
        match self {
            Candidate::Embedded => true,
            Candidate::Redb { batch } | Candidate::Sqlite { batch } => batch > 1,
        }
    }
}

/// Runs every candidate: creates at each of `levels` writers, then (grouping candidates) the
/// history workload, into `report`. `quick` measures a tenth.
///
/// # Errors
/// When an engine cannot be opened, an operation fails or a read returns the wrong data.
pub async fn run(levels: &[usize], quick: bool, report: &mut Report) -> anyhow::Result<()> {
    let plan = if quick { Plan::quick() } else { Plan::FULL };
    // Level by level, every candidate in turn on a fresh directory: the shared machine's load
    // changes from minute to minute, and this spreads it over all of them alike.
    let mut created: Vec<Vec<Run>> = vec![Vec::new(); CANDIDATES.len()];
    for &writers in levels {
        for (candidate, runs) in CANDIDATES.iter().zip(&mut created) {
            let label = candidate.label();
            let engine = candidate.open()?;
            let stats = creates(&engine, writers, plan.writes).await?;
            eprintln!("  {label}, {writers} writers: {:.0} writes/s", stats.rate());
            runs.push(run_of(format!("{label}: create"), writers, stats));
        }
    }
    for (candidate, runs) in CANDIDATES.into_iter().zip(created) {
        report.engines.extend(runs);
        if candidate.groups() {
            history(candidate, plan, report).await?;
        }
    }
    Ok(())
}

fn run_of(what: String, concurrency: usize, stats: Stats) -> Run {
    Run {
        what,
        concurrency,
        stats,
        server_cpu: None,
    }
}

fn value(fill: u8) -> Bytes {
    Bytes::from(vec![fill; 1024])
}

async fn creates(engine: &Arc<dyn Engine>, writers: usize, total: usize) -> anyhow::Result<Stats> {
    let (engine, value) = (Arc::clone(engine), value(b'v'));
    concurrently(writers, total, move |i| {
        let (engine, value) = (Arc::clone(&engine), value.clone());
        async move {
            let key = format!("/registry/configmaps/w{writers}/cm-{i}");
            engine
                .put(&key, value, Precondition::Absent)
                .await?
                .with_context(|| format!("create {key}: it exists"))?;
            Ok(())
        }
    })
    .await
}

fn key(index: usize, listed: usize) -> String {
    if index < listed {
        format!("{LISTED}cm-{index}")
    } else {
        format!("/registry/configmaps/other/cm-{index}")
    }
}

/// Creates every key, then updates each `plan.updates` times (compare-and-put on its mod
/// revision). Returns each key's mod revision and how long it all took.
async fn load(
    engine: &Arc<dyn Engine>,
    plan: Plan,
) -> anyhow::Result<(Arc<Vec<AtomicI64>>, Duration)> {
    let revisions: Arc<Vec<AtomicI64>> =
        Arc::new((0..plan.keys).map(|_| AtomicI64::new(0)).collect());
    let started = Instant::now();
    for round in 0..=plan.updates {
        let (engine, revisions) = (Arc::clone(engine), Arc::clone(&revisions));
        let value = value(b'a' + (round % 26) as u8);
        concurrently(LOADERS, plan.keys, move |i| {
            let (engine, revisions, value) =
                (Arc::clone(&engine), Arc::clone(&revisions), value.clone());
            async move {
                let precondition = match revisions[i].load(Ordering::Acquire) {
                    0 => Precondition::Absent,
                    revision => Precondition::ModRevision(revision),
                };
                let key = key(i, plan.listed);
                let revision = engine
                    .put(&key, value, precondition)
                    .await?
                    .with_context(|| format!("update {key}: {precondition:?} failed"))?;
                revisions[i].store(revision, Ordering::Release);
                Ok(())
            }
        })
        .await?;
    }
    Ok((revisions, started.elapsed()))
}

async fn gets(
    engine: &Arc<dyn Engine>,
    revisions: &Arc<Vec<AtomicI64>>,
    readers: usize,
    plan: Plan,
) -> anyhow::Result<Stats> {
    let (engine, revisions) = (Arc::clone(engine), Arc::clone(revisions));
    concurrently(readers, plan.gets, move |i| {
        let (engine, revisions) = (Arc::clone(&engine), Arc::clone(&revisions));
        async move {
            let pick = spread(i, plan.keys);
            let key = key(pick, plan.listed);
            let entry = engine
                .get(&key)
                .await?
                .with_context(|| format!("get {key}: missing"))?;
            ensure!(
                entry.mod_revision == revisions[pick].load(Ordering::Acquire)
                    && entry.value.len() == 1024,
                "get {key}: not the newest version"
            );
            Ok(())
        }
    })
    .await
}

async fn ranges(engine: &Arc<dyn Engine>, plan: Plan) -> anyhow::Result<Stats> {
    let engine = Arc::clone(engine);
    concurrently(1, plan.ranges, move |_| {
        let engine = Arc::clone(&engine);
        async move {
            let entries = engine.range(LISTED).await?;
            // Every key was updated after its create: it keeps its create revision, older than
            // its newest write, through compaction.
            let newest = |e: &Entry| {
                e.value.len() == 1024 && 0 < e.create_revision && e.create_revision < e.mod_revision
            };
            ensure!(
                entries.len() == plan.listed && entries.iter().all(newest),
                "range {LISTED}: {} keys, expected {}",
                entries.len(),
                plan.listed
            );
            Ok(())
        }
    })
    .await
}

/// Compacts to `revision`, then runs the engine's reclaim step. Returns how long compaction took,
/// the bytes on disk after it, and the bytes after the reclaim step and its time, if it has one.
async fn compact(
    engine: &Arc<dyn Engine>,
    revision: Revision,
) -> anyhow::Result<(Duration, u64, Option<(u64, Duration)>)> {
    let started = Instant::now();
    engine.compact(revision).await?;
    // The next write waits for whatever the compaction left to do on the writer (the embedded
    // store's snapshot), so the time covers it.
    let marker = "/registry/bench/after-compaction";
    engine.put(marker, value(b'c'), Precondition::None).await?;
    let compaction = started.elapsed();
    let compacted = disk_bytes(engine.dir())?;
    let started = Instant::now();
    let reclaimed = if engine.reclaim().await? {
        let took = started.elapsed();
        Some((disk_bytes(engine.dir())?, took))
    } else {
        None
    };
    Ok((compaction, compacted, reclaimed))
}

/// The history workload on a fresh instance of `candidate`.
async fn history(candidate: Candidate, plan: Plan, report: &mut Report) -> anyhow::Result<()> {
    let label = candidate.label();
    let engine = candidate.open()?;
    let written = written_bytes()?;
    let (revisions, loaded) = load(&engine, plan).await?;
    let written = written_bytes()?.saturating_sub(written);
    let writes = plan.keys * (plan.updates + 1);
    eprintln!(
        "  {label}: {writes} writes from {LOADERS} writers in {:.1} s",
        loaded.as_secs_f64()
    );
    for readers in READERS {
        let stats = gets(&engine, &revisions, readers, plan).await?;
        eprintln!("  {label}, {readers} readers: {:.0} gets/s", stats.rate());
        report
            .engines
            .push(run_of(format!("{label}: get"), readers, stats));
    }
    let listed = plan.listed;
    let stats = ranges(&engine, plan).await?;
    report.engines.push(run_of(
        format!(
            "{label}: range of {listed} keys, {} old versions each",
            plan.updates
        ),
        1,
        stats,
    ));
    let before = disk_bytes(engine.dir())?;
    let newest = revisions
        .iter()
        .map(|r| r.load(Ordering::Acquire))
        .max()
        .unwrap_or(0);
    let (compaction, compacted, reclaimed) = compact(&engine, newest).await?;
    let stats = ranges(&engine, plan).await?;
    eprintln!("  {label}: range after compaction {:.1}/s", stats.rate());
    report.engines.push(run_of(
        format!("{label}: range of {listed} keys, compacted"),
        1,
        stats,
    ));
    report.engine_disk.push(Disk {
        engine: label.to_owned(),
        writes,
        loaded,
        written,
        before,
        compaction,
        compacted,
        reclaimed,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_candidate_keeps_mvcc_semantics_through_compaction() {
        for candidate in CANDIDATES {
            let label = candidate.label();
            let engine = candidate.open().unwrap();
            let put = |key: &'static str, fill, precondition| {
                let engine = Arc::clone(&engine);
                async move { engine.put(key, value(fill), precondition).await.unwrap() }
            };
            let first = put("/k/a", b'1', Precondition::Absent).await.unwrap();
            assert_eq!(
                put("/k/a", b'x', Precondition::Absent).await,
                None,
                "{label}"
            );
            let second = put("/k/a", b'2', Precondition::ModRevision(first))
                .await
                .unwrap();
            assert!(second > first, "{label}");
            let stale = Precondition::ModRevision(first);
            assert_eq!(put("/k/a", b'x', stale).await, None, "{label}");
            let other = put("/k/b", b'3', Precondition::Absent).await.unwrap();
            put("/l/c", b'4', Precondition::Absent).await.unwrap();

            engine.compact(other).await.unwrap();
            engine.reclaim().await.unwrap();

            let a = engine.get("/k/a").await.unwrap().unwrap();
            assert_eq!(
                (a.mod_revision, a.create_revision, &a.value[..]),
                (second, first, &value(b'2')[..]),
                "{label}"
            );
            assert!(engine.get("/k/z").await.unwrap().is_none(), "{label}");
            let keys: Vec<_> = engine.range("/k/").await.unwrap();
            let keys: Vec<_> = keys.iter().map(|e| e.key.as_str()).collect();
            assert_eq!(keys, ["/k/a", "/k/b"], "{label}");
            assert!(disk_bytes(engine.dir()).unwrap() > 0, "{label}");
        }
    }
}
