//! Carrying out [`super::claim`]'s decisions: a controller adopts the selected orphans and
//! releases what it no longer selects, re-reading itself once before the first adoption (its
//! cache may not show that it is being deleted), as upstream's `ClaimObject`.

use std::fmt::Debug;

use k8s_openapi::serde::de::DeserializeOwned;
use k8s_openapi::serde::Serialize;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch};
use kube::{Client, Resource, ResourceExt};

use super::claim::{self, Claim};
use super::patch_params;
use super::pod::controller_ref;

/// Why claiming an object failed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    /// Adopting or releasing the object failed.
    #[error("claiming {kind} {name}")]
    Patch {
        /// Its kind.
        kind: String,
        /// Its name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Adopts and releases `objects` (of `owner`'s namespace) as `selected` says; returns those
/// `owner` now controls.
///
/// # Errors
/// [`ClaimError::Patch`] for the first adoption or release that fails (objects gone by then
/// are skipped).
pub async fn claim<K, O>(
    client: &Client,
    owner: &K,
    objects: Vec<O>,
    selected: impl Fn(&O) -> bool,
) -> Result<Vec<O>, ClaimError>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
    O: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug,
{
    let namespace = owner.namespace().unwrap_or_default();
    let uid = owner.uid().unwrap_or_default();
    let deleting = owner.meta().deletion_timestamp.is_some();
    let reference = controller_ref(&K::api_version(&()), &K::kind(&()), &owner.name_any(), &uid);
    let api: Api<O> = Api::namespaced(client.clone(), &namespace);
    let mut owned = Vec::new();
    let mut may_adopt = None;
    for object in objects {
        let is_selected = selected(&object);
        let patch = match claim::decide(object.meta(), &uid, deleting, is_selected) {
            Claim::Keep => {
                owned.push(object);
                continue;
            }
            Claim::Ignore => continue,
            Claim::Adopt => {
                if may_adopt.is_none() {
                    may_adopt = Some(still_current(client, owner).await);
                }
                if may_adopt != Some(true) {
                    continue;
                }
                claim::adopt_patch(object.meta(), &reference)
            }
            Claim::Release => claim::release_patch(object.meta(), &uid),
        };
        match api
            .patch(&object.name_any(), &patch_params(), &Patch::Merge(&patch))
            .await
        {
            Ok(patched) if is_selected => owned.push(patched),
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(source) => {
                return Err(ClaimError::Patch {
                    kind: O::kind(&()).into_owned(),
                    name: object.name_any(),
                    source,
                })
            }
        }
    }
    Ok(owned)
}

/// Whether `owner` as the API server has it now is the same object and not being deleted.
async fn still_current<K>(client: &Client, owner: &K) -> bool
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), &owner.namespace().unwrap_or_default());
    match api.get_opt(&owner.name_any()).await {
        Ok(Some(fresh)) => fresh.uid() == owner.uid() && fresh.meta().deletion_timestamp.is_none(),
        _ => false,
    }
}
