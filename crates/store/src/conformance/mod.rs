//! The [`Store`] contract as executable checks that every backend runs.
//!
//! Each check is a `pub async fn` taking a store whose key space is empty and that nothing else
//! writes to while the check runs. The store's revision need not be 0: checks assert revisions
//! relative to the revision they start at, so one etcd can serve every check, each through its
//! own key prefix, one after the other (the compaction check compacts the whole etcd, so it runs
//! last in [`run_all`]). [`run_all`] runs every check, each against its own store from a factory.
//! A backend's tests either call [`run_all`] or call the checks one by one from separate
//! `#[tokio::test]`s. A failed check panics with a message that says which part of the contract
//! broke.
//!
//! Checks use real (short-bounded) timeouts only as a guard against hanging on a missing event;
//! none of them sleeps to wait for something to happen.

// This is test-support code: a failed expectation is reported by panicking with a message, the
// way assertions do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod watch;

pub use watch::{
    compaction_fails_old_reads_and_watches_and_keeps_current_data, delete_events_carry_prev,
    watch_at_revision_zero_sees_only_new_writes,
    watch_from_past_revision_replays_then_follows_live, watch_only_delivers_keys_in_range,
    watch_started_during_writes_misses_and_duplicates_nothing,
};

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;

use crate::{KeyValue, Precondition, RangeRequest, Revision, Store, StoreError, WriteOutcome};

