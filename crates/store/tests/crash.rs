//! Acknowledged writes survive `kill -9`.
//!
//! The test re-executes this test binary as a child that runs only [`crash_child_writer`] (which
//! does nothing unless the child's environment variable is set). The child writes with eight
//! concurrent writers, checkpointing often, and prints every acknowledged key; the parent kills it
//! with SIGKILL mid-stream, reopens the store and checks that every acknowledged key is there.

// Test code: a failed expectation panics with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use rudder_store::embedded::{EmbeddedOptions, EmbeddedStore};
use rudder_store::{Precondition, RangeRequest, Store, StoreError, WriteOutcome};

const CHILD_DIR: &str = "RUDDER_STORE_CRASH_CHILD_DIR";
const CHILD_ROUND: &str = "RUDDER_STORE_CRASH_CHILD_ROUND";
const WRITERS: usize = 8;

fn options() -> EmbeddedOptions {
    // Small enough that the child checkpoints every few dozen writes, so kills land mid-checkpoint.
    EmbeddedOptions {
        wal_snapshot_bytes: 64 << 10,
        ..EmbeddedOptions::default()
    }
}

/// The child: writes until killed (or for at most a minute, should the parent die first).
#[test]
fn crash_child_writer() {
    let (Ok(dir), Ok(round)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_ROUND)) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let store =
            std::sync::Arc::new(EmbeddedStore::open_with(Path::new(&dir), options()).unwrap());
        let value = Bytes::from(vec![b'x'; 1024]);
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let (store, value, round) = (store.clone(), value.clone(), round.clone());
                tokio::spawn(async move {
                    for i in 0.. {
                        let key = format!("/crash/{round}/{writer}/{i}");
                        let outcome = store.put(&key, value.clone(), Precondition::None).await;
                        let Ok(WriteOutcome::Applied { revision, .. }) = outcome else {
                            panic!("write failed: {outcome:?}");
                        };
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "ACK {key} {revision}").unwrap();
                        out.flush().unwrap();
                    }
                })
            })
            .collect();
        let _ =
            tokio::time::timeout(Duration::from_secs(60), futures::future::join_all(writers)).await;
    });
}

/// Runs the child until it has acknowledged `acks` writes, checks that the directory cannot be
/// opened while the child holds it, kills it, and returns what it acknowledged: key → revision.
fn run_and_kill(dir: &Path, round: usize, acks: usize) -> HashMap<String, i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child_writer",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_ROUND, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(ack) = line.strip_prefix("ACK ") {
                let (key, revision) = ack.split_once(' ').unwrap();
                if lines
                    .send((key.to_owned(), revision.parse::<i64>().unwrap()))
                    .is_err()
                {
                    break;
                }
            }
        }
    });
    let mut acked = HashMap::new();
    while acked.len() < acks {
        match received.recv_timeout(Duration::from_secs(30)) {
            Ok((key, revision)) => {
                acked.insert(key, revision);
            }
            Err(error) => {
                let _ = child.kill();
                panic!(
                    "the child acknowledged only {} writes: {error}",
                    acked.len()
                );
            }
        }
    }
    let second = EmbeddedStore::open_with(dir, options());
    if !matches!(second, Err(StoreError::Locked { .. })) {
        let _ = child.kill();
        panic!(
            "opening a directory another process has open should fail with Locked, got {second:?}"
        );
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    reader.join().unwrap();
    // Everything the child printed before it died is still in the pipe.
    acked.extend(received.try_iter());
    acked
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::TempDir::new().unwrap();
    for (round, acks) in [300, 700, 1100].into_iter().enumerate() {
        let acked = run_and_kill(dir.path(), round, acks);
        let store = EmbeddedStore::open_with(dir.path(), options()).unwrap();
        let response = store
            .range(RangeRequest::prefix(&format!("/crash/{round}/")))
            .await
            .unwrap();
        let stored: HashMap<&str, i64> = response
            .kvs
            .iter()
            .map(|kv| (kv.key.as_str(), kv.mod_revision))
            .collect();
        let mut lost: Vec<&String> = acked
            .keys()
            .filter(|k| !stored.contains_key(k.as_str()))
            .collect();
        lost.sort();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged writes lost: {lost:?}",
            lost.len()
        );
        for (key, revision) in &acked {
            assert_eq!(
                stored[key.as_str()],
                *revision,
                "{key} holds the acknowledged revision"
            );
        }
        let (current, _) = store.revisions().await.unwrap();
        assert!(current >= acked.values().copied().max().unwrap_or(0));
        // Earlier rounds' data is intact too.
        let earlier = store
            .range(RangeRequest::prefix("/crash/"))
            .await
            .unwrap()
            .count;
        assert!(earlier >= response.count);
    }
}

#[test]
fn directory_held_by_a_live_process_is_locked_and_freed_when_it_is_killed() {
    let dir = tempfile::TempDir::new().unwrap();
    // Asserts `Locked` while the child runs, then kills it with SIGKILL.
    run_and_kill(dir.path(), 0, 50);
    let reopened = EmbeddedStore::open_with(dir.path(), options());
    assert!(
        reopened.is_ok(),
        "the lock dies with its process, got {reopened:?}"
    );
}
