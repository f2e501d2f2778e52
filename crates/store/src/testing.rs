//! A throwaway etcd for tests and benchmarks (feature `etcd-launcher`).
//!
//! [`EtcdServer::start`] runs Debian's `etcd` (package `etcd-server`, installed by
//! `scripts/setup`) as a single member on free loopback ports with its data in a fresh temporary
//! directory, and waits until it serves reads. Dropping the [`EtcdServer`] kills the process and
//! removes the directory, also when a test panics.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long etcd may take to serve its first read.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How often to try while waiting.
const POLL: Duration = Duration::from_millis(25);
/// Start attempts (a port picked as free may be taken before etcd binds it).
const ATTEMPTS: usize = 3;

/// Why a throwaway etcd could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No `etcd` binary on `PATH`.
    #[error(
        "etcd is not installed: no `etcd` on PATH (install Debian's etcd-server, e.g. by running \
         scripts/setup)"
    )]
    NotInstalled,
    /// Preparing the temporary directory or the ports failed.
    #[error("preparing a throwaway etcd failed during {step}")]
    Prepare {
        /// What was being prepared.
        step: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The process could not be started.
    #[error("starting {} failed", binary.display())]
    Spawn {
        /// The binary.
        binary: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// etcd exited before it served a read.
    #[error("etcd exited with {status} before it was ready; its log ends:\n{log}")]
    Exited {
        /// How it exited.
        status: ExitStatus,
        /// The end of its log.
        log: String,
    },
    /// etcd did not serve a read in time.
    #[error("etcd did not serve a read within {waited:?}; its log ends:\n{log}")]
    NotReady {
        /// How long we waited.
        waited: Duration,
        /// The end of its log.
        log: String,
        /// The last failed read.
        #[source]
        source: Option<etcd_client::Error>,
    },
}

/// A running single-member etcd in a temporary directory; killed and removed on drop.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    endpoint: String,
    // Dropped after `child` is killed (fields drop after `Drop::drop`).
    dir: TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until it serves reads.
    ///
    /// # Errors
    /// [`LaunchError::NotInstalled`] when there is no `etcd` on `PATH`; the other variants when
    /// it cannot be started or does not become ready.
    pub async fn start() -> Result<EtcdServer, LaunchError> {
        let binary = find_on_path("etcd").ok_or(LaunchError::NotInstalled)?;
        let mut attempt = 1;
        loop {
            match Self::start_once(&binary).await {
                Err(LaunchError::Exited { .. }) if attempt < ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    async fn start_once(binary: &Path) -> Result<EtcdServer, LaunchError> {
        let prepare = |step| move |source| LaunchError::Prepare { step, source };
        let dir = tempfile::Builder::new()
            .prefix("rudder-etcd-")
            .tempdir()
            .map_err(prepare("creating the data directory"))?;
        let (client_port, peer_port) = (
            free_port().map_err(prepare("finding a free port"))?,
            free_port().map_err(prepare("finding a free port"))?,
        );
        let client = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let log =
            File::create(dir.path().join("etcd.log")).map_err(prepare("creating the log file"))?;
        let child = Command::new(binary)
            .arg("--name=default")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=default={peer}"))
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| LaunchError::Spawn {
                binary: binary.to_path_buf(),
                source,
            })?;
        let mut server = EtcdServer {
            child,
            endpoint: client,
            dir,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// Polls with a read until etcd answers, it exits, or [`READY_TIMEOUT`] passes.
    async fn wait_ready(&mut self) -> Result<(), LaunchError> {
        let started = Instant::now();
        let mut last_error = None;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(LaunchError::Exited {
                    status,
                    log: self.log_tail(),
                });
            }
            match tokio::time::timeout(Duration::from_secs(1), self.read_once()).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) => last_error = Some(error),
                Err(_) => {}
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(LaunchError::NotReady {
                    waited: started.elapsed(),
                    log: self.log_tail(),
                    source: last_error,
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn read_once(&self) -> Result<(), etcd_client::Error> {
        let mut client = etcd_client::Client::connect([self.endpoint.as_str()], None).await?;
        client.get("/", None).await.map(|_| ())
    }

    /// The last lines of etcd's log.
    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// The client URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The client URLs, as [`crate::etcd::EtcdStore::connect`] takes them.
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.endpoint.clone()]
    }

    /// The temporary directory holding etcd's data and its log (`etcd.log`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // Already exited is fine; either way reap it so no zombie is left.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The first executable file named `name` in a `PATH` directory.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}
