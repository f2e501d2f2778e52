//! The etcd v3 backend: the [`Store`] contract over a real etcd cluster, so a cluster can
//! outgrow one machine.
//!
//! Every operation is one etcd request (a conditional write is one transaction), so the store's
//! revisions *are* etcd's revisions. An optional key prefix lets several stores share one etcd.
//!
//! # The compacted revision
//! etcd does not report its compacted revision directly. [`EtcdStore`] remembers the highest
//! compaction it performed or learned of, and checks it with one read at that revision: a read
//! below etcd's compacted revision fails, one at or above it succeeds. When the check fails (some
//! other client compacted further), a binary search of such reads between the remembered and the
//! current revision finds the exact value. So [`Store::revisions`] and a watch from a past
//! revision cost one extra read, and discovering another client's compaction a few more.
//!
//! One imprecision remains: a compaction to revision 1 looks like none, and is reported as 0.

mod convert;
mod watch;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use etcd_client::{
    Client, ConnectOptions, DeleteOptions, GetOptions, KvClient, PutOptions, Txn, TxnOp,
    TxnOpResponse, TxnResponse, WatchClient,
};

use crate::{
    Precondition, RangeRequest, RangeResponse, Revision, Store, StoreError, WatchStream,
    WriteOutcome,
};
use convert::{backend, classify, header_revision, Keys, Refusal, DEFAULT_MAX_REQUEST_BYTES};

pub use convert::{MissingHeader, UnexpectedTxnResponse, WatchCancelled, WatchEnded};

/// How long connecting to an etcd endpoint may take before the request fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest response accepted. gRPC's default (4 MiB) is far below a list of a few thousand
/// objects; etcd itself does not bound responses.
const MAX_RESPONSE_BYTES: usize = i32::MAX as usize;

