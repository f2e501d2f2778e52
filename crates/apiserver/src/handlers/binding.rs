//! Binding a pod to a node: `POST pods/{name}/binding`, or `POST bindings` naming the pod in
//! the Binding's metadata, as upstream serves both. The pod gets `spec.nodeName`, the Binding's
//! annotations and a `PodScheduled=True` condition; a pod already bound or being deleted is a
//! 409 Conflict on `pods/binding`. The Binding itself is never stored.

use std::collections::BTreeMap;

use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use k8s_openapi::api::core::v1::Binding;
use serde_json::{json, Map, Value};

use super::lifecycle::{self, Part};
use super::request::{body_format, decode_body, respond, Representation};
use super::write::guaranteed_update;
use super::Ctx;
use crate::error::{gr, ApiError, Cause};
use crate::meta;

/// Serves a Binding POST: `ctx` addresses either `pods/{name}/binding` or `bindings`.
///
/// # Errors
/// 400 for a malformed Binding or a name that differs from the URL's, 422 for a Binding
/// without a target node, 404 for a missing pod, 409 for a bound or terminating pod.
pub(crate) async fn bind(ctx: &Ctx<'_>, body: &Bytes) -> Result<Response, ApiError> {
    let sent = decode_body(body_format(&ctx.headers)?, body)?;
    let binding: Binding = serde_json::from_value(sent).map_err(|e| {
        ApiError::BadRequest(format!(
            "Binding in version \"v1\" cannot be handled as a Binding: {e}"
        ))
    })?;
    let pod_name = pod_name(ctx, &binding)?;
    let causes = validate(&binding);
    if !causes.is_empty() {
        return Err(ApiError::Invalid {
            kind: "Binding".to_owned(),
            group: String::new(),
            name: pod_name,
            causes,
        });
    }
    let pods = pod_ctx(ctx, &pod_name)?;
    let pinned = match binding.metadata.resource_version.as_deref() {
        None | Some("") => None,
        Some(rv) => Some(
            rv.parse::<i64>()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {rv:?}")))?,
        ),
    };
    let node = binding.target.name.clone().unwrap_or_default();
    let annotations = binding.metadata.annotations.clone().unwrap_or_default();
    let uid = binding.metadata.uid.clone().unwrap_or_default();
    guaranteed_update(&pods, pinned, |old| {
        let mut pod = old.object.clone();
        check_bindable(&pod, &pod_name, &uid)?;
        assign(&mut pod, &node, &annotations, &meta::now_rfc3339());
        lifecycle::prepare_update(&pods, Part::Binding, pod, &old.object)
    })
    .await?;
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201,
    });
    Ok(respond(
        StatusCode::CREATED,
        &status,
        Representation::Json,
        &[],
    ))
}

/// The pod the Binding names: the URL's for the subresource (the Binding's own name must match
/// it when set), the Binding's for the `bindings` collection.
fn pod_name(ctx: &Ctx<'_>, binding: &Binding) -> Result<String, ApiError> {
    let in_body = binding.metadata.name.clone().unwrap_or_default();
    match ctx.path.name.as_deref() {
        Some(url) if in_body.is_empty() || in_body == url => Ok(url.to_owned()),
        Some(_) => Err(ApiError::BadRequest(
            "name in URL does not match name in Binding object".to_owned(),
        )),
        None if in_body.is_empty() => Err(ApiError::Invalid {
            kind: "Binding".to_owned(),
            group: String::new(),
            name: String::new(),
            causes: vec![Cause::required(
                "metadata.name",
                "name or generateName is required",
            )],
        }),
        None => Ok(in_body),
    }
}

/// Upstream's binding validation: a target node is named, and is a Node if a kind is given.
fn validate(binding: &Binding) -> Vec<Cause> {
    let mut causes = Vec::new();
    let kind = binding.target.kind.as_deref().unwrap_or_default();
    if !kind.is_empty() && kind != "Node" {
        causes.push(Cause::not_supported(
            "target.kind",
            &json!(kind),
            &["Node", "<empty>"],
        ));
    }
    if binding
        .target
        .name
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        causes.push(Cause::required("target.name", ""));
    }
    causes
}

/// `ctx` turned towards the named pod (for the `bindings` collection, the pods type).
fn pod_ctx<'a>(ctx: &Ctx<'a>, name: &str) -> Result<Ctx<'a>, ApiError> {
    let rt = if ctx.rt.is_binding() {
        ctx.state
            .registry
            .index()
            .get("", "v1", "pods")
            .cloned()
            .ok_or(ApiError::NoRoute)?
    } else {
        ctx.rt.clone()
    };
    let mut path = ctx.path.clone();
    path.plural = "pods".to_owned();
    path.name = Some(name.to_owned());
    path.subresource = Some("binding".to_owned());
    Ok(Ctx {
        state: ctx.state,
        rt,
        path,
        query: ctx.query.clone(),
        headers: ctx.headers.clone(),
    })
}

fn conflict(pod: &str, detail: String) -> ApiError {
    ApiError::Conflict {
        resource: gr("", "pods/binding"),
        name: pod.to_owned(),
        detail,
    }
}

/// A pod may be bound once, while it is not being deleted, and only if it is the pod the
/// Binding's uid (when given) names.
fn check_bindable(pod: &Value, name: &str, uid: &str) -> Result<(), ApiError> {
    let actual = meta::str_at(pod, "/metadata/uid");
    if !uid.is_empty() && uid != actual {
        return Err(conflict(
            name,
            format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
            ),
        ));
    }
    if meta::is_deleting(pod) {
        return Err(conflict(
            name,
            format!("pod {name} is being deleted, cannot be assigned to a host"),
        ));
    }
    match meta::str_at(pod, "/spec/nodeName") {
        "" => Ok(()),
        node => Err(conflict(
            name,
            format!("pod {name} is already assigned to node \"{node}\""),
        )),
    }
}

/// Sets the node, merges the annotations and marks the pod scheduled.
fn assign(pod: &mut Value, node: &str, annotations: &BTreeMap<String, String>, now: &str) {
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("nodeName".to_owned(), json!(node));
    }
    if !annotations.is_empty() {
        let metadata = meta::metadata_mut(pod);
        let entry = metadata
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(map) = entry.as_object_mut() {
            for (k, v) in annotations {
                map.insert(k.clone(), json!(v));
            }
        }
    }
    set_scheduled(pod, now);
}

/// Sets `PodScheduled=True`, keeping the transition time when it already was true.
fn set_scheduled(pod: &mut Value, now: &str) {
    let Some(obj) = pod.as_object_mut() else {
        return;
    };
    let status = obj.entry("status").or_insert_with(|| json!({}));
    let Some(status) = status.as_object_mut() else {
        return;
    };
    let conditions = status.entry("conditions").or_insert_with(|| json!([]));
    let Some(list) = conditions.as_array_mut() else {
        return;
    };
    let fresh = json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": now});
    match list
        .iter_mut()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("PodScheduled"))
    {
        Some(c) if c.get("status").and_then(Value::as_str) == Some("True") => {}
        Some(c) => *c = fresh,
        None => list.push(fresh),
    }
}

#[cfg(test)]
#[path = "binding_tests.rs"]
mod tests;