/// Runs every check, one after the other, each against a fresh store from `new_store`. Each
/// check's name goes to stderr before it runs (the test harness shows it when a check fails).
///
/// # Panics
/// When a check fails, with a message naming the broken part of the contract.
pub async fn run_all<S, F, Fut>(new_store: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
{
    macro_rules! run {
        ($($check:ident),* $(,)?) => {$(
            eprintln!("conformance check: {}", stringify!($check));
            $check(new_store().await).await;
        )*};
    }
    crate::for_each_conformance_check!(run);
}

/// Calls `$callback!(check, check, …)` with the name of every conformance check, in the order
/// [`run_all`] runs them, so a backend can make each one its own test without repeating the list.
#[macro_export]
macro_rules! for_each_conformance_check {
    ($callback:ident) => {
        $callback! {
            each_applied_write_takes_the_next_revision,
            versions_track_create_and_mod_revisions,
            absent_precondition_fails_on_existing_key,
            mod_revision_precondition_conflict_reports_current,
            delete_of_missing_key_fails_with_no_current,
            delete_then_put_recreates_key,
            range_with_empty_end_reads_one_key,
            range_by_prefix_pages_with_limit_more_and_count,
            range_at_past_revision_sees_old_values,
            future_revision_is_rejected,
            concurrent_writers_get_distinct_gapless_revisions,
            watch_from_past_revision_replays_then_follows_live,
            watch_at_revision_zero_sees_only_new_writes,
            watch_only_delivers_keys_in_range,
            delete_events_carry_prev,
            watch_started_during_writes_misses_and_duplicates_nothing,
            // Last: it compacts, which on a shared etcd affects every key prefix.
            compaction_fails_old_reads_and_watches_and_keeps_current_data,
        }
    };
}

pub(crate) fn value(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

/// Puts unconditionally and returns the revision, panicking if it did not apply.
pub(crate) async fn put<S: Store>(store: &S, key: &str, text: &str) -> Revision {
    match store.put(key, value(text), Precondition::None).await {
        Ok(WriteOutcome::Applied { revision, .. }) => revision,
        other => panic!("unconditional put of {key} should apply, got {other:?}"),
    }
}

/// Deletes unconditionally and returns the revision, panicking if it did not apply.
pub(crate) async fn delete<S: Store>(store: &S, key: &str) -> Revision {
    match store.delete(key, Precondition::None).await {
        Ok(WriteOutcome::Applied { revision, .. }) => revision,
        other => panic!("unconditional delete of existing {key} should apply, got {other:?}"),
    }
}

/// The key's value at the current revision, if it exists.
pub(crate) async fn get<S: Store>(store: &S, key: &str) -> Option<KeyValue> {
    let response = store.range(RangeRequest::key(key)).await;
    let response = response.unwrap_or_else(|e| panic!("reading {key} failed: {e}"));
    assert!(
        response.kvs.len() <= 1,
        "a single-key read returned {} keys",
        response.kvs.len()
    );
    response.kvs.into_iter().next()
}

/// The keys and values in `[start, end)` at `revision`.
pub(crate) async fn keys_at<S: Store>(store: &S, prefix: &str, revision: Revision) -> Vec<String> {
    let request = RangeRequest {
        revision,
        ..RangeRequest::prefix(prefix)
    };
    let response = store.range(request).await;
    let response = response.unwrap_or_else(|e| panic!("range of {prefix} at {revision}: {e}"));
    response
        .kvs
        .iter()
        .map(|kv| format!("{}={}", kv.key, String::from_utf8_lossy(&kv.value)))
        .collect()
}

pub(crate) async fn revisions<S: Store>(store: &S) -> (Revision, Revision) {
    store
        .revisions()
        .await
        .unwrap_or_else(|e| panic!("revisions() failed: {e}"))
}

/// Each applied write takes the next revision; failed preconditions take none.
pub async fn each_applied_write_takes_the_next_revision<S: Store>(store: S) {
    let (base, compacted) = revisions(&store).await;
    assert_eq!(
        put(&store, "/a", "1").await,
        base + 1,
        "the first write takes the next revision"
    );
    assert_eq!(
        put(&store, "/b", "1").await,
        base + 2,
        "the second write takes the one after"
    );
    let failed = store.put("/a", value("2"), Precondition::Absent).await;
    assert!(
        matches!(failed, Ok(WriteOutcome::Failed { .. })),
        "got {failed:?}"
    );
    let failed = store.delete("/missing", Precondition::None).await;
    assert!(
        matches!(failed, Ok(WriteOutcome::Failed { current: None })),
        "got {failed:?}"
    );
    assert_eq!(
        revisions(&store).await,
        (base + 2, compacted),
        "failed preconditions take no revision"
    );
    assert_eq!(
        delete(&store, "/a").await,
        base + 3,
        "a delete takes the next revision"
    );
    assert_eq!(
        put(&store, "/c", "1").await,
        base + 4,
        "no gap after failed writes"
    );
    assert_eq!(revisions(&store).await, (base + 4, compacted));
}

/// `create_revision` is set when a key is created, `mod_revision` by every write, and `version`
/// counts writes since creation; a put reports the previous value.
pub async fn versions_track_create_and_mod_revisions<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/a", "1").await;
    put(&store, "/b", "1").await;
    let second = store.put("/a", value("2"), Precondition::None).await;
    let Ok(WriteOutcome::Applied {
        revision,
        previous: Some(previous),
    }) = second
    else {
        panic!("overwriting /a should apply and report the old value, got {second:?}");
    };
    assert_eq!(revision, base + 3, "the overwrite takes the third revision");
    assert_eq!(
        (previous.value, previous.mod_revision, previous.version),
        (value("1"), base + 1, 1)
    );
    let kv = get(&store, "/a").await.expect("/a exists");
    assert_eq!(kv.value, value("2"));
    assert_eq!(
        kv.create_revision,
        base + 1,
        "create_revision stays at the creating write"
    );
    assert_eq!(kv.mod_revision, base + 3, "mod_revision is the last write");
    assert_eq!(kv.version, 2, "version counts writes since creation");
    let response = store.range(RangeRequest::key("/a")).await.expect("range");
    assert_eq!(
        response.revision,
        base + 3,
        "a current read is served at the current revision"
    );
}

/// `Absent` fails on an existing key and reports its value, leaving it unchanged.
pub async fn absent_precondition_fails_on_existing_key<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    let created = store.put("/a", value("1"), Precondition::Absent).await;
    assert!(
        matches!(
            created,
            Ok(WriteOutcome::Applied {
                revision,
                previous: None
            }) if revision == base + 1
        ),
        "creating a missing key with Absent applies, got {created:?}"
    );
    let again = store.put("/a", value("2"), Precondition::Absent).await;
    let Ok(WriteOutcome::Failed {
        current: Some(current),
    }) = again
    else {
        panic!("Absent on an existing key should fail with its value, got {again:?}");
    };
    assert_eq!(
        (current.value, current.mod_revision),
        (value("1"), base + 1)
    );
    assert_eq!(get(&store, "/a").await.map(|kv| kv.value), Some(value("1")));
}

