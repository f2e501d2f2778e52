//! Periodic compaction of the store's history, as upstream's apiserver does it: every interval,
//! compact to the revision that was current one interval ago, so watches have that long to resume.

use std::sync::Arc;
use std::time::Duration;

use rudder_store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Upstream's default compaction interval.
pub const INTERVAL: Duration = Duration::from_secs(300);

/// Compacts `store` every [`INTERVAL`] until `shutdown` is cancelled.
pub async fn run(store: Arc<dyn Store>, shutdown: CancellationToken) {
    run_every(store, INTERVAL, shutdown).await
}

/// Compacts `store` every `interval` until `shutdown` is cancelled.
pub async fn run_every(store: Arc<dyn Store>, interval: Duration, shutdown: CancellationToken) {
    let mut previous: Option<i64> = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        let (current, compacted) = match store.revisions().await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "compactor could not read the store revision");
                continue;
            }
        };
        if let Some(target) = previous.filter(|t| *t > compacted) {
            match store.compact(target).await {
                Ok(()) => tracing::debug!(revision = target, "compacted the store"),
                Err(StoreError::Compacted { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "compaction failed"),
            }
        }
        previous = Some(current);
    }
}
