//! Objects in the store: encoding, resourceVersion, conditional writes, paginated lists.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use rudder_store::{KeyValue, Precondition, RangeRequest, Store, StoreError, WriteOutcome};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::meta;
use crate::raw::RawObject;

/// One stored object with its store revision.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The object, `metadata.resourceVersion` set to `mod_revision`.
    pub object: Value,
    /// The store mod revision (the object's resourceVersion).
    pub mod_revision: i64,
}

/// A page of a list.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// The objects, in key order, as stored.
    pub items: Vec<RawObject>,
    /// The revision the list was read at.
    pub revision: i64,
    /// The continue token, when more remain.
    pub continue_token: Option<String>,
    /// How many remain after this page (only when no filter was applied).
    pub remaining: Option<i64>,
}

impl Page {
    /// The items decoded, their resourceVersions set; `prefix` names them in errors.
    ///
    /// # Errors
    /// [`ApiError::CorruptObject`] when an item is not JSON.
    pub fn decoded(&self, prefix: &str) -> Result<Vec<Value>, ApiError> {
        self.items.iter().map(|raw| raw.decode(prefix)).collect()
    }
}

/// Which objects a list keeps, by key and stored object (a selector decodes what it needs).
pub type Keep<'a> = &'a (dyn Fn(&str, &RawObject) -> Result<bool, ApiError> + Sync);

/// Which revision a list reads at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAt {
    /// The newest data.
    Latest,
    /// Exactly this revision.
    Exact(i64),
}

/// Decodes a stored value and stamps its resourceVersion.
///
/// # Errors
/// [`ApiError::CorruptObject`] when the bytes are not a JSON object.
pub fn decode(key: &str, value: &[u8], revision: i64) -> Result<Value, ApiError> {
    let mut obj: Value =
        serde_json::from_slice(value).map_err(|source| ApiError::CorruptObject {
            key: key.to_owned(),
            source,
        })?;
    meta::set_meta(
        &mut obj,
        "resourceVersion",
        Value::String(revision.to_string()),
    );
    Ok(obj)
}

fn decode_kv(kv: &KeyValue) -> Result<Stored, ApiError> {
    Ok(Stored {
        object: decode(&kv.key, &kv.value, kv.mod_revision)?,
        mod_revision: kv.mod_revision,
    })
}

/// Encodes an object for storage, without its resourceVersion (the store's revision is the truth).
pub fn encode(obj: &Value) -> Bytes {
    let plain = obj
        .get("metadata")
        .and_then(Value::as_object)
        .is_some_and(|m| !m.contains_key("resourceVersion"));
    let mut bytes = if plain {
        serde_json::to_vec(obj)
    } else {
        let mut copy = obj.clone();
        meta::remove_meta(&mut copy, "resourceVersion");
        serde_json::to_vec(&copy)
    }
    .unwrap_or_default();
    // The store, the watch cache and its window share these bytes for as long as the version
    // lives: drop the serializer's spare capacity.
    bytes.shrink_to_fit();
    Bytes::from(bytes)
}

/// The object layer of the API server.
#[derive(Clone)]
pub struct Objects {
    store: Arc<dyn Store>,
}

impl Objects {
    /// Wraps a store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Reads one object.
    ///
    /// # Errors
    /// Store failures and undecodable objects.
    pub async fn get(&self, key: &str) -> Result<Option<Stored>, ApiError> {
        let resp = self.store.range(RangeRequest::key(key)).await?;
        resp.kvs.first().map(decode_kv).transpose()
    }

    /// Reads one object as stored.
    ///
    /// # Errors
    /// Store failures.
    pub async fn get_raw(&self, key: &str) -> Result<Option<RawObject>, ApiError> {
        let resp = self.store.range(RangeRequest::key(key)).await?;
        Ok(resp
            .kvs
            .into_iter()
            .next()
            .map(|kv| RawObject::new(kv.value, kv.mod_revision)))
    }

    /// Creates an object; returns it as stored, `Ok(None)` when the key exists.
    ///
    /// # Errors
    /// Store failures.
    pub async fn create(&self, key: &str, obj: &Value) -> Result<Option<RawObject>, ApiError> {
        let value = encode(obj);
        match self
            .store
            .put(key, value.clone(), Precondition::Absent)
            .await?
        {
            WriteOutcome::Applied { revision, .. } => Ok(Some(RawObject::new(value, revision))),
            WriteOutcome::Failed { .. } => Ok(None),
        }
    }

    /// Replaces an object if it is still at `mod_revision`; `Ok(None)` on a conflict.
    ///
    /// # Errors
    /// Store failures.
    pub async fn update(
        &self,
        key: &str,
        obj: &Value,
        mod_revision: i64,
    ) -> Result<Option<Stored>, ApiError> {
        match self
            .store
            .put(key, encode(obj), Precondition::ModRevision(mod_revision))
            .await?
        {
            WriteOutcome::Applied { revision, .. } => Ok(Some(stamped(obj, revision))),
            WriteOutcome::Failed { .. } => Ok(None),
        }
    }

    /// Deletes an object if it is still at `mod_revision`; returns the revision of the delete,
    /// `Ok(None)` on a conflict.
    ///
    /// # Errors
    /// Store failures.
    pub async fn delete(&self, key: &str, mod_revision: i64) -> Result<Option<i64>, ApiError> {
        match self
            .store
            .delete(key, Precondition::ModRevision(mod_revision))
            .await?
        {
            WriteOutcome::Applied { revision, .. } => Ok(Some(revision)),
            WriteOutcome::Failed { .. } => Ok(None),
        }
    }

