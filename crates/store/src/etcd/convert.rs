//! Conversions between etcd's messages and the store's types, and the mapping of etcd's errors.

use bytes::Bytes;
use etcd_client::{Compare, CompareOp};

use crate::{KeyValue, Precondition, Revision, StoreError};

/// etcd's message for a read or watch below the compacted revision (`mvcc.ErrCompacted`).
const COMPACTED: &str = "required revision has been compacted";
/// etcd's message for a read or compaction beyond the current revision (`mvcc.ErrFutureRev`).
const FUTURE: &str = "required revision is a future revision";

/// etcd's message for a request above its `--max-request-bytes` (`ErrRequestTooLarge`).
const TOO_LARGE: &str = "request is too large";
/// gRPC's message for a request above the server's receive limit (etcd's limit plus 512 KiB).
const GRPC_TOO_LARGE: &str = "received message larger than max";
/// etcd's default `--max-request-bytes` (1.5 MiB).
pub(super) const DEFAULT_MAX_REQUEST_BYTES: usize = 3 << 19;

/// The store's key space inside etcd's: every key is stored as `prefix + key`.
#[derive(Debug, Clone, Default)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(prefix: Option<String>) -> Self {
        Self {
            prefix: prefix.unwrap_or_default(),
        }
    }

    /// The etcd key for `key`.
    pub(super) fn full(&self, key: &str) -> Vec<u8> {
        let mut full = Vec::with_capacity(self.prefix.len() + key.len());
        full.extend_from_slice(self.prefix.as_bytes());
        full.extend_from_slice(key.as_bytes());
        full
    }

    /// The etcd range end for `end`; an empty `end` stays empty (exactly one key).
    pub(super) fn full_end(&self, end: &str) -> Vec<u8> {
        if end.is_empty() {
            Vec::new()
        } else {
            self.full(end)
        }
    }

    /// The store's key for an etcd key.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the key is not UTF-8 (it was not written by this store).
    pub(super) fn strip(&self, full: Vec<u8>) -> Result<String, StoreError> {
        let full = String::from_utf8(full).map_err(|source| StoreError::Backend {
            operation: "decoding a key read from etcd",
            source: Box::new(source),
        })?;
        Ok(match full.strip_prefix(&self.prefix) {
            Some(key) => key.to_owned(),
            None => full,
        })
    }

    /// An etcd [`etcd_client::KeyValue`] as the store's [`KeyValue`].
    pub(super) fn key_value(&self, kv: etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
        let (create_revision, mod_revision, version) =
            (kv.create_revision(), kv.mod_revision(), kv.version());
        let (key, value) = kv.into_key_value();
        Ok(KeyValue {
            key: self.strip(key)?,
            value: Bytes::from(value),
            create_revision,
            mod_revision,
            version,
        })
    }

    /// The comparisons that make `precondition` hold for `key` in a transaction.
    pub(super) fn compares(&self, key: &str, precondition: Precondition) -> Vec<Compare> {
        match precondition {
            Precondition::None => Vec::new(),
            // etcd compares a missing key as if all its revisions were 0.
            Precondition::Absent | Precondition::ModRevision(0) => {
                vec![Compare::mod_revision(self.full(key), CompareOp::Equal, 0)]
            }
            Precondition::ModRevision(revision) => {
                vec![Compare::mod_revision(
                    self.full(key),
                    CompareOp::Equal,
                    revision,
                )]
            }
        }
    }

    /// The comparison that holds when `key` exists.
    pub(super) fn exists(&self, key: &str) -> Compare {
        Compare::mod_revision(self.full(key), CompareOp::Greater, 0)
    }
}

/// How etcd refused a request, as far as the store distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The revision asked for has been compacted.
    Compacted,
    /// The revision asked for is newer than the current one.
    Future,
    /// The request was larger than etcd accepts.
    TooLarge,
    /// Anything else: a backend failure.
    Other,
}

