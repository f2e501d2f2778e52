use std::sync::Arc;

use k8s_openapi::api::core::v1::Pod;

use super::*;
use crate::cache::Cache;
use crate::testing::{node, pod, with_labels, with_spec, zone_spread_pod};

fn spreading(name: &str) -> Pod {
    zone_spread_pod(name, "DoNotSchedule", 1)
}

fn zoned(name: &str, zone: &str) -> Arc<k8s_openapi::api::core::v1::Node> {
    Arc::new(with_labels(node(name, "4", "8Gi"), &[("zone", zone)]))
}

fn bound(p: Pod, node: &str) -> Arc<PodInfo> {
    let p = with_spec(p, |s| s.node_name = Some(node.to_owned()));
    Arc::new(PodInfo::new(Arc::new(p)))
}

/// The kept counts for `incoming`'s first constraint, as (zone, nodes, pods).
fn kept(cache: &Cache, incoming: &PodInfo) -> Vec<(String, usize, i64)> {
    let spread = cache.snapshot().spread;
    let domains = spread.and_then(|s| s.domains(&incoming.spread[0].key));
    let mut out: Vec<_> = domains
        .into_iter()
        .flat_map(|d| d.iter())
        .map(|(v, d)| (v.clone(), d.nodes, d.pods))
        .collect();
    out.sort();
    out
}

fn row(zone: &str, nodes: usize, pods: i64) -> (String, usize, i64) {
    (zone.to_owned(), nodes, pods)
}

#[test]
fn constraints_compile_match_label_keys_into_the_selector() {
    let p = with_spec(spreading("w"), |s| {
        if let Some(c) = s.topology_spread_constraints.as_mut() {
            c[0].match_label_keys = Some(vec!["app".to_owned(), "absent".to_owned()]);
            c[0].when_unsatisfiable = "ScheduleAnyway".to_owned();
        }
    });
    let info = PodInfo::new(Arc::new(p));
    let c = &info.spread[0];
    assert!(!c.hard);
    assert!(c.honor_affinity && !c.honor_taints);
    assert_eq!(c.min_domains, 1);
    let mut other = info.labels.clone();
    other.insert("app".to_owned(), "api".to_owned());
    assert!(c.key.selector.matches(&info.labels));
    assert!(!c.key.selector.matches(&other));
}

#[test]
fn counts_start_from_the_cache_and_follow_pods_bound_assumed_terminating_and_deleted() {
    let mut cache = Cache::new();
    for (n, z) in [("a1", "a"), ("a2", "a"), ("b1", "b")] {
        cache.upsert_node(zoned(n, z));
    }
    cache.add_bound_pod(bound(spreading("w1"), "a1"));
    let incoming = PodInfo::new(Arc::new(spreading("w9")));
    assert!(
        kept(&cache, &incoming).is_empty(),
        "nothing kept before a pod asks"
    );
    cache.prepare(&incoming);
    assert_eq!(kept(&cache, &incoming), [row("a", 2, 1), row("b", 1, 0)]);

    cache.assume(Arc::new(PodInfo::new(Arc::new(spreading("w2")))), "b1");
    let mut other_ns = with_spec(spreading("x"), |s| s.node_name = Some("b1".to_owned()));
    other_ns.metadata.namespace = Some("other".to_owned());
    cache.add_bound_pod(Arc::new(PodInfo::new(Arc::new(other_ns))));
    cache.add_bound_pod(bound(pod("plain", "", ""), "a2"));
    assert_eq!(kept(&cache, &incoming), [row("a", 2, 1), row("b", 1, 1)]);

    let mut leaving = bound(spreading("w1"), "a1").pod.as_ref().clone();
    leaving.metadata.deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
        ));
    cache.add_bound_pod(Arc::new(PodInfo::new(Arc::new(leaving))));
    assert_eq!(kept(&cache, &incoming), [row("a", 2, 0), row("b", 1, 1)]);
    cache.forget("default/w2");
    assert_eq!(kept(&cache, &incoming), [row("a", 2, 0), row("b", 1, 0)]);
}

#[test]
fn relabelled_and_removed_nodes_take_their_pods_with_them() {
    let mut cache = Cache::new();
    for (n, z) in [("a1", "a"), ("b1", "b")] {
        cache.upsert_node(zoned(n, z));
    }
    cache.add_bound_pod(bound(spreading("w1"), "a1"));
    let incoming = PodInfo::new(Arc::new(spreading("w9")));
    cache.prepare(&incoming);
    cache.upsert_node(zoned("a1", "c"));
    assert_eq!(kept(&cache, &incoming), [row("b", 1, 0), row("c", 1, 1)]);
    cache.remove_node("a1");
    assert_eq!(kept(&cache, &incoming), [row("b", 1, 0)]);
    cache.upsert_node(zoned("a1", "a"));
    assert_eq!(kept(&cache, &incoming), [row("a", 1, 1), row("b", 1, 0)]);
}

#[test]
fn min_count_is_zero_below_min_domains() {
    let domains: Domains = [
        ("a".to_owned(), Domain { nodes: 1, pods: 2 }),
        ("b".to_owned(), Domain { nodes: 1, pods: 1 }),
    ]
    .into();
    assert_eq!(min_count(&domains, 1), 1);
    assert_eq!(min_count(&domains, 3), 0);
}

#[test]
fn least_recently_used_counts_go_beyond_the_limit() {
    let mut counts = SpreadCounts::default();
    let pods: Vec<PodInfo> = (0..=MAX_ENTRIES)
        .map(|i| {
            let p = with_labels(spreading(&format!("w{i}")), &[("app", &format!("a{i}"))]);
            let p = with_spec(p, |s| {
                if let Some(c) = s.topology_spread_constraints.as_mut() {
                    c[0].match_label_keys = Some(vec!["app".to_owned()]);
                }
            });
            PodInfo::new(Arc::new(p))
        })
        .collect();
    for p in &pods {
        counts.prepare(p, &[]);
    }
    assert_eq!(counts.entries.len(), MAX_ENTRIES);
    assert!(counts.domains(&pods[0].spread[0].key).is_none());
    assert!(counts.domains(&pods[MAX_ENTRIES].spread[0].key).is_some());
}
