//! API errors and their wire form, the Kubernetes `Status` object.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use rudder_store::StoreError;
use serde_json::{json, Value};

/// A group and a resource, as upstream names them in messages (`deployments.apps`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupResource {
    /// The API group ("" for core).
    pub group: String,
    /// The plural resource name.
    pub resource: String,
}

impl std::fmt::Display for GroupResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.group.is_empty() {
            f.write_str(&self.resource)
        } else {
            write!(f, "{}.{}", self.resource, self.group)
        }
    }
}

/// One reason a request was invalid, with the field path it concerns (`spec.replicas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The upstream cause type (`FieldValueInvalid`, `FieldValueRequired`, …).
    pub reason: &'static str,
    /// The message, in upstream's form (`Invalid value: "x": …`).
    pub message: String,
    /// The field path.
    pub field: String,
}

impl Cause {
    /// A `FieldValueRequired` cause.
    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_owned()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired",
            message,
            field: field.into(),
        }
    }

    /// A `FieldValueInvalid` cause; `value` is shown as upstream shows it (JSON-quoted strings).
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        Self {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {value}: {detail}"),
            field: field.into(),
        }
    }

    /// A `FieldValueNotSupported` cause.
    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        Self {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
            field: field.into(),
        }
    }

    /// A `FieldValueForbidden` cause.
    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {detail}"),
            field: field.into(),
        }
    }

    /// A `FieldValueDuplicate` cause.
    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        Self {
            reason: "FieldValueDuplicate",
            message: format!("Duplicate value: {value}"),
            field: field.into(),
        }
    }
}

