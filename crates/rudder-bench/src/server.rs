//! A real `rudder server` process in a temporary data directory on a free loopback port,
//! stopped (SIGTERM, then SIGKILL) and removed when dropped, also on a panic.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use http::Method;
use tempfile::TempDir;

use crate::client::Endpoint;
use crate::memory;

/// How long the server may take to answer `/readyz`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a SIGTERM may take before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The `rudder` binary to benchmark: `explicit`, else the one next to this executable, built
/// first with the same profile when running under `cargo run` (which sets `CARGO`).
///
/// # Errors
/// When the build fails or no binary is found.
pub fn locate_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        return Ok(path);
    }
    let me = std::env::current_exe().context("locating the benchmark binary")?;
    let dir = me
        .parent()
        .context("the benchmark binary has no directory")?;
    if let Some(cargo) = std::env::var_os("CARGO") {
        let mut build = Command::new(cargo);
        build.args(["build", "--quiet", "-p", "rudder", "--bin", "rudder"]);
        if dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().context("running cargo build -p rudder")?;
        if !status.success() {
            bail!("cargo build -p rudder failed: {status}");
        }
    }
    let binary = dir.join("rudder");
    if !binary.is_file() {
        bail!(
            "no rudder binary at {}: build it with `cargo build --release -p rudder` or pass --rudder",
            binary.display()
        );
    }
    Ok(binary)
}

/// A running server.
pub struct Server {
    process: Process,
    endpoint: Endpoint,
    /// From spawn to the first successful `/readyz`.
    pub ready_after: Duration,
    // Declared after `process`, so it is removed after the process is stopped.
    dir: TempDir,
}

impl Server {
    /// Starts a server on a fresh data directory and waits for `/readyz`.
    ///
    /// # Errors
    /// When it cannot be started or is not ready in time.
    pub async fn start(binary: &Path) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("rudder-bench-")
            .tempdir()
            .context("creating the data directory")?;
        Self::start_in(binary, dir, &[]).await
    }

    /// Starts a server with extra `rudder server` flags on a fresh data directory and waits
    /// for `/readyz`.
    ///
    /// # Errors
    /// As [`Server::start`].
    pub async fn start_with(binary: &Path, flags: &[&str]) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("rudder-bench-")
            .tempdir()
            .context("creating the data directory")?;
        Self::start_in(binary, dir, flags).await
    }

    /// Stops the server and starts it again on the same data directory (certificates,
    /// kubeconfig and store reused), and waits for `/readyz`.
    ///
    /// # Errors
    /// As [`Server::start`].
    pub async fn restart(self, binary: &Path) -> anyhow::Result<Server> {
        let Server {
            mut process, dir, ..
        } = self;
        process.stop();
        Self::start_in(binary, dir, &[]).await
    }

    async fn start_in(binary: &Path, dir: TempDir, flags: &[&str]) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let data = dir.path().join("data");
        let log_path = dir.path().join("server.log");
        let log = File::create(&log_path).context("creating the log")?;
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("server")
            .arg("--data-dir")
            .arg(&data)
            .args(["--bind-address", "127.0.0.1", "--port", &port.to_string()])
            .args(flags)
            .env("RUDDER_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut process = Process(Some(child));
        let kubeconfig = data.join("kubeconfig.yaml");
        loop {
            if let Some(status) = process.try_wait()? {
                bail!(
                    "rudder server exited with {status}:\n{}",
                    log_tail(&log_path)
                );
            }
            if started.elapsed() > READY_TIMEOUT {
                bail!(
                    "rudder server not ready in {READY_TIMEOUT:?}:\n{}",
                    log_tail(&log_path)
                );
            }
            if let Ok(endpoint) = Endpoint::from_kubeconfig(&kubeconfig) {
                if endpoint.addr().port() == port && ready(&endpoint).await {
                    return Ok(Server {
                        process,
                        endpoint,
                        ready_after: started.elapsed(),
                        dir,
                    });
                }
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// The admin kubeconfig the server wrote.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("data").join("kubeconfig.yaml")
    }

    /// How to reach the server.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The server's resident memory now, in bytes.
    ///
    /// # Errors
    /// When the process is gone or `/proc` cannot be read.
    pub fn rss(&self) -> anyhow::Result<u64> {
        let pid = self.process.0.as_ref().context("server stopped")?.id();
        memory::rss_of(pid)
    }

    /// The CPU time (user + system, all threads) the server has used so far.
    ///
    /// # Errors
    /// When the process is gone or `/proc` cannot be read.
    pub fn cpu_time(&self) -> anyhow::Result<Duration> {
        let pid = self.process.0.as_ref().context("server stopped")?.id();
        memory::cpu_time_of(pid)
    }

    /// Stops the server and removes its data directory.
    pub fn stop(self) {
        // Dropping does it, in field order: the process, then the directory.
    }
}

fn log_tail(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// The server process; stopped when dropped.
struct Process(Option<Child>);

impl Process {
    fn try_wait(&mut self) -> std::io::Result<Option<std::process::ExitStatus>> {
        match self.0.as_mut() {
            Some(child) => child.try_wait(),
            None => Ok(None),
        }
    }

    /// SIGTERM, then SIGKILL after [`STOP_TIMEOUT`]; reaps the process.
    fn stop(&mut self) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn ready(endpoint: &Endpoint) -> bool {
    let Ok(mut conn) = endpoint.connect().await else {
        return false;
    };
    conn.call(Method::GET, "/readyz", None).await.is_ok()
}
