//! The Job, CronJob and TTL-after-finished controllers, driven through kubectl. No kubelet
//! runs here: the tests finish pods themselves by writing their status as a kubelet would.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Cluster;

/// Polls `check` until it returns a value or `within` passes.
fn wait_for<T>(within: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn json(cluster: &Cluster, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&cluster.ok(&all)).expect("kubectl prints JSON")
}

/// The pods of Job `job`, as JSON.
fn pods_of(cluster: &Cluster, job: &str) -> Vec<Value> {
    let selector = format!("batch.kubernetes.io/job-name={job}");
    let list = json(cluster, &["get", "pods", "-l", &selector]);
    list["items"].as_array().cloned().unwrap_or_default()
}

fn phase(pod: &Value) -> &str {
    pod.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn name(obj: &Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Ends `pod`'s only container with `exit_code`, setting the pod's phase as a kubelet would.
fn finish_pod(cluster: &Cluster, pod: &str, exit_code: i32) {
    let phase = if exit_code == 0 {
        "Succeeded"
    } else {
        "Failed"
    };
    let now = "2025-01-01T00:00:00Z";
    let patch = serde_json::json!({"status": {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "False", "lastTransitionTime": now}],
        "containerStatuses": [{
            "name": "main", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit_code, "reason": if exit_code == 0 { "Completed" } else { "Error" },
                "startedAt": now, "finishedAt": now}}
        }]
    }});
    let patch = patch.to_string();
    let args = [
        "patch",
        "pod",
        pod,
        "--subresource=status",
        "--type=merge",
        "-p",
        &patch,
    ];
    // The pod may be gone already (deleted by the controller): that is fine.
    let _ = cluster.kubectl(&args);
}

/// Finishes every unfinished pod of `job` with `exit_code`; returns how many were running.
fn finish_running(cluster: &Cluster, job: &str, exit_code: i32) -> usize {
    let running: Vec<Value> = pods_of(cluster, job)
        .into_iter()
        .filter(|p| {
            !matches!(phase(p), "Succeeded" | "Failed")
                && p["metadata"]["deletionTimestamp"].is_null()
        })
        .collect();
    for p in &running {
        finish_pod(cluster, &name(p), exit_code);
    }
    running.len()
}

/// The reason of the Job's true condition of `kind`, once it has one.
fn condition(cluster: &Cluster, job: &str, kind: &str) -> Option<String> {
    let j = json(cluster, &["get", "job", job]);
    j.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind && c["status"] == "True")
        .map(|c| c["reason"].as_str().unwrap_or_default().to_owned())
}

fn job_manifest(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n{spec}\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: main, image: busybox, command: [\"true\"]}}]\n"
    )
}

fn events(cluster: &Cluster, object: &str) -> String {
    let selector = format!("involvedObject.name={object}");
    cluster.ok(&["get", "events", "--field-selector", &selector])
}

