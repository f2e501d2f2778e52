//! Checks of watch and compaction.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::{delete, get, keys_at, put, revisions, value};
use crate::{
    prefix_end, Event, EventKind, Precondition, RangeRequest, Revision, Store, StoreError,
    WatchStream,
};

/// How long a check waits for an event that should come before calling it missing.
const WAIT: Duration = Duration::from_secs(10);

/// Reads from `stream` until at least `n` events arrived.
async fn take_events(stream: &mut WatchStream, n: usize, what: &str) -> Vec<Event> {
    let mut events = Vec::new();
    while events.len() < n {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Err(_) => panic!(
                "{what}: only {} of {n} events arrived: {events:?}",
                events.len()
            ),
            Ok(None) => panic!(
                "{what}: the stream ended after {} of {n} events",
                events.len()
            ),
            Ok(Some(Err(error))) => panic!("{what}: the stream failed: {error}"),
            Ok(Some(Ok(batch))) => events.extend(batch),
        }
    }
    events
}

/// A compact description of events: `put /a=v @3 prev=1`, where 3 is the event's revision less
/// `base` (the revision the check started at) and prev is the previous value, if any.
fn describe(events: &[Event], base: Revision) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let kind = match e.kind {
                EventKind::Put => "put",
                EventKind::Delete => "delete",
            };
            let text = |v: &bytes::Bytes| String::from_utf8_lossy(v).into_owned();
            let prev = e.prev.as_ref().map_or("-".to_owned(), |p| text(&p.value));
            format!(
                "{kind} {}={} @{} prev={prev}",
                e.kv.key,
                text(&e.kv.value),
                e.kv.mod_revision - base
            )
        })
        .collect()
}

async fn watch<S: Store>(store: &S, prefix: &str, revision: Revision) -> WatchStream {
    let end = prefix_end(prefix);
    let watch = store.watch(prefix, &end, revision).await;
    watch.unwrap_or_else(|e| panic!("watching {prefix} from {revision} failed: {e}"))
}

/// A watch from a past revision replays the history in revision order, with previous values,
/// then follows live writes.
pub async fn watch_from_past_revision_replays_then_follows_live<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/w/a", "1").await;
    put(&store, "/w/a", "2").await;
    put(&store, "/w/b", "1").await;
    let mut stream = watch(&store, "/w/", base + 2).await;
    let replayed = take_events(&mut stream, 2, "replay from the second write").await;
    assert_eq!(
        describe(&replayed, base),
        ["put /w/a=2 @2 prev=1", "put /w/b=1 @3 prev=-"]
    );
    let prev = replayed[0]
        .prev
        .as_ref()
        .expect("the replayed overwrite has a prev");
    assert_eq!((prev.mod_revision, prev.version), (base + 1, 1));
    assert_eq!(
        (replayed[0].kv.create_revision, replayed[0].kv.version),
        (base + 1, 2)
    );
    put(&store, "/w/a", "3").await;
    let live = take_events(&mut stream, 1, "live write after the replay").await;
    assert_eq!(describe(&live, base), ["put /w/a=3 @4 prev=2"]);
}

/// A watch from revision 0 starts after the current revision.
pub async fn watch_at_revision_zero_sees_only_new_writes<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/w/a", "1").await;
    put(&store, "/w/b", "1").await;
    let mut stream = watch(&store, "/w/", 0).await;
    put(&store, "/w/c", "1").await;
    let events = take_events(&mut stream, 1, "watch from now").await;
    assert_eq!(
        describe(&events, base),
        ["put /w/c=1 @3 prev=-"],
        "no earlier write is replayed"
    );
}

/// A watch delivers only keys in its range; an empty `end` watches exactly one key.
pub async fn watch_only_delivers_keys_in_range<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    let mut prefix = watch(&store, "/a/", 0).await;
    let single = store.watch("/a/x", "", 0).await;
    let mut single = single.unwrap_or_else(|e| panic!("watching one key failed: {e}"));
    put(&store, "/b/x", "1").await;
    put(&store, "/a/xy", "1").await;
    put(&store, "/a/x", "1").await;
    let events = take_events(&mut prefix, 2, "prefix watch").await;
    assert_eq!(
        describe(&events, base),
        ["put /a/xy=1 @2 prev=-", "put /a/x=1 @3 prev=-"]
    );
    let events = take_events(&mut single, 1, "single-key watch").await;
    assert_eq!(describe(&events, base), ["put /a/x=1 @3 prev=-"]);
}

