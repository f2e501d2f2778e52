use std::time::Duration;

use futures::channel::mpsc;
use k8s_openapi::api::core::v1::Pod;
use kube::api::ObjectMeta;
use kube::runtime::watcher;

use super::SharedInformer;

type Events = mpsc::UnboundedSender<Result<watcher::Event<Pod>, watcher::Error>>;

fn informer() -> (SharedInformer<Pod>, Events) {
    let (events, stream) = mpsc::unbounded();
    (SharedInformer::from_events(stream), events)
}

fn pod(name: &str) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some("default".to_owned()),
            ..ObjectMeta::default()
        },
        ..Pod::default()
    }
}

#[tokio::test]
async fn every_waiter_wakes_when_the_first_list_is_in() {
    let (informer, events) = informer();
    // Each waiter is its own task, already parked on the signal when the list completes, as
    // the controllers sharing one informer are.
    let waiters: Vec<_> = (0..8)
        .map(|_| {
            let informer = informer.clone();
            tokio::spawn(async move {
                informer.listed().await;
                informer.store().state().len()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    for event in [
        watcher::Event::Init,
        watcher::Event::InitApply(pod("a")),
        watcher::Event::InitApply(pod("b")),
        watcher::Event::InitDone,
    ] {
        events.unbounded_send(Ok(event)).unwrap();
    }
    for waiter in waiters {
        let seen = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("every waiter wakes")
            .unwrap();
        assert_eq!(seen, 2, "a waiter wakes to the whole list");
    }
}

#[tokio::test]
async fn a_late_waiter_returns_at_once_and_a_subscriber_gets_what_is_cached() {
    use futures::StreamExt;

    let (informer, events) = informer();
    for event in [
        watcher::Event::Init,
        watcher::Event::InitApply(pod("a")),
        watcher::Event::InitDone,
    ] {
        events.unbounded_send(Ok(event)).unwrap();
    }
    tokio::time::timeout(Duration::from_secs(5), informer.listed())
        .await
        .expect("listed");
    let mut changes = informer.subscribe();
    let first = changes.next().await.unwrap();
    assert_eq!(first.metadata.name.as_deref(), Some("a"));
    events
        .unbounded_send(Ok(watcher::Event::Apply(pod("b"))))
        .unwrap();
    let second = changes.next().await.unwrap();
    assert_eq!(second.metadata.name.as_deref(), Some("b"));
}

#[tokio::test]
async fn waiters_are_released_when_the_informer_stops_before_listing() {
    let (informer, events) = informer();
    drop(events);
    tokio::time::timeout(Duration::from_secs(5), informer.listed())
        .await
        .expect("a stopped informer releases its waiters");
}
