//! The official Python client (`kubernetes` on PyPI) lists and watches pods while kubectl
//! creates them. The script is `tests/e2e/python/list_watch.py`; a missing package fails the
//! test rather than skipping it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Cluster;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/e2e/python/list_watch.py"
);

/// Kills the script if the test ends before it does.
struct Script(Child);

impl Drop for Script {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pod(name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: py\nspec:\n  containers:\n  - name: main\n    image: busybox\n    command: [sleep, '3600']\n"
    )
}

/// What the script printed: its JSON lines as they come, its stderr as a whole.
struct Output {
    lines: mpsc::Receiver<String>,
    stderr: Arc<Mutex<String>>,
    seen: Vec<Value>,
}

impl Output {
    /// The next JSON line the script printed, waiting until `deadline`.
    fn next(&mut self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match self.lines.recv_timeout(left) {
            Ok(line) => line,
            Err(e) => panic!(
                "no more output from the script ({e}); it printed {:?}; stderr:\n{}",
                self.seen,
                self.stderr.lock().unwrap()
            ),
        };
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("script printed a line that is not JSON ({e}): {line}"));
        self.seen.push(value.clone());
        value
    }
}

/// Forwards the script's stdout lines and collects its stderr, each on a thread that ends
/// with the script.
fn capture(child: &mut Child) -> (Output, Vec<std::thread::JoinHandle<()>>) {
    let stdout = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let (tx, lines) = mpsc::channel();
    let stderr = Arc::new(Mutex::new(String::new()));
    let collected = stderr.clone();
    let threads = vec![
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        }),
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            collected.lock().unwrap().push_str(&text);
        }),
    ];
    let output = Output {
        lines,
        stderr,
        seen: Vec::new(),
    };
    (output, threads)
}

#[test]
fn python_client_lists_pods_and_watches_new_ones_being_added() {
    let import = Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .expect("python3 runs");
    assert!(
        import.status.success(),
        "the Python `kubernetes` package is missing (scripts/setup installs it): {}",
        String::from_utf8_lossy(&import.stderr)
    );

    let cluster = Cluster::start();
    cluster.ok(&["create", "namespace", "py"]);
    cluster.apply(&pod("listed"), &["--validate=false"]);

    let kubeconfig = cluster.kubeconfig();
    let mut script = Script(
        Command::new("python3")
            .arg(SCRIPT)
            .arg(&kubeconfig)
            .args(["py", "30", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3 starts"),
    );
    let (mut output, threads) = capture(&mut script.0);

    let deadline = Instant::now() + Duration::from_secs(60);
    let list = output.next(deadline);
    assert_eq!(list["type"], "LIST", "{list}");
    assert_eq!(list["names"], serde_json::json!(["listed"]), "{list}");
    assert!(
        list["resourceVersion"]
            .as_str()
            .is_some_and(|rv| !rv.is_empty()),
        "{list}"
    );

    // The script is watching from the list's resourceVersion now.
    cluster.apply(&pod("watched-1"), &["--validate=false"]);
    cluster.apply(&pod("watched-2"), &["--validate=false"]);
    while output.next(deadline)["type"] != "DONE" {}
    let seen = &output.seen;
    let added: Vec<&str> = seen
        .iter()
        .filter(|l| l["type"] == "ADDED")
        .filter_map(|l| l["name"].as_str())
        .collect();
    assert_eq!(added, ["watched-1", "watched-2"], "{seen:?}");
    assert_eq!(seen.last().map(|l| l["added"].clone()), Some(2.into()));

    let status = script.0.wait().expect("script ends");
    for thread in threads {
        let _ = thread.join();
    }
    assert!(
        status.success(),
        "script failed: {}",
        output.stderr.lock().unwrap()
    );
}
