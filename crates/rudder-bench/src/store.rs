//! Store writes: 1 KiB creates at 1, 16 and 64 concurrent writers, on the embedded backend and
//! on a real etcd that the benchmark starts on loopback (crates/store's launcher).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use bytes::Bytes;
use rudder_store::embedded::EmbeddedStore;
use rudder_store::etcd::EtcdStore;
use rudder_store::testing::EtcdServer;
use rudder_store::{Precondition, Store, WriteOutcome};

use crate::report::{Run, Stats};

/// Creates per level, split evenly across the writers.
pub const WRITES: usize = 2048;

/// Runs every level on the embedded store (in a temporary directory on the same disk as the
/// etcd data) and then on etcd.
///
/// # Errors
/// When a store cannot be opened or a write fails.
pub async fn run(levels: &[usize]) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    for &writers in levels {
        let dir = tempfile::Builder::new()
            .prefix("rudder-bench-store-")
            .tempdir()
            .context("creating the store directory")?;
        let store = Arc::new(EmbeddedStore::open(dir.path()).context("opening the store")?);
        let stats = level(&store, writers).await?;
        eprintln!(
            "  embedded, {writers} writers: {:.0} writes/s",
            stats.rate()
        );
        runs.push(Run {
            what: "embedded store".to_owned(),
            concurrency: writers,
            stats,
            server_cpu: None,
        });
        store.close();
    }
    let etcd = EtcdServer::start().await.context("starting etcd")?;
    for &writers in levels {
        let prefix = Some(format!("/bench-{writers}"));
        let store = Arc::new(
            EtcdStore::connect(&etcd.endpoints(), prefix)
                .await
                .context("connecting to etcd")?,
        );
        let stats = level(&store, writers).await?;
        eprintln!("  etcd, {writers} writers: {:.0} writes/s", stats.rate());
        runs.push(Run {
            what: "etcd 3.4 (same disk)".to_owned(),
            concurrency: writers,
            stats,
            server_cpu: None,
        });
    }
    Ok(runs)
}

async fn level<S: Store>(store: &Arc<S>, writers: usize) -> anyhow::Result<Stats> {
    let value = Bytes::from(vec![b'v'; 1024]);
    let store = Arc::clone(store);
    concurrently(writers, WRITES, move |i| {
        let (store, value) = (Arc::clone(&store), value.clone());
        async move {
            let key = format!("/registry/configmaps/bench/cm-{i}");
            match store.put(&key, value, Precondition::Absent).await {
                Ok(WriteOutcome::Applied { .. }) => Ok(()),
                other => anyhow::bail!("create {key}: {other:?}"),
            }
        }
    })
    .await
}

/// Runs operations `0..total` split over `tasks` concurrent tasks (task `t` runs `t`,
/// `t + tasks`, …) and measures each one's latency and the wall time of the whole run.
///
/// # Errors
/// The first failed operation's error.
pub async fn concurrently<F, Fut>(tasks: usize, total: usize, op: F) -> anyhow::Result<Stats>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let tasks = tasks.max(1);
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|task| {
            let op = Arc::clone(&op);
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(total / tasks + 1);
                for i in (task..total).step_by(tasks) {
                    let began = Instant::now();
                    op(i).await?;
                    latencies.push(began.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(total);
    for handle in handles {
        latencies.extend(handle.await.context("task")??);
    }
    Ok(Stats::new(started.elapsed(), latencies))
}