/// A [`Store`] backed by an etcd v3 cluster.
///
/// Cloning is cheap; clones share the connection and what is known of the compacted revision.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    keys: Keys,
    /// The highest compacted revision this store performed or learned of (0: none known).
    compacted: Arc<AtomicI64>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl EtcdStore {
    /// Connects to the etcd cluster at `endpoints` (URLs such as `http://127.0.0.1:2379`) and
    /// checks that it answers. With a `prefix`, every key is stored as `prefix + key` in etcd and
    /// reads, writes and watches see only that part of etcd's key space; keys start with `/`, so
    /// stores with prefixes `/a` and `/ab` do not overlap.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when no endpoint is given, an endpoint is not a valid URL, or the
    /// cluster does not answer a read.
    pub async fn connect(
        endpoints: &[String],
        prefix: Option<String>,
    ) -> Result<EtcdStore, StoreError> {
        let options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(backend("connecting to etcd"))?;
        let store = EtcdStore {
            client,
            keys: Keys::new(prefix),
            compacted: Arc::new(AtomicI64::new(0)),
        };
        store.current_revision().await?;
        Ok(store)
    }

    fn kv(&self) -> KvClient {
        self.client
            .kv_client()
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    fn watch_client(&self) -> WatchClient {
        self.client
            .watch_client()
            .max_decoding_message_size(MAX_RESPONSE_BYTES)
    }

    /// A cheap read whose header carries the current revision.
    fn probe(&self, revision: Revision) -> (Vec<u8>, GetOptions) {
        let options = GetOptions::new().with_count_only().with_revision(revision);
        (self.keys.full("/"), options)
    }

    /// etcd's current revision.
    async fn current_revision(&self) -> Result<Revision, StoreError> {
        const OPERATION: &str = "reading etcd's current revision";
        let (key, options) = self.probe(0);
        let response = self
            .kv()
            .get(key, Some(options))
            .await
            .map_err(backend(OPERATION))?;
        header_revision(response.header(), OPERATION)
    }

    /// Whether etcd still serves reads at `revision`: `Some(current)` if so, `None` if it has
    /// been compacted away.
    async fn readable_at(&self, revision: Revision) -> Result<Option<Revision>, StoreError> {
        const OPERATION: &str = "probing etcd's compacted revision";
        let (key, options) = self.probe(revision);
        match self.kv().get(key, Some(options)).await {
            Ok(response) => header_revision(response.header(), OPERATION).map(Some),
            Err(error) => match classify(&error) {
                Refusal::Compacted => Ok(None),
                // Beyond the current revision is not compacted either.
                Refusal::Future => self.current_revision().await.map(Some),
                Refusal::TooLarge | Refusal::Other => Err(backend(OPERATION)(error)),
            },
        }
    }

    /// The current and the compacted revision (see the module documentation).
    async fn current_and_compacted(&self) -> Result<(Revision, Revision), StoreError> {
        let known = self.compacted.load(Ordering::Acquire);
        if let Some(current) = self.readable_at(known.max(1)).await? {
            return Ok((current, known));
        }
        // Someone compacted beyond `known`: find the oldest readable revision. `low` is not
        // readable; `high` is (the current revision always is).
        let mut high = self.current_revision().await?;
        let mut low = known.max(1);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            match self.readable_at(middle).await? {
                Some(_) => high = middle,
                None => low = middle,
            }
        }
        self.compacted.fetch_max(high, Ordering::AcqRel);
        let current = self.current_revision().await?;
        Ok((current, self.compacted.load(Ordering::Acquire)))
    }

    /// The error for a request at `requested` that etcd refused: compacted and future
    /// revisions become the store's own variants, anything else a backend error.
    async fn revision_error(
        &self,
        error: etcd_client::Error,
        requested: Revision,
        operation: &'static str,
    ) -> StoreError {
        let answer = match classify(&error) {
            Refusal::Compacted => {
                self.current_and_compacted()
                    .await
                    .map(|(_, compacted)| StoreError::Compacted {
                        // etcd refused it, so it is compacted even if a read of ours raced ahead.
                        compacted: compacted.max(requested),
                        requested,
                    })
            }
            Refusal::Future => self
                .current_revision()
                .await
                .map(|current| StoreError::FutureRevision { requested, current }),
            Refusal::TooLarge | Refusal::Other => Ok(backend(operation)(error)),
        };
        answer.unwrap_or_else(|error| error)
    }

    /// Runs `txn` (of about `size` bytes) and returns its response and the revision it was
    /// answered at.
    async fn txn(
        &self,
        txn: Txn,
        size: usize,
        operation: &'static str,
    ) -> Result<(TxnResponse, Revision), StoreError> {
        let response = self
            .kv()
            .txn(txn)
            .await
            .map_err(|error| match classify(&error) {
                // etcd's limit is configurable; its default is the best guess at what refused us.
                Refusal::TooLarge => StoreError::TooLarge {
                    size,
                    limit: DEFAULT_MAX_REQUEST_BYTES,
                },
                _ => backend(operation)(error),
            })?;
        let revision = header_revision(response.header(), operation)?;
        Ok((response, revision))
    }

    /// The key's value from the `else` branch's read of a transaction that failed its compare.
    fn failed(&self, response: &TxnResponse) -> Result<WriteOutcome, StoreError> {
        let current = match response.op_responses().into_iter().next() {
            Some(TxnOpResponse::Get(mut get)) => get.take_kvs().into_iter().next(),
            _ => return Err(unexpected("read")),
        };
        let current = current.map(|kv| self.keys.key_value(kv)).transpose()?;
        Ok(WriteOutcome::Failed { current })
    }
}

