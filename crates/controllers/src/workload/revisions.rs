//! Carrying out [`super::history`]'s decisions against the API server: creating, renumbering
//! and deleting a parent's ControllerRevisions, and telling a stale cache from a hash collision
//! when the new revision's name is taken.

use k8s_openapi::api::apps::v1::ControllerRevision;
use kube::api::{Api, DeleteParams, Patch, Preconditions};
use kube::ResourceExt;
use serde_json::json;

use super::history::{equal_data, Resolution};
use super::pod::controller_of;
use super::{patch_params, post_params};

/// Why writing a ControllerRevision failed.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// Creating the new revision failed.
    #[error("creating controller revision {name}")]
    Create {
        /// The revision.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Reading the revision that holds the new one's name failed.
    #[error("reading controller revision {name}")]
    Read {
        /// The revision.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Another revision, with other data, already has the new one's name: the parent's
    /// `collisionCount` must be raised so the next hash differs.
    #[error("controller revision {name} exists with other data (hash collision)")]
    Collision {
        /// The revision.
        name: String,
    },
    /// Giving an older revision the next number failed.
    #[error("renumbering controller revision {name}")]
    Renumber {
        /// The revision.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Deleting a revision past the history limit failed.
    #[error("deleting controller revision {name}")]
    Delete {
        /// The revision.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Carries out `resolution` for the parent with UID `owner_uid`; returns the revision as
/// stored.
///
/// # Errors
/// [`RevisionError::Create`], [`RevisionError::Read`], [`RevisionError::Collision`] and
/// [`RevisionError::Renumber`].
pub async fn carry_out(
    api: &Api<ControllerRevision>,
    resolution: Resolution,
    owner_uid: &str,
) -> Result<ControllerRevision, RevisionError> {
    match resolution {
        Resolution::Existing(revision) => Ok(revision),
        Resolution::Renumber(revision) => {
            let name = revision.name_any();
            let patch = json!({
                "metadata": {"resourceVersion": revision.resource_version()},
                "revision": revision.revision,
            });
            api.patch(&name, &patch_params(), &Patch::Merge(&patch))
                .await
                .map_err(|source| RevisionError::Renumber { name, source })
        }
        Resolution::Create(revision) => create(api, &revision, owner_uid).await,
    }
}

async fn create(
    api: &Api<ControllerRevision>,
    revision: &ControllerRevision,
    owner_uid: &str,
) -> Result<ControllerRevision, RevisionError> {
    let name = revision.name_any();
    match api.create(&post_params(), revision).await {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let existing = api
                .get_opt(&name)
                .await
                .map_err(|source| RevisionError::Read {
                    name: name.clone(),
                    source,
                })?;
            // Ours with the same data: the cache was behind.
            match existing {
                Some(e)
                    if controller_of(&e.metadata).is_some_and(|r| r.uid == owner_uid)
                        && equal_data(&e, revision) =>
                {
                    Ok(e)
                }
                _ => Err(RevisionError::Collision { name }),
            }
        }
        Err(source) => Err(RevisionError::Create { name, source }),
    }
}

/// Deletes `revisions` (each only if unchanged since read); ones already gone are fine.
///
/// # Errors
/// [`RevisionError::Delete`] for the first that fails.
pub async fn delete(
    api: &Api<ControllerRevision>,
    revisions: &[&ControllerRevision],
) -> Result<(), RevisionError> {
    for revision in revisions {
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: revision.uid(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&revision.name_any(), &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {}
            Err(source) => {
                return Err(RevisionError::Delete {
                    name: revision.name_any(),
                    source,
                })
            }
        }
    }
    Ok(())
}
