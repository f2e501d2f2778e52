//! The `pods/eviction` subresource: a POST of a policy/v1 (or v1beta1) Eviction deletes the
//! pod if the PodDisruptionBudget guarding it allows one more disruption, and answers 429
//! otherwise. Finished, pending and already terminating pods go without asking the budget.
//! Every evicted pod is first marked with the `DisruptionTarget` condition.

mod budget;

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde_json::{json, Value};

use super::delete::{check_preconditions, delete_one, DeleteOptions};
use super::request::{body_format, decode_body, representation, respond};
use super::Ctx;
use crate::error::ApiError;
use crate::meta;
use crate::registry::ResourceType;
use crate::storage::{ReadAt, Stored};

/// How often a write retries after losing a race (upstream: 20 tries of a budget update).
const MAX_RETRIES: usize = 20;

/// The Eviction versions accepted, as upstream's handler accepts both.
const EVICTION_VERSIONS: &[&str] = &["policy/v1", "policy/v1beta1"];

/// POST of `pods/{name}/eviction`.
pub(crate) async fn evict(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let eviction = decode_body(body_format(&ctx.headers)?, body)?;
    check_eviction(ctx, &eviction)?;
    let sent = eviction
        .get("deleteOptions")
        .filter(|o| o.is_object())
        .cloned()
        .unwrap_or_else(|| json!({}));
    let options = DeleteOptions::from_value(ctx, &sent)?;
    if let Some(pod) = delete_if_budget_ignored(ctx, &options).await? {
        let budgets = guarding_budgets(ctx, &pod.object).await?;
        match budgets.as_slice() {
            [] => mark_and_delete(ctx, &options).await?,
            [pdb] => evict_within_budget(ctx, &pod, pdb, &options).await?,
            _ => {
                return Ok(respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &budget::several_budgets_status(),
                    representation(&ctx.headers),
                    &[],
                ))
            }
        }
    }
    Ok(respond(
        StatusCode::CREATED,
        &budget::evicted_status(),
        representation(&ctx.headers),
        &[],
    ))
}

/// The Eviction must be one, of an accepted version, naming the pod of the URL.
fn check_eviction(ctx: &Ctx<'_>, eviction: &Value) -> Result<(), ApiError> {
    let api_version = meta::str_at(eviction, "/apiVersion");
    if !api_version.is_empty() && !EVICTION_VERSIONS.contains(&api_version) {
        return Err(ApiError::BadRequest(format!(
            "the API version in the data ({api_version}) does not match the expected API version (policy/v1)"
        )));
    }
    let kind = meta::str_at(eviction, "/kind");
    if !kind.is_empty() && kind != "Eviction" {
        return Err(ApiError::BadRequest(format!(
            "the kind in the data ({kind}) does not match the expected kind (Eviction)"
        )));
    }
    if meta::name(eviction) != ctx.name() {
        return Err(ApiError::BadRequest(
            "name in URL does not match name in Eviction object".to_owned(),
        ));
    }
    let namespace = meta::namespace(eviction);
    if !namespace.is_empty() && namespace != ctx.namespace() {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .to_owned(),
        ));
    }
    Ok(())
}

/// Deletes the pod at once if no budget needs asking; otherwise returns it as read.
async fn delete_if_budget_ignored(
    ctx: &Ctx<'_>,
    options: &DeleteOptions,
) -> Result<Option<Stored>, ApiError> {
    let pinned = options.resource_version.is_some();
    for _ in 0..MAX_RETRIES {
        let pod = ctx
            .state
            .objects
            .get(&ctx.key())
            .await?
            .ok_or_else(|| ApiError::not_found("", "pods", ctx.name()))?;
        if !budget::can_ignore_budget(&pod.object) {
            return Ok(Some(pod));
        }
        let mut options = options.clone();
        if !pinned && budget::should_pin_resource_version(&pod.object) {
            options.resource_version = Some(pod.mod_revision);
        }
        match mark_and_delete(ctx, &options).await {
            Err(ApiError::Conflict { .. }) if !pinned => continue,
            outcome => return outcome.map(|()| None),
        }
    }
    Err(too_many_writers(ctx))
}

fn too_many_writers(ctx: &Ctx<'_>) -> ApiError {
    ApiError::Conflict {
        resource: ctx.rt.group_resource(),
        name: ctx.name().to_owned(),
        detail: "too many concurrent writers; try again".to_owned(),
    }
}

fn budgets_type(ctx: &Ctx<'_>) -> Result<std::sync::Arc<ResourceType>, ApiError> {
    ctx.state
        .registry
        .index()
        .get("policy", "v1", "poddisruptionbudgets")
        .cloned()
        .ok_or(ApiError::NoRoute)
}

