//! The harness driven from an in-memory store and trigger stream, with paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::ObjectMeta;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::store::Writer;
use kube::runtime::{reflector, watcher};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Backoff, Harness};

#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
struct Injected;

struct Recorder {
    fail_first: u32,
    calls: AtomicU32,
    at: Mutex<Vec<Instant>>,
}

fn config_map(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("default".to_owned()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    }
}

/// A controller over an in-memory store holding `obj` (the writer must outlive the run).
fn in_memory_controller(obj: ConfigMap) -> (Controller<ConfigMap>, Writer<ConfigMap>) {
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Init);
    writer.apply_watcher_event(&watcher::Event::InitApply(obj.clone()));
    writer.apply_watcher_event(&watcher::Event::InitDone);
    let trigger = futures::stream::iter([Ok(obj)]).chain(futures::stream::pending());
    (Controller::for_stream(trigger, reader), writer)
}

use futures::StreamExt;

async fn record(_: Arc<ConfigMap>, ctx: Arc<Recorder>) -> Result<Action, Injected> {
    ctx.at.lock().unwrap().push(Instant::now());
    let n = ctx.calls.fetch_add(1, Ordering::SeqCst);
    if n < ctx.fail_first {
        Err(Injected)
    } else {
        Ok(Action::await_change())
    }
}

#[test]
fn backoff_doubles_from_base_per_failure_and_stops_at_max() {
    let b = Backoff::default();
    assert_eq!(b.delay(1), Duration::from_millis(5));
    assert_eq!(b.delay(2), Duration::from_millis(10));
    assert_eq!(b.delay(5), Duration::from_millis(80));
    assert_eq!(b.delay(30), Duration::from_secs(60));
    assert_eq!(b.delay(u32::MAX), Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn failed_reconciles_are_retried_with_growing_delays_until_success() {
    let ctx = Arc::new(Recorder {
        fail_first: 3,
        calls: AtomicU32::new(0),
        at: Mutex::new(Vec::new()),
    });
    let shutdown = CancellationToken::new();
    let backoff = Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    };
    let (controller, _writer) = in_memory_controller(config_map("a"));
    let harness = Harness::from_controller("test", controller).backoff(backoff);
    let task = tokio::spawn(harness.run(record, Arc::clone(&ctx), shutdown.clone()));
    tokio::time::sleep(Duration::from_secs(30)).await;
    shutdown.cancel();
    task.await.unwrap();

    let at = ctx.at.lock().unwrap().clone();
    assert_eq!(at.len(), 4, "three failures then one success, no more");
    let gaps: Vec<u64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(gaps, vec![1, 2, 4]);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_shutdown_token_ends_the_controller() {
    let ctx = Arc::new(Recorder {
        fail_first: 0,
        calls: AtomicU32::new(0),
        at: Mutex::new(Vec::new()),
    });
    let shutdown = CancellationToken::new();
    let (controller, _writer) = in_memory_controller(config_map("b"));
    let harness = Harness::from_controller("test", controller);
    let task = tokio::spawn(harness.run(record, Arc::clone(&ctx), shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(10)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the controller stops")
        .unwrap();
    assert_eq!(ctx.calls.load(Ordering::SeqCst), 1);
}
