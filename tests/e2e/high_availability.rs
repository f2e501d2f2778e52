//! Two `rudder server` processes on one etcd: only the holder of the `kube-controller-manager`
//! Lease reconciles, and killing it hands the Lease, and the work, to the other.

use std::time::Duration;

use rudder_store::testing::EtcdServer;

use crate::support::{eventually, Cluster};

/// Upstream's lease duration (15 s) plus its retry period (2 s), with room for a loaded machine.
const HAND_OVER: Duration = Duration::from_secs(40);

fn holder(cluster: &Cluster) -> String {
    let out = cluster.kubectl(&[
        "get",
        "lease",
        "kube-controller-manager",
        "-n",
        "kube-system",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pods(cluster: &Cluster) -> usize {
    cluster
        .ok(&["get", "pods", "-l", "app=ha", "-o", "name"])
        .lines()
        .count()
}

/// The most pods seen over `samples` polls, 100 ms apart.
fn most_pods(cluster: &Cluster, samples: usize) -> usize {
    (0..samples)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            pods(cluster)
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_lease_holder_acts_and_killing_it_hands_over() {
    let etcd = EtcdServer::start()
        .await
        .expect("etcd starts (scripts/setup installs it)");
    let args = vec![
        "--datastore-endpoint".to_owned(),
        etcd.endpoint().to_owned(),
    ];
    tokio::task::spawn_blocking(move || {
        let mut first = Cluster::start_with(&args);
        assert!(eventually(HAND_OVER, || !holder(&first).is_empty()));
        let leader = holder(&first);
        let second = Cluster::start_with(&args);

        first.ok(&[
            "create",
            "deployment",
            "ha",
            "--image=nginx",
            "--replicas=3",
        ]);
        assert!(eventually(HAND_OVER, || pods(&second) == 3));
        // Two acting managers would each create the three pods their own caches lack.
        assert_eq!(most_pods(&second, 20), 3);
        assert_eq!(
            holder(&second),
            leader,
            "the standby must not take the lease"
        );

        first.kill9();
        assert!(
            eventually(HAND_OVER, || {
                let now = holder(&second);
                !now.is_empty() && now != leader
            }),
            "the lease stayed with the killed server: {}",
            holder(&second)
        );
        second.ok(&["scale", "deployment", "ha", "--replicas=5"]);
        assert!(
            eventually(HAND_OVER, || pods(&second) == 5),
            "the new leader did not scale: {}\nits log:\n{}",
            second.ok(&["get", "deploy,rs,pods"]),
            second.log()
        );
        assert_eq!(most_pods(&second, 10), 5);
    })
    .await
    .unwrap();
    drop(etcd);
}
