//! Claiming objects through controller references, as upstream's `ControllerRefManager`: a
//! controller keeps what it controls and its selector matches, adopts matching orphans, and
//! releases what it controls but no longer selects. Objects controlled by others are left alone.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{json, Value};

use super::pod::controller_of;

/// What a controller does about one object it might own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// It is ours and selected: keep managing it.
    Keep,
    /// A selected orphan: take it (add our controller reference).
    Adopt,
    /// Ours but no longer selected: let it go (remove our reference).
    Release,
    /// Not ours to manage.
    Ignore,
}

/// Decides the claim of controller `owner_uid` (being deleted or not) on the object `meta`,
/// which its selector does or does not match.
pub fn decide(meta: &ObjectMeta, owner_uid: &str, owner_deleting: bool, selected: bool) -> Claim {
    let object_deleting = meta.deletion_timestamp.is_some();
    match controller_of(meta) {
        Some(r) if r.uid != owner_uid => Claim::Ignore,
        Some(_) if selected => Claim::Keep,
        // A deleting owner or object is left as it is (the garbage collector's business).
        Some(_) if owner_deleting || object_deleting => Claim::Ignore,
        Some(_) => Claim::Release,
        None if selected && !owner_deleting && !object_deleting => Claim::Adopt,
        None => Claim::Ignore,
    }
}

/// The merge patch that adds `owner` to the object's owner references, guarded by its
/// resourceVersion so a concurrent change makes it fail rather than be lost.
pub fn adopt_patch(meta: &ObjectMeta, owner: &OwnerReference) -> Value {
    let mut refs = meta.owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner.uid);
    refs.push(owner.clone());
    json!({"metadata": {"ownerReferences": refs, "resourceVersion": meta.resource_version}})
}

/// The merge patch that removes the reference to `owner_uid` (the whole field when it was
/// the only one), guarded by resourceVersion.
pub fn release_patch(meta: &ObjectMeta, owner_uid: &str) -> Value {
    let mut refs = meta.owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner_uid);
    let refs = if refs.is_empty() {
        Value::Null
    } else {
        json!(refs)
    };
    json!({"metadata": {"ownerReferences": refs, "resourceVersion": meta.resource_version}})
}

#[cfg(test)]
mod tests {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    use super::*;
    use crate::workload::pod::controller_ref;

    fn owned_by(uid: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            owner_references: uid.map(|u| vec![controller_ref("apps/v1", "ReplicaSet", "rs", u)]),
            resource_version: Some("7".to_owned()),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn selected_orphan_is_adopted_unless_someone_is_deleting() {
        assert_eq!(decide(&owned_by(None), "me", false, true), Claim::Adopt);
        assert_eq!(decide(&owned_by(None), "me", true, true), Claim::Ignore);
        let mut deleting = owned_by(None);
        deleting.deletion_timestamp = Some(Time(Timestamp::UNIX_EPOCH));
        assert_eq!(decide(&deleting, "me", false, true), Claim::Ignore);
    }

    #[test]
    fn own_object_is_kept_while_selected_and_released_when_not() {
        assert_eq!(
            decide(&owned_by(Some("me")), "me", false, true),
            Claim::Keep
        );
        assert_eq!(
            decide(&owned_by(Some("me")), "me", false, false),
            Claim::Release
        );
        assert_eq!(
            decide(&owned_by(Some("me")), "me", true, false),
            Claim::Ignore
        );
    }

    #[test]
    fn objects_of_other_controllers_and_unselected_orphans_are_ignored() {
        assert_eq!(
            decide(&owned_by(Some("other")), "me", false, true),
            Claim::Ignore
        );
        assert_eq!(decide(&owned_by(None), "me", false, false), Claim::Ignore);
    }

    #[test]
    fn adopt_and_release_patches_carry_the_resource_version() {
        let owner = controller_ref("apps/v1", "ReplicaSet", "rs", "me");
        let adopt = adopt_patch(&owned_by(None), &owner);
        assert_eq!(adopt["metadata"]["ownerReferences"][0]["uid"], "me");
        assert_eq!(adopt["metadata"]["resourceVersion"], "7");
        let release = release_patch(&owned_by(Some("me")), "me");
        assert!(release["metadata"]["ownerReferences"].is_null());
    }
}
