//! Object counts for `count/<resource>.<group>` quotas: the resource found through discovery
//! (remembered), its objects in the namespace listed as metadata.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::Client;

/// Why one resource could not be counted.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    /// Discovery of the resource's group failed.
    #[error("discovering API group {group:?}")]
    Discover {
        /// The group.
        group: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The group serves no such resource.
    #[error("the server serves no resource {resource:?}")]
    UnknownResource {
        /// `<resource>.<group>`.
        resource: String,
    },
    /// Listing the objects failed.
    #[error("listing {resource}")]
    List {
        /// `<resource>.<group>`.
        resource: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Counts objects of any served resource.
pub struct Counter {
    client: Client,
    resources: Mutex<HashMap<String, ApiResource>>,
}

/// `deployments.apps` → (`deployments`, `apps`); `configmaps` → (`configmaps`, core).
fn split(counted: &str) -> (&str, &str) {
    counted.split_once('.').unwrap_or((counted, ""))
}

impl Counter {
    /// A counter asking the API server through `client`.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            resources: Mutex::new(HashMap::new()),
        }
    }

    /// The objects of each of `resources` in `namespace`; those that could not be counted
    /// are missing from the map, and the first failure is returned beside it.
    pub async fn count(
        &self,
        namespace: &str,
        resources: &[&str],
    ) -> (BTreeMap<String, i64>, Option<CountError>) {
        let mut counts = BTreeMap::new();
        let mut first_error = None;
        for resource in resources {
            match self.count_one(namespace, resource).await {
                Ok(n) => {
                    counts.insert((*resource).to_owned(), n);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        (counts, first_error)
    }

    async fn count_one(&self, namespace: &str, counted: &str) -> Result<i64, CountError> {
        let ar = self.resolve(counted).await?;
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &ar);
        let list = api
            .list_metadata(&ListParams::default())
            .await
            .map_err(|source| CountError::List {
                resource: counted.to_owned(),
                source,
            })?;
        Ok(i64::try_from(list.items.len()).unwrap_or(i64::MAX))
    }

    async fn resolve(&self, counted: &str) -> Result<ApiResource, CountError> {
        if let Some(ar) = self.lock().get(counted) {
            return Ok(ar.clone());
        }
        let (plural, group) = split(counted);
        let found = kube::discovery::group(&self.client, group)
            .await
            .map_err(|source| CountError::Discover {
                group: group.to_owned(),
                source,
            })?;
        let (ar, _) = found
            .recommended_resources()
            .into_iter()
            .find(|(ar, _)| ar.plural == plural)
            .ok_or_else(|| CountError::UnknownResource {
                resource: counted.to_owned(),
            })?;
        self.lock().insert(counted.to_owned(), ar.clone());
        Ok(ar)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, ApiResource>> {
        self.resources.lock().unwrap_or_else(|e| e.into_inner())
    }
}
