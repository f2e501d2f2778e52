//! API figures against a running server: creates, gets and lists of 1 KiB ConfigMaps at several
//! concurrency levels, and watch fan-out (create sent → event received at every watcher).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use bytes::Bytes;
use http::Method;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio::sync::Barrier;

use crate::client::{Conn, Endpoint};
use crate::report::Stats;

/// The payload that makes each ConfigMap 1 KiB.
fn config_map(index: usize) -> Bytes {
    let body = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name(index), "labels": {"app": "bench"}},
        "data": {"payload": "x".repeat(1024)},
    });
    Bytes::from(body.to_string())
}

fn name(index: usize) -> String {
    format!("cm-{index}")
}

fn collection(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/configmaps")
}

/// Creates namespace `name`.
///
/// # Errors
/// When the request fails.
pub async fn create_namespace(endpoint: &Endpoint, name: &str) -> anyhow::Result<()> {
    let mut conn = endpoint.connect().await?;
    let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
    conn.call(
        Method::POST,
        "/api/v1/namespaces",
        Some(Bytes::from(body.to_string())),
    )
    .await?;
    Ok(())
}

/// Runs `total` operations split over `clients` connections, all started together; `op` gets
/// the connection and the operation's index. Connections are opened before the clock starts.
async fn concurrent<F, Fut>(
    endpoint: &Endpoint,
    clients: usize,
    total: usize,
    op: F,
) -> anyhow::Result<Stats>
where
    F: Fn(Conn, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = (Conn, anyhow::Result<()>)> + Send,
{
    let op = Arc::new(op);
    let barrier = Arc::new(Barrier::new(clients + 1));
    let mut tasks = Vec::with_capacity(clients);
    for client in 0..clients {
        let mut conn = Some(endpoint.connect().await?);
        let (op, barrier) = (op.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut latencies = Vec::with_capacity(total / clients + 1);
            for index in (client..total).step_by(clients) {
                let began = Instant::now();
                let (back, result) = op(conn.take().context("connection lost")?, index).await;
                result?;
                latencies.push(began.elapsed());
                conn = Some(back);
            }
            anyhow::Ok(latencies)
        }));
    }
    barrier.wait().await;
    let started = Instant::now();
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.extend(task.await.context("client task")??);
    }
    Ok(Stats::new(started.elapsed(), latencies))
}

/// Creates ConfigMaps `cm-0` … `cm-{total-1}` in `namespace` with `clients` concurrent clients.
///
/// # Errors
/// When a create fails.
pub async fn creates(
    endpoint: &Endpoint,
    namespace: &str,
    clients: usize,
    total: usize,
) -> anyhow::Result<Stats> {
    let path: Arc<str> = collection(namespace).into();
    concurrent(endpoint, clients, total, move |mut conn, index| {
        let (path, body) = (path.clone(), config_map(index));
        async move {
            let result = conn.call(Method::POST, &path, Some(body)).await;
            (conn, result.map(drop).map_err(Into::into))
        }
    })
    .await
}

/// The object the `index`th read picks among `existing`: a fixed multiplicative hash, so every
/// run reads the same spread of objects.
pub fn spread(index: usize, existing: usize) -> usize {
    index.wrapping_mul(2_654_435_761) % existing.max(1)
}

/// Gets `total` ConfigMaps picked pseudo-randomly among `cm-0` … `cm-{existing-1}`.
///
/// # Errors
/// When a get fails.
pub async fn gets(
    endpoint: &Endpoint,
    namespace: &str,
    existing: usize,
    clients: usize,
    total: usize,
) -> anyhow::Result<Stats> {
    let path: Arc<str> = collection(namespace).into();
    concurrent(endpoint, clients, total, move |mut conn, index| {
        let path = format!("{path}/{}", name(spread(index, existing)));
        async move {
            let result = conn.call(Method::GET, &path, None).await;
            (conn, result.map(drop).map_err(Into::into))
        }
    })
    .await
}

/// Lists the whole namespace (`expected` objects, no `limit`) repeatedly on one connection,
/// `times` times, optionally asking for gzip.
///
/// # Errors
/// When a list fails or does not hold `expected` items.
pub async fn lists(
    endpoint: &Endpoint,
    namespace: &str,
    expected: usize,
    times: usize,
    gzip: bool,
) -> anyhow::Result<Stats> {
    let mut conn = endpoint.connect().await?;
    let path = collection(namespace);
    let first = conn.call(Method::GET, &path, None).await?;
    let list: Value = serde_json::from_slice(&first).context("parsing the list")?;
    let items = list["items"].as_array().map_or(0, Vec::len);
    ensure!(
        items == expected,
        "listed {items} objects, expected {expected}"
    );
    let mut latencies = Vec::with_capacity(times);
    let started = Instant::now();
    for _ in 0..times {
        let began = Instant::now();
        conn.call_with(Method::GET, &path, None, gzip).await?;
        latencies.push(began.elapsed());
    }
    Ok(Stats::new(started.elapsed(), latencies))
}

/// When each create was sent, by object name.
type SendTimes = Arc<Mutex<HashMap<String, Instant>>>;

/// `watchers` clients watch `namespace` (empty to start with) while one client creates
/// `creates` ConfigMaps one after another; the latency of each delivery runs from the moment
/// its create was sent to the moment the watcher read the event.
///
/// # Errors
/// When a watch or a create fails, or a watcher misses events for 30 s.
pub async fn watch_fan_out(
    endpoint: &Endpoint,
    namespace: &str,
    watchers: usize,
    creates: usize,
) -> anyhow::Result<Stats> {
    let sent: SendTimes = Arc::default();
    let path = format!("{}?watch=1", collection(namespace));
    let mut tasks = Vec::with_capacity(watchers);
    for _ in 0..watchers {
        let mut conn = endpoint.connect().await?;
        let response = conn.open(Method::GET, &path, None, false).await?;
        ensure!(
            response.status().is_success(),
            "watch: {}",
            response.status()
        );
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let result = receive(response.into_body(), &sent, creates).await;
            drop(conn);
            result
        }));
    }
    // The watches are registered once their heads arrived; give the last one a moment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut creator = endpoint.connect().await?;
    let collection = collection(namespace);
    let started = Instant::now();
    for index in 0..creates {
        let body = config_map(index);
        lock(&sent).insert(name(index), Instant::now());
        creator.call(Method::POST, &collection, Some(body)).await?;
    }
    let mut latencies = Vec::with_capacity(watchers * creates);
    for task in tasks {
        let received = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .context("a watcher missed events")?;
        latencies.extend(received.context("watcher task")??);
    }
    Ok(Stats::new(started.elapsed(), latencies))
}

fn lock(sent: &SendTimes) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
    sent.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads watch events until `expected` ADDED events arrived; returns their latencies.
async fn receive(
    mut body: hyper::body::Incoming,
    sent: &SendTimes,
    expected: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(expected);
    let mut buffer: Vec<u8> = Vec::new();
    while latencies.len() < expected {
        let frame = body.frame().await.context("watch ended early")??;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let arrived = Instant::now();
        buffer.extend_from_slice(&data);
        while let Some(end) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=end).collect();
            let event: Value = serde_json::from_slice(&line).context("parsing a watch event")?;
            if event["type"] != "ADDED" {
                continue;
            }
            let name = event["object"]["metadata"]["name"]
                .as_str()
                .unwrap_or_default();
            if let Some(sent_at) = lock(sent).get(name) {
                latencies.push(arrived.duration_since(*sent_at));
            }
        }
    }
    Ok(latencies)
}
