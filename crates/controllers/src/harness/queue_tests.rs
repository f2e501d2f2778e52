//! The work queue driven with paused time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::WorkQueue;
use crate::harness::Backoff;

#[derive(Debug, thiserror::Error)]
#[error("injected failure")]
struct Injected;

type Log = Arc<Mutex<Vec<(&'static str, Instant)>>>;

/// Runs `queue` with one worker that logs each item and fails `fail_first` times per run.
async fn run_for(queue: Arc<WorkQueue<&'static str>>, fail_first: usize, for_: Duration) -> Log {
    let log: Log = Arc::default();
    let shutdown = CancellationToken::new();
    let seen = Arc::clone(&log);
    let task = tokio::spawn(Arc::clone(&queue).run(
        "test",
        1,
        move |item| {
            let seen = Arc::clone(&seen);
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push((item, Instant::now()));
                if seen.len() <= fail_first {
                    Err(Injected)
                } else {
                    Ok(())
                }
            }
        },
        shutdown.clone(),
    ));
    tokio::time::sleep(for_).await;
    shutdown.cancel();
    task.await.unwrap();
    log
}

#[tokio::test(start_paused = true)]
async fn an_item_added_twice_is_processed_once() {
    let queue = WorkQueue::new(Backoff::default());
    queue.add("a");
    queue.add("a");
    queue.add("b");
    let log = run_for(queue, 0, Duration::from_secs(1)).await;
    let items: Vec<_> = log.lock().unwrap().iter().map(|(i, _)| *i).collect();
    assert_eq!(items, vec!["a", "b"]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_item_is_retried_with_growing_delays_until_it_succeeds() {
    let queue = WorkQueue::new(Backoff {
        base: Duration::from_secs(1),
        max: Duration::from_secs(60),
    });
    queue.add("a");
    let log = run_for(Arc::clone(&queue), 3, Duration::from_secs(30)).await;
    let at: Vec<Instant> = log.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(at.len(), 4, "three failures then one success");
    let gaps: Vec<u64> = at.windows(2).map(|w| (w[1] - w[0]).as_secs()).collect();
    assert_eq!(gaps, vec![1, 2, 4]);
    assert!(queue.is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_item_added_during_its_processing_runs_again_afterwards() {
    let queue: Arc<WorkQueue<&'static str>> = WorkQueue::new(Backoff::default());
    let runs = Arc::new(Mutex::new(0));
    let shutdown = CancellationToken::new();
    queue.add("a");
    let task = tokio::spawn({
        let queue = Arc::clone(&queue);
        let runs = Arc::clone(&runs);
        queue.clone().run(
            "test",
            2,
            move |item| {
                let queue = Arc::clone(&queue);
                let runs = Arc::clone(&runs);
                async move {
                    let first = {
                        let mut runs = runs.lock().unwrap();
                        *runs += 1;
                        *runs == 1
                    };
                    if first {
                        queue.add(item);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    Ok::<(), Injected>(())
                }
            },
            shutdown.clone(),
        )
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(*runs.lock().unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_item_added_after_a_delay_waits_for_it() {
    let queue = WorkQueue::new(Backoff::default());
    let start = Instant::now();
    queue.add_after("late", Duration::from_secs(5));
    let log = run_for(queue, 0, Duration::from_secs(10)).await;
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].1 - start).as_secs(), 5);
}