/// Sorts an etcd error into the refusals the store maps to its own variants.
pub(super) fn classify(error: &etcd_client::Error) -> Refusal {
    if let etcd_client::Error::GRpcStatus(status) = error {
        if status.message().contains(COMPACTED) {
            return Refusal::Compacted;
        }
        if status.message().contains(FUTURE) {
            return Refusal::Future;
        }
        if status.message().contains(TOO_LARGE) || status.message().contains(GRPC_TOO_LARGE) {
            return Refusal::TooLarge;
        }
    }
    Refusal::Other
}

/// A backend failure during `operation`, keeping etcd's error as the source.
pub(super) fn backend(operation: &'static str) -> impl FnOnce(etcd_client::Error) -> StoreError {
    move |source| StoreError::Backend {
        operation,
        source: Box::new(source),
    }
}

/// The revision in a response header, or a backend error when etcd sent none.
pub(super) fn header_revision(
    header: Option<&etcd_client::ResponseHeader>,
    operation: &'static str,
) -> Result<Revision, StoreError> {
    header
        .map(etcd_client::ResponseHeader::revision)
        .ok_or_else(|| StoreError::Backend {
            operation,
            source: Box::new(MissingHeader),
        })
}

/// etcd answered without a response header (which carries the revision).
#[derive(Debug, thiserror::Error)]
#[error("etcd's response had no header")]
pub struct MissingHeader;

/// etcd ended a watch stream without saying why.
#[derive(Debug, thiserror::Error)]
#[error("etcd ended the watch stream")]
pub struct WatchEnded;

/// etcd cancelled a watch for a reason other than compaction.
#[derive(Debug, thiserror::Error)]
#[error("etcd cancelled the watch: {reason}")]
pub struct WatchCancelled {
    /// etcd's reason.
    pub reason: String,
}

/// etcd answered a transaction with responses of the wrong kind.
#[derive(Debug, thiserror::Error)]
#[error("etcd's transaction response had no {expected} response")]
pub struct UnexpectedTxnResponse {
    /// The response the store expected.
    pub expected: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_and_stripped() {
        let keys = Keys::new(Some("/tenant".to_owned()));
        assert_eq!(keys.full("/a"), b"/tenant/a");
        assert_eq!(keys.full_end(""), b"");
        assert_eq!(keys.full_end("/b"), b"/tenant/b");
        assert_eq!(
            keys.strip(b"/tenant/a".to_vec()).ok(),
            Some("/a".to_owned())
        );
    }

    #[test]
    fn non_utf8_key_is_a_backend_error() {
        let keys = Keys::default();
        assert!(matches!(
            keys.strip(vec![0xff, 0xfe]),
            Err(StoreError::Backend { .. })
        ));
    }

    #[test]
    fn etcd_revision_errors_are_recognised_by_message() {
        let compacted = etcd_client::Error::GRpcStatus(tonic_status(
            "etcdserver: mvcc: required revision has been compacted",
        ));
        assert_eq!(classify(&compacted), Refusal::Compacted);
        let future = etcd_client::Error::GRpcStatus(tonic_status(
            "etcdserver: mvcc: required revision is a future revision",
        ));
        assert_eq!(classify(&future), Refusal::Future);
        let large =
            etcd_client::Error::GRpcStatus(tonic_status("etcdserver: request is too large"));
        assert_eq!(classify(&large), Refusal::TooLarge);
        let larger = etcd_client::Error::GRpcStatus(tonic::Status::resource_exhausted(
            "grpc: received message larger than max (3145765 vs. 2097152)",
        ));
        assert_eq!(classify(&larger), Refusal::TooLarge);
        let other = etcd_client::Error::WatchError("closed".to_owned());
        assert_eq!(classify(&other), Refusal::Other);
    }

    fn tonic_status(message: &str) -> tonic::Status {
        tonic::Status::out_of_range(message)
    }
}
