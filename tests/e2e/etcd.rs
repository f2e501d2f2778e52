//! `rudder server --datastore-endpoint` keeps the cluster in a real etcd.

use rudder_store::testing::EtcdServer;

use crate::support::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_on_a_real_etcd_serves_and_keeps_objects_across_restarts() {
    let etcd = EtcdServer::start()
        .await
        .expect("etcd starts (scripts/setup installs it)");
    let args = vec![
        "--datastore-endpoint".to_owned(),
        etcd.endpoint().to_owned(),
    ];
    let mut cluster = tokio::task::spawn_blocking(move || Cluster::start_with(&args))
        .await
        .unwrap();
    let cluster = tokio::task::spawn_blocking(move || {
        let ns = cluster.ok(&["get", "ns"]);
        assert!(ns.contains("kube-system"), "{ns}");
        cluster.ok(&["create", "configmap", "kept", "--from-literal=a=b"]);
        cluster.kill9();
        cluster.spawn();
        assert_eq!(
            cluster.ok(&["get", "cm", "kept", "-o", "jsonpath={.data.a}"]),
            "b"
        );
        cluster
    })
    .await
    .unwrap();
    drop(cluster);
    drop(etcd);
}
