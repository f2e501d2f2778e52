//! The ServiceAccount controller: every active namespace has a `default` ServiceAccount,
//! recreated if deleted.

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, ObjectMeta, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

use crate::harness::Harness;

/// The ServiceAccount every namespace gets.
pub const DEFAULT_NAME: &str = "default";

/// Why reconciling a namespace's ServiceAccount failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the ServiceAccount failed.
    #[error("reading the default service account of namespace {namespace}")]
    GetServiceAccount {
        /// The namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Creating the ServiceAccount failed.
    #[error("creating the default service account of namespace {namespace}")]
    CreateServiceAccount {
        /// The namespace.
        namespace: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Whether a namespace should have its default ServiceAccount made: it is active (not being
/// deleted) and has none.
pub fn needs_default(ns: &Namespace, existing: Option<&ServiceAccount>) -> bool {
    let phase = ns.status.as_ref().and_then(|s| s.phase.as_deref());
    let active = ns.metadata.deletion_timestamp.is_none() && matches!(phase, None | Some("Active"));
    active && existing.is_none()
}

/// The default ServiceAccount of `namespace`.
pub fn default_service_account(namespace: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: ObjectMeta {
            name: Some(DEFAULT_NAME.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..ObjectMeta::default()
        },
        ..ServiceAccount::default()
    }
}

/// Runs the controller until `shutdown` is cancelled.
pub async fn run(client: Client, shutdown: CancellationToken) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let accounts: Api<ServiceAccount> = Api::all(client.clone());
    let only_default = watcher::Config::default().fields(&format!("metadata.name={DEFAULT_NAME}"));
    Harness::new("serviceaccount", namespaces)
        .watches(accounts, only_default, |sa| {
            sa.namespace().map(|ns| ObjectRef::<Namespace>::new(&ns))
        })
        .run(reconcile, Arc::new(client), shutdown)
        .await;
}

/// Ensures `ns` has its default ServiceAccount.
///
/// # Errors
/// [`Error::GetServiceAccount`] and [`Error::CreateServiceAccount`].
pub async fn reconcile(ns: Arc<Namespace>, client: Arc<Client>) -> Result<Action, Error> {
    let namespace = ns.name_any();
    let api: Api<ServiceAccount> = Api::namespaced(Client::clone(&client), &namespace);
    let existing = api
        .get_opt(DEFAULT_NAME)
        .await
        .map_err(|source| Error::GetServiceAccount {
            namespace: namespace.clone(),
            source,
        })?;
    if !needs_default(&ns, existing.as_ref()) {
        return Ok(Action::await_change());
    }
    match api
        .create(&PostParams::default(), &default_service_account(&namespace))
        .await
    {
        Ok(_) => tracing::debug!(%namespace, "created the default service account"),
        // Already made, the namespace is going away, or it is gone: all fine.
        Err(kube::Error::Api(s)) if matches!(s.code, 409 | 403 | 404) => {}
        Err(source) => return Err(Error::CreateServiceAccount { namespace, source }),
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::NamespaceStatus;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use k8s_openapi::jiff::Timestamp;

    use super::*;

    fn namespace(phase: &str, deleting: bool) -> Namespace {
        Namespace {
            metadata: ObjectMeta {
                name: Some("shop".to_owned()),
                deletion_timestamp: deleting.then_some(Time(Timestamp::UNIX_EPOCH)),
                ..ObjectMeta::default()
            },
            status: Some(NamespaceStatus {
                phase: Some(phase.to_owned()),
                ..NamespaceStatus::default()
            }),
            ..Namespace::default()
        }
    }

    #[test]
    fn active_namespace_without_default_account_needs_one() {
        assert!(needs_default(&namespace("Active", false), None));
    }

    #[test]
    fn namespace_with_default_account_needs_nothing() {
        let sa = default_service_account("shop");
        assert!(!needs_default(&namespace("Active", false), Some(&sa)));
    }

    #[test]
    fn terminating_namespace_gets_no_default_account() {
        assert!(!needs_default(&namespace("Terminating", true), None));
        assert!(!needs_default(&namespace("Active", true), None));
    }

    #[test]
    fn default_account_is_named_default_in_its_namespace() {
        let sa = default_service_account("shop");
        assert_eq!(sa.metadata.name.as_deref(), Some("default"));
        assert_eq!(sa.metadata.namespace.as_deref(), Some("shop"));
    }
}