#[test]
fn a_job_with_five_completions_two_at_a_time_finishes_with_five_succeeded() {
    let cluster = Cluster::start();
    cluster.apply(
        &job_manifest("pi", "  completions: 5\n  parallelism: 2"),
        &[],
    );
    let mut most_running = 0;
    let done = wait_for(Duration::from_secs(60), || {
        most_running = most_running.max(finish_running(&cluster, "pi", 0));
        condition(&cluster, "pi", "Complete")
    });
    assert_eq!(
        done.as_deref(),
        Some("CompletionsReached"),
        "{}",
        cluster.log()
    );
    assert!(most_running <= 2, "{most_running} pods ran at once");
    let job = json(&cluster, &["get", "job", "pi"]);
    assert_eq!(job["status"]["succeeded"], 5);
    assert!(job["status"]["completionTime"].is_string());
    let pods = pods_of(&cluster, "pi");
    assert_eq!(pods.len(), 5);
    let tracked = pods.iter().filter(|p| {
        let finalizers = p["metadata"]["finalizers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        finalizers
            .iter()
            .any(|f| f == "batch.kubernetes.io/job-tracking")
    });
    assert_eq!(tracked.count(), 0, "finalizers released");
    let table = cluster.ok(&["get", "jobs"]);
    assert!(
        table.contains("Complete") && table.contains("5/5"),
        "{table}"
    );
    let seen = events(&cluster, "pi");
    assert!(
        seen.contains("Created pod: pi-") && seen.contains("Job completed"),
        "{seen}"
    );
}

#[test]
fn a_failing_job_stops_at_its_backoff_limit() {
    let cluster = Cluster::start_with(&["--job-pod-failure-backoff-ms=100".to_owned()]);
    cluster.apply(&job_manifest("doomed", "  backoffLimit: 2"), &[]);
    let failed = wait_for(Duration::from_secs(60), || {
        finish_running(&cluster, "doomed", 1);
        condition(&cluster, "doomed", "Failed")
    });
    assert_eq!(
        failed.as_deref(),
        Some("BackoffLimitExceeded"),
        "{}",
        cluster.log()
    );
    let job = json(&cluster, &["get", "job", "doomed"]);
    assert_eq!(job["status"]["failed"], 3);
    assert_eq!(
        pods_of(&cluster, "doomed").len(),
        3,
        "backoffLimit + 1 pods ran"
    );
    let table = cluster.ok(&["get", "job", "doomed"]);
    assert!(table.contains("Failed"), "{table}");
    let seen = events(&cluster, "doomed");
    assert!(
        seen.contains("Job has reached the specified backoff limit"),
        "{seen}"
    );
}

#[test]
fn an_indexed_job_runs_one_pod_per_index() {
    let cluster = Cluster::start();
    let spec = "  completions: 3\n  parallelism: 3\n  completionMode: Indexed";
    cluster.apply(&job_manifest("idx", spec), &[]);
    let pods = wait_for(Duration::from_secs(20), || {
        let pods = pods_of(&cluster, "idx");
        (pods.len() == 3).then_some(pods)
    })
    .expect("three pods");
    let index_key = "batch.kubernetes.io/job-completion-index";
    let indexes: BTreeSet<String> = pods
        .iter()
        .map(|p| {
            p["metadata"]["annotations"][index_key]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        indexes,
        BTreeSet::from(["0".to_owned(), "1".to_owned(), "2".to_owned()])
    );
    for p in &pods {
        let index = p["metadata"]["annotations"][index_key]
            .as_str()
            .unwrap_or_default();
        assert_eq!(p["spec"]["hostname"], format!("idx-{index}"));
        assert_eq!(p["metadata"]["labels"][index_key], index);
    }
    let done = wait_for(Duration::from_secs(30), || {
        finish_running(&cluster, "idx", 0);
        condition(&cluster, "idx", "Complete")
    });
    assert!(done.is_some(), "{}", cluster.log());
    let job = json(&cluster, &["get", "job", "idx"]);
    assert_eq!(job["status"]["completedIndexes"], "0-2");
    assert_eq!(job["status"]["succeeded"], 3);
}

#[test]
fn a_fail_job_rule_fails_the_job_on_its_exit_code() {
    let cluster = Cluster::start();
    let spec = "  backoffLimit: 6\n  podFailurePolicy:\n    rules:\n    - action: FailJob\n      onExitCodes: {operator: In, values: [42]}";
    cluster.apply(&job_manifest("strict", spec), &[]);
    let failed = wait_for(Duration::from_secs(30), || {
        finish_running(&cluster, "strict", 42);
        condition(&cluster, "strict", "Failed")
    });
    assert_eq!(
        failed.as_deref(),
        Some("PodFailurePolicy"),
        "{}",
        cluster.log()
    );
    assert_eq!(pods_of(&cluster, "strict").len(), 1);
}

#[test]
fn a_suspended_job_starts_pods_only_once_resumed() {
    let cluster = Cluster::start();
    cluster.apply(
        &job_manifest(
            "later",
            "  suspend: true\n  parallelism: 2\n  completions: 2",
        ),
        &[],
    );
    let suspended = wait_for(Duration::from_secs(20), || {
        condition(&cluster, "later", "Suspended")
    });
    assert_eq!(suspended.as_deref(), Some("JobSuspended"));
    assert!(pods_of(&cluster, "later").is_empty());
    assert!(cluster.ok(&["get", "job", "later"]).contains("Suspended"));
    cluster.ok(&[
        "patch",
        "job",
        "later",
        "--type=merge",
        "-p",
        r#"{"spec":{"suspend":false}}"#,
    ]);
    let started = wait_for(Duration::from_secs(20), || {
        (pods_of(&cluster, "later").len() == 2).then_some(())
    });
    assert!(started.is_some(), "{}", cluster.log());
}

fn job_gone(cluster: &Cluster, job: &str) -> bool {
    let out = cluster.kubectl(&["get", "job", job]);
    !out.status.success() && String::from_utf8_lossy(&out.stderr).contains("NotFound")
}

#[test]
fn a_finished_job_with_a_ttl_is_deleted_with_its_pods() {
    let cluster = Cluster::start();
    cluster.apply(&job_manifest("brief", "  ttlSecondsAfterFinished: 0"), &[]);
    let deleted = wait_for(Duration::from_secs(30), || {
        finish_running(&cluster, "brief", 0);
        (job_gone(&cluster, "brief") && pods_of(&cluster, "brief").is_empty()).then_some(())
    });
    assert!(deleted.is_some(), "{}", cluster.log());
}

#[test]
fn deleting_a_running_job_releases_and_removes_its_pods() {
    let cluster = Cluster::start();
    cluster.apply(
        &job_manifest("busy", "  parallelism: 2\n  completions: 4"),
        &[],
    );
    let started = wait_for(Duration::from_secs(20), || {
        (pods_of(&cluster, "busy").len() == 2).then_some(())
    });
    assert!(started.is_some(), "{}", cluster.log());
    cluster.ok(&["delete", "job", "busy"]);
    let gone = wait_for(Duration::from_secs(30), || {
        pods_of(&cluster, "busy").is_empty().then_some(())
    });
    assert!(
        gone.is_some(),
        "pods keep their finalizer:\n{}",
        cluster.log()
    );
}

/// Seconds since the epoch of an RFC 3339 time.
fn epoch(text: &str) -> i64 {
    text.parse::<k8s_openapi::jiff::Timestamp>()
        .expect("RFC 3339")
        .as_second()
}

/// The one `*/1 * * * *` test: it waits for the next minute.
#[test]
fn a_cronjob_every_minute_creates_a_job_within_the_minute() {
    let cluster = Cluster::start();
    cluster.ok(&[
        "create",
        "cronjob",
        "tick",
        "--image=busybox",
        "--schedule=*/1 * * * *",
        "--",
        "true",
    ]);
    let job = wait_for(Duration::from_secs(75), || {
        let list = json(&cluster, &["get", "jobs"]);
        list["items"].as_array()?.first().cloned()
    })
    .unwrap_or_else(|| panic!("no job within a minute\n{}", cluster.log()));
    let job_name = name(&job);
    let scheduled = job["metadata"]["annotations"]
        ["batch.kubernetes.io/cronjob-scheduled-timestamp"]
        .as_str()
        .expect("scheduled-timestamp annotation");
    let scheduled = epoch(scheduled);
    assert_eq!(scheduled % 60, 0, "scheduled on the minute");
    assert_eq!(job_name, format!("tick-{}", scheduled / 60));
    let created = epoch(
        job["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap_or_default(),
    );
    assert!(
        (0..60).contains(&(created - scheduled)),
        "created {}s after its minute",
        created - scheduled
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "CronJob");
    let cj = json(&cluster, &["get", "cronjob", "tick"]);
    assert_eq!(cj["status"]["active"][0]["name"], job_name.as_str());
    assert_eq!(
        epoch(
            cj["status"]["lastScheduleTime"]
                .as_str()
                .unwrap_or_default()
        ),
        scheduled
    );
    assert!(events(&cluster, "tick").contains(&format!("Created job {job_name}")));

    // Once the Job completes, the CronJob no longer lists it as active.
    let settled = wait_for(Duration::from_secs(30), || {
        finish_running(&cluster, &job_name, 0);
        let cj = json(&cluster, &["get", "cronjob", "tick"]);
        (cj["status"]["active"].is_null() && cj["status"]["lastSuccessfulTime"].is_string())
            .then_some(())
    });
    assert!(settled.is_some(), "{}", cluster.log());
    assert!(events(&cluster, "tick").contains(&format!(
        "Saw completed job: {job_name}, condition: Complete"
    )));
}