/// A stale `ModRevision` fails and reports the current value; the right one applies.
pub async fn mod_revision_precondition_conflict_reports_current<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/a", "1").await;
    put(&store, "/a", "2").await;
    let stale = store
        .put("/a", value("3"), Precondition::ModRevision(base + 1))
        .await;
    let Ok(WriteOutcome::Failed {
        current: Some(current),
    }) = stale
    else {
        panic!("a stale ModRevision should fail with the current value, got {stale:?}");
    };
    assert_eq!(
        (current.value, current.mod_revision),
        (value("2"), base + 2)
    );
    let fresh = store
        .put("/a", value("3"), Precondition::ModRevision(base + 2))
        .await;
    assert!(
        matches!(&fresh, Ok(WriteOutcome::Applied { revision, previous: Some(p) })
            if *revision == base + 3 && p.mod_revision == base + 2),
        "a matching ModRevision applies, got {fresh:?}"
    );
    let stale_delete = store
        .delete("/a", Precondition::ModRevision(base + 2))
        .await;
    assert!(
        matches!(&stale_delete, Ok(WriteOutcome::Failed { current: Some(c) }) if c.mod_revision == base + 3),
        "a delete with a stale ModRevision fails, got {stale_delete:?}"
    );
    let missing = store
        .put("/missing", value("1"), Precondition::ModRevision(base + 2))
        .await;
    assert!(
        matches!(missing, Ok(WriteOutcome::Failed { current: None })),
        "ModRevision on a missing key fails with no current value, got {missing:?}"
    );
}

/// Deleting a missing key fails the precondition with no current value.
pub async fn delete_of_missing_key_fails_with_no_current<S: Store>(store: S) {
    let before = revisions(&store).await;
    for precondition in [
        Precondition::None,
        Precondition::Absent,
        Precondition::ModRevision(before.0.max(1)),
    ] {
        let outcome = store.delete("/missing", precondition).await;
        assert!(
            matches!(outcome, Ok(WriteOutcome::Failed { current: None })),
            "deleting a missing key with {precondition:?} should fail, got {outcome:?}"
        );
    }
    assert_eq!(
        revisions(&store).await,
        before,
        "failed deletes take no revision"
    );
}

/// A delete ends a key's life: a later put creates it anew with `version` 1.
pub async fn delete_then_put_recreates_key<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/a", "1").await;
    put(&store, "/a", "2").await;
    let deleted = store.delete("/a", Precondition::None).await;
    assert!(
        matches!(&deleted, Ok(WriteOutcome::Applied { revision, previous: Some(p) })
            if *revision == base + 3 && p.value == value("2")),
        "a delete reports the value it removed, got {deleted:?}"
    );
    assert_eq!(get(&store, "/a").await, None, "a deleted key is gone");
    let recreated = store.put("/a", value("3"), Precondition::Absent).await;
    assert!(
        matches!(
            recreated,
            Ok(WriteOutcome::Applied {
                revision,
                previous: None
            }) if revision == base + 4
        ),
        "Absent holds after a delete, got {recreated:?}"
    );
    let kv = get(&store, "/a").await.expect("/a was recreated");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (base + 4, base + 4, 1)
    );
}

/// An empty `end` reads exactly `start`, not keys that merely begin with it.
pub async fn range_with_empty_end_reads_one_key<S: Store>(store: S) {
    put(&store, "/a", "1").await;
    put(&store, "/ab", "2").await;
    let response = store.range(RangeRequest::key("/a")).await.expect("range");
    assert_eq!(response.count, 1);
    assert_eq!(
        response
            .kvs
            .iter()
            .map(|kv| kv.key.as_str())
            .collect::<Vec<_>>(),
        ["/a"]
    );
    let missing = store.range(RangeRequest::key("/zzz")).await.expect("range");
    assert_eq!(
        (missing.kvs.len(), missing.count, missing.more),
        (0, 0, false)
    );
}

