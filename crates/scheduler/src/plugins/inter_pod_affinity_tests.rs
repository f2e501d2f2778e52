use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::*;
use crate::cache::Cache;
use crate::core::{Algorithm, SplitMix64};
use crate::plugins::default_framework;
use crate::testing::{node, pod, with_labels, with_spec};

fn with_affinity(p: Pod, affinity: serde_json::Value) -> Pod {
    with_spec(p, |s| s.affinity = serde_json::from_value(affinity).ok())
}

fn anti_web(name: &str) -> Pod {
    with_affinity(
        with_labels(pod(name, "100m", "64Mi"), &[("app", "web")]),
        json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}),
    )
}

fn cluster(n: usize) -> Cache {
    let mut cache = Cache::new();
    for i in 0..n {
        cache.upsert_node(Arc::new(node(&format!("n{i}"), "4", "8Gi")));
    }
    cache
}

fn place(alg: &mut Algorithm, cache: &mut Cache, p: Pod) -> Result<String, String> {
    let info = Arc::new(PodInfo::new(Arc::new(p)));
    let placed = alg
        .schedule(&info, &cache.snapshot())
        .map_err(|e| e.message())?;
    cache.assume(info, &placed.node);
    Ok(placed.node)
}

#[test]
fn required_anti_affinity_puts_three_replicas_on_three_nodes_and_rejects_a_fourth() {
    let mut cache = cluster(3);
    let mut alg = Algorithm::new(default_framework(), Box::new(SplitMix64::new(1)));
    let mut nodes: Vec<String> = (0..3)
        .filter_map(|i| place(&mut alg, &mut cache, anti_web(&format!("w{i}"))).ok())
        .collect();
    nodes.sort();
    assert_eq!(nodes, vec!["n0", "n1", "n2"]);
    let err = place(&mut alg, &mut cache, anti_web("w3"))
        .err()
        .unwrap_or_default();
    assert_eq!(
        err,
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
    );
}

#[test]
fn existing_pods_anti_affinity_keeps_matching_pods_away() {
    let mut cache = cluster(2);
    let mut alg = Algorithm::new(default_framework(), Box::new(SplitMix64::new(1)));
    let first = place(&mut alg, &mut cache, anti_web("w0")).unwrap_or_default();
    let plain = with_labels(pod("plain", "100m", "64Mi"), &[("app", "web")]);
    let second = place(&mut alg, &mut cache, plain).unwrap_or_default();
    assert_ne!(first, second);
}

#[test]
fn required_affinity_follows_matching_pods_and_the_first_of_a_group_may_go_anywhere() {
    let mut cache = cluster(5);
    let mut alg = Algorithm::new(default_framework(), Box::new(SplitMix64::new(3)));
    let follower = |name: &str| {
        with_affinity(
            with_labels(pod(name, "100m", "64Mi"), &[("app", "cache")]),
            json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}),
        )
    };
    let first = place(&mut alg, &mut cache, follower("c0")).unwrap_or_default();
    for i in 1..4 {
        assert_eq!(
            place(&mut alg, &mut cache, follower(&format!("c{i}"))).unwrap_or_default(),
            first
        );
    }
    let stranger = with_affinity(
        pod("s", "100m", "64Mi"),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}),
    );
    assert_eq!(
        place(&mut alg, &mut cache, stranger)
            .err()
            .unwrap_or_default(),
        "0/5 nodes are available: 5 node(s) didn't match pod affinity rules."
    );
}

#[test]
fn preferred_anti_affinity_scores_nodes_without_matching_pods_higher() {
    let mut cache = cluster(2);
    let mut alg = Algorithm::new(default_framework(), Box::new(SplitMix64::new(9)));
    let soft = |name: &str| {
        with_affinity(
            with_labels(pod(name, "", ""), &[("app", "api")]),
            json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 100,
                "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "api"}}, "topologyKey": "kubernetes.io/hostname"}}]}}),
        )
    };
    let a = place(&mut alg, &mut cache, soft("a")).unwrap_or_default();
    let b = place(&mut alg, &mut cache, soft("b")).unwrap_or_default();
    assert_ne!(a, b);
}

#[test]
fn namespace_selector_reaches_pods_in_labelled_namespaces() {
    let mut cache = cluster(2);
    cache.upsert_namespace("other", [("team".to_owned(), "x".to_owned())].into());
    let mut alg = Algorithm::new(default_framework(), Box::new(SplitMix64::new(1)));
    let mut there = with_labels(pod("db", "100m", "64Mi"), &[("app", "db")]);
    there.metadata.namespace = Some("other".to_owned());
    let db_node = place(&mut alg, &mut cache, there).unwrap_or_default();
    let follower = with_affinity(
        pod("f", "100m", "64Mi"),
        json!({"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
            "labelSelector": {"matchLabels": {"app": "db"}},
            "namespaceSelector": {"matchLabels": {"team": "x"}},
            "topologyKey": "kubernetes.io/hostname"}]}}),
    );
    assert_eq!(
        place(&mut alg, &mut cache, follower).unwrap_or_default(),
        db_node
    );
}