/// Everything that can make an API request fail. Each variant becomes a `Status` with upstream's
/// code and reason.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 404: the object does not exist.
    #[error("{resource} \"{name}\" not found")]
    NotFound {
        /// What was looked for.
        resource: GroupResource,
        /// Its name.
        name: String,
    },
    /// 404: no such path or resource type.
    #[error("the server could not find the requested resource")]
    NoRoute,
    /// 409: create of a name that exists.
    #[error("{resource} \"{name}\" already exists")]
    AlreadyExists {
        /// The resource.
        resource: GroupResource,
        /// The name.
        name: String,
    },
    /// 409: a precondition (resourceVersion, uid) did not hold.
    #[error("Operation cannot be fulfilled on {resource} \"{name}\": {detail}")]
    Conflict {
        /// The resource.
        resource: GroupResource,
        /// The name.
        name: String,
        /// Why.
        detail: String,
    },
    /// 409: a server-side apply would change fields other managers own.
    #[error("{message}")]
    ApplyConflict {
        /// Upstream's summary (`Apply failed with 1 conflict: …`).
        message: String,
        /// One `FieldManagerConflict` cause per field.
        causes: Vec<Cause>,
    },
    /// 422: the object failed validation.
    #[error("{kind}{group_suffix} \"{name}\" is invalid: {summary}", group_suffix = group_suffix(.group), summary = summarize(.causes))]
    Invalid {
        /// The object's kind.
        kind: String,
        /// The object's API group.
        group: String,
        /// The object's name.
        name: String,
        /// Every problem found.
        causes: Vec<Cause>,
    },
    /// 400: the request could not be understood.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403: the request is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 405: the resource does not support this verb.
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    /// 406: none of the accepted media types can be produced.
    #[error("only the following media types are accepted: application/json, application/yaml")]
    NotAcceptable,
    /// 415: the body's media type is not understood.
    #[error("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml")]
    UnsupportedMediaType,
    /// 410: the requested resourceVersion is too old.
    #[error("too old resource version: {requested} ({oldest})")]
    Gone {
        /// The resourceVersion asked for.
        requested: i64,
        /// The oldest one still available.
        oldest: i64,
    },
    /// 410: a continue token refers to a compacted revision.
    #[error("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")]
    ContinueExpired,
    /// 429: the request would go over a limit now; the client should try again later (an
    /// eviction that a PodDisruptionBudget does not allow yet).
    #[error("{message}")]
    TooManyRequests {
        /// What limit was hit.
        message: String,
        /// The seconds the client should wait (`Retry-After`); 0 for no suggestion.
        retry_after: u32,
        /// Why, as `StatusCause`s (`DisruptionBudget`).
        causes: Vec<Cause>,
    },
    /// 504: the storage did not answer in time.
    #[error("Timeout: {0}")]
    Timeout(String),
    /// 500: the store failed.
    #[error("storage error")]
    Store(#[from] StoreError),
    /// 500: a stored object could not be decoded.
    #[error("stored object {key} could not be decoded")]
    CorruptObject {
        /// The store key.
        key: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// 400: the object sent cannot be converted to the version it is stored in.
    #[error("{0}")]
    ConvertRequest(#[source] crate::conversion::ConversionError),
    /// 500: a stored object cannot be converted to the version requested.
    #[error("{0}")]
    ConvertStored(#[source] crate::conversion::ConversionError),
}

fn group_suffix(group: &str) -> String {
    if group.is_empty() {
        String::new()
    } else {
        format!(".{group}")
    }
}

fn summarize(causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| {
            if c.field.is_empty() {
                c.message.clone()
            } else {
                format!("{}: {}", c.field, c.message)
            }
        })
        .collect();
    if parts.len() == 1 {
        parts.join("")
    } else {
        format!("[{}]", parts.join(", "))
    }
}

impl ApiError {
    /// A 404 for `name` of `resource` in `group`.
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        ApiError::NotFound {
            resource: gr(group, resource),
            name: name.to_owned(),
        }
    }

    /// A 409 conflict on the object's resourceVersion.
    pub fn stale(group: &str, resource: &str, name: &str) -> Self {
        ApiError::Conflict {
            resource: gr(group, resource),
            name: name.to_owned(),
            detail: "the object has been modified; please apply your changes to the latest version and try again"
                .to_owned(),
        }
    }

    /// The HTTP status code.
    pub fn code(&self) -> StatusCode {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => StatusCode::NOT_FOUND,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::ApplyConflict { .. } => StatusCode::CONFLICT,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) | ApiError::ConvertRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Gone { .. } | ApiError::ContinueExpired => StatusCode::GONE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Store(StoreError::Compacted { .. }) => StatusCode::GONE,
            ApiError::Store(_) | ApiError::CorruptObject { .. } | ApiError::ConvertStored(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The upstream `reason` word.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::NoRoute => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::BadRequest(_) | ApiError::ConvertRequest(_) => "BadRequest",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::NotAcceptable => "NotAcceptable",
            ApiError::UnsupportedMediaType => "UnsupportedMediaType",
            ApiError::Gone { .. } | ApiError::ContinueExpired => "Expired",
            ApiError::TooManyRequests { .. } => "TooManyRequests",
            ApiError::Timeout(_) => "Timeout",
            ApiError::Store(StoreError::Compacted { .. }) => "Expired",
            ApiError::Store(_) | ApiError::CorruptObject { .. } | ApiError::ConvertStored(_) => {
                "InternalError"
            }
        }
    }

    /// The `Status` object upstream sends for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message(),
            "reason": self.reason(),
            "code": self.code().as_u16(),
        });
        if let Some(details) = self.details() {
            status["details"] = details;
        }
        status
    }

    fn message(&self) -> String {
        match self {
            ApiError::Store(source) => format!("storage error: {source}"),
            other => other.to_string(),
        }
    }

    fn details(&self) -> Option<Value> {
        match self {
            ApiError::NotFound { resource, name }
            | ApiError::AlreadyExists { resource, name }
            | ApiError::Conflict { resource, name, .. } => Some(json!({
                "name": name, "group": resource.group, "kind": resource.resource,
            })),
            ApiError::ApplyConflict { causes, .. } => Some(json!({
                "causes": causes.iter().map(|c| json!({
                    "reason": c.reason, "message": c.message, "field": c.field,
                })).collect::<Vec<_>>(),
            })),
            ApiError::Invalid {
                kind,
                group,
                name,
                causes,
            } => Some(json!({
                "name": name,
                "group": group,
                "kind": kind,
                "causes": causes.iter().map(|c| json!({
                    "reason": c.reason, "message": c.message, "field": c.field,
                })).collect::<Vec<_>>(),
            })),
            ApiError::TooManyRequests {
                retry_after,
                causes,
                ..
            } => {
                let mut details = json!({
                    "causes": causes.iter().map(|c| json!({
                        "reason": c.reason, "message": c.message,
                    })).collect::<Vec<_>>(),
                });
                if *retry_after > 0 {
                    details["retryAfterSeconds"] = json!(retry_after);
                }
                Some(details)
            }
            _ => None,
        }
    }
}

/// Builds a [`GroupResource`].
pub fn gr(group: &str, resource: &str) -> GroupResource {
    GroupResource {
        group: group.to_owned(),
        resource: resource.to_owned(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code().is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = self.to_status().to_string();
        let mut response = (
            self.code(),
            [(http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if let ApiError::TooManyRequests { retry_after, .. } = &self {
            if *retry_after > 0 {
                response.headers_mut().insert(
                    http::header::RETRY_AFTER,
                    http::HeaderValue::from(*retry_after),
                );
            }
        }
        response
    }
}

/// The `Status` a successful delete of a resource without a body returns.
pub fn success_status(group: &str, resource: &str, name: &str, uid: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": group, "kind": resource, "uid": uid},
    })
}