/// A prefix range pages with `limit`: `more` says keys remain, `count` counts the whole range,
/// and continuing from the last key plus `"\0"` at the same revision reads the rest.
pub async fn range_by_prefix_pages_with_limit_more_and_count<S: Store>(store: S) {
    for i in 0..10 {
        put(&store, &format!("/p/{i}"), "v").await;
    }
    put(&store, "/p", "outside").await;
    put(&store, "/p0", "outside").await;
    put(&store, "/o", "outside").await;
    let pinned = store
        .range(RangeRequest::prefix("/p/"))
        .await
        .expect("range")
        .revision;
    put(&store, "/p/99", "written after the first page").await;
    let mut seen = Vec::new();
    let mut request = RangeRequest {
        limit: 4,
        revision: pinned,
        ..RangeRequest::prefix("/p/")
    };
    let expected = [(4, true, 10), (4, true, 6), (2, false, 2)];
    for (page, (len, more, count)) in expected.into_iter().enumerate() {
        let response = store.range(request.clone()).await.expect("range");
        let got = (response.kvs.len(), response.more, response.count);
        assert_eq!(got, (len, more, count), "page {page}: (keys, more, count)");
        seen.extend(response.kvs.iter().map(|kv| kv.key.clone()));
        request.start = format!("{}\0", seen.last().expect("a page has keys"));
    }
    let all: Vec<String> = (0..10).map(|i| format!("/p/{i}")).collect();
    assert_eq!(seen, all, "pages cover the range once, in key order");
    delete(&store, "/p/5").await;
    let count_only = RangeRequest {
        count_only: true,
        ..RangeRequest::prefix("/p/")
    };
    let response = store.range(count_only).await.expect("range");
    assert!(response.kvs.is_empty(), "count_only returns no keys");
    assert_eq!(
        response.count, 10,
        "deleted keys are not counted, later ones are"
    );
}

/// A read at a past revision sees the values as they were then.
pub async fn range_at_past_revision_sees_old_values<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/k/a", "1").await;
    put(&store, "/k/b", "1").await;
    put(&store, "/k/a", "2").await;
    delete(&store, "/k/b").await;
    put(&store, "/k/c", "1").await;
    assert_eq!(keys_at(&store, "/k/", base + 1).await, ["/k/a=1"]);
    assert_eq!(keys_at(&store, "/k/", base + 2).await, ["/k/a=1", "/k/b=1"]);
    assert_eq!(keys_at(&store, "/k/", base + 3).await, ["/k/a=2", "/k/b=1"]);
    assert_eq!(keys_at(&store, "/k/", base + 4).await, ["/k/a=2"]);
    assert_eq!(keys_at(&store, "/k/", 0).await, ["/k/a=2", "/k/c=1"]);
    let past = RangeRequest {
        revision: base + 2,
        ..RangeRequest::prefix("/k/")
    };
    let response = store.range(past).await.expect("range");
    assert_eq!(
        response.revision,
        base + 2,
        "a past read is served at the requested revision"
    );
    let kv = response.kvs.into_iter().next().expect("/k/a at base + 2");
    assert_eq!(
        (kv.create_revision, kv.mod_revision, kv.version),
        (base + 1, base + 1, 1)
    );
}

/// Reads and compactions beyond the current revision fail with `FutureRevision`.
pub async fn future_revision_is_rejected<S: Store>(store: S) {
    let current = put(&store, "/a", "1").await;
    let read = store
        .range(RangeRequest {
            revision: current + 1,
            ..RangeRequest::key("/a")
        })
        .await;
    assert!(
        matches!(
            read,
            Err(StoreError::FutureRevision {
                requested,
                current: c,
            }) if requested == current + 1 && c == current
        ),
        "reading a future revision should fail, got {read:?}"
    );
    let compact = store.compact(current + 4).await;
    assert!(
        matches!(
            compact,
            Err(StoreError::FutureRevision {
                requested,
                current: c,
            }) if requested == current + 4 && c == current
        ),
        "compacting to a future revision should fail, got {compact:?}"
    );
}

/// Concurrent writers each get distinct revisions, together exactly `1..=n`.
pub async fn concurrent_writers_get_distinct_gapless_revisions<S: Store>(store: S) {
    const WRITERS: usize = 8;
    const WRITES: usize = 50;
    let (base, compacted) = revisions(&store).await;
    let store = Arc::new(store);
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut revisions = Vec::with_capacity(WRITES);
                for i in 0..WRITES {
                    revisions.push(put(store.as_ref(), &format!("/w/{w}/{i}"), "v").await);
                }
                revisions
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.expect("writer task panicked"));
    }
    all.sort_unstable();
    let total = (WRITERS * WRITES) as Revision;
    assert_eq!(
        all,
        (base + 1..=base + total).collect::<Vec<_>>(),
        "revisions are distinct and gapless"
    );
    assert_eq!(revisions(store.as_ref()).await, (base + total, compacted));
    let count = store
        .range(RangeRequest::prefix("/w/"))
        .await
        .expect("range")
        .count;
    assert_eq!(count, WRITERS * WRITES, "every write is readable");
}
