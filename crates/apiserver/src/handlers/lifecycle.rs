//! What happens to an object on its way into the store, the same for every type: type and
//! shape checks, system metadata, status handling, defaulting, generation and validation.

use serde_json::{json, Value};

use super::request::FieldValidation;
use super::Ctx;
use crate::error::{ApiError, Cause};
use crate::meta;

/// Which part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The object itself (status changes are ignored when the type has a status subresource).
    Main,
    /// The `/status` subresource (only status changes are taken).
    Status,
    /// A Namespace's `/finalize` subresource (only `spec.finalizers` changes are taken; the
    /// caller builds the object from the stored one).
    Finalize,
    /// A pod's `/binding` subresource (the caller builds the object from the stored one:
    /// `spec.nodeName`, annotations and the PodScheduled condition).
    Binding,
}

impl Part {
    /// The subresource name managed fields record ("" for the main resource).
    pub fn subresource(self) -> &'static str {
        match self {
            Part::Main => "",
            Part::Status => "status",
            Part::Finalize => "finalize",
            Part::Binding => "binding",
        }
    }
}

/// Metadata fields only the server sets.
const SYSTEM_FIELDS: &[&str] = &[
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
];

/// Checks apiVersion/kind and the type's schema; normalizes `obj` and returns `Warning`s.
///
/// # Errors
/// 400 for a mismatched kind, a wrong-typed field, or unknown fields under `Strict`.
pub fn check_shape(ctx: &Ctx<'_>, obj: &mut Value) -> Result<Vec<String>, ApiError> {
    let rt = &ctx.rt;
    let api_version = rt.api_version();
    match obj.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != api_version => {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {}
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k != rt.kind => {
            return Err(ApiError::BadRequest(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                rt.kind
            )));
        }
        _ => {}
    }
    if let Some(map) = obj.as_object_mut() {
        map.insert("apiVersion".to_owned(), json!(api_version));
        map.insert("kind".to_owned(), json!(rt.kind));
    }
    let checked = rt.strategy.check_schema(obj).map_err(|problem| {
        ApiError::BadRequest(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {problem}",
            kind = rt.kind,
            version = rt.version
        ))
    })?;
    *obj = meta::with_type_first(checked.normalized, &api_version, &rt.kind);
    let unknown: Vec<String> = checked
        .unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match ctx.query.field_validation()? {
        FieldValidation::Strict if !unknown.is_empty() => Err(ApiError::BadRequest(format!(
            "strict decoding error: {}",
            unknown.join(", ")
        ))),
        FieldValidation::Warn => Ok(unknown),
        _ => Ok(Vec::new()),
    }
}

/// Readies a new object: namespace and name, system metadata, initial status, defaults, then
/// validation.
///
/// # Errors
/// 400 for a namespace mismatch, 422 for an invalid object.
pub fn prepare_create(ctx: &Ctx<'_>, obj: &mut Value) -> Result<(), ApiError> {
    let rt = &ctx.rt;
    let namespace = ctx.namespace().to_owned();
    if rt.namespaced {
        match meta::namespace(obj) {
            "" => meta::set_meta(obj, "namespace", json!(namespace)),
            ns if ns != namespace => {
                return Err(ApiError::BadRequest(
                    "the namespace of the provided object does not match the namespace sent on the request".to_owned(),
                ))
            }
            _ => {}
        }
    } else {
        meta::remove_meta(obj, "namespace");
    }
    if meta::name(obj).is_empty() {
        let prefix = meta::str_at(obj, "/metadata/generateName").to_owned();
        if !prefix.is_empty() {
            meta::set_meta(obj, "name", json!(format!("{prefix}{}", random_suffix())));
        }
    }
    for field in SYSTEM_FIELDS {
        meta::remove_meta(obj, field);
    }
    if rt.subresources.status && rt.strategy.drops_status_on_create() {
        set_or_remove(obj, "status", None);
    } else if rt.subresources.status {
        initial_status(&rt.kind, obj);
    }
    // The uid first: defaulting may derive from it (a Job's generated selector).
    meta::set_meta(obj, "uid", json!(uuid::Uuid::new_v4().to_string()));
    rt.strategy.default(obj);
    meta::set_meta(obj, "creationTimestamp", json!(meta::now_rfc3339()));
    if rt.strategy.tracks_generation() {
        meta::set_meta(obj, "generation", json!(1));
    }
    validate(ctx, obj, None)
}

