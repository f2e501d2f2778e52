//! Resident memory of the server, and the requests a first `kubectl` session makes that grow it
//! (aggregated discovery and the OpenAPI v3 documents).

use anyhow::Context;
use http::Method;
use http_body_util::BodyExt;
use serde_json::Value;

use crate::client::Endpoint;

/// The Accept list kubectl 1.33 sends for discovery.
const AGGREGATED_DISCOVERY: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

/// `VmRSS` of process `pid`, in bytes.
///
/// # Errors
/// When `/proc/<pid>/status` cannot be read or has no `VmRSS` line.
pub fn rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .context("no VmRSS line")?;
    let kib: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .context("parsing VmRSS")?;
    Ok(kib * 1024)
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on every Linux ABI).
const USER_HZ: u64 = 100;

/// User + system CPU time of process `pid` (all its threads), at `/proc`'s 10 ms resolution.
///
/// # Errors
/// When `/proc/<pid>/stat` cannot be read or parsed.
pub fn cpu_time_of(pid: u32) -> anyhow::Result<std::time::Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let rest = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .context("short /proc stat line")?
            .parse::<u64>()
            .context("parsing /proc stat times")
    };
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state.
    let ticks = tick(11)? + tick(12)?;
    Ok(std::time::Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// What a kubectl session asks first: `/version`, aggregated discovery of `/api` and `/apis`,
/// the OpenAPI v3 root and every document it lists. Returns the number of documents.
///
/// # Errors
/// When a request fails.
pub async fn discovery_and_openapi(endpoint: &Endpoint) -> anyhow::Result<usize> {
    let mut conn = endpoint.connect().await?;
    conn.call(Method::GET, "/version", None).await?;
    for path in ["/api", "/apis"] {
        let response = conn
            .open_as(Method::GET, path, None, false, AGGREGATED_DISCOVERY)
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.into_body().collect().await?;
    }
    let root: Value = serde_json::from_slice(&conn.call(Method::GET, "/openapi/v3", None).await?)
        .context("parsing the OpenAPI v3 root")?;
    let paths = root
        .get("paths")
        .and_then(Value::as_object)
        .context("the OpenAPI v3 root has no paths")?;
    let mut documents = 0;
    for entry in paths.values() {
        if let Some(url) = entry.get("serverRelativeURL").and_then(Value::as_str) {
            conn.call(Method::GET, url, None).await?;
            documents += 1;
        }
    }
    Ok(documents)
}