fn unexpected(expected: &'static str) -> StoreError {
    StoreError::Backend {
        operation: "reading etcd's transaction response",
        source: Box::new(UnexpectedTxnResponse { expected }),
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn range(&self, request: RangeRequest) -> Result<RangeResponse, StoreError> {
        const OPERATION: &str = "reading a range from etcd";
        let mut options = GetOptions::new()
            .with_limit(i64::try_from(request.limit).unwrap_or(i64::MAX))
            .with_revision(request.revision);
        if !request.end.is_empty() {
            options = options.with_range(self.keys.full_end(&request.end));
        }
        if request.count_only {
            options = options.with_count_only();
        }
        let key = self.keys.full(&request.start);
        let mut response = match self.kv().get(key, Some(options)).await {
            Ok(response) => response,
            Err(error) => {
                return Err(self
                    .revision_error(error, request.revision, OPERATION)
                    .await);
            }
        };
        let current = header_revision(response.header(), OPERATION)?;
        let kvs = response
            .take_kvs()
            .into_iter()
            .map(|kv| self.keys.key_value(kv))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RangeResponse {
            kvs,
            more: response.more(),
            count: usize::try_from(response.count()).unwrap_or(0),
            revision: if request.revision > 0 {
                request.revision
            } else {
                current
            },
        })
    }

    /// One transaction: if the precondition holds, put (reporting the previous value), else
    /// read the key to report its current value. Cancel safety: a dropped put may still apply.
    async fn put(
        &self,
        key: &str,
        value: Bytes,
        precondition: Precondition,
    ) -> Result<WriteOutcome, StoreError> {
        const OPERATION: &str = "writing a key to etcd";
        let size = key.len() + value.len();
        let full = self.keys.full(key);
        let put = TxnOp::put(
            full.clone(),
            Vec::from(value),
            Some(PutOptions::new().with_prev_key()),
        );
        let txn = Txn::new()
            .when(self.keys.compares(key, precondition))
            .and_then([put])
            .or_else([TxnOp::get(full, None)]);
        let (response, revision) = self.txn(txn, size, OPERATION).await?;
        if !response.succeeded() {
            return self.failed(&response);
        }
        let previous = match response.op_responses().into_iter().next() {
            Some(TxnOpResponse::Put(mut put)) => put.take_prev_key(),
            _ => return Err(unexpected("put")),
        };
        let previous = previous.map(|kv| self.keys.key_value(kv)).transpose()?;
        Ok(WriteOutcome::Applied { revision, previous })
    }

    /// One transaction: if the key exists and the precondition holds, delete it (reporting the
    /// deleted value), else read it. Cancel safety: a dropped delete may still apply.
    async fn delete(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> Result<WriteOutcome, StoreError> {
        const OPERATION: &str = "deleting a key from etcd";
        let full = self.keys.full(key);
        let mut compares = vec![self.keys.exists(key)];
        compares.extend(self.keys.compares(key, precondition));
        let delete = TxnOp::delete(full.clone(), Some(DeleteOptions::new().with_prev_key()));
        let txn = Txn::new()
            .when(compares)
            .and_then([delete])
            .or_else([TxnOp::get(full, None)]);
        let (response, revision) = self.txn(txn, key.len(), OPERATION).await?;
        if !response.succeeded() {
            return self.failed(&response);
        }
        let previous = match response.op_responses().into_iter().next() {
            Some(TxnOpResponse::Delete(mut delete)) => delete.take_prev_kvs().into_iter().next(),
            _ => return Err(unexpected("delete")),
        };
        let previous = previous.map(|kv| self.keys.key_value(kv)).transpose()?;
        Ok(WriteOutcome::Applied { revision, previous })
    }

    /// Watches with etcd's `prev_kv`. A `revision` at or below the compacted revision fails at
    /// once; if etcd compacts past the watch later, the stream ends with
    /// [`StoreError::Compacted`]; any other stream failure ends it with [`StoreError::Backend`].
    async fn watch(
        &self,
        start: &str,
        end: &str,
        revision: Revision,
    ) -> Result<WatchStream, StoreError> {
        if revision > 0 {
            let (_, compacted) = self.current_and_compacted().await?;
            if revision <= compacted {
                return Err(StoreError::Compacted {
                    requested: revision,
                    compacted,
                });
            }
        }
        watch::start(self, start, end, revision).await
    }

    /// A logical compaction (etcd frees the space in the background).
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        const OPERATION: &str = "compacting etcd";
        match self.kv().compact(revision, None).await {
            Ok(_) => {
                self.compacted.fetch_max(revision, Ordering::AcqRel);
                Ok(())
            }
            Err(error) => Err(self.revision_error(error, revision, OPERATION).await),
        }
    }

    async fn revisions(&self) -> Result<(Revision, Revision), StoreError> {
        self.current_and_compacted().await
    }
}
