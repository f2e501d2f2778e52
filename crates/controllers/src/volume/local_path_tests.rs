use super::*;
use serde_json::json;

fn class() -> StorageClass {
    serde_json::from_value(json!({"metadata": {"name": "local-path"},
        "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer"}))
    .unwrap()
}

fn claim(annotations: serde_json::Value) -> PersistentVolumeClaim {
    serde_json::from_value(json!({
        "metadata": {"name": "data", "namespace": "ns", "uid": "u1", "annotations": annotations},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
            "resources": {"requests": {"storage": "2Gi"}}}}))
    .unwrap()
}

#[test]
fn a_placed_claim_gets_a_host_path_volume_on_its_node() {
    let c = claim(json!({SELECTED_NODE: "node-1", STORAGE_PROVISIONER: PROVISIONER}));
    let pv = volume_for(&c, &class(), Path::new("/var/lib/rudder/storage")).unwrap();
    let got = serde_json::to_value(&pv).unwrap();
    assert_eq!(got["metadata"]["name"], "pvc-u1");
    assert_eq!(got["metadata"]["annotations"][PROVISIONED_BY], PROVISIONER);
    assert_eq!(
        got["spec"]["hostPath"],
        json!({"path": "/var/lib/rudder/storage/pvc-u1_ns_data", "type": "DirectoryOrCreate"})
    );
    assert_eq!(
        got["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0],
        json!({"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-1"]})
    );
    assert_eq!(got["spec"]["claimRef"]["uid"], "u1");
    assert_eq!(got["spec"]["capacity"]["storage"], "2Gi");
    assert_eq!(got["spec"]["persistentVolumeReclaimPolicy"], "Delete");
    assert_eq!(got["spec"]["storageClassName"], "local-path");
}

#[test]
fn claims_not_handed_over_or_not_placed_get_nothing() {
    let dir = Path::new("/s");
    assert!(volume_for(&claim(json!({SELECTED_NODE: "n"})), &class(), dir).is_none());
    assert!(volume_for(
        &claim(json!({STORAGE_PROVISIONER: PROVISIONER})),
        &class(),
        dir
    )
    .is_none());
}

#[test]
fn only_our_released_delete_volumes_are_deleted() {
    let volume = |annotations: serde_json::Value, policy: &str, phase: &str| -> PersistentVolume {
        serde_json::from_value(
            json!({"metadata": {"name": "pvc-u1", "annotations": annotations},
            "spec": {"persistentVolumeReclaimPolicy": policy}, "status": {"phase": phase}}),
        )
        .unwrap()
    };
    let ours = json!({PROVISIONED_BY: PROVISIONER});
    assert!(should_delete(&volume(ours.clone(), "Delete", "Released")));
    assert!(!should_delete(&volume(ours.clone(), "Retain", "Released")));
    assert!(!should_delete(&volume(ours, "Delete", "Bound")));
    assert!(!should_delete(&volume(json!({}), "Delete", "Released")));
}
