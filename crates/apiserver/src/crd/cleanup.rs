//! Deleting a CRD's custom resources before the CRD itself, as upstream's
//! `customresourcecleanup.apiextensions.k8s.io` finalizer does.

use serde_json::{json, Value};

use super::definition::decode;
use super::status::CLEANUP_FINALIZER;
use crate::error::ApiError;
use crate::meta;
use crate::storage::{Objects, ReadAt, Stored};

/// The store prefix of a CRD's custom resources (`/registry/<group>/<plural>/`).
pub fn prefix_of(crd: &Value) -> Option<String> {
    let group = meta::str_at(crd, "/spec/group");
    let plural = meta::str_at(crd, "/spec/names/plural");
    (!group.is_empty() && !plural.is_empty()).then(|| format!("/registry/{group}/{plural}/"))
}

/// Whether the store `key` holds one of `crd`'s custom resources.
pub fn owns(crd: &Value, key: &str) -> bool {
    prefix_of(crd).is_some_and(|p| key.starts_with(&p))
}

/// One pass: deletes the custom resources that can go, marks those with finalizers, and once
/// none remain removes the cleanup finalizer (deleting the CRD when it was the last).
///
/// # Errors
/// Store failures; the next change retries.
pub async fn run(objects: &Objects, key: &str, crd: &Stored) -> Result<(), ApiError> {
    let Some(prefix) = prefix_of(&crd.object) else {
        return release(objects, key, crd).await;
    };
    let namespaced = decode(&crd.object).is_ok_and(|c| c.spec.scope == "Namespaced");
    let page = objects
        .list(&prefix, 0, None, ReadAt::Latest, &|_, _| Ok(true))
        .await?;
    let mut remaining = 0;
    for obj in page.decoded(&prefix)? {
        let obj_key = if namespaced {
            format!("{prefix}{}/{}", meta::namespace(&obj), meta::name(&obj))
        } else {
            format!("{prefix}{}", meta::name(&obj))
        };
        let revision: i64 = meta::str_at(&obj, "/metadata/resourceVersion")
            .parse()
            .unwrap_or(0);
        if meta::finalizers(&obj).is_empty() {
            if objects.delete(&obj_key, revision).await?.is_none() {
                remaining += 1;
            }
            continue;
        }
        remaining += 1;
        if !meta::is_deleting(&obj) {
            let mut marked = obj.clone();
            meta::set_meta(&mut marked, "deletionTimestamp", json!(meta::now_rfc3339()));
            meta::set_meta(&mut marked, "deletionGracePeriodSeconds", json!(0));
            objects.update(&obj_key, &marked, revision).await?;
        }
    }
    if remaining > 0 {
        return Ok(());
    }
    let again = objects
        .list(&prefix, 1, None, ReadAt::Latest, &|_, _| Ok(true))
        .await?;
    if again.items.is_empty() {
        release(objects, key, crd).await?;
    }
    Ok(())
}

/// Removes the cleanup finalizer; deletes the CRD when no finalizer is left.
async fn release(objects: &Objects, key: &str, crd: &Stored) -> Result<(), ApiError> {
    let finalizers: Vec<String> = meta::finalizers(&crd.object)
        .into_iter()
        .filter(|f| f != CLEANUP_FINALIZER)
        .collect();
    if finalizers.is_empty() {
        objects.delete(key, crd.mod_revision).await?;
        return Ok(());
    }
    let mut updated = crd.object.clone();
    meta::set_meta(&mut updated, "finalizers", json!(finalizers));
    objects.update(key, &updated, crd.mod_revision).await?;
    Ok(())
}
