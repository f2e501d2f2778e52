//! Acknowledged writes survive `kill -9`; refused writes never appear.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, ObjectMeta, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::support::Cluster;

pub async fn client(cluster: &Cluster) -> kube::Client {
    let kubeconfig = Kubeconfig::read_from(cluster.kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn configmap(name: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_and_refused_ones_never_appear() {
    let mut cluster = Cluster::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let refused = Arc::new(Mutex::new(BTreeSet::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let (api, acknowledged, refused) = (api.clone(), acknowledged.clone(), refused.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                // Every fifth write is invalid on purpose: the server must refuse it.
                let name = if i % 5 == 4 {
                    format!("Bad_{w}_{i}")
                } else {
                    format!("w{w}-{i}")
                };
                match api.create(&PostParams::default(), &configmap(&name)).await {
                    Ok(_) => {
                        acknowledged.lock().unwrap().insert(name);
                    }
                    Err(kube::Error::Api(status)) if status.code == 422 => {
                        refused.lock().unwrap().insert(name);
                    }
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.kill9();
    for w in writers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "too few writes to mean anything: {}",
        acknowledged.len()
    );

    cluster.spawn();
    let api: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    let present: BTreeSet<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let missing: Vec<&String> = acknowledged.difference(&present).collect();
    assert!(
        missing.is_empty(),
        "acknowledged but lost after kill -9: {missing:?}"
    );
    let refused = refused.lock().unwrap().clone();
    assert!(!refused.is_empty());
    assert!(refused.is_disjoint(&present), "refused writes appeared");
}
