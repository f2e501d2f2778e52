//! The control plane's figures, end to end through a real `rudder server` with simulated nodes:
//! how long a 1,000-replica Deployment applied by the real `kubectl` takes to run, and how fast
//! the scheduler binds 10,000 pods across 5,000 nodes. Both are timed from what a pod watch
//! shows, as a user watching `kubectl get pods -w` would see it.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use crate::client::Endpoint;
use crate::server::Server;

/// How long one scenario may take before the benchmark gives up on it.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(600);

/// The sizes of the two scenarios.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Replicas of the Deployment.
    pub replicas: usize,
    /// Simulated nodes for the Deployment.
    pub deployment_nodes: usize,
    /// Pods the scheduler places.
    pub pods: usize,
    /// Simulated nodes it places them on.
    pub nodes: usize,
}

impl Sizes {
    /// The figures: 1,000 replicas; 10,000 pods on 5,000 nodes.
    pub const FULL: Sizes = Sizes {
        replicas: 1_000,
        deployment_nodes: 100,
        pods: 10_000,
        nodes: 5_000,
    };

    /// A tenth of everything: a smoke test of the benchmark.
    pub fn quick() -> Sizes {
        Sizes {
            replicas: 100,
            deployment_nodes: 10,
            pods: 1_000,
            nodes: 500,
        }
    }
}

/// What the pod watch has seen, by pod name.
#[derive(Default)]
struct Seen {
    created: HashSet<String>,
    bound: HashSet<String>,
    running: HashSet<String>,
    last_created: Option<Instant>,
    first_bound: Option<Instant>,
    last_bound: Option<Instant>,
    all_running: Option<Instant>,
    /// Times the watch was resumed or re-listed after the server ended it.
    restarts: usize,
}

impl Seen {
    fn record(&mut self, kind: &Value, pod: &Value, now: Instant, expected: usize) {
        let Some(name) = pod["metadata"]["name"].as_str() else {
            return;
        };
        if kind == "DELETED" {
            self.bound.remove(name);
            self.running.remove(name);
            return;
        }
        if self.created.insert(name.to_owned()) {
            self.last_created = Some(now);
        }
        if pod["spec"]["nodeName"]
            .as_str()
            .is_some_and(|n| !n.is_empty())
            && self.bound.insert(name.to_owned())
        {
            self.first_bound.get_or_insert(now);
            self.last_bound = Some(now);
        }
        if pod["status"]["phase"] == "Running" {
            self.running.insert(name.to_owned());
        } else {
            self.running.remove(name);
        }
        if self.running.len() >= expected && self.all_running.is_none() {
            self.all_running = Some(now);
        }
    }
}

/// Watches the pods of `namespace` from now on until `done` holds of what it saw. When the
/// server ends the watch (a watcher that falls too far behind is cut off, as upstream's watch
/// cache does), it resumes from the last resourceVersion seen, or re-lists after 410 Gone, as a
/// reflector would; `Seen::restarts` counts both.
async fn watch_pods(
    endpoint: &Endpoint,
    namespace: &str,
    expected: usize,
    done: fn(&Seen, usize) -> bool,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<Seen>>> {
    let endpoint = endpoint.clone();
    let namespace = namespace.to_owned();
    let mut stream = PodStream::open(&endpoint, &namespace, None).await?;
    Ok(tokio::spawn(async move {
        let mut seen = Seen::default();
        while !done(&seen, expected) {
            match stream.next(&mut seen, expected).await? {
                Next::Events => {}
                Next::Ended => {
                    seen.restarts += 1;
                    stream = PodStream::open(&endpoint, &namespace, Some(&stream.revision)).await?;
                }
                Next::Gone => {
                    seen.restarts += 1;
                    let revision = relist(&endpoint, &namespace, &mut seen, expected).await?;
                    stream = PodStream::open(&endpoint, &namespace, Some(&revision)).await?;
                }
            }
        }
        Ok(seen)
    }))
}

/// One open pod watch and the newest resourceVersion it delivered.
struct PodStream {
    _conn: crate::client::Conn,
    body: hyper::body::Incoming,
    buffer: Vec<u8>,
    revision: String,
}

/// What reading a watch gave.
enum Next {
    /// Zero or more events, recorded.
    Events,
    /// The server closed the watch.
    Ended,
    /// The server said the resourceVersion is too old.
    Gone,
}

impl PodStream {
    async fn open(
        endpoint: &Endpoint,
        namespace: &str,
        from: Option<&str>,
    ) -> anyhow::Result<PodStream> {
        let mut conn = endpoint.connect().await.context("opening the pod watch")?;
        let mut path =
            format!("/api/v1/namespaces/{namespace}/pods?watch=1&allowWatchBookmarks=true");
        if let Some(revision) = from {
            path.push_str(&format!("&resourceVersion={revision}"));
        }
        let response = conn.open(Method::GET, &path, None, false).await?;
        ensure!(
            response.status().is_success(),
            "pod watch: {}",
            response.status()
        );
        Ok(PodStream {
            _conn: conn,
            body: response.into_body(),
            buffer: Vec::new(),
            revision: from.unwrap_or_default().to_owned(),
        })
    }

    async fn next(&mut self, seen: &mut Seen, expected: usize) -> anyhow::Result<Next> {
        let Some(frame) = self.body.frame().await else {
            return Ok(Next::Ended);
        };
        let Ok(data) = frame.context("reading the pod watch")?.into_data() else {
            return Ok(Next::Events);
        };
        let now = Instant::now();
        self.buffer.extend_from_slice(&data);
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line).context("a watch event")?;
            if event["type"] == "ERROR" {
                return Ok(if event["object"]["code"] == 410 {
                    Next::Gone
                } else {
                    Next::Ended
                });
            }
            if let Some(revision) = event["object"]["metadata"]["resourceVersion"].as_str() {
                revision.clone_into(&mut self.revision);
            }
            seen.record(&event["type"], &event["object"], now, expected);
        }
        Ok(Next::Events)
    }
}

