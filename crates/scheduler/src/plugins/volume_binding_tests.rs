use serde_json::{json, Value};

use super::*;
use crate::cache::Cache;
use crate::core::{Algorithm, SplitMix64};
use crate::plugins::default_framework;
use crate::testing::{node, pod, with_spec};

fn from<T: k8s_openapi::serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

/// A claim in `default` requesting `size`, of `class` ("" for none), with `extra` merged into
/// its metadata and spec.
fn claim(name: &str, class: &str, size: &str, extra: Value) -> PersistentVolumeClaim {
    let mut v = json!({
        "metadata": {"name": name, "namespace": "default", "uid": format!("uid-{name}"), "resourceVersion": "7"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    });
    if !class.is_empty() {
        v["spec"]["storageClassName"] = json!(class);
    }
    for part in ["metadata", "spec", "status"] {
        if let Some(Value::Object(fields)) = extra.get(part) {
            for (k, f) in fields {
                v[part][k] = f.clone();
            }
        }
    }
    from(v)
}

fn bound(name: &str, volume: &str) -> PersistentVolumeClaim {
    claim(
        name,
        "local",
        "1Gi",
        json!({"metadata": {"annotations": {BIND_COMPLETED: "yes"}}, "spec": {"volumeName": volume}}),
    )
}

/// An Available volume of `class` with `size`, pinned to `host` ("" for anywhere).
fn volume(name: &str, class: &str, size: &str, host: &str) -> PersistentVolume {
    let mut v = json!({
        "metadata": {"name": name, "resourceVersion": "3"},
        "spec": {"storageClassName": class, "capacity": {"storage": size},
                 "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/x"}},
        "status": {"phase": "Available"},
    });
    if !host.is_empty() {
        v["spec"]["nodeAffinity"] = json!({"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [host]},
        ]}]}});
    }
    from(v)
}

