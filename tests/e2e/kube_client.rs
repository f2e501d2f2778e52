//! kube-rs against the server: typed create/list/patch/delete, and `kube::runtime` watchers
//! feeding a reflector store that must converge, also across a server crash and restart.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use serde_json::json;
use tokio::sync::mpsc;

use crate::durability::client;
use crate::support::Cluster;

const LABEL: &str = "e2e=kube-client";

/// How long the reflector may take to catch up with the writes.
const CONVERGE: Duration = Duration::from_secs(30);

fn configmap(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some([("e2e".to_owned(), "kube-client".to_owned())].into()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ),
        ..Default::default()
    }
}

/// A reflector on the labelled ConfigMaps of `api`, driven by a task that reports each event
/// (or watch error) on the returned channel. The task ends when the test's runtime does.
fn start_reflector(
    api: Api<ConfigMap>,
) -> (
    Store<ConfigMap>,
    mpsc::UnboundedReceiver<Result<(), String>>,
    tokio::task::JoinHandle<()>,
) {
    let (reader, writer) = reflector::store();
    let config = watcher::Config::default().labels(LABEL);
    let stream = reflector::reflector(writer, watcher(api, config).default_backoff());
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let report = event.map(|_| ()).map_err(|e| e.to_string());
            if tx.send(report).is_err() {
                return;
            }
        }
    });
    (reader, rx, task)
}

/// The reflector's objects: name → data.
fn snapshot(reader: &Store<ConfigMap>) -> BTreeMap<String, BTreeMap<String, String>> {
    reader
        .state()
        .iter()
        .map(|cm| {
            (
                cm.metadata.name.clone().unwrap_or_default(),
                cm.data.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn expected(objects: &[(&str, &[(&str, &str)])]) -> BTreeMap<String, BTreeMap<String, String>> {
    objects
        .iter()
        .map(|(name, data)| {
            let data = data
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            ((*name).to_owned(), data)
        })
        .collect()
}

/// Waits, event by event, until the reflector holds exactly `want`; fails after [`CONVERGE`].
async fn converge(
    reader: &Store<ConfigMap>,
    events: &mut mpsc::UnboundedReceiver<Result<(), String>>,
    want: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<String> {
    let mut errors = Vec::new();
    let reached = tokio::time::timeout(CONVERGE, async {
        while snapshot(reader) != *want {
            match events.recv().await {
                Some(Ok(())) => {}
                Some(Err(e)) => errors.push(e),
                None => return false,
            }
        }
        true
    })
    .await;
    assert_eq!(
        reached,
        Ok(true),
        "reflector did not converge: has {:?}, wants {want:?}; watch errors: {errors:?}",
        snapshot(reader)
    );
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_writes_and_a_reflector_converges_on_creates_patches_and_deletes() {
    let cluster = Cluster::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    let (reader, mut events, task) = start_reflector(api.clone());
    let ready = tokio::time::timeout(CONVERGE, reader.wait_until_ready()).await;
    assert!(matches!(ready, Ok(Ok(()))), "reflector never listed");

    let pp = PostParams::default();
    api.create(&pp, &configmap("alpha", &[("k", "1")]))
        .await
        .unwrap();
    api.create(&pp, &configmap("beta", &[("k", "2")]))
        .await
        .unwrap();
    let listed: Vec<String> = api
        .list(&ListParams::default().labels(LABEL))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|cm| cm.metadata.name)
        .collect();
    assert_eq!(listed, ["alpha", "beta"]);
    converge(
        &reader,
        &mut events,
        &expected(&[("alpha", &[("k", "1")]), ("beta", &[("k", "2")])]),
    )
    .await;

    let merge = Patch::Merge(json!({"data": {"merged": "yes"}}));
    api.patch("alpha", &PatchParams::default(), &merge)
        .await
        .unwrap();
    let applied = Patch::Apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "alpha", "labels": {"e2e": "kube-client"}},
        "data": {"applied": "yes"},
    }));
    let after_apply = api
        .patch("alpha", &PatchParams::apply("e2e-kube-client"), &applied)
        .await
        .unwrap();
    assert_eq!(
        after_apply.data.unwrap_or_default().get("applied"),
        Some(&"yes".to_owned())
    );
    api.delete("beta", &DeleteParams::default()).await.unwrap();

    let want = expected(&[(
        "alpha",
        &[("k", "1"), ("merged", "yes"), ("applied", "yes")],
    )]);
    converge(&reader, &mut events, &want).await;
    let stored = api.get("alpha").await.unwrap();
    assert_eq!(
        stored
            .data
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        want["alpha"]
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_watcher_resumes_after_the_server_is_killed_and_restarted() {
    let mut cluster = Cluster::start();
    let api: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    let (reader, mut events, task) = start_reflector(api.clone());
    api.create(&PostParams::default(), &configmap("before", &[("k", "1")]))
        .await
        .unwrap();
    converge(
        &reader,
        &mut events,
        &expected(&[("before", &[("k", "1")])]),
    )
    .await;

    tokio::task::block_in_place(|| {
        cluster.kill9();
        cluster.spawn();
    });
    // Written right after the restart, most likely while the watcher is still backing off: it
    // must pick these up by resuming from its last resourceVersion or by listing afresh.
    let writer: Api<ConfigMap> = Api::namespaced(client(&cluster).await, "default");
    writer
        .create(&PostParams::default(), &configmap("after", &[("k", "2")]))
        .await
        .unwrap();
    writer
        .delete("before", &DeleteParams::default())
        .await
        .unwrap();
    let errors = converge(&reader, &mut events, &expected(&[("after", &[("k", "2")])])).await;
    eprintln!("watch errors while the server was down: {errors:?}");

    // And it keeps following changes afterwards.
    let merge = Patch::Merge(json!({"data": {"k": "3"}}));
    writer
        .patch("after", &PatchParams::default(), &merge)
        .await
        .unwrap();
    converge(&reader, &mut events, &expected(&[("after", &[("k", "3")])])).await;
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_reads_list_and_watch_partial_object_metadata() {
    let cluster = Cluster::start();
    let client = client(&cluster).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    api.create(&PostParams::default(), &configmap("meta", &[("k", "v")]))
        .await
        .unwrap();

    let one = api.get_metadata("meta").await.unwrap();
    assert_eq!(one.metadata.labels.unwrap()["e2e"], "kube-client");
    let listed = api
        .list_metadata(&ListParams::default().labels(LABEL))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    // On the wire: metadata and the meta.k8s.io types, never the data.
    let request = http::Request::get(format!(
        "/api/v1/namespaces/default/configmaps?labelSelector={}",
        LABEL.replace('=', "%3D")
    ))
    .header(
        http::header::ACCEPT,
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
    )
    .body(Vec::new())
    .unwrap();
    let list: serde_json::Value =
        serde_json::from_str(&client.request_text(request).await.unwrap()).unwrap();
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    let item = &list["items"][0];
    assert_eq!(item["kind"], "PartialObjectMetadata", "{list}");
    assert_eq!(item["metadata"]["name"], "meta");
    assert!(item["metadata"]["resourceVersion"].is_string(), "{item}");
    assert!(item.get("data").is_none(), "{item}");

    let params = kube::api::WatchParams::default().labels(LABEL);
    let mut events = api.watch_metadata(&params, "0").await.unwrap().boxed();
    let first = tokio::time::timeout(CONVERGE, events.next()).await.unwrap();
    match first {
        Some(Ok(kube::api::WatchEvent::Added(object))) => {
            assert_eq!(object.metadata.name.as_deref(), Some("meta"));
        }
        other => panic!("expected the ConfigMap's metadata, got {other:?}"),
    }
}