/// Delete events carry the key, the delete's revision and the deleted value as `prev`, both live
/// and replayed.
pub async fn delete_events_carry_prev<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/w/a", "1").await;
    let mut live = watch(&store, "/w/", 0).await;
    delete(&store, "/w/a").await;
    let events = take_events(&mut live, 1, "live delete").await;
    assert_eq!(events[0].kind, EventKind::Delete);
    assert_eq!(describe(&events, base), ["delete /w/a= @2 prev=1"]);
    let prev = events[0].prev.as_ref().expect("a delete carries prev");
    assert_eq!(
        (prev.mod_revision, prev.create_revision, prev.version),
        (base + 1, base + 1, 1)
    );
    let mut replay = watch(&store, "/w/", base + 1).await;
    let events = take_events(&mut replay, 2, "replayed delete").await;
    assert_eq!(
        describe(&events, base),
        ["put /w/a=1 @1 prev=-", "delete /w/a= @2 prev=1"]
    );
}

/// A watch started while writes are in flight delivers every revision exactly once, in order.
pub async fn watch_started_during_writes_misses_and_duplicates_nothing<S: Store>(store: S) {
    const WRITES: i64 = 200;
    let base = revisions(&store).await.0;
    let store = Arc::new(store);
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            for i in 0..WRITES {
                put(store.as_ref(), &format!("/w/{}", i % 7), "v").await;
            }
        })
    };
    while store.revisions().await.expect("revisions").0 < base + WRITES / 4 {
        tokio::task::yield_now().await;
    }
    let mut stream = watch(store.as_ref(), "/w/", base + 1).await;
    let events = take_events(&mut stream, WRITES as usize, "watch during writes").await;
    writer.await.expect("writer task panicked");
    let revisions: Vec<Revision> = events.iter().map(|e| e.kv.mod_revision).collect();
    assert_eq!(
        revisions,
        (base + 1..=base + WRITES).collect::<Vec<_>>(),
        "each revision exactly once, in order"
    );
}

/// Compaction keeps the newest version of every live key; reads below it and watches at or
/// below it fail with `Compacted`; later history stays readable and watchable.
pub async fn compaction_fails_old_reads_and_watches_and_keeps_current_data<S: Store>(store: S) {
    let base = revisions(&store).await.0;
    put(&store, "/k/a", "1").await;
    put(&store, "/k/a", "2").await;
    put(&store, "/k/b", "1").await;
    delete(&store, "/k/b").await;
    put(&store, "/k/c", "1").await;
    let compacted = base + 3;
    store
        .compact(compacted)
        .await
        .unwrap_or_else(|e| panic!("compacting to {compacted} failed: {e}"));
    assert_eq!(revisions(&store).await, (base + 5, compacted));
    let old = store
        .range(RangeRequest {
            revision: base + 2,
            ..RangeRequest::prefix("/k/")
        })
        .await;
    assert!(
        matches!(
            old,
            Err(StoreError::Compacted {
                requested,
                compacted: c,
            }) if requested == base + 2 && c == compacted
        ),
        "a read below the compacted revision fails, got {old:?}"
    );
    assert_eq!(
        keys_at(&store, "/k/", compacted).await,
        ["/k/a=2", "/k/b=1"],
        "the compacted revision stays readable"
    );
    assert_eq!(keys_at(&store, "/k/", base + 4).await, ["/k/a=2"]);
    assert_eq!(keys_at(&store, "/k/", 0).await, ["/k/a=2", "/k/c=1"]);
    for revision in [base + 2, compacted] {
        let old = store.watch("/k/", &prefix_end("/k/"), revision).await.err();
        assert!(
            matches!(old, Some(StoreError::Compacted { compacted: c, .. }) if c == compacted),
            "a watch from {revision} (at or below the compacted revision) fails, got {old:?}"
        );
    }
    let mut stream = watch(&store, "/k/", base + 4).await;
    let events = take_events(&mut stream, 2, "watch after compaction").await;
    assert_eq!(
        describe(&events, base),
        ["delete /k/b= @4 prev=1", "put /k/c=1 @5 prev=-"]
    );
    for revision in [base + 2, compacted] {
        let again = store.compact(revision).await;
        assert!(
            matches!(again, Err(StoreError::Compacted { compacted: c, .. }) if c == compacted),
            "compacting to {revision} again fails, got {again:?}"
        );
    }
    let cas = store
        .put("/k/a", value("3"), Precondition::ModRevision(base + 2))
        .await;
    assert!(
        matches!(cas, Ok(crate::WriteOutcome::Applied { revision, .. }) if revision == base + 6),
        "a key's mod revision stays usable after compaction, got {cas:?}"
    );
    let kv = get(&store, "/k/a").await.expect("/k/a exists");
    assert_eq!(
        (kv.create_revision, kv.version),
        (base + 1, 3),
        "compaction keeps create_revision and version"
    );
}