/// Lists the pods of `namespace` into `seen` (pods gone since are forgotten); returns the
/// list's resourceVersion.
async fn relist(
    endpoint: &Endpoint,
    namespace: &str,
    seen: &mut Seen,
    expected: usize,
) -> anyhow::Result<String> {
    let mut conn = endpoint.connect().await.context("re-listing pods")?;
    let list = conn
        .call(
            Method::GET,
            &format!("/api/v1/namespaces/{namespace}/pods"),
            None,
        )
        .await?;
    let list: Value = serde_json::from_slice(&list).context("the pod list")?;
    let now = Instant::now();
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let listed: HashSet<&str> = items
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    seen.bound.retain(|name| listed.contains(name.as_str()));
    seen.running.retain(|name| listed.contains(name.as_str()));
    for pod in &items {
        seen.record(&json!("ADDED"), pod, now, expected);
    }
    Ok(list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned())
}

/// Waits until the server lists `count` nodes.
async fn nodes_registered(endpoint: &Endpoint, count: usize) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut conn = endpoint.connect().await?;
    loop {
        let list = conn.call(Method::GET, "/api/v1/nodes", None).await?;
        let list: Value = serde_json::from_slice(&list).context("the node list")?;
        let registered = list["items"].as_array().map_or(0, Vec::len);
        if registered >= count {
            return Ok(started.elapsed());
        }
        if started.elapsed() > SCENARIO_TIMEOUT {
            bail!("only {registered} of {count} simulated nodes registered");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn deployment(replicas: usize) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: big, namespace: bench-deploy}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: big}}}}
  template:
    metadata: {{labels: {{app: big}}}}
    spec:
      containers:
      - name: c
        image: registry.k8s.io/pause:3.10
        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}
"
    )
}

/// `kubectl apply -f -` of `manifest` against the server.
fn kubectl_apply(kubeconfig: &Path, manifest: &str) -> anyhow::Result<()> {
    let mut child = Command::new("kubectl")
        .args(["apply", "-f", "-"])
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running kubectl")?;
    child
        .stdin
        .take()
        .context("kubectl's stdin")?
        .write_all(manifest.as_bytes())
        .context("writing the manifest to kubectl")?;
    let out = child.wait_with_output().context("waiting for kubectl")?;
    ensure!(
        out.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// The figures, as (what, value) rows.
pub type Rows = Vec<(String, String)>;

/// From `kubectl apply` of the Deployment to every replica Running.
async fn deployment_to_running(binary: &Path, sizes: Sizes, rows: &mut Rows) -> anyhow::Result<()> {
    let nodes = sizes.deployment_nodes.to_string();
    let server = Server::start_with(binary, &["--simulated-nodes", &nodes]).await?;
    let endpoint = server.endpoint().clone();
    nodes_registered(&endpoint, sizes.deployment_nodes).await?;
    crate::api::create_namespace(&endpoint, "bench-deploy").await?;
    let watch = watch_pods(&endpoint, "bench-deploy", sizes.replicas, |s, n| {
        s.running.len() >= n
    })
    .await?;
    let cpu = server.cpu_time()?;
    let started = Instant::now();
    let kubeconfig = server.kubeconfig();
    let manifest = deployment(sizes.replicas);
    tokio::task::spawn_blocking(move || kubectl_apply(&kubeconfig, &manifest))
        .await
        .context("kubectl task")??;
    let seen = tokio::time::timeout(SCENARIO_TIMEOUT, watch)
        .await
        .context("the Deployment did not run in time")?
        .context("watch task")??;
    let since =
        |t: Option<Instant>| t.map_or(f64::NAN, |t| t.duration_since(started).as_secs_f64());
    rows.push((
        format!(
            "`kubectl apply` of a {}-replica Deployment → all Running ({} simulated nodes)",
            sizes.replicas, sizes.deployment_nodes
        ),
        format!("{:.2} s", since(seen.all_running)),
    ));
    rows.push((
        "… → all created".into(),
        format!("{:.2} s", since(seen.last_created)),
    ));
    rows.push((
        "… → all scheduled".into(),
        format!("{:.2} s", since(seen.last_bound)),
    ));
    rows.push((
        "… server CPU (API server, controllers, scheduler, simulated nodes)".into(),
        format!("{:.2} s", (server.cpu_time()? - cpu).as_secs_f64()),
    ));
    rows.push((
        format!("… RSS with {} pods Running", sizes.replicas),
        crate::report::mib(server.rss()?),
    ));
    server.stop();
    Ok(())
}

fn pod(index: usize) -> Bytes {
    let body = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("p-{index}"), "labels": {"app": "sched"}},
        "spec": {"containers": [{
            "name": "c", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }]},
    });
    Bytes::from(body.to_string())
}

