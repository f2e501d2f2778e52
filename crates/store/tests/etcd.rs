//! The etcd backend against a real etcd (Debian's `etcd-server`, installed by `scripts/setup`):
//! the whole conformance suite, plus what only a shared, remote store owes — key prefixes that
//! isolate tenants, discovering another client's compaction, and a retryable error when etcd is
//! unreachable.
//!
//! Each test starts its own etcd on free loopback ports, in a temporary directory that is removed
//! (and the process killed) when the test ends, also on panic. Without `etcd` on PATH the tests
//! fail with a message saying how to install it.

// Test code: a failed expectation panics with a message.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::StreamExt;
use rudder_store::etcd::EtcdStore;
use rudder_store::testing::EtcdServer;
use rudder_store::{
    conformance, prefix_end, Precondition, RangeRequest, Store, StoreError, WriteOutcome,
};

async fn etcd() -> EtcdServer {
    EtcdServer::start()
        .await
        .unwrap_or_else(|e| panic!("cannot run the etcd tests: {e}"))
}

async fn connect(etcd: &EtcdServer, prefix: &str) -> EtcdStore {
    EtcdStore::connect(&etcd.endpoints(), Some(prefix.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", etcd.endpoint()))
}

fn bytes(text: &str) -> Bytes {
    Bytes::copy_from_slice(text.as_bytes())
}

async fn put(store: &EtcdStore, key: &str, text: &str) -> i64 {
    match store.put(key, bytes(text), Precondition::None).await {
        Ok(WriteOutcome::Applied { revision, .. }) => revision,
        other => panic!("put of {key} should apply, got {other:?}"),
    }
}

/// Every conformance check, one after the other, each under its own key prefix of one etcd.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whole_conformance_suite_passes_against_a_real_etcd() {
    let etcd = etcd().await;
    let next = AtomicUsize::new(0);
    conformance::run_all(|| {
        let prefix = format!("/conformance-{}", next.fetch_add(1, Ordering::Relaxed));
        let etcd = &etcd;
        async move { connect(etcd, &prefix).await }
    })
    .await;
}

#[tokio::test]
async fn stores_with_different_prefixes_do_not_see_each_others_keys() {
    let etcd = etcd().await;
    let (a, b) = (connect(&etcd, "/a").await, connect(&etcd, "/b").await);
    let mut watch_a = a.watch("/", &prefix_end("/"), 0).await.unwrap();
    put(&b, "/k", "from b").await;
    let revision = put(&a, "/k", "from a").await;
    let read = a.range(RangeRequest::prefix("/")).await.unwrap();
    let keys: Vec<_> = read
        .kvs
        .iter()
        .map(|kv| (kv.key.as_str(), kv.value.clone()))
        .collect();
    assert_eq!(keys, [("/k", bytes("from a"))], "a sees only its own key");
    let events = watch_a.next().await.expect("an event").expect("no error");
    assert_eq!(events.len(), 1, "a's watch sees only a's write: {events:?}");
    assert_eq!(
        (events[0].kv.key.as_str(), events[0].kv.mod_revision),
        ("/k", revision),
        "watched keys come without the prefix"
    );
    let absent = b
        .put("/k", bytes("again"), Precondition::Absent)
        .await
        .unwrap();
    assert!(
        matches!(&absent, WriteOutcome::Failed { current: Some(kv) } if kv.key == "/k" && kv.value == bytes("from b")),
        "b's failed precondition reports b's own key, got {absent:?}"
    );
}

#[tokio::test]
async fn compaction_by_another_client_is_discovered_exactly() {
    let etcd = etcd().await;
    let (compactor, other) = (connect(&etcd, "/x").await, connect(&etcd, "/x").await);
    let mut revisions = Vec::new();
    for i in 0..20 {
        revisions.push(put(&compactor, "/k", &i.to_string()).await);
    }
    let target = revisions[12];
    compactor.compact(target).await.unwrap();
    let (current, compacted) = other.revisions().await.unwrap();
    assert_eq!(
        (current, compacted),
        (revisions[19], target),
        "a store that did not compact finds etcd's compacted revision"
    );
    let old = other.watch("/", &prefix_end("/"), target).await.err();
    assert!(
        matches!(old, Some(StoreError::Compacted { requested, compacted }) if requested == target && compacted == target),
        "a watch at the compacted revision fails, got {old:?}"
    );
    let read = other
        .range(RangeRequest {
            revision: revisions[3],
            ..RangeRequest::key("/k")
        })
        .await;
    assert!(
        matches!(read, Err(StoreError::Compacted { compacted, .. }) if compacted == target),
        "a read below the compacted revision reports it, got {read:?}"
    );
}

#[tokio::test]
async fn range_larger_than_grpcs_default_message_limit_is_read_whole() {
    let etcd = etcd().await;
    let store = connect(&etcd, "/big").await;
    let value = Bytes::from(vec![b'v'; 1 << 20]);
    for i in 0..6 {
        let outcome = store
            .put(&format!("/k/{i}"), value.clone(), Precondition::Absent)
            .await;
        assert!(
            matches!(outcome, Ok(WriteOutcome::Applied { .. })),
            "{outcome:?}"
        );
    }
    let read = store.range(RangeRequest::prefix("/k/")).await;
    let read = read.unwrap_or_else(|e| panic!("a 6 MiB range should be read: {e}"));
    assert_eq!((read.kvs.len(), read.count, read.more), (6, 6, false));
}

#[tokio::test]
async fn value_above_etcds_request_limit_is_too_large_not_a_backend_failure() {
    let etcd = etcd().await;
    let store = connect(&etcd, "/big").await;
    // etcd refuses the first itself; gRPC refuses the second before etcd sees it.
    for len in [(7 << 20) / 4, 3 << 20] {
        let value = Bytes::from(vec![b'v'; len]);
        let outcome = store.put("/k", value, Precondition::None).await;
        assert!(
            matches!(outcome, Err(StoreError::TooLarge { size, .. }) if size == len + 2),
            "{len} bytes are above etcd's default 1.5 MiB request limit, got {outcome:?}"
        );
    }
}

#[tokio::test]
async fn unreachable_etcd_is_a_retryable_backend_error() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port();
    let endpoints = [format!("http://127.0.0.1:{port}")];
    let error = EtcdStore::connect(&endpoints, None).await.err();
    assert!(
        matches!(&error, Some(e @ StoreError::Backend { .. }) if e.is_retryable()),
        "connecting to nothing fails with a retryable backend error, got {error:?}"
    );
    let source = error.as_ref().and_then(std::error::Error::source);
    assert!(
        source.is_some(),
        "the backend error keeps etcd's error as its source"
    );
}