/// Builds the object to store from the one sent (`new`) and the stored one (`old`).
///
/// # Errors
/// 422 for an invalid result.
pub fn prepare_update(
    ctx: &Ctx<'_>,
    part: Part,
    new: Value,
    old: &Value,
) -> Result<Value, ApiError> {
    let rt = &ctx.rt;
    let mut obj = match part {
        Part::Main => {
            let mut obj = new;
            if rt.subresources.status {
                set_or_remove(&mut obj, "status", old.get("status").cloned());
            }
            if rt.group.is_empty() && rt.kind == "Namespace" {
                // Only `/finalize` changes a namespace's finalizers, as upstream.
                let finalizers = old.pointer("/spec/finalizers").cloned();
                if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                    match finalizers {
                        Some(f) => spec.insert("finalizers".to_owned(), f),
                        None => spec.remove("finalizers"),
                    };
                }
            }
            obj
        }
        Part::Finalize | Part::Binding => new,
        Part::Status => {
            let mut obj = old.clone();
            set_or_remove(&mut obj, "status", new.get("status").cloned());
            obj
        }
    };
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
    ] {
        match old.pointer(&format!("/metadata/{field}")) {
            Some(v) => meta::set_meta(&mut obj, field, v.clone()),
            None => {
                meta::remove_meta(&mut obj, field);
            }
        }
    }
    rt.strategy.default(&mut obj);
    if rt.strategy.tracks_generation() && spec_of(&obj) != spec_of(old) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0)
            + 1;
        meta::set_meta(&mut obj, "generation", json!(generation));
    }
    if meta::is_deleting(old) {
        let added: Vec<String> = meta::finalizers(&obj)
            .into_iter()
            .filter(|f| !meta::finalizers(old).contains(f))
            .collect();
        if !added.is_empty() {
            return Err(invalid(ctx, &obj, vec![Cause::forbidden(
                "metadata.finalizers",
                &format!("no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"),
            )]));
        }
    }
    validate(ctx, &obj, Some(old))?;
    Ok(obj)
}

fn set_or_remove(obj: &mut Value, key: &str, value: Option<Value>) {
    if let Some(map) = obj.as_object_mut() {
        match value {
            Some(v) => {
                map.insert(key.to_owned(), v);
            }
            None => {
                map.remove(key);
            }
        }
    }
}

/// Everything but metadata and status: what `generation` counts.
fn spec_of(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(map) = copy.as_object_mut() {
        for key in ["metadata", "status", "apiVersion", "kind"] {
            map.remove(key);
        }
    }
    copy
}

fn validate(ctx: &Ctx<'_>, obj: &Value, old: Option<&Value>) -> Result<(), ApiError> {
    let rt = &ctx.rt;
    let mut causes = Vec::new();
    let name = meta::name(obj);
    if name.is_empty() {
        causes.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        causes.extend(rt.strategy.name_rule().check(name));
    }
    if let Some(old) = old {
        if old.get("kind") != obj.get("kind") {
            causes.push(Cause::forbidden("kind", "may not be changed"));
        }
    }
    causes.extend(rt.strategy.validate(obj, old));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(invalid(ctx, obj, causes))
    }
}

fn invalid(ctx: &Ctx<'_>, obj: &Value, causes: Vec<Cause>) -> ApiError {
    ApiError::Invalid {
        kind: ctx.rt.kind.clone(),
        group: ctx.rt.group.clone(),
        name: meta::name(obj).to_owned(),
        causes,
    }
}

/// The status a new object of `kind` starts with.
fn initial_status(kind: &str, obj: &mut Value) {
    let status = match kind {
        "Pod" => json!({"phase": "Pending", "qosClass": qos_class(obj)}),
        "Namespace" => json!({"phase": "Active"}),
        "PersistentVolumeClaim" | "PersistentVolume" => json!({"phase": "Pending"}),
        _ => json!({}),
    };
    set_or_remove(obj, "status", Some(status));
}

/// Upstream's QoS class of a pod: BestEffort, Burstable or Guaranteed.
fn qos_class(pod: &Value) -> &'static str {
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod.pointer(&format!("/spec/{k}")).and_then(Value::as_array))
        .flatten()
        .collect();
    let res =
        |c: &Value, kind: &str, r: &str| c.pointer(&format!("/resources/{kind}/{r}")).cloned();
    let any = containers.iter().any(|c| {
        ["cpu", "memory"]
            .iter()
            .any(|r| res(c, "requests", r).is_some() || res(c, "limits", r).is_some())
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|c| {
        ["cpu", "memory"].iter().all(|r| {
            let limit = res(c, "limits", r);
            limit.is_some() && res(c, "requests", r).is_none_or(|req| Some(req) == limit)
        })
    });
    if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// Five characters from upstream's generateName alphabet (no vowels, no confusable digits).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .take(5)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}
