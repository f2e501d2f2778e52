use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::plugins::priority_sort::PrioritySort;
use crate::testing::{pod, with_spec};

fn queue() -> SchedulingQueue {
    SchedulingQueue::new(QueueConfig::default(), Arc::new(PrioritySort))
}

fn info(name: &str, priority: i32) -> Arc<PodInfo> {
    Arc::new(PodInfo::new(Arc::new(with_spec(pod(name, "", ""), |s| {
        s.priority = Some(priority)
    }))))
}

fn popped(q: &mut SchedulingQueue, now: Instant) -> Option<String> {
    q.pop(now).map(|p| p.name.clone())
}

#[test]
fn higher_priority_pops_first_then_arrival_order() {
    let now = Instant::now();
    let mut q = queue();
    q.add(info("low", 0), now);
    q.add(info("high", 100), now);
    q.add(info("low2", 0), now);
    assert_eq!(popped(&mut q, now).as_deref(), Some("high"));
    assert_eq!(popped(&mut q, now).as_deref(), Some("low"));
    assert_eq!(popped(&mut q, now).as_deref(), Some("low2"));
    assert_eq!(popped(&mut q, now), None);
}

#[test]
fn backoff_doubles_from_one_second_to_ten() {
    let q = queue();
    let secs: Vec<u64> = (1..=6).map(|a| q.backoff_for(a).as_secs()).collect();
    assert_eq!(secs, vec![1, 2, 4, 8, 10, 10]);
}

#[test]
fn unschedulable_pod_waits_for_a_cluster_change_then_its_backoff() {
    let t0 = Instant::now();
    let mut q = queue();
    q.add(info("p", 0), t0);
    assert!(q.pop(t0).is_some());
    q.unschedulable("default/p", t0);
    assert_eq!(q.counts(), (0, 0, 1, 0));
    assert_eq!(popped(&mut q, t0 + Duration::from_secs(30)), None);
    q.cluster_changed(t0 + Duration::from_millis(500));
    assert_eq!(q.counts(), (0, 1, 0, 0));
    assert_eq!(popped(&mut q, t0 + Duration::from_millis(900)), None);
    assert_eq!(
        popped(&mut q, t0 + Duration::from_secs(1)).as_deref(),
        Some("p")
    );
}

#[test]
fn cluster_change_during_an_attempt_sends_the_pod_to_backoff_not_unschedulable() {
    let t0 = Instant::now();
    let mut q = queue();
    q.add(info("p", 0), t0);
    assert!(q.pop(t0).is_some());
    q.cluster_changed(t0);
    q.unschedulable("default/p", t0);
    assert_eq!(q.counts(), (0, 1, 0, 0));
    assert_eq!(q.next_wakeup(), Some(t0 + Duration::from_secs(1)));
}

#[test]
fn unschedulable_pods_are_retried_after_five_minutes_without_events() {
    let t0 = Instant::now();
    let mut q = queue();
    q.add(info("p", 0), t0);
    assert!(q.pop(t0).is_some());
    q.unschedulable("default/p", t0);
    assert_eq!(q.next_wakeup(), Some(t0 + Duration::from_secs(300)));
    assert_eq!(
        popped(&mut q, t0 + Duration::from_secs(300)).as_deref(),
        Some("p")
    );
}

#[test]
fn deleted_pods_never_pop() {
    let t0 = Instant::now();
    let mut q = queue();
    q.add(info("p", 0), t0);
    q.delete("default/p");
    assert_eq!(popped(&mut q, t0), None);
}
