//! The scheduler at run time: while it holds the `kube-system/kube-scheduler` Lease, it watches
//! nodes, pods, namespaces and storage objects into the cache and queue ([`informer`]), pops
//! pods one at a time, decides with the I/O-free [`Algorithm`], assumes the pod onto its node, and in the
//! background makes the PreBind plugins' writes and binds it through `pods/binding` ([`api`]),
//! forgetting the assumption if any of that fails.

pub mod api;
mod informer;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube::Client;
use rudder_controllers::clock::Clock;
use rudder_controllers::events::EventRecorder;
use rudder_controllers::leader::decision::ElectionConfig;
use rudder_controllers::leader::LeaderElector;
use rudder_controllers::{ClientError, Credentials};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::core::{Algorithm, Rng};
use crate::framework::{Framework, PreBindWrite};
use crate::pod_info::PodInfo;
use crate::preemption::{self, Preemption};
use crate::queue::{QueueConfig, SchedulingQueue};
use api::{ApiWriter, Writer};

/// The Lease the scheduler is elected through, as upstream's.
pub const LEASE_NAME: &str = "kube-scheduler";
/// The namespace of that Lease.
pub const LEASE_NAMESPACE: &str = "kube-system";

/// The time the queue runs on (tokio's clock, so paused-time tests drive it).
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What the watches and the scheduling loop share.
pub struct State {
    /// Nodes and pods.
    pub cache: Cache,
    /// Pending pods.
    pub queue: SchedulingQueue,
    /// The decision maker.
    pub algorithm: Algorithm,
}

/// [`State`] behind a lock, and the bell that wakes the loop.
pub struct Shared {
    state: Mutex<State>,
    wake: Notify,
    /// How many watches have finished their first list.
    synced: AtomicUsize,
}

impl Shared {
    /// Fresh state for `framework`.
    pub fn new(framework: Framework, queue: QueueConfig, rng: Box<dyn Rng>) -> Self {
        let queue = SchedulingQueue::new(queue, Arc::clone(&framework.queue_sort));
        Self {
            state: Mutex::new(State {
                cache: Cache::new(),
                queue,
                algorithm: Algorithm::new(framework, rng),
            }),
            wake: Notify::new(),
            synced: AtomicUsize::new(0),
        }
    }