/// Creates `total` pods with `clients` connections; returns when the last create answered.
async fn create_pods(endpoint: &Endpoint, clients: usize, total: usize) -> anyhow::Result<()> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let mut conn = endpoint
            .connect()
            .await
            .context("a creating client connecting")?;
        let next = Arc::clone(&next);
        tasks.push(tokio::spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= total {
                    return anyhow::Ok(());
                }
                let path = "/api/v1/namespaces/bench-sched/pods";
                conn.call(Method::POST, path, Some(pod(index))).await?;
            }
        }));
    }
    for task in tasks {
        task.await.context("create task")??;
    }
    Ok(())
}

/// The scheduler's throughput: pods created by 16 clients, bound across the simulated nodes.
async fn scheduler_throughput(binary: &Path, sizes: Sizes, rows: &mut Rows) -> anyhow::Result<()> {
    let nodes = sizes.nodes.to_string();
    let server = Server::start_with(binary, &["--simulated-nodes", &nodes]).await?;
    let endpoint = server.endpoint().clone();
    let registered = nodes_registered(&endpoint, sizes.nodes).await?;
    rows.push((
        format!("{} simulated nodes registered", sizes.nodes),
        format!("{:.2} s", registered.as_secs_f64()),
    ));
    crate::api::create_namespace(&endpoint, "bench-sched").await?;
    let watch = watch_pods(&endpoint, "bench-sched", sizes.pods, |s, n| {
        s.bound.len() >= n
    })
    .await?;
    let cpu = server.cpu_time()?;
    let started = Instant::now();
    create_pods(&endpoint, 16, sizes.pods).await?;
    let created = started.elapsed();
    let seen = tokio::time::timeout(SCENARIO_TIMEOUT, watch)
        .await
        .context("the pods were not all scheduled in time")?
        .context("watch task")??;
    let last = seen.last_bound.context("no pod was bound")?;
    let total = last.duration_since(started).as_secs_f64();
    let pods = sizes.pods as f64;
    rows.push((
        format!(
            "scheduler: {} pods onto {} simulated nodes, first create → last bound",
            sizes.pods, sizes.nodes
        ),
        format!("{:.2} s, {:.0} pods/s", total, pods / total),
    ));
    if let Some(first) = seen.first_bound {
        let window = last.duration_since(first).as_secs_f64();
        rows.push((
            "… first bound → last bound".into(),
            format!("{:.2} s, {:.0} pods/s", window, pods / window.max(1e-9)),
        ));
    }
    rows.push((
        "… the creates alone (16 clients)".into(),
        format!(
            "{:.2} s, {:.0} pods/s",
            created.as_secs_f64(),
            pods / created.as_secs_f64()
        ),
    ));
    rows.push((
        "… server CPU".into(),
        format!("{:.2} s", (server.cpu_time()? - cpu).as_secs_f64()),
    ));
    rows.push((
        "… times the pod watch was cut off and resumed".into(),
        seen.restarts.to_string(),
    ));
    server.stop();
    Ok(())
}

/// Runs both scenarios, each on a fresh server.
///
/// # Errors
/// When a server, kubectl or a request fails, or a scenario does not finish in time.
pub async fn run(binary: &Path, sizes: Sizes) -> anyhow::Result<Rows> {
    let mut rows = Rows::new();
    eprintln!("control plane: {}-replica Deployment", sizes.replicas);
    deployment_to_running(binary, sizes, &mut rows).await?;
    // Shown at once, so that a failure of the next scenario does not lose them.
    for (figure, value) in &rows {
        eprintln!("  {figure}: {value}");
    }
    eprintln!(
        "control plane: {} pods on {} nodes",
        sizes.pods, sizes.nodes
    );
    scheduler_throughput(binary, sizes, &mut rows).await?;
    Ok(rows)
}
