//! The namespace controller: a namespace being deleted is marked Terminating, emptied of every
//! namespaced object of every type discovery reports (custom resources included), and, once
//! nothing is left, its `kubernetes` finalizer is removed through `/finalize` so the API server
//! deletes it.

pub(crate) mod content;
pub mod decision;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::{Client, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::harness::Harness;
use decision::{ContentReport, Plan, Verdict};

/// How soon a namespace whose content is still going away is looked at again.
const CONTENT_RECHECK: Duration = Duration::from_secs(1);

/// What the namespace controller's reconciles share.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// The time conditions are stamped with.
    pub clock: Arc<dyn Clock>,
}

/// Why reconciling a namespace failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Writing the Terminating phase and deletion conditions failed.
    #[error("updating the status of namespace {name}")]
    UpdateStatus {
        /// The namespace.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// Discovery or deleting some content failed; the conditions say which.
    #[error("deleting the content of namespace {name}: {detail}")]
    DeleteContent {
        /// The namespace.
        name: String,
        /// What failed.
        detail: String,
    },
    /// The `/finalize` write failed.
    #[error("finalizing namespace {name}")]
    Finalize {
        /// The namespace.
        name: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
}

/// Runs the namespace controller until `shutdown` is cancelled.
pub async fn run(client: Client, clock: Arc<dyn Clock>, shutdown: CancellationToken) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ctx = Arc::new(Context { client, clock });
    Harness::new("namespace", api)
        .run(reconcile, ctx, shutdown)
        .await;
}

/// Drives one namespace towards deletion.
///
/// # Errors
/// [`Error::UpdateStatus`], [`Error::DeleteContent`] and [`Error::Finalize`].
pub async fn reconcile(ns: Arc<Namespace>, ctx: Arc<Context>) -> Result<Action, Error> {
    if decision::plan(&ns) != Plan::EmptyThenFinalize {
        return Ok(Action::await_change());
    }
    let name = ns.name_any();
    let mut report = ContentReport::default();
    match content::discover(&ctx.client).await {
        Ok(resources) => {
            for deletion in decision::deletions(&resources) {
                content::delete_all(&ctx.client, &name, &deletion, &mut report).await;
            }
        }
        Err(e) => report.discovery_failure = Some(format!("Discovery failed: {e}")),
    }
    // Finalize what the status write returned, so that its resourceVersion is current.
    let ns = update_status(&ctx, &ns, &report)
        .await?
        .unwrap_or_else(|| ns.as_ref().clone());
    match decision::verdict(&report) {
        Verdict::Finalize => {
            let api: Api<Namespace> = Api::all(ctx.client.clone());
            let body = decision::finalized(&ns);
            match api
                .replace_subresource("finalize", &name, &PostParams::default(), &body)
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(source) => return Err(Error::Finalize { name, source }),
            }
            tracing::info!(namespace = %name, "namespace emptied and finalized");
            Ok(Action::await_change())
        }
        Verdict::WaitForContent => Ok(Action::requeue(CONTENT_RECHECK)),
        Verdict::Retry => {
            let mut failures = report.deletion_failures;
            failures.extend(report.discovery_failure);
            Err(Error::DeleteContent {
                name,
                detail: failures.join("; "),
            })
        }
    }
}

/// Sets phase Terminating and the deletion conditions, when they changed; returns the
/// namespace as written.
async fn update_status(
    ctx: &Context,
    ns: &Namespace,
    report: &ContentReport,
) -> Result<Option<Namespace>, Error> {
    let status = ns.status.clone().unwrap_or_default();
    let existing = status.conditions.unwrap_or_default();
    let conditions = decision::conditions(&existing, report, ctx.clock.now());
    let terminating = status.phase.as_deref() == Some("Terminating");
    if terminating && conditions.is_none() {
        return Ok(None);
    }
    let patch =
        json!({"status": {"phase": "Terminating", "conditions": conditions.unwrap_or(existing)}});
    let api: Api<Namespace> = Api::all(ctx.client.clone());
    let name = ns.name_any();
    match api
        .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(written) => Ok(Some(written)),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
        Err(source) => Err(Error::UpdateStatus { name, source }),
    }
}
