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
