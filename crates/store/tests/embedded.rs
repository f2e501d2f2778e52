//! The embedded backend: the whole conformance suite, plus what only a durable backend owes —
//! reopening, snapshots, torn and corrupt logs, slow watchers.

// Test code: a failed expectation panics with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use rudder_store::embedded::{EmbeddedOptions, EmbeddedStore};
use rudder_store::{
    conformance, prefix_end, Precondition, RangeRequest, Store, StoreError, WriteOutcome,
};
use tempfile::TempDir;

fn open(dir: &Path) -> EmbeddedStore {
    EmbeddedStore::open(dir).unwrap_or_else(|e| panic!("opening {}: {e}", dir.display()))
}

fn open_with(dir: &Path, options: EmbeddedOptions) -> EmbeddedStore {
    EmbeddedStore::open_with(dir, options)
        .unwrap_or_else(|e| panic!("opening {}: {e}", dir.display()))
}

macro_rules! conformance_checks {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $check() {
            let dir = TempDir::new().unwrap();
            conformance::$check(open(dir.path())).await;
        }
    )*};
}

rudder_store::for_each_conformance_check!(conformance_checks);

#[tokio::test]
async fn new_store_is_at_revision_zero_with_nothing_compacted() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    assert_eq!(store.revisions().await.unwrap(), (0, 0));
    let first = store.put("/a", bytes("1"), Precondition::None).await;
    assert!(
        matches!(first, Ok(WriteOutcome::Applied { revision: 1, .. })),
        "the first write takes revision 1, got {first:?}"
    );
}

#[test]
fn second_open_of_a_directory_fails_with_locked_until_the_first_closes() {
    let dir = TempDir::new().unwrap();
    let first = open(dir.path());
    let second = EmbeddedStore::open(dir.path());
    match second {
        Err(StoreError::Locked { path }) => assert_eq!(path, dir.path().join("LOCK")),
        other => panic!("a second open of a held directory should fail with Locked, got {other:?}"),
    }
    first.close();
    let reopened = EmbeddedStore::open(dir.path());
    assert!(
        reopened.is_ok(),
        "closing the first store releases the lock, got {reopened:?}"
    );
    drop(reopened);
    drop(first);
    assert!(
        EmbeddedStore::open(dir.path()).is_ok(),
        "dropping a store releases the lock"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_conformance_suite_passes_with_a_checkpoint_after_every_write() {
    let root = TempDir::new().unwrap();
    let next = AtomicUsize::new(0);
    conformance::run_all(|| {
        let dir = root
            .path()
            .join(next.fetch_add(1, Ordering::Relaxed).to_string());
        async move {
            open_with(
                &dir,
                EmbeddedOptions {
                    wal_snapshot_bytes: 0,
                    ..EmbeddedOptions::default()
                },
            )
        }
    })
    .await;
}

fn bytes(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

async fn put(store: &EmbeddedStore, key: &str, text: &str) -> i64 {
    match store.put(key, bytes(text), Precondition::None).await {
        Ok(WriteOutcome::Applied { revision, .. }) => revision,
        other => panic!("put {key}: {other:?}"),
    }
}

async fn values(store: &EmbeddedStore, prefix: &str, revision: i64) -> Vec<String> {
    let request = RangeRequest {
        revision,
        ..RangeRequest::prefix(prefix)
    };
    let response = store
        .range(request)
        .await
        .unwrap_or_else(|e| panic!("range at {revision}: {e}"));
    response
        .kvs
        .iter()
        .map(|kv| format!("{}={}", kv.key, String::from_utf8_lossy(&kv.value)))
        .collect()
}

/// Log and snapshot files in `dir`, sorted.
fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect();
    found.sort();
    found
}

fn only_wal(dir: &Path) -> PathBuf {
    let wals = files(dir, "wal-");
    assert_eq!(wals.len(), 1, "exactly one log: {wals:?}");
    wals.into_iter().next().unwrap()
}

/// Writes /k/a=1 @1, /k/b=1 @2, /k/a=2 @3, deletes /k/b @4, /k/c=1 @5.
async fn write_history(store: &EmbeddedStore) {
    put(store, "/k/a", "1").await;
    put(store, "/k/b", "1").await;
    put(store, "/k/a", "2").await;
    let deleted = store.delete("/k/b", Precondition::None).await;
    assert!(
        matches!(deleted, Ok(WriteOutcome::Applied { revision: 4, .. })),
        "{deleted:?}"
    );
    put(store, "/k/c", "1").await;
}

#[tokio::test]
async fn reopen_after_close_keeps_data_history_and_revision() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    write_history(&store).await;
    store.close();
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.revisions().await.unwrap(), (5, 0));
    assert_eq!(values(&store, "/k/", 0).await, ["/k/a=2", "/k/c=1"]);
    assert_eq!(values(&store, "/k/", 2).await, ["/k/a=1", "/k/b=1"]);
    let mut stream = store.watch("/k/", &prefix_end("/k/"), 1).await.unwrap();
    let replayed = stream.next().await.unwrap().unwrap();
    assert_eq!(
        replayed.len(),
        5,
        "the whole history replays after reopening"
    );
    let kv = store
        .range(RangeRequest::key("/k/a"))
        .await
        .unwrap()
        .kvs
        .remove(0);
    assert_eq!((kv.create_revision, kv.mod_revision, kv.version), (1, 3, 2));
    assert_eq!(
        put(&store, "/k/d", "1").await,
        6,
        "revisions continue after reopening"
    );
}

