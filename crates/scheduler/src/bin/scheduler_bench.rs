//! `scheduler-bench`: scheduler throughput, in process, against the scheduling core (queue,
//! default plugins, cache; no API server): 10,000 pods onto 5,000 simulated nodes by default.
//!
//! `cargo run --release -p rudder-scheduler --bin scheduler-bench [-- NODES PODS]`
//!
//! Upstream's scheduler_perf floor for 5,000 nodes is about 680 pods/s.

use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use rudder_scheduler::cache::Cache;
use rudder_scheduler::core::{Algorithm, SplitMix64};
use rudder_scheduler::plugins::default_framework;
use rudder_scheduler::pod_info::PodInfo;
use rudder_scheduler::queue::{QueueConfig, SchedulingQueue};
use rudder_scheduler::testing::{node, pod, with_labels, with_spec};

/// One measured run.
struct Figure {
    scheduled: usize,
    failed: usize,
    seconds: f64,
}

fn cluster(nodes: usize) -> Cache {
    let mut cache = Cache::new();
    for i in 0..nodes {
        let zone = format!("zone-{}", i % 3);
        let n = with_labels(
            node(&format!("node-{i:05}"), "4", "16Gi"),
            &[("topology.kubernetes.io/zone", &zone)],
        );
        cache.upsert_node(Arc::new(n));
    }
    cache
}

/// Schedules `pods` through the queue and the default profile, assuming each placement.
fn run(nodes: usize, pods: Vec<Pod>) -> Figure {
    let mut cache = cluster(nodes);
    let framework = default_framework();
    let mut queue = SchedulingQueue::new(QueueConfig::default(), Arc::clone(&framework.queue_sort));
    let mut algorithm = Algorithm::new(framework, Box::new(SplitMix64::new(42)));
    let started = Instant::now();
    for p in pods {
        queue.add(Arc::new(PodInfo::new(Arc::new(p))), started);
    }
    let (mut scheduled, mut failed) = (0, 0);
    while let Some(p) = queue.pop(started) {
        cache.prepare(&p);
        match algorithm.schedule(&p, &cache.snapshot()) {
            Ok(placement) => {
                cache.assume(Arc::clone(&p), &placement.node);
                queue.done(&p.key);
                scheduled += 1;
            }
            Err(_) => {
                queue.unschedulable(&p.key, started);
                failed += 1;
            }
        }
    }
    Figure {
        scheduled,
        failed,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn plain(n: usize) -> Vec<Pod> {
    (0..n)
        .map(|i| pod(&format!("pod-{i:05}"), "100m", "128Mi"))
        .collect()
}

fn spread(n: usize) -> Vec<Pod> {
    let constraints = serde_json::from_value(serde_json::json!([{
        "maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": "spread"}},
    }]))
    .ok();
    plain(n)
        .into_iter()
        .map(|p| {
            with_labels(
                with_spec(p, |s| s.topology_spread_constraints = constraints.clone()),
                &[("app", "spread")],
            )
        })
        .collect()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let nodes = args.first().copied().unwrap_or(5_000);
    let pods = args.get(1).copied().unwrap_or(10_000);
    println!("| workload | nodes | pods | scheduled | unschedulable | seconds | pods/s |");
    println!("|---|---|---|---|---|---|---|");
    for (name, workload) in [
        ("requests only", plain(pods)),
        ("zone spread (ScheduleAnyway)", spread(pods)),
    ] {
        let f = run(nodes, workload);
        let rate = f.scheduled as f64 / f.seconds.max(f64::EPSILON);
        println!(
            "| {name} | {nodes} | {pods} | {} | {} | {:.2} | {rate:.0} |",
            f.scheduled, f.failed, f.seconds
        );
    }
}
