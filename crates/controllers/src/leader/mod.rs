//! Leader election through a `coordination.k8s.io/v1` Lease, as client-go's `leaderelection`
//! package does it: candidates try every retry period; the holder renews every retry period and
//! stops acting once it has failed to renew for the renew deadline; on shutdown it releases the
//! lease so another candidate takes over at once.

pub mod decision;

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use decision::{
    decide, observe, released, still_leading, Decision, ElectionConfig, LeaseRecord, Observed,
};

/// Why one attempt to acquire or renew the lease failed.
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    /// Reading the Lease failed.
    #[error("reading lease {name}")]
    GetLease {
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating the Lease failed.
    #[error("creating lease {name}")]
    CreateLease {
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Writing the renewed or acquired Lease failed.
    #[error("updating lease {name}")]
    UpdateLease {
        /// The Lease's name.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer within the renew deadline.
    #[error("lease {name}: no answer within the renew deadline")]
    TimedOut {
        /// The Lease's name.
        name: String,
    },
}

/// A candidate for leadership through one Lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    config: ElectionConfig,
    clock: Arc<dyn Clock>,
}

/// The task run while leading.
struct Leading {
    token: CancellationToken,
    task: JoinHandle<()>,
    renewed: k8s_openapi::jiff::Timestamp,
}

impl LeaderElector {
    /// A candidate called `identity` for the Lease `name` in `api`'s namespace.
    pub fn new(
        api: Api<Lease>,
        name: impl Into<String>,
        identity: impl Into<String>,
        config: ElectionConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            api,
            name: name.into(),
            identity: identity.into(),
            config,
            clock,
        }
    }

    /// Campaigns until `shutdown` is cancelled. Each time leadership is gained, `lead` runs with
    /// a token that is cancelled (and its task awaited) when leadership is lost or on shutdown.
    pub async fn run<F, Fut>(&self, shutdown: CancellationToken, lead: F)
    where
        F: Fn(CancellationToken) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let mut observed: Option<Observed> = None;
        let mut leading: Option<Leading> = None;
        loop {
            let attempt = tokio::select! {
                _ = shutdown.cancelled() => break,
                attempt = self.attempt(&mut observed) => attempt,
            };
            let now = self.clock.now();
            match (attempt, leading.as_mut()) {
                (Ok(true), Some(l)) => l.renewed = now,
                (Ok(true), None) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "became leader");
                    let token = shutdown.child_token();
                    let task = tokio::spawn(lead(token.clone()));
                    leading = Some(Leading {
                        token,
                        task,
                        renewed: now,
                    });
                }
                (Ok(false), Some(_)) => {
                    tracing::warn!(lease = %self.name, "leadership lost to another candidate");
                    stop(leading.take()).await;
                }
                (Err(e), Some(l)) if !still_leading(l.renewed, now, &self.config) => {
                    tracing::error!(lease = %self.name, error = %e, "failed to renew within the deadline; stepping down");
                    stop(leading.take()).await;
                }
                (Err(e), _) => {
                    tracing::warn!(lease = %self.name, error = %e, "leader election attempt failed")
                }
                (Ok(false), None) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(self.config.retry_period) => {}
            }
        }
        if leading.is_some() {
            stop(leading.take()).await;
            self.release(observed.as_ref()).await;
        }
    }

    /// One try: `Ok(true)` when we hold the lease afterwards.
    async fn attempt(&self, observed: &mut Option<Observed>) -> Result<bool, ElectionError> {
        let deadline = self.config.renew_deadline;
        tokio::time::timeout(deadline, self.try_acquire_or_renew(observed))
            .await
            .unwrap_or_else(|_| {
                Err(ElectionError::TimedOut {
                    name: self.name.clone(),
                })
            })
    }

    async fn try_acquire_or_renew(
        &self,
        observed: &mut Option<Observed>,
    ) -> Result<bool, ElectionError> {
        let name = &self.name;
        let current = self
            .api
            .get_opt(name)
            .await
            .map_err(|source| ElectionError::GetLease {
                name: name.clone(),
                source,
            })?;
        let now = self.clock.now();
        *observed = current
            .as_ref()
            .map(|lease| observe(observed.as_ref(), record_of(lease), now));
        let record = match decide(observed.as_ref(), &self.identity, now, &self.config) {
            Decision::Wait { .. } => return Ok(false),
            Decision::Create(record) => {
                let lease = lease_of(name, None, &record);
                match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => record,
                    Err(kube::Error::Api(s)) if s.code == 409 => return Ok(false),
                    Err(source) => {
                        return Err(ElectionError::CreateLease {
                            name: name.clone(),
                            source,
                        })
                    }
                }
            }
            Decision::Acquire(record) | Decision::Renew(record) => {
                let version = current.and_then(|l| l.metadata.resource_version);
                let lease = lease_of(name, version, &record);
                match self.api.replace(name, &PostParams::default(), &lease).await {
                    Ok(_) => record,
                    Err(kube::Error::Api(s)) if s.code == 409 => return Ok(false),
                    Err(source) => {
                        return Err(ElectionError::UpdateLease {
                            name: name.clone(),
                            source,
                        })
                    }
                }
            }
        };
        *observed = Some(Observed { record, at: now });
        Ok(true)
    }

    /// Gives the lease up, if we still hold it, so that the next candidate need not wait.
    async fn release(&self, observed: Option<&Observed>) {
        let Some(observed) = observed else { return };
        let result = async {
            let current = self.api.get_opt(&self.name).await?;
            let Some(current) = current else {
                return Ok(());
            };
            if record_of(&current).holder.as_deref() != Some(self.identity.as_str()) {
                return Ok(());
            }
            let record = released(&observed.record, self.clock.now());
            let lease = lease_of(&self.name, current.metadata.resource_version, &record);
            self.api
                .replace(&self.name, &PostParams::default(), &lease)
                .await
                .map(|_| ())
        };
        match tokio::time::timeout(self.config.retry_period, result).await {
            Ok(Ok(())) => tracing::info!(lease = %self.name, "leadership released"),
            Ok(Err(e)) => {
                tracing::warn!(lease = %self.name, error = %e, "releasing the lease failed")
            }
            Err(_) => tracing::warn!(lease = %self.name, "releasing the lease timed out"),
        }
    }
}

async fn stop(leading: Option<Leading>) {
    if let Some(l) = leading {
        l.token.cancel();
        if let Err(e) = l.task.await {
            tracing::error!(error = %e, "the leader's task failed");
        }
    }
}

/// The election fields of a Lease.
pub fn record_of(lease: &Lease) -> LeaseRecord {
    let spec = lease.spec.clone().unwrap_or_default();
    LeaseRecord {
        holder: spec.holder_identity.filter(|h| !h.is_empty()),
        lease_duration_seconds: spec.lease_duration_seconds,
        acquire_time: spec.acquire_time.map(|t| t.0),
        renew_time: spec.renew_time.map(|t| t.0),
        transitions: spec.lease_transitions.unwrap_or(0),
    }
}

/// A Lease carrying `record`.
pub fn lease_of(name: &str, resource_version: Option<String>, record: &LeaseRecord) -> Lease {
    Lease {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            resource_version,
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(record.holder.clone().unwrap_or_default()),
            lease_duration_seconds: record.lease_duration_seconds,
            acquire_time: record.acquire_time.map(MicroTime),
            renew_time: record.renew_time.map(MicroTime),
            lease_transitions: Some(record.transitions),
            ..LeaseSpec::default()
        }),
    }
}
