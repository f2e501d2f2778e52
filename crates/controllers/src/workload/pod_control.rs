//! Creating and deleting a controller's pods, as upstream's `PodControl`: every write is noted
//! in the controller's expectations and reported in an Event on the controller
//! (`SuccessfulCreate`, `FailedCreate`, `SuccessfulDelete`, `FailedDelete`).

use futures::future::join_all;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Client, Resource, ResourceExt};

use super::expectations::Expectations;
use super::post_params;
use crate::events::{EventRecorder, EventType};

/// The sizes of the batches `count` creates are sent in: 1, 2, 4, … so that a failing
/// template fails once rather than `count` times (upstream's slow start).
pub fn slow_start_batches(count: usize) -> Vec<usize> {
    let mut batches = Vec::new();
    let (mut left, mut size) = (count, 1usize);
    while left > 0 {
        let batch = size.min(left);
        batches.push(batch);
        left -= batch;
        size = size.saturating_mul(2);
    }
    batches
}

/// The message of an API error, as upstream's Events show it.
pub fn message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// How a controller words its pod Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wording<'a> {
    /// `Created pod: web-x7k2p`, `Error creating: …` (ReplicaSet, DaemonSet, Job).
    Plain,
    /// `create Pod web-0 in StatefulSet web successful`, `… failed error: …`.
    StatefulSet(&'a str),
}

impl Wording<'_> {
    /// The message for `verb` (`create` or `delete`) of `pod`, failed with `error` or not.
    pub fn message(self, verb: &str, pod: &str, error: Option<&kube::Error>) -> String {
        match (self, error) {
            (Self::Plain, None) if verb == "create" => format!("Created pod: {pod}"),
            (Self::Plain, None) => format!("Deleted pod: {pod}"),
            (Self::Plain, Some(e)) if verb == "create" => format!("Error creating: {}", message(e)),
            (Self::Plain, Some(e)) => format!("Error deleting: {}", message(e)),
            (Self::StatefulSet(set), None) => {
                format!("{verb} Pod {pod} in StatefulSet {set} successful")
            }
            (Self::StatefulSet(set), Some(e)) => {
                format!(
                    "{verb} Pod {pod} in StatefulSet {set} failed error: {}",
                    message(e)
                )
            }
        }
    }
}

/// What pod writes of one controller need.
pub struct PodControl<'a> {
    /// The API client.
    pub client: &'a Client,
    /// The controller's pod cache (a create answered after its watch event is not waited for).
    pub pods: &'a Store<Pod>,
    /// The controller's expectations.
    pub expectations: &'a Expectations,
    /// Where Events go.
    pub recorder: &'a EventRecorder,
    /// The current time.
    pub now: Timestamp,
    /// How Events are worded.
    pub wording: Wording<'a>,
}

impl PodControl<'_> {
    /// Creates `pods` for `owner` (expectations under `key`) in slow-start batches, stopping
    /// after the first batch in which a create failed.
    ///
    /// # Errors
    /// The first failed create's error.
    pub async fn create<K>(&self, owner: &K, key: &str, pods: &[Pod]) -> Result<(), kube::Error>
    where
        K: Resource<DynamicType = ()>,
    {
        self.expectations.expect_creates(key, pods.len(), self.now);
        let mut rest = pods;
        for batch in slow_start_batches(pods.len()) {
            let (now, later) = rest.split_at(batch);
            rest = later;
            let results = join_all(now.iter().map(|pod| self.create_one(pod))).await;
            let mut first_error = None;
            for (pod, result) in now.iter().zip(results) {
                let name = pod.metadata.name.clone().unwrap_or_default();
                match result {
                    Ok(created) => {
                        let seen = |uid: &str| {
                            let cached = self.pods.get(&ObjectRef::from_obj(&created));
                            cached.is_some_and(|p| p.metadata.uid.as_deref() == Some(uid))
                        };
                        self.expectations
                            .created(key, created.metadata.uid.as_deref(), seen);
                        let msg = self.wording.message("create", &created.name_any(), None);
                        self.recorder
                            .publish(owner, EventType::Normal, "SuccessfulCreate", &msg)
                            .await;
                    }
                    Err(e) => {
                        self.expectations.created(key, None, |_| false);
                        let msg = self.wording.message("create", &name, Some(&e));
                        self.recorder
                            .publish(owner, EventType::Warning, "FailedCreate", &msg)
                            .await;
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(error) = first_error {
                for _ in rest {
                    self.expectations.created(key, None, |_| false);
                }
                return Err(error);
            }
        }
        Ok(())
    }

    async fn create_one(&self, pod: &Pod) -> Result<Pod, kube::Error> {
        let api: Api<Pod> =
            Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
        api.create(&post_params(), pod).await
    }

    /// Deletes `pods` of `owner` (expectations under `key`) concurrently; pods already gone
    /// are fine.
    ///
    /// # Errors
    /// The first failed delete's error.
    pub async fn delete<K>(&self, owner: &K, key: &str, pods: &[&Pod]) -> Result<(), kube::Error>
    where
        K: Resource<DynamicType = ()>,
    {
        let uids = pods.iter().filter_map(|p| p.metadata.uid.as_deref());
        self.expectations.expect_deletes(key, uids, self.now);
        let deletes = pods.iter().map(|pod| async move {
            let api: Api<Pod> =
                Api::namespaced(self.client.clone(), &pod.namespace().unwrap_or_default());
            (
                pod,
                api.delete(&pod.name_any(), &DeleteParams::default()).await,
            )
        });
        let mut first_error = None;
        for (pod, result) in join_all(deletes).await {
            let uid = pod.metadata.uid.as_deref().unwrap_or_default();
            match result {
                Ok(_) => {
                    let msg = self.wording.message("delete", &pod.name_any(), None);
                    self.recorder
                        .publish(owner, EventType::Normal, "SuccessfulDelete", &msg)
                        .await;
                }
                Err(kube::Error::Api(s)) if s.code == 404 => {
                    self.expectations.delete_failed(key, uid);
                }
                Err(e) => {
                    self.expectations.delete_failed(key, uid);
                    let msg = self.wording.message("delete", &pod.name_any(), Some(&e));
                    self.recorder
                        .publish(owner, EventType::Warning, "FailedDelete", &msg)
                        .await;
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_doubles_batches_until_the_count_is_reached() {
        assert_eq!(slow_start_batches(0), Vec::<usize>::new());
        assert_eq!(slow_start_batches(1), vec![1]);
        assert_eq!(slow_start_batches(10), vec![1, 2, 4, 3]);
    }
}