    /// Records that one watch has listed everything.
    fn mark_synced(&self) {
        self.synced.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Locks the state.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What scheduling one pod decided.
enum Step {
    Bind(Arc<PodInfo>, String, Vec<PreBindWrite>),
    Fail(Arc<PodInfo>, String, Option<Preemption>),
}

/// Pops and decides one pod, updating the cache and queue; `None` when nothing is ready.
fn step(state: &mut State) -> Option<Step> {
    let pod = state.queue.pop(now())?;
    state.cache.prepare(&pod);
    let snapshot = state.cache.snapshot();
    match state.algorithm.schedule(&pod, &snapshot) {
        Ok(placement) => {
            state.cache.assume(Arc::clone(&pod), &placement.node);
            Some(Step::Bind(pod, placement.node, placement.pre_bind))
        }
        Err(mut fit) => {
            let outcome = if state.algorithm.framework.preemption {
                let (message, chosen) =
                    preemption::preempt(&state.algorithm.framework, &pod, &snapshot, &fit);
                fit.post_filter_msg = message;
                chosen
            } else {
                None
            };
            state.queue.unschedulable(&pod.key, now());
            Some(Step::Fail(pod, fit.message(), outcome))
        }
    }
}

/// Makes the PreBind writes, then the binding.
async fn bind(
    writer: &dyn Writer,
    pod: &PodInfo,
    node: &str,
    pre_bind: &[PreBindWrite],
) -> Result<(), api::ApiError> {
    for write in pre_bind {
        writer.pre_bind(write).await?;
    }
    writer.bind(pod, node).await
}

/// Carries out a decision's writes.
async fn act(shared: Arc<Shared>, writer: Arc<dyn Writer>, step: Step) {
    match step {
        Step::Bind(pod, node, pre_bind) => {
            match bind(writer.as_ref(), &pod, &node, &pre_bind).await {
                Ok(()) => {
                    shared.lock().queue.done(&pod.key);
                    let msg = format!("Successfully assigned {} to {node}", pod.key);
                    writer.event(&pod, false, "Scheduled", &msg).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, cause = ?std::error::Error::source(&e).map(ToString::to_string), "binding failed");
                    {
                        let mut state = shared.lock();
                        state.cache.forget(&pod.key);
                        state.queue.retry(&pod.key, now());
                    }
                    shared.wake.notify_one();
                    let msg = format!(
                        "Binding rejected: {}",
                        std::error::Error::source(&e)
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    );
                    writer.event(&pod, true, "FailedScheduling", &msg).await;
                }
            }
        }
        Step::Fail(pod, message, preemption) => {
            writer.event(&pod, true, "FailedScheduling", &message).await;
            let nominated = preemption.as_ref().map(|p| p.node.as_str());
            if let Err(e) = writer.unschedulable(&pod, &message, nominated).await {
                tracing::debug!(error = %e, "could not mark a pod unschedulable");
            }
            for victim in preemption.iter().flat_map(|p| p.victims.iter()) {
                let msg = format!(
                    "Preempted by pod {} on node {}",
                    pod.uid,
                    preemption
                        .as_ref()
                        .map(|p| p.node.as_str())
                        .unwrap_or_default()
                );
                writer.event(victim, false, "Preempted", &msg).await;
                if let Err(e) = writer.delete(victim).await {
                    tracing::warn!(error = %e, "could not delete a preemption victim");
                }
            }
        }
    }
}

/// The scheduling loop: decide pods as they become ready, act on each decision in the
/// background, until `stop`; then wait for the writes in flight.
pub async fn schedule_loop(
    shared: Arc<Shared>,
    writer: Arc<dyn Writer>,
    watches: usize,
    stop: CancellationToken,
) {
    while shared.synced.load(Ordering::SeqCst) < watches {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = shared.wake.notified() => {}
        }
    }
    let mut writes = JoinSet::new();
    loop {
        while writes.try_join_next().is_some() {}
        let (next, wakeup) = {
            let mut state = shared.lock();
            let next = step(&mut state);
            (next, state.queue.next_wakeup())
        };
        if let Some(step) = next {
            writes.spawn(act(Arc::clone(&shared), Arc::clone(&writer), step));
            tokio::task::yield_now().await;
            continue;
        }
        let sleep = async {
            match wakeup {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = shared.wake.notified() => {}
            _ = sleep => {}
        }
    }
    while writes.join_next().await.is_some() {}
}

/// How the scheduler runs.
pub struct SchedulerConfig {
    /// This candidate's identity in the Lease.
    pub identity: String,
    /// The host name Events name as their source.
    pub host: String,
    /// Leader-election timings.
    pub election: ElectionConfig,
    /// The wall clock (Events, leases).
    pub clock: Arc<dyn Clock>,
    /// Queue timings.
    pub queue: QueueConfig,
    /// Seed of the tie-breaking generator.
    pub seed: u64,
}

/// Starts the scheduler against the API server `credentials` name. The task ends (loop
/// stopped, lease released) after `shutdown` is cancelled.
///
/// # Errors
/// A [`ClientError`] when the client cannot be built.
pub fn start(
    credentials: &Credentials,
    config: SchedulerConfig,
    shutdown: CancellationToken,
) -> Result<JoinHandle<()>, ClientError> {
    let client = credentials.client()?;
    Ok(tokio::spawn(run(client, config, shutdown)))
}

/// Campaigns for the Lease and schedules while leading, until `shutdown`.
pub async fn run(client: Client, config: SchedulerConfig, shutdown: CancellationToken) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), LEASE_NAMESPACE);
    let elector = LeaderElector::new(
        leases,
        LEASE_NAME,
        config.identity,
        config.election,
        Arc::clone(&config.clock),
    );
    let events = EventRecorder::new(
        client.clone(),
        "default-scheduler",
        &config.host,
        config.clock,
    );
    let (queue, seed) = (config.queue, config.seed);
    elector
        .run(shutdown, move |leading| {
            lead(client.clone(), events.clone(), queue, seed, leading)
        })
        .await;
}

/// Schedules with fresh state (a new leader re-lists everything) until `leading` ends.
async fn lead(
    client: Client,
    events: EventRecorder,
    queue: QueueConfig,
    seed: u64,
    leading: CancellationToken,
) {
    let framework = crate::plugins::default_framework();
    let name = framework.scheduler_name.clone();
    let shared = Arc::new(Shared::new(
        framework,
        queue,
        Box::new(crate::core::SplitMix64::new(seed)),
    ));
    let writer: Arc<dyn Writer> = Arc::new(ApiWriter::new(client.clone(), events));
    tracing::info!("scheduler starting");
    tokio::join!(
        informer::run(client, Arc::clone(&shared), name, leading.clone()),
        schedule_loop(shared, writer, informer::WATCHES, leading),
    );
    tracing::info!("scheduler stopped");
}