/// The PodDisruptionBudgets of the pod's namespace that select it.
async fn guarding_budgets(ctx: &Ctx<'_>, pod: &Value) -> Result<Vec<Stored>, ApiError> {
    let rt = budgets_type(ctx)?;
    let prefix = rt.prefix(Some(ctx.namespace()));
    let page = ctx
        .state
        .objects
        .list(&prefix, 0, None, ReadAt::Latest, &|key, raw| {
            Ok(budget::selects(&raw.decode(key)?, pod))
        })
        .await?;
    let mut budgets = Vec::new();
    for pdb in page.decoded(&prefix)? {
        let key = rt.key(meta::namespace(&pdb), meta::name(&pdb));
        // Re-read each for its mod revision, which the budget update is conditional on.
        if let Some(stored) = ctx.state.objects.get(&key).await? {
            budgets.push(stored);
        }
    }
    Ok(budgets)
}

/// Evicts a pod one budget guards: an unready pod goes if the budget can spare it, pinned to
/// the pod's resourceVersion; otherwise the budget must allow a disruption, which is taken.
async fn evict_within_budget(
    ctx: &Ctx<'_>,
    pod: &Stored,
    pdb: &Stored,
    options: &DeleteOptions,
) -> Result<(), ApiError> {
    let pdb_name = meta::name(&pdb.object).to_owned();
    if budget::unhealthy_may_go(&pod.object, &pdb.object) {
        let pinned = options.resource_version.is_some();
        let mut options = options.clone();
        options.resource_version.get_or_insert(pod.mod_revision);
        return match mark_and_delete(ctx, &options).await {
            Err(ApiError::Conflict { .. }) if !pinned => Err(budget::budget_pending(&pdb_name)),
            outcome => outcome,
        };
    }
    take_disruption(ctx, pdb, options.dry_run).await?;
    mark_and_delete(ctx, options).await
}

/// Decrements the budget's allowed disruptions and records the pod as disrupted, re-reading
/// the budget after a lost race.
async fn take_disruption(ctx: &Ctx<'_>, pdb: &Stored, dry_run: bool) -> Result<(), ApiError> {
    let rt = budgets_type(ctx)?;
    let name = meta::name(&pdb.object).to_owned();
    let key = rt.key(ctx.namespace(), &name);
    let mut current = pdb.clone();
    for attempt in 0..MAX_RETRIES {
        if attempt > 0 {
            current = ctx
                .state
                .objects
                .get(&key)
                .await?
                .ok_or_else(|| ApiError::not_found("policy", "poddisruptionbudgets", &name))?;
        }
        let updated = budget::check_and_decrement(
            &current.object,
            ctx.name(),
            &meta::now_rfc3339(),
            dry_run,
        )?;
        if dry_run
            || ctx
                .state
                .objects
                .update(&key, &updated, current.mod_revision)
                .await?
                .is_some()
        {
            return Ok(());
        }
    }
    Err(ApiError::Timeout(format!(
        "couldn't update PodDisruptionBudget {name:?} due to conflicts"
    )))
}

/// Marks the pod as a disruption target (not for a dry run) and deletes it as `options` say.
async fn mark_and_delete(ctx: &Ctx<'_>, options: &DeleteOptions) -> Result<(), ApiError> {
    let mut options = options.clone();
    if !options.dry_run {
        let revision = mark_disruption_target(ctx, &options).await?;
        if options.resource_version.is_some() {
            // Our own write moved the pod on; the caller's precondition held before it.
            options.resource_version = Some(revision);
        }
    }
    delete_one(ctx, &ctx.key(), &options).await.map(drop)
}

/// Adds the `DisruptionTarget` condition to the pod if the delete's preconditions hold;
/// returns the pod's mod revision after.
async fn mark_disruption_target(ctx: &Ctx<'_>, options: &DeleteOptions) -> Result<i64, ApiError> {
    let key = ctx.key();
    for _ in 0..MAX_RETRIES {
        let current = ctx
            .state
            .objects
            .get(&key)
            .await?
            .ok_or_else(|| ApiError::not_found("", "pods", ctx.name()))?;
        check_preconditions(ctx, ctx.name(), &current, options)?;
        let mut pod = current.object.clone();
        if !budget::mark_disruption_target(&mut pod, &meta::now_rfc3339()) {
            return Ok(current.mod_revision);
        }
        if let Some(stored) = ctx
            .state
            .objects
            .update(&key, &pod, current.mod_revision)
            .await?
        {
            return Ok(stored.mod_revision);
        }
    }
    Err(too_many_writers(ctx))
}
