//! Write throughput and latency at 1, 16 and 64 concurrent writers, with 1 KiB values, for the
//! embedded store and for a real etcd (Debian's `etcd-server`) that the benchmark starts itself
//! on loopback. Run with `cargo run --release -p rudder-store --example store_bench`; pass a
//! directory to put the embedded store on a particular disk (default: a temporary directory;
//! etcd always uses one).

// A benchmark binary: failing loudly on setup errors is the right behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rudder_store::embedded::EmbeddedStore;
use rudder_store::etcd::EtcdStore;
use rudder_store::testing::EtcdServer;
use rudder_store::{Precondition, Store, WriteOutcome};

/// Writes per level (split evenly across the writers).
const WRITES: usize = 4096;
/// Concurrent writers per level.
const LEVELS: [usize; 3] = [1, 16, 64];

#[tokio::main]
async fn main() {
    let temp = tempfile::TempDir::new().expect("temporary directory");
    let root: PathBuf = std::env::args()
        .nth(1)
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    println!("1 KiB values, {WRITES} creates per level");
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>10}",
        "backend", "writers", "writes/s", "p50 ms", "p99 ms"
    );
    for writers in LEVELS {
        let dir = root.join(format!("bench-{writers}"));
        let store = Arc::new(EmbeddedStore::open(&dir).expect("open store"));
        report("embedded", writers, run_level(&store, writers).await);
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let etcd = EtcdServer::start().await.expect("start etcd");
    for writers in LEVELS {
        let prefix = Some(format!("/bench-{writers}"));
        let store = Arc::new(
            EtcdStore::connect(&etcd.endpoints(), prefix)
                .await
                .expect("connect to etcd"),
        );
        report("etcd", writers, run_level(&store, writers).await);
    }
}

fn report(backend: &str, writers: usize, (elapsed, mut latencies): (Duration, Vec<Duration>)) {
    latencies.sort_unstable();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    println!(
        "{backend:<10} {writers:>8} {:>10.0} {:>10.2} {:>10.2}",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(50).as_secs_f64() * 1e3,
        percentile(99).as_secs_f64() * 1e3,
    );
}

async fn run_level<S: Store>(store: &Arc<S>, writers: usize) -> (Duration, Vec<Duration>) {
    let value = Bytes::from(vec![b'v'; 1024]);
    let per_writer = WRITES / writers;
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let (store, value) = (Arc::clone(store), value.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_writer);
                for i in 0..per_writer {
                    let key = format!("/registry/configmaps/bench/cm-{writer}-{i}");
                    let began = Instant::now();
                    let outcome = store.put(&key, value.clone(), Precondition::Absent).await;
                    assert!(
                        matches!(outcome, Ok(WriteOutcome::Applied { .. })),
                        "{outcome:?}"
                    );
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(WRITES);
    for task in tasks {
        latencies.extend(task.await.expect("writer task"));
    }
    (started.elapsed(), latencies)
}
