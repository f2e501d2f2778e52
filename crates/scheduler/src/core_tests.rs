use std::sync::Arc;

use k8s_openapi::api::core::v1::Taint;

use super::*;
use crate::cache::Cache;
use crate::plugins::default_framework;
use crate::testing::{node, pod, with_labels, with_node_spec, with_spec};

fn algorithm() -> Algorithm {
    Algorithm::new(default_framework(), Box::new(SplitMix64::new(7)))
}

fn info(p: k8s_openapi::api::core::v1::Pod) -> PodInfo {
    PodInfo::new(Arc::new(p))
}

#[test]
fn sampling_looks_at_every_node_in_small_clusters_and_a_shrinking_share_in_big_ones() {
    assert_eq!(feasible_nodes_to_find(0, 50), 50);
    assert_eq!(feasible_nodes_to_find(0, 1000), 420);
    assert_eq!(feasible_nodes_to_find(0, 5000), 500);
    assert_eq!(feasible_nodes_to_find(0, 10_000), 500);
    assert_eq!(feasible_nodes_to_find(10, 200), 100);
    assert_eq!(feasible_nodes_to_find(100, 5000), 5000);
}

#[test]
fn pod_goes_to_the_least_allocated_node() {
    let mut cache = Cache::new();
    cache.upsert_node(Arc::new(node("small", "2", "4Gi")));
    cache.upsert_node(Arc::new(node("big", "16", "64Gi")));
    let placed = algorithm().schedule(&info(pod("p", "1", "1Gi")), &cache.snapshot());
    assert_eq!(placed.map(|p| p.node).ok(), Some("big".to_owned()));
}

#[test]
fn pod_too_big_for_every_node_fails_with_upstreams_message() {
    let mut cache = Cache::new();
    cache.upsert_node(Arc::new(node("a", "1", "4Gi")));
    cache.upsert_node(Arc::new(node("b", "1", "4Gi")));
    cache.upsert_node(Arc::new(with_node_spec(node("c", "8", "4Gi"), |s| {
        s.taints = Some(vec![Taint {
            key: "k".to_owned(),
            value: Some("v".to_owned()),
            effect: "NoSchedule".to_owned(),
            time_added: None,
        }]);
    })));
    let err = algorithm()
        .schedule(&info(pod("p", "4", "1Gi")), &cache.snapshot())
        .err()
        .unwrap_or_default();
    assert_eq!(
        err.message(),
        "0/3 nodes are available: 1 node(s) had untolerated taint {k: v}, 2 Insufficient cpu."
    );
}

#[test]
fn no_nodes_fails_with_no_nodes_available() {
    let err = algorithm()
        .schedule(&info(pod("p", "", "")), &Cache::new().snapshot())
        .err()
        .unwrap_or_default();
    assert_eq!(err.message(), "no nodes available to schedule pods");
}

#[test]
fn ties_are_broken_by_the_seeded_generator_reproducibly() {
    let mut cache = Cache::new();
    for i in 0..10 {
        cache.upsert_node(Arc::new(node(&format!("n{i}"), "4", "8Gi")));
    }
    let p = info(pod("p", "1", "1Gi"));
    let first: Vec<String> = (0..5)
        .map(|_| {
            algorithm()
                .schedule(&p, &cache.snapshot())
                .map(|x| x.node)
                .unwrap_or_default()
        })
        .collect();
    assert!(first.windows(2).all(|w| w[0] == w[1]));
    let mut alg = algorithm();
    let spread: std::collections::HashSet<String> = (0..20)
        .map(|_| {
            alg.schedule(&p, &cache.snapshot())
                .map(|x| x.node)
                .unwrap_or_default()
        })
        .collect();
    assert!(
        spread.len() > 1,
        "ties should not always pick the same node"
    );
}

#[test]
fn big_clusters_evaluate_a_sample_and_rotate_the_start() {
    let mut cache = Cache::new();
    for i in 0..1000 {
        cache.upsert_node(Arc::new(node(&format!("n{i:04}"), "4", "8Gi")));
    }
    let mut alg = algorithm();
    let p = info(pod("p", "1", "1Gi"));
    let first = alg.schedule(&p, &cache.snapshot()).map(|x| x.evaluated);
    assert_eq!(first.ok(), Some(420));
    assert_eq!(alg.next_start, 420);
}

#[test]
fn node_selector_narrows_placement() {
    let mut cache = Cache::new();
    cache.upsert_node(Arc::new(with_labels(
        node("a", "4", "8Gi"),
        &[("disk", "ssd")],
    )));
    cache.upsert_node(Arc::new(node("b", "64", "64Gi")));
    let p = with_spec(pod("p", "1", "1Gi"), |s| {
        s.node_selector = Some([("disk".to_owned(), "ssd".to_owned())].into());
    });
    assert_eq!(
        algorithm()
            .schedule(&info(p), &cache.snapshot())
            .map(|x| x.node)
            .ok(),
        Some("a".to_owned())
    );
}