    /// Lists the objects under `prefix` that pass `keep`, at most `limit` (0: all), starting
    /// after a continue token.
    ///
    /// # Errors
    /// 410 for a compacted revision or an expired continue token, 400 for a malformed token,
    /// and what `keep` returns.
    pub async fn list(
        &self,
        prefix: &str,
        limit: usize,
        continue_token: Option<&str>,
        read_at: ReadAt,
        keep: Keep<'_>,
    ) -> Result<Page, ApiError> {
        let end = rudder_store::prefix_end(prefix);
        let (mut start, mut revision) = match continue_token {
            Some(token) => {
                let (rev, start) = parse_continue(token)?;
                (format!("{prefix}{start}"), rev)
            }
            None => (
                prefix.to_owned(),
                match read_at {
                    ReadAt::Latest => 0,
                    ReadAt::Exact(rev) => rev,
                },
            ),
        };
        let mut items: Vec<(String, RawObject)> = Vec::new();
        let mut filtered = false;
        loop {
            let request = RangeRequest {
                start: start.clone(),
                end: end.clone(),
                limit,
                revision,
                count_only: false,
            };
            let resp = self.store.range(request).await.map_err(|e| match e {
                StoreError::Compacted { .. } if continue_token.is_some() => {
                    ApiError::ContinueExpired
                }
                StoreError::Compacted {
                    requested,
                    compacted,
                } => ApiError::Gone {
                    requested,
                    oldest: compacted,
                },
                other => ApiError::Store(other),
            })?;
            revision = resp.revision;
            let (fetched, more, count) = (resp.kvs.len(), resp.more, resp.count);
            let last = resp.kvs.last().map(|kv| kv.key.clone());
            for kv in resp.kvs {
                let object = RawObject::new(kv.value, kv.mod_revision);
                if keep(&kv.key, &object)? {
                    items.push((kv.key, object));
                } else {
                    filtered = true;
                }
            }
            let cut = limit > 0 && (items.len() > limit || (items.len() == limit && more));
            if cut {
                let remaining = (!filtered).then(|| (count - fetched) as i64);
                return Ok(cut_page(prefix, revision, limit, items, remaining));
            }
            match last {
                Some(last) if more => start = format!("{last}\0"),
                _ => {
                    return Ok(Page {
                        items: items.into_iter().map(|(_, o)| o).collect(),
                        revision,
                        continue_token: None,
                        remaining: None,
                    });
                }
            }
        }
    }
}

/// The first `limit` of `items` (which holds more, or exactly `limit` with more to come), with
/// the continue token after the last one.
fn cut_page<K: AsRef<str>>(
    prefix: &str,
    revision: i64,
    limit: usize,
    mut items: Vec<(K, RawObject)>,
    remaining: Option<i64>,
) -> Page {
    items.truncate(limit);
    let last_key = items.last().map(|(k, _)| k.as_ref()).unwrap_or_default();
    let after = last_key.strip_prefix(prefix).unwrap_or(last_key);
    let continue_token = Some(make_continue(revision, &format!("{after}\0")));
    Page {
        items: items.into_iter().map(|(_, o)| o).collect(),
        revision,
        continue_token,
        remaining,
    }
}

/// A page of at most `limit` (0: all) of the `candidates` under `prefix` that pass `keep`, read
/// at `revision`; its continue token leads to the rest in the store.
///
/// # Errors
/// What `keep` returns.
pub(crate) fn paginate<K: AsRef<str>>(
    prefix: &str,
    revision: i64,
    limit: usize,
    candidates: Vec<(K, RawObject)>,
    keep: Keep<'_>,
) -> Result<Page, ApiError> {
    let total = candidates.len();
    let mut seen = 0;
    let mut items = Vec::with_capacity(if limit == 0 { total } else { limit + 1 });
    for (key, object) in candidates {
        seen += 1;
        if keep(key.as_ref(), &object)? {
            items.push((key, object));
            if limit > 0 && items.len() == limit && seen < total {
                let unfiltered = seen == items.len();
                let remaining = unfiltered.then(|| (total - seen) as i64);
                return Ok(cut_page(prefix, revision, limit, items, remaining));
            }
        }
    }
    Ok(Page {
        items: items.into_iter().map(|(_, o)| o).collect(),
        revision,
        continue_token: None,
        remaining: None,
    })
}

fn stamped(obj: &Value, revision: i64) -> Stored {
    let mut object = obj.clone();
    meta::set_meta(
        &mut object,
        "resourceVersion",
        Value::String(revision.to_string()),
    );
    Stored {
        object,
        mod_revision: revision,
    }
}

fn make_continue(revision: i64, start: &str) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": revision, "start": start});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

fn parse_continue(token: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::BadRequest("continue key is not valid".to_owned());
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    let rev = value
        .get("rv")
        .and_then(Value::as_i64)
        .filter(|r| *r > 0)
        .ok_or_else(bad)?;
    let start = value.get("start").and_then(Value::as_str).ok_or_else(bad)?;
    if start.contains("..") || start.starts_with('/') {
        return Err(bad());
    }
    Ok((rev, start.to_owned()))
}