fn class(name: &str, provisioner: &str, mode: &str) -> StorageClass {
    from(json!({"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode}))
}

fn store(
    claims: Vec<PersistentVolumeClaim>,
    pvs: Vec<PersistentVolume>,
    classes: Vec<StorageClass>,
) -> Volumes {
    let mut v = Volumes::new();
    claims.into_iter().for_each(|c| v.upsert_claim(c));
    pvs.into_iter().for_each(|p| v.upsert_volume(p));
    classes.into_iter().for_each(|c| v.upsert_class(c));
    v
}

fn wait(name: &str) -> StorageClass {
    class(name, NO_PROVISIONER, "WaitForFirstConsumer")
}

/// A pod using `claims`.
fn using(claims: &[&str]) -> PodInfo {
    let volumes: Vec<Value> = claims
        .iter()
        .map(|c| json!({"name": c, "persistentVolumeClaim": {"claimName": c}}))
        .collect();
    PodInfo::new(Arc::new(with_spec(pod("p", "", ""), |s| {
        s.volumes = Some(from(json!(volumes)));
    })))
}

fn host(name: &str) -> NodeInfo {
    NodeInfo::new(Arc::new(node(name, "4", "8Gi")))
}

fn rejection(pod: &PodInfo, volumes: &Volumes) -> Vec<String> {
    match pod_claims(pod, volumes) {
        Err(s) if s.code == Code::UnschedulableAndUnresolvable => s.reasons,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn on(
    pod: &PodInfo,
    volumes: &Volumes,
    node: &str,
) -> Result<Vec<ClaimBinding>, Vec<&'static str>> {
    let claims = pod_claims(pod, volumes).unwrap().unwrap();
    bindings_on(&claims, &host(node))
}

#[test]
fn pod_without_claims_skips_the_plugin() {
    let p = PodInfo::new(Arc::new(pod("p", "", "")));
    assert!(pod_claims(&p, &Volumes::new()).unwrap().is_none());
    let mut state = CycleState::new();
    let cache = Cache::new();
    let skipped = VolumeBinding.pre_filter(&mut state, &p, &cache.snapshot());
    assert!(skipped.is_err_and(|s| s.is_skip()));
}

#[test]
fn missing_deleted_and_lost_claims_reject_the_pod_with_upstreams_words() {
    let p = using(&["data"]);
    assert_eq!(
        rejection(&p, &Volumes::new()),
        [r#"persistentvolumeclaim "data" not found"#]
    );
    let deleting = claim(
        "data",
        "local",
        "1Gi",
        json!({"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}}),
    );
    assert_eq!(
        rejection(&p, &store(vec![deleting], vec![], vec![])),
        [r#"persistentvolumeclaim "data" is being deleted"#]
    );
    let lost = claim(
        "data",
        "local",
        "1Gi",
        json!({"spec": {"volumeName": "gone"}, "status": {"phase": "Lost"}}),
    );
    assert_eq!(
        rejection(&p, &store(vec![lost], vec![], vec![])),
        [r#"persistentvolumeclaim "data" bound to non-existent persistentvolume "gone""#]
    );
}

#[test]
fn unbound_claims_of_immediate_classes_or_no_class_wait_for_the_binder() {
    let p = using(&["data"]);
    let immediate = class("fast", "example.com/disk", "Immediate");
    for c in [
        claim("data", "fast", "1Gi", json!({})),
        claim("data", "", "1Gi", json!({})),
    ] {
        assert_eq!(
            rejection(&p, &store(vec![c], vec![], vec![immediate.clone()])),
            [UNBOUND_IMMEDIATE]
        );
    }
}

#[test]
fn bound_claim_needs_its_volume_to_accept_the_node() {
    let p = using(&["data"]);
    let volumes = store(
        vec![bound("data", "pv1")],
        vec![volume("pv1", "local", "1Gi", "n1")],
        vec![],
    );
    assert_eq!(on(&p, &volumes, "n1"), Ok(vec![]));
    assert_eq!(on(&p, &volumes, "n2"), Err(vec![NODE_CONFLICT]));
    let missing = store(vec![bound("data", "pv1")], vec![], vec![]);
    assert_eq!(on(&p, &missing, "n1"), Err(vec![PV_NOT_EXIST]));
}

#[test]
fn waiting_claim_takes_the_smallest_fitting_volume_on_the_node() {
    let p = using(&["data"]);
    let volumes = store(
        vec![claim("data", "local", "2Gi", json!({}))],
        vec![
            volume("small", "local", "1Gi", "n1"),
            volume("big", "local", "10Gi", "n1"),
            volume("right", "local", "5Gi", "n1"),
            volume("elsewhere", "local", "2Gi", "n2"),
            volume("other-class", "slow", "2Gi", "n1"),
        ],
        vec![wait("local")],
    );
    let chosen = |node: &str| match on(&p, &volumes, node) {
        Ok(b) => b
            .iter()
            .map(|b| match b {
                ClaimBinding::Static(_, pv) => pv.metadata.name.clone().unwrap_or_default(),
                ClaimBinding::Provision(_) => "provision".to_owned(),
            })
            .collect::<Vec<_>>(),
        Err(r) => r.iter().map(|r| (*r).to_owned()).collect(),
    };
    assert_eq!(chosen("n1"), ["right"]);
    assert_eq!(chosen("n2"), ["elsewhere"]);
    assert_eq!(chosen("n3"), [BIND_CONFLICT]);
}

#[test]
fn two_claims_of_a_pod_never_take_the_same_volume() {
    let p = using(&["a", "b"]);
    let claims = vec![
        claim("a", "local", "1Gi", json!({})),
        claim("b", "local", "1Gi", json!({})),
    ];
    let one = store(
        claims.clone(),
        vec![volume("pv1", "local", "1Gi", "n1")],
        vec![wait("local")],
    );
    assert_eq!(on(&p, &one, "n1"), Err(vec![BIND_CONFLICT]));
    let two = store(
        claims,
        vec![
            volume("pv1", "local", "1Gi", "n1"),
            volume("pv2", "local", "1Gi", "n1"),
        ],
        vec![wait("local")],
    );
    assert_eq!(on(&p, &two, "n1").map(|b| b.len()), Ok(2));
}

#[test]
fn waiting_claim_without_a_volume_is_provisioned_by_a_provisioning_class_only() {
    let p = using(&["data"]);
    let claims = vec![claim("data", "local", "1Gi", json!({}))];
    let provisioning = store(
        claims.clone(),
        vec![],
        vec![class(
            "local",
            "rancher.io/local-path",
            "WaitForFirstConsumer",
        )],
    );
    assert!(matches!(
        on(&p, &provisioning, "n1").as_deref(),
        Ok([ClaimBinding::Provision(_)])
    ));
    let manual = store(claims, vec![], vec![wait("local")]);
    assert_eq!(on(&p, &manual, "n1"), Err(vec![BIND_CONFLICT]));
}

#[test]
fn class_allowed_topologies_limit_where_volumes_are_provisioned() {
    let p = using(&["data"]);
    let mut zoned = class("local", "example.com/disk", "WaitForFirstConsumer");
    zoned.allowed_topologies = Some(from(json!([{"matchLabelExpressions": [
        {"key": "kubernetes.io/hostname", "values": ["n1"]},
    ]}])));
    let volumes = store(
        vec![claim("data", "local", "1Gi", json!({}))],
        vec![],
        vec![zoned],
    );
    assert!(on(&p, &volumes, "n1").is_ok());
    assert_eq!(on(&p, &volumes, "n2"), Err(vec![BIND_CONFLICT]));
}

#[test]
fn claim_with_a_selected_node_fits_only_that_node() {
    let p = using(&["data"]);
    let selected = claim(
        "data",
        "local",
        "1Gi",
        json!({"metadata": {"annotations": {SELECTED_NODE: "n2"}}}),
    );
    let volumes = store(
        vec![selected],
        vec![],
        vec![class(
            "local",
            "rancher.io/local-path",
            "WaitForFirstConsumer",
        )],
    );
    assert_eq!(on(&p, &volumes, "n1"), Err(vec![BIND_CONFLICT]));
    let bindings = on(&p, &volumes, "n2").unwrap();
    assert_eq!(writes(&bindings, "n2"), [], "already annotated");
}

#[test]
fn writes_annotate_claims_to_provision_and_reserve_matched_volumes() {
    let c = Arc::new(claim("data", "local", "1Gi", json!({})));
    let pv = Arc::new(volume("pv1", "local", "1Gi", "n1"));
    let out = writes(
        &[
            ClaimBinding::Provision(Arc::clone(&c)),
            ClaimBinding::Static(c, pv),
        ],
        "n1",
    );
    let PreBindWrite::Claim {
        namespace,
        name,
        patch,
    } = &out[0]
    else {
        panic!("{out:?}")
    };
    assert_eq!((namespace.as_str(), name.as_str()), ("default", "data"));
    assert_eq!(
        patch,
        &json!({"metadata": {"resourceVersion": "7", "annotations": {SELECTED_NODE: "n1"}}})
    );
    let PreBindWrite::Volume { name, patch } = &out[1] else {
        panic!("{out:?}")
    };
    assert_eq!(name, "pv1");
    assert_eq!(patch["metadata"]["resourceVersion"], "3");
    assert_eq!(patch["spec"]["claimRef"]["uid"], "uid-data");
}

#[test]
fn scheduler_places_the_pod_where_its_volume_is_and_reserves_it_before_binding() {
    let mut cache = Cache::new();
    for n in ["n1", "n2", "n3"] {
        cache.upsert_node(Arc::new(node(n, "4", "8Gi")));
    }
    let v = cache.volumes_mut();
    v.upsert_claim(claim("data", "local", "1Gi", json!({})));
    v.upsert_volume(volume("pv1", "local", "1Gi", "n2"));
    v.upsert_class(wait("local"));
    let mut algorithm = Algorithm::new(default_framework(), Box::new(SplitMix64::new(7)));
    let placed = algorithm.schedule(&using(&["data"]), &cache.snapshot());
    let placed = placed.unwrap();
    assert_eq!(placed.node, "n2");
    assert!(matches!(
        placed.pre_bind.as_slice(),
        [PreBindWrite::Volume { name, .. }] if name == "pv1"
    ));

    let failed = algorithm
        .schedule(&using(&["nope"]), &cache.snapshot())
        .unwrap_err();
    assert_eq!(
        failed.message(),
        r#"0/3 nodes are available: persistentvolumeclaim "nope" not found."#
    );
}