#[tokio::test]
async fn reopen_after_snapshot_and_compaction_keeps_state() {
    let dir = TempDir::new().unwrap();
    let options = EmbeddedOptions {
        wal_snapshot_bytes: 512,
        ..EmbeddedOptions::default()
    };
    let store = open_with(dir.path(), options.clone());
    write_history(&store).await;
    for i in 0..40 {
        put(&store, &format!("/n/{i}"), "0123456789").await;
    }
    store.compact(3).await.unwrap();
    put(&store, "/k/a", "3").await;
    drop(store);
    assert_eq!(
        files(dir.path(), "snapshot-").len(),
        1,
        "old snapshots are removed"
    );
    only_wal(dir.path());
    let store = open_with(dir.path(), options);
    assert_eq!(store.revisions().await.unwrap(), (46, 3));
    assert_eq!(values(&store, "/k/", 0).await, ["/k/a=3", "/k/c=1"]);
    assert_eq!(values(&store, "/k/", 3).await, ["/k/a=2", "/k/b=1"]);
    let old = store
        .range(RangeRequest {
            revision: 2,
            ..RangeRequest::prefix("/k/")
        })
        .await;
    assert!(
        matches!(
            old,
            Err(StoreError::Compacted {
                requested: 2,
                compacted: 3
            })
        ),
        "{old:?}"
    );
    assert_eq!(
        store
            .range(RangeRequest::prefix("/n/"))
            .await
            .unwrap()
            .count,
        40
    );
}

/// Three writes, each its own log record.
async fn three_records(dir: &Path) {
    let store = open(dir);
    for key in ["/a", "/b", "/c"] {
        put(&store, key, "value").await;
    }
}

#[tokio::test]
async fn torn_last_log_record_is_dropped_and_earlier_writes_kept() {
    let dir = TempDir::new().unwrap();
    three_records(dir.path()).await;
    let wal = only_wal(dir.path());
    let len = fs::metadata(&wal).unwrap().len();
    fs::OpenOptions::new()
        .write(true)
        .open(&wal)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    let store = open(dir.path());
    assert_eq!(
        store.revisions().await.unwrap(),
        (2, 0),
        "the torn write is gone"
    );
    assert_eq!(values(&store, "/", 0).await, ["/a=value", "/b=value"]);
    assert_eq!(
        put(&store, "/d", "value").await,
        3,
        "the torn write's revision is reused"
    );
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        values(&store, "/", 0).await,
        ["/a=value", "/b=value", "/d=value"]
    );
}

#[tokio::test]
async fn garbage_after_the_log_is_dropped_and_later_writes_survive() {
    let dir = TempDir::new().unwrap();
    three_records(dir.path()).await;
    let wal = only_wal(dir.path());
    let mut contents = fs::read(&wal).unwrap();
    contents.extend_from_slice(&[0x10, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0xb1, 1, 2]);
    fs::write(&wal, contents).unwrap();
    let store = open(dir.path());
    assert_eq!(store.revisions().await.unwrap(), (3, 0));
    put(&store, "/d", "value").await;
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        values(&store, "/", 0).await,
        ["/a=value", "/b=value", "/c=value", "/d=value"]
    );
}

#[tokio::test]
async fn damaged_record_before_intact_ones_is_reported_as_corrupt() {
    let dir = TempDir::new().unwrap();
    three_records(dir.path()).await;
    let wal = only_wal(dir.path());
    let mut contents = fs::read(&wal).unwrap();
    contents[12] ^= 0xff;
    fs::write(&wal, contents).unwrap();
    let opened = EmbeddedStore::open(dir.path());
    assert!(
        matches!(opened, Err(StoreError::Corrupt { .. })),
        "{opened:?}"
    );
}

