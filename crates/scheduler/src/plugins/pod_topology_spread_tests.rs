use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::cache::Cache;
use crate::testing::{node, with_labels, with_spec, zone_spread_pod};

fn zoned_cache() -> Cache {
    let mut cache = Cache::new();
    for (name, zone) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
        cache.upsert_node(Arc::new(with_labels(
            node(name, "4", "8Gi"),
            &[("zone", zone)],
        )));
    }
    cache
}

fn spread_pod(name: &str, when: &str, max_skew: i32) -> Pod {
    zone_spread_pod(name, when, max_skew)
}

fn bind(cache: &mut Cache, p: Pod, node: &str) {
    let p = with_spec(p, |s| s.node_name = Some(node.to_owned()));
    cache.add_bound_pod(Arc::new(PodInfo::new(Arc::new(p))));
}

fn verdicts_in(cache: &Cache, p: &PodInfo) -> Vec<(String, Status)> {
    let mut state = CycleState::new();
    let snapshot = cache.snapshot();
    if let Err(s) = PodTopologySpread.pre_filter(&mut state, p, &snapshot) {
        return vec![("prefilter".to_owned(), s)];
    }
    let mut out: Vec<(String, Status)> = snapshot
        .nodes
        .iter()
        .map(|n| (n.name.clone(), PodTopologySpread.filter(&state, p, n)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The Filter verdicts by node, the same whether counted by walking the nodes or read from
/// the cache's kept counts.
fn verdicts(cache: &mut Cache, p: &PodInfo) -> Vec<(String, Status)> {
    let walked = verdicts_in(cache, p);
    cache.prepare(p);
    assert_eq!(walked, verdicts_in(cache, p), "kept counts disagree");
    walked
}

#[test]
fn hard_constraint_rejects_nodes_in_the_fuller_zone() {
    let mut cache = zoned_cache();
    bind(&mut cache, spread_pod("w1", "DoNotSchedule", 1), "a1");
    let p = PodInfo::new(Arc::new(spread_pod("w2", "DoNotSchedule", 1)));
    let v = verdicts(&mut cache, &p);
    assert_eq!(v[0].1.reasons, vec![REASON.to_owned()]);
    assert_eq!(v[1].1.reasons, vec![REASON.to_owned()]);
    assert!(v[2].1.is_success(), "zone b is empty");
}

#[test]
fn larger_max_skew_allows_the_fuller_zone() {
    let mut cache = zoned_cache();
    bind(&mut cache, spread_pod("w1", "DoNotSchedule", 2), "a1");
    let p = PodInfo::new(Arc::new(spread_pod("w2", "DoNotSchedule", 2)));
    assert!(verdicts(&mut cache, &p).iter().all(|(_, s)| s.is_success()));
}

#[test]
fn node_without_the_topology_label_is_unresolvable() {
    let mut cache = zoned_cache();
    cache.upsert_node(Arc::new(node("bare", "4", "8Gi")));
    let p = PodInfo::new(Arc::new(spread_pod("w", "DoNotSchedule", 1)));
    let v = verdicts(&mut cache, &p);
    let bare = v
        .iter()
        .find(|(n, _)| n == "bare")
        .map(|(_, s)| s.clone())
        .unwrap_or_else(Status::success);
    assert_eq!(bare.reasons, vec![REASON_MISSING_LABEL.to_owned()]);
}

#[test]
fn min_domains_beyond_the_existing_zones_counts_the_minimum_as_zero() {
    let mut cache = zoned_cache();
    bind(&mut cache, spread_pod("w1", "DoNotSchedule", 1), "a1");
    bind(&mut cache, spread_pod("w2", "DoNotSchedule", 1), "b1");
    let mut p = spread_pod("w3", "DoNotSchedule", 1);
    if let Some(c) = p
        .spec
        .as_mut()
        .and_then(|s| s.topology_spread_constraints.as_mut())
    {
        c[0].min_domains = Some(3);
    }
    let v = verdicts(&mut cache, &PodInfo::new(Arc::new(p)));
    assert!(
        v.iter().all(|(_, s)| !s.is_success()),
        "with 2 of 3 domains every placement has skew 2"
    );
}

#[test]
fn soft_constraint_scores_the_emptier_zone_higher_and_never_filters() {
    let mut cache = zoned_cache();
    bind(&mut cache, spread_pod("w1", "ScheduleAnyway", 1), "a1");
    let p = PodInfo::new(Arc::new(spread_pod("w2", "ScheduleAnyway", 1)));
    assert_eq!(
        verdicts(&mut cache, &p)[0].1.code,
        crate::framework::Code::Skip
    );
    let scores = |cache: &Cache| {
        let snapshot = cache.snapshot();
        let nodes: Vec<&NodeInfo> = snapshot.nodes.iter().collect();
        let mut state = CycleState::new();
        assert!(PodTopologySpread
            .pre_score(&mut state, &p, &snapshot, &nodes)
            .is_success());
        let mut scores: Vec<(String, i64)> = nodes
            .iter()
            .map(|n| (n.name.clone(), PodTopologySpread.score(&state, &p, n)))
            .collect();
        let mut values: Vec<i64> = scores.iter().map(|s| s.1).collect();
        PodTopologySpread.normalize(&state, &mut values);
        for (s, v) in scores.iter_mut().zip(values) {
            s.1 = v;
        }
        scores.sort();
        scores
    };
    let walked = scores(&cache);
    cache.prepare(&p);
    assert_eq!(walked, scores(&cache), "kept counts disagree");
    let score_of = |name: &str| walked.iter().find(|s| s.0 == name).map_or(0, |s| s.1);
    assert!(score_of("b1") > score_of("a2"), "{walked:?}");
}
