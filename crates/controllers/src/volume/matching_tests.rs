use super::*;
use serde_json::json;

fn pv(name: &str, size: &str, modes: &[&str], extra: serde_json::Value) -> PersistentVolume {
    let mut v = json!({"metadata": {"name": name, "labels": {"tier": "fast"}},
        "spec": {"capacity": {"storage": size}, "accessModes": modes,
            "storageClassName": "manual"},
        "status": {"phase": "Available"}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    if let (Some(a), serde_json::Value::Object(b)) = (into.as_object_mut(), from) {
        for (k, v) in b {
            match a.get_mut(&k) {
                Some(existing) if v.is_object() => merge(existing, v),
                _ => {
                    a.insert(k, v);
                }
            }
        }
    }
}

fn claim(extra: serde_json::Value) -> PersistentVolumeClaim {
    let mut v = json!({"metadata": {"name": "data", "namespace": "ns", "uid": "u1"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
            "resources": {"requests": {"storage": "1Gi"}}}});
    merge(&mut v, extra);
    serde_json::from_value(v).unwrap()
}

fn pick(
    claim: &PersistentVolumeClaim,
    volumes: &[PersistentVolume],
    delay: bool,
) -> Option<String> {
    best_match(claim, volumes, delay).and_then(|v| v.metadata.name.clone())
}

#[test]
fn the_smallest_fitting_volume_wins() {
    let volumes = [
        pv("big", "10Gi", &["ReadWriteOnce"], json!({})),
        pv("small", "500Mi", &["ReadWriteOnce"], json!({})),
        pv("fits", "2Gi", &["ReadWriteOnce"], json!({})),
    ];
    assert_eq!(
        pick(&claim(json!({})), &volumes, false).as_deref(),
        Some("fits")
    );
}

#[test]
fn volumes_offering_fewer_access_modes_are_preferred() {
    let volumes = [
        pv("many", "1Gi", &["ReadWriteOnce", "ReadOnlyMany"], json!({})),
        pv("one", "5Gi", &["ReadWriteOnce"], json!({})),
    ];
    assert_eq!(
        pick(&claim(json!({})), &volumes, false).as_deref(),
        Some("one")
    );
}

#[test]
fn mismatches_are_skipped() {
    let cases = [
        (
            "class",
            pv(
                "v",
                "1Gi",
                &["ReadWriteOnce"],
                json!({"spec": {"storageClassName": "gold"}}),
            ),
        ),
        ("modes", pv("v", "1Gi", &["ReadOnlyMany"], json!({}))),
        ("size", pv("v", "1G", &["ReadWriteOnce"], json!({}))),
        (
            "volume mode",
            pv(
                "v",
                "1Gi",
                &["ReadWriteOnce"],
                json!({"spec": {"volumeMode": "Block"}}),
            ),
        ),
        (
            "phase",
            pv(
                "v",
                "1Gi",
                &["ReadWriteOnce"],
                json!({"status": {"phase": "Released"}}),
            ),
        ),
        (
            "claimed",
            pv(
                "v",
                "1Gi",
                &["ReadWriteOnce"],
                json!({"spec": {"claimRef": {"name": "other", "namespace": "ns"}}}),
            ),
        ),
    ];
    for (why, volume) in cases {
        assert_eq!(pick(&claim(json!({})), &[volume], false), None, "{why}");
    }
    let selective = claim(json!({"spec": {"selector": {"matchLabels": {"tier": "slow"}}}}));
    assert_eq!(
        pick(
            &selective,
            &[pv("v", "1Gi", &["ReadWriteOnce"], json!({}))],
            false
        ),
        None
    );
}

#[test]
fn delayed_binding_only_takes_a_volume_reserved_for_the_claim() {
    let free = pv("free", "1Gi", &["ReadWriteOnce"], json!({}));
    let reserved = pv(
        "reserved",
        "1Gi",
        &["ReadWriteOnce"],
        json!({"spec": {"claimRef": {"name": "data", "namespace": "ns", "uid": "u1"}},
            "status": {"phase": "Bound"}}),
    );
    assert_eq!(
        pick(&claim(json!({})), std::slice::from_ref(&free), true),
        None
    );
    assert_eq!(
        pick(&claim(json!({})), &[free, reserved], true).as_deref(),
        Some("reserved")
    );
}
