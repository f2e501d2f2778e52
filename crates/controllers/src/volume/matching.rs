//! Which PersistentVolume a claim binds to, after upstream's `findMatchingVolume`: a volume
//! already reserved for the claim wins; otherwise the smallest Available, unreserved volume of
//! the claim's class whose capacity, access modes, volume mode and labels fit, preferring
//! volumes offering fewer access modes.

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::core::{Selector, SelectorExt};
use rudder_quantity::Quantity;

use crate::resourcequota::usage::claim_class;

/// The StorageClass a volume belongs to (the field, or the beta annotation).
pub fn volume_class(pv: &PersistentVolume) -> &str {
    pv.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"))
        .map(String::as_str)
        .or_else(|| pv.spec.as_ref()?.storage_class_name.as_deref())
        .unwrap_or_default()
}

/// Whether the volume's `claimRef` names this claim (and, when it carries a UID, this very
/// claim rather than an earlier one of the same name).
pub fn is_reserved_for(pv: &PersistentVolume, claim: &PersistentVolumeClaim) -> bool {
    let Some(r) = pv.spec.as_ref().and_then(|s| s.claim_ref.as_ref()) else {
        return false;
    };
    r.name == claim.metadata.name
        && r.namespace == claim.metadata.namespace
        && r.uid
            .as_ref()
            .is_none_or(|u| Some(u) == claim.metadata.uid.as_ref())
}

fn capacity(pv: &PersistentVolume) -> Option<Quantity> {
    let q = pv.spec.as_ref()?.capacity.as_ref()?.get("storage")?;
    Quantity::from_wire(q).ok()
}

fn requested(claim: &PersistentVolumeClaim) -> Quantity {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| Quantity::from_wire(q).ok())
        .unwrap_or_default()
}

fn volume_mode_of(mode: Option<&String>) -> &str {
    mode.map_or("Filesystem", String::as_str)
}

fn access_modes(pv: &PersistentVolume) -> &[String] {
    pv.spec
        .as_ref()
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default()
}

/// Whether the claim's selector (if any) matches the volume's labels; an invalid selector
/// matches nothing.
fn selector_matches(claim: &PersistentVolumeClaim, pv: &PersistentVolume) -> bool {
    let Some(selector) = claim.spec.as_ref().and_then(|s| s.selector.clone()) else {
        return true;
    };
    let labels = pv.metadata.labels.clone().unwrap_or_default();
    Selector::try_from(selector).is_ok_and(|s| s.matches(&labels))
}

/// The volume `claim` should bind to among `volumes`. With `delay_binding` (a
/// WaitForFirstConsumer class) only a volume already reserved for the claim qualifies: the
/// scheduler picks the others.
pub fn best_match<'a>(
    claim: &PersistentVolumeClaim,
    volumes: impl IntoIterator<Item = &'a PersistentVolume>,
    delay_binding: bool,
) -> Option<&'a PersistentVolume> {
    let request = requested(claim);
    let spec = claim.spec.as_ref();
    let wanted_modes = spec
        .and_then(|s| s.access_modes.as_deref())
        .unwrap_or_default();
    let wanted_volume_mode = volume_mode_of(spec.and_then(|s| s.volume_mode.as_ref()));
    let class = claim_class(claim).unwrap_or_default();
    let mut best: Option<(&PersistentVolume, usize, Quantity)> = None;
    for pv in volumes {
        let Some(size) = capacity(pv).filter(|c| *c >= request) else {
            continue;
        };
        let pv_spec = pv.spec.as_ref();
        let mode = volume_mode_of(pv_spec.and_then(|s| s.volume_mode.as_ref()));
        if mode != wanted_volume_mode || pv.metadata.deletion_timestamp.is_some() {
            continue;
        }
        if is_reserved_for(pv, claim) {
            return Some(pv);
        }
        let available = pv.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Available")
            && pv_spec.and_then(|s| s.claim_ref.as_ref()).is_none();
        let modes = access_modes(pv);
        let fits = !delay_binding
            && available
            && selector_matches(claim, pv)
            && volume_class(pv) == class
            && wanted_modes.iter().all(|m| modes.contains(m));
        if !fits {
            continue;
        }
        let better = best
            .as_ref()
            .is_none_or(|(_, n, q)| (modes.len(), size) < (*n, *q));
        if better {
            best = Some((pv, modes.len(), size));
        }
    }
    best.map(|(pv, _, _)| pv)
}

#[cfg(test)]
#[path = "matching_tests.rs"]
mod tests;