/// Reproduces the files a crash in the middle of a checkpoint leaves: the snapshot is in place
/// but the old log is still there, with (`keep_new_log`) or without the new log.
async fn interrupted_checkpoint(keep_new_log: bool) -> TempDir {
    let dir = TempDir::new().unwrap();
    write_history(&open(dir.path())).await;
    let old_wal = only_wal(dir.path());
    let saved = fs::read(&old_wal).unwrap();
    // A compaction checkpoints: snapshot-1 and wal-1 replace wal-0.
    let store = open(dir.path());
    store.compact(2).await.unwrap();
    drop(store);
    assert_eq!(files(dir.path(), "snapshot-").len(), 1);
    let new_wal = only_wal(dir.path());
    assert_ne!(new_wal, old_wal);
    fs::write(&old_wal, &saved).unwrap();
    if !keep_new_log {
        fs::remove_file(&new_wal).unwrap();
    }
    fs::write(dir.path().join("snapshot.tmp"), b"half a snapshot").unwrap();
    dir
}

#[tokio::test]
async fn checkpoint_interrupted_at_any_step_loses_nothing() {
    for keep_new_log in [false, true] {
        let dir = interrupted_checkpoint(keep_new_log).await;
        let store = open(dir.path());
        assert_eq!(
            store.revisions().await.unwrap(),
            (5, 2),
            "keep_new_log: {keep_new_log}"
        );
        assert_eq!(values(&store, "/k/", 0).await, ["/k/a=2", "/k/c=1"]);
        assert_eq!(put(&store, "/k/d", "1").await, 6);
        drop(store);
        assert!(
            !dir.path().join("snapshot.tmp").exists(),
            "the temporary snapshot is removed"
        );
        only_wal(dir.path());
        let store = open(dir.path());
        assert_eq!(
            values(&store, "/k/", 0).await,
            ["/k/a=2", "/k/c=1", "/k/d=1"]
        );
    }
}

#[tokio::test]
async fn dropping_a_watch_stream_unregisters_the_watcher() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    let stream = store.watch("/a", "", 0).await.unwrap();
    assert_eq!(store.watcher_count(), 1);
    drop(stream);
    assert_eq!(store.watcher_count(), 0);
}

#[tokio::test]
async fn slow_watcher_is_ended_with_the_revision_to_resume_from() {
    let dir = TempDir::new().unwrap();
    let options = EmbeddedOptions {
        watch_buffer: 2,
        ..EmbeddedOptions::default()
    };
    let store = open_with(dir.path(), options);
    let mut stream = store.watch("/", &prefix_end("/"), 0).await.unwrap();
    for i in 0..5 {
        put(&store, &format!("/{i}"), "v").await;
    }
    assert_eq!(store.watcher_count(), 0, "the lagging watcher was dropped");
    let mut delivered = Vec::new();
    let end = loop {
        match stream.next().await {
            Some(Ok(batch)) => delivered.extend(batch.into_iter().map(|e| e.kv.mod_revision)),
            Some(Err(error)) => break error,
            None => panic!("the stream ended without saying why"),
        }
    };
    assert_eq!(delivered, [1, 2], "buffered events are delivered first");
    assert!(
        matches!(end, StoreError::WatcherLagged { next_revision: 3 }),
        "{end:?}"
    );
    assert!(
        stream.next().await.is_none(),
        "the stream ends after the error"
    );
    let mut resumed = store.watch("/", &prefix_end("/"), 3).await.unwrap();
    let replayed = resumed.next().await.unwrap().unwrap();
    assert_eq!(
        replayed
            .iter()
            .map(|e| e.kv.mod_revision)
            .collect::<Vec<_>>(),
        [3, 4, 5]
    );
}

#[tokio::test]
async fn close_ends_watches_and_refuses_requests() {
    let dir = TempDir::new().unwrap();
    let store = open(dir.path());
    let mut stream = store.watch("/a", "", 0).await.unwrap();
    store.close();
    assert!(matches!(stream.next().await, Some(Err(StoreError::Closed))));
    let put = store.put("/a", bytes("v"), Precondition::None).await;
    assert!(matches!(put, Err(StoreError::Closed)), "{put:?}");
    assert!(matches!(
        store.range(RangeRequest::key("/a")).await,
        Err(StoreError::Closed)
    ));
    store.close();
}

#[tokio::test]
async fn oversized_values_are_refused_without_taking_a_revision() {
    let dir = TempDir::new().unwrap();
    let options = EmbeddedOptions {
        max_value_bytes: 8,
        ..EmbeddedOptions::default()
    };
    let store = open_with(dir.path(), options);
    let put = store
        .put("/a", bytes("123456789"), Precondition::None)
        .await;
    assert!(
        matches!(put, Err(StoreError::TooLarge { size: 9, limit: 8 })),
        "{put:?}"
    );
    assert_eq!(store.revisions().await.unwrap(), (0, 0));
}
