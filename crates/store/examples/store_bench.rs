//! Write throughput and latency of the embedded store at 1, 16 and 64 concurrent writers, with
//! 1 KiB values. Run with `cargo run --release -p rudder-store --example store_bench`; pass a
//! directory to measure a particular disk (default: a temporary directory).

// A benchmark binary: failing loudly on setup errors is the right behaviour.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rudder_store::embedded::EmbeddedStore;
use rudder_store::{Precondition, Store, WriteOutcome};

/// Writes per level (split evenly across the writers).
const WRITES: usize = 4096;

#[tokio::main]
async fn main() {
    let temp = tempfile::TempDir::new().expect("temporary directory");
    let root: PathBuf = std::env::args()
        .nth(1)
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    println!(
        "embedded store, 1 KiB values, {WRITES} creates per level, data in {}",
        root.display()
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10}",
        "writers", "writes/s", "p50 ms", "p99 ms"
    );
    for writers in [1, 16, 64] {
        let dir = root.join(format!("bench-{writers}"));
        let store = Arc::new(EmbeddedStore::open(&dir).expect("open store"));
        let (elapsed, mut latencies) = run_level(&store, writers).await;
        latencies.sort_unstable();
        let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
        println!(
            "{writers:>8} {:>10.0} {:>10.2} {:>10.2}",
            latencies.len() as f64 / elapsed.as_secs_f64(),
            percentile(50).as_secs_f64() * 1e3,
            percentile(99).as_secs_f64() * 1e3,
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

async fn run_level(store: &Arc<EmbeddedStore>, writers: usize) -> (Duration, Vec<Duration>) {
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
