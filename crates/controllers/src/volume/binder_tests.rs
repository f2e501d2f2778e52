use super::*;
use serde_json::json;

fn claim(value: serde_json::Value) -> PersistentVolumeClaim {
    let mut base = json!({"metadata": {"name": "data", "namespace": "ns", "uid": "u1"},
        "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}});
    for (k, v) in value.as_object().cloned().unwrap_or_default() {
        match (base.get_mut(&k), v) {
            (Some(serde_json::Value::Object(a)), serde_json::Value::Object(b)) => a.extend(b),
            (_, v) => base[k] = v,
        }
    }
    serde_json::from_value(base).unwrap()
}

fn pv(value: serde_json::Value) -> PersistentVolume {
    serde_json::from_value(value).unwrap()
}

fn available(name: &str, class: &str) -> PersistentVolume {
    pv(
        json!({"metadata": {"name": name}, "spec": {"capacity": {"storage": "1Gi"},
        "accessModes": ["ReadWriteOnce"], "storageClassName": class},
        "status": {"phase": "Available"}}),
    )
}

fn reason(plan: &ClaimPlan) -> Option<&'static str> {
    match plan {
        ClaimPlan::Pending { note, .. } => note.as_ref().map(|n| n.reason),
        ClaimPlan::Lost(n) => Some(n.reason),
        ClaimPlan::Bind(_) => None,
    }
}

#[test]
fn unbound_claims_bind_wait_or_ask_for_provisioning() {
    let manual = claim(json!({"spec": {"storageClassName": "manual"}}));
    let volume = available("pv1", "manual");
    assert_eq!(
        sync_claim(&manual, &[&volume], None),
        ClaimPlan::Bind("pv1".into())
    );

    let no_class = claim(json!({"spec": {"storageClassName": ""}}));
    assert_eq!(
        reason(&sync_claim(&no_class, &[], None)),
        Some("FailedBinding")
    );

    let wffc = Class {
        provisioner: "rancher.io/local-path".into(),
        delay_binding: true,
    };
    let local = claim(json!({"spec": {"storageClassName": "local-path"}}));
    let plan = sync_claim(&local, &[], Some(&wffc));
    assert_eq!(reason(&plan), Some("WaitForFirstConsumer"));

    let placed = claim(json!({"spec": {"storageClassName": "local-path"},
        "metadata": {"annotations": {SELECTED_NODE: "node-1"}}}));
    match sync_claim(&placed, &[], Some(&wffc)) {
        ClaimPlan::Pending { provisioner, note } => {
            assert_eq!(provisioner.as_deref(), Some("rancher.io/local-path"));
            assert_eq!(note.map(|n| n.reason), Some("ExternalProvisioning"));
        }
        other => panic!("{other:?}"),
    }
    let missing = claim(json!({"spec": {"storageClassName": "gold"}}));
    assert_eq!(
        reason(&sync_claim(&missing, &[], None)),
        Some("ProvisioningFailed")
    );
}

#[test]
fn a_claim_naming_a_volume_binds_it_unless_taken() {
    let named = claim(json!({"spec": {"volumeName": "pv1"}}));
    let free = available("pv1", "");
    assert_eq!(
        sync_claim(&named, &[&free], None),
        ClaimPlan::Bind("pv1".into())
    );
    let taken = pv(json!({"metadata": {"name": "pv1"}, "spec": {
        "claimRef": {"name": "other", "namespace": "ns", "uid": "u9"}}}));
    assert_eq!(
        reason(&sync_claim(&named, &[&taken], None)),
        Some("FailedBinding")
    );
}

#[test]
fn bound_claims_are_lost_without_their_volume() {
    let bound = claim(json!({"spec": {"volumeName": "pv1"},
        "metadata": {"annotations": {BIND_COMPLETED: "yes"}}}));
    assert_eq!(reason(&sync_claim(&bound, &[], None)), Some("ClaimLost"));
    let elsewhere = pv(json!({"metadata": {"name": "pv1"}, "spec": {
        "claimRef": {"name": "other", "namespace": "ns", "uid": "u9"}}}));
    assert_eq!(
        reason(&sync_claim(&bound, &[&elsewhere], None)),
        Some("ClaimMisbound")
    );
}

fn bound_volume(policy: &str, extra_annotations: serde_json::Value) -> PersistentVolume {
    pv(
        json!({"metadata": {"name": "pv1", "annotations": extra_annotations},
        "spec": {"persistentVolumeReclaimPolicy": policy,
            "claimRef": {"name": "data", "namespace": "ns", "uid": "u1"}},
        "status": {"phase": "Bound"}}),
    )
}

#[test]
fn volumes_follow_their_claims() {
    let free = available("pv1", "");
    let mut avail_phase = free.clone();
    avail_phase.status = None;
    assert_eq!(
        sync_volume(&avail_phase, None),
        VolumePlan::Phase("Available", None)
    );
    assert_eq!(sync_volume(&free, None), VolumePlan::Nothing);

    let volume = bound_volume("Retain", json!({}));
    let bound = claim(json!({"spec": {"volumeName": "pv1"}}));
    assert_eq!(sync_volume(&volume, Some(&bound)), VolumePlan::Nothing);
    let other = claim(json!({"spec": {"volumeName": "pv2"}}));
    let by_us = bound_volume("Retain", json!({BOUND_BY_CONTROLLER: "yes"}));
    assert_eq!(sync_volume(&by_us, Some(&other)), VolumePlan::Unbind);
}

#[test]
fn volumes_of_deleted_claims_are_released_then_reclaimed_by_policy() {
    let retain = bound_volume("Retain", json!({}));
    assert_eq!(
        sync_volume(&retain, None),
        VolumePlan::Phase("Released", None)
    );
    let provisioned = bound_volume("Delete", json!({PROVISIONED_BY: "rancher.io/local-path"}));
    assert_eq!(
        sync_volume(&provisioned, None),
        VolumePlan::Phase("Released", None)
    );
    let manual_delete = bound_volume("Delete", json!({}));
    match sync_volume(&manual_delete, None) {
        VolumePlan::Phase("Failed", Some(note)) => assert_eq!(note.reason, "VolumeFailedDelete"),
        other => panic!("{other:?}"),
    }
    // A new claim of the same name is not the claim the volume was bound to.
    let recreated = claim(json!({"metadata": {"uid": "u2"}}));
    assert_eq!(
        sync_volume(&retain, Some(&recreated)),
        VolumePlan::Phase("Released", None)
    );
}

#[test]
fn bind_writes_only_what_is_missing() {
    let c = claim(json!({}));
    let v = available("pv1", "");
    let writes = super::super::bind::bind_writes(&c, &v);
    assert!(writes.volume.is_some() && writes.volume_phase);
    assert_eq!(
        writes.claim.unwrap()["metadata"]["annotations"],
        json!({BIND_COMPLETED: "yes", BOUND_BY_CONTROLLER: "yes"})
    );
    let done_claim = claim(json!({"spec": {"volumeName": "pv1"},
        "metadata": {"annotations": {BIND_COMPLETED: "yes"}},
        "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
            "capacity": {"storage": "1Gi"}}}));
    let done_volume = pv(json!({"metadata": {"name": "pv1"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "claimRef": {"name": "data", "namespace": "ns", "uid": "u1"}},
        "status": {"phase": "Bound"}}));
    assert_eq!(
        super::super::bind::bind_writes(&done_claim, &done_volume),
        super::super::bind::BindWrites::default()
    );
}
