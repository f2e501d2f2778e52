//! Understanding a request: its path, its query options, its body; and encoding the answer.

use std::collections::HashMap;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};
use serde_json::Value;

use crate::error::ApiError;

/// Where a request under `/api` or `/apis` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A group-version's resource list (`/api/v1`, `/apis/apps/v1`).
    GroupVersion {
        /// The group.
        group: String,
        /// The version.
        version: String,
    },
    /// A resource, a collection or a subresource.
    Resource(ResourcePath),
}

/// The parts of a resource path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The plural resource.
    pub plural: String,
    /// The object name, if any.
    pub name: Option<String>,
    /// The subresource, if any.
    pub subresource: Option<String>,
    /// Whether the legacy `/watch/` prefix was used.
    pub legacy_watch: bool,
}

/// Namespace subresources: `/api/v1/namespaces/{name}/status` is not a resource called "status".
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Parses `/api/v1/...` or `/apis/{group}/{version}/...`. `None` for anything else.
pub fn parse_path(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return Some(Target::GroupVersion {
            group: group.to_owned(),
            version: version.to_owned(),
        });
    }
    let (legacy_watch, mut rest) = match rest {
        ["watch", tail @ ..] => (true, tail),
        _ => (false, rest),
    };
    let mut out = ResourcePath {
        group: group.to_owned(),
        version: version.to_owned(),
        legacy_watch,
        ..ResourcePath::default()
    };
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        out.namespace = Some(rest[1].to_owned());
        if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
            rest = &rest[2..];
        }
    }
    match rest {
        [plural] => out.plural = (*plural).to_owned(),
        [plural, name] => {
            out.plural = (*plural).to_owned();
            out.name = Some((*name).to_owned());
        }
        [plural, name, sub] => {
            out.plural = (*plural).to_owned();
            out.name = Some((*name).to_owned());
            out.subresource = Some((*sub).to_owned());
        }
        _ => return None,
    }
    if out.plural == "namespaces" {
        // `/api/v1/namespaces/{name}` names the namespace object itself.
        out.name = out.name.or_else(|| out.namespace.clone());
        out.namespace = None;
    }
    if out.plural.is_empty() || out.name.as_deref() == Some("") {
        return None;
    }
    Some(Target::Resource(out))
}

/// The query options a request may carry. Unknown parameters are ignored, as upstream does.
#[derive(Debug, Clone, Default)]
pub struct Query {
    params: HashMap<String, String>,
}

impl Query {
    /// Parses a raw query string.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs: Vec<(String, String)> = raw
            .and_then(|q| serde_urlencoded::from_str(q).ok())
            .unwrap_or_default();
        Self {
            params: pairs.into_iter().collect(),
        }
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }

    /// An integer parameter.
    ///
    /// # Errors
    /// 400 when present but not an integer.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::BadRequest(format!("invalid value for {key}: {v:?}")))
            })
            .transpose()
    }

    /// Whether `dryRun=All` was asked.
    ///
    /// # Errors
    /// 400 for any other dryRun value.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.get("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::BadRequest(format!(
                "Invalid dryRun value: {other:?}; supported values: \"All\""
            ))),
        }
    }

    /// The `fieldValidation` mode (`Warn` when absent, as upstream).
    ///
    /// # Errors
    /// 400 for an unknown mode.
    pub fn field_validation(&self) -> Result<FieldValidation, ApiError> {
        match self.get("fieldValidation") {
            None | Some("" | "Warn") => Ok(FieldValidation::Warn),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some(other) => Err(ApiError::BadRequest(format!(
                "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
            ))),
        }
    }
}

/// What to do with fields the type does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them and say so in `Warning` headers.
    Warn,
    /// Reject the request.
    Strict,
}

/// The body formats the server reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// JSON.
    Json,
    /// YAML.
    Yaml,
    /// Kubernetes protobuf envelope.
    Protobuf,
}

/// The format of a request body, from its Content-Type (JSON when absent).
///
/// # Errors
/// 415 for a type the server does not read.
pub fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let mime = ct.split(';').next().unwrap_or_default().trim();
    match mime {
        "application/json" | "" | "*/*" => Ok(BodyFormat::Json),
        "application/yaml" | "application/x-yaml" | "text/yaml" => Ok(BodyFormat::Yaml),
        "application/vnd.kubernetes.protobuf" => Ok(BodyFormat::Protobuf),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}

/// Decodes a JSON or YAML object body.
///
/// # Errors
/// 400 when the body does not parse or is not an object; 415 for protobuf (not yet read).
pub fn decode_body(format: BodyFormat, body: &Bytes) -> Result<Value, ApiError> {
    let value = match format {
        BodyFormat::Json => serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::BadRequest(format!("json: cannot decode request body: {e}")))?,
        BodyFormat::Yaml => yaml_to_json(body)?,
        BodyFormat::Protobuf => crate::protobuf::decode(body)?,
    };
    if !value.is_object() {
        return Err(ApiError::BadRequest(
            "the body of the request must be a JSON or YAML object".to_owned(),
        ));
    }
    Ok(value)
}

/// Parses YAML into JSON values.
///
/// # Errors
/// 400 when the YAML does not parse.
pub fn yaml_to_json(body: &[u8]) -> Result<Value, ApiError> {
    let yaml: serde_yaml::Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("error converting YAML to JSON: yaml: {e}")))?;
    serde_json::to_value(yaml)
        .map_err(|e| ApiError::BadRequest(format!("error converting YAML to JSON: {e}")))
}

/// The representation the client asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    /// The object or list as JSON.
    Json,
    /// The object or list as YAML.
    Yaml,
    /// A meta.k8s.io/v1 Table.
    Table,
    /// meta.k8s.io/v1 PartialObjectMetadata (a list: PartialObjectMetadataList).
    Metadata,
}

/// Chooses the representation from the Accept header.
pub fn representation(headers: &HeaderMap) -> Representation {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if crate::table::wants_table(accept) {
        return Representation::Table;
    }
    if crate::table::wants_metadata(accept) {
        return Representation::Metadata;
    }
    let first = accept.split(',').next().unwrap_or_default();
    if first.trim().starts_with("application/yaml") {
        Representation::Yaml
    } else {
        Representation::Json
    }
}

/// An object answer with a status code and optional `Warning` headers.
pub fn respond(
    code: StatusCode,
    body: &Value,
    repr: Representation,
    warnings: &[String],
) -> Response {
    match repr {
        Representation::Yaml => with_body(
            code,
            "application/yaml",
            serde_yaml::to_string(body).unwrap_or_default().into_bytes(),
            warnings,
        ),
        _ => respond_json(code, serde_json::to_vec(body).unwrap_or_default(), warnings),
    }
}

/// An answer of JSON already encoded, with a status code and optional `Warning` headers.
pub fn respond_json(code: StatusCode, json: Vec<u8>, warnings: &[String]) -> Response {
    with_body(code, "application/json", json, warnings)
}

fn with_body(
    code: StatusCode,
    content_type: &'static str,
    bytes: Vec<u8>,
    warnings: &[String],
) -> Response {
    let mut response = (code, [(header::CONTENT_TYPE, content_type)], bytes).into_response();
    for w in warnings {
        if let Ok(value) =
            http::HeaderValue::from_str(&format!("299 - \"{}\"", w.replace('"', "\\\"")))
        {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> Option<ResourcePath> {
        match parse_path(path) {
            Some(Target::Resource(r)) => Some(r),
            _ => None,
        }
    }

    #[test]
    fn namespaced_object_paths_parse_into_their_parts() {
        let r = res("/apis/apps/v1/namespaces/ns1/deployments/web/scale");
        assert_eq!(
            r,
            Some(ResourcePath {
                group: "apps".into(),
                version: "v1".into(),
                namespace: Some("ns1".into()),
                plural: "deployments".into(),
                name: Some("web".into()),
                subresource: Some("scale".into()),
                legacy_watch: false,
            })
        );
    }

    #[test]
    fn namespace_paths_name_the_namespace_object() {
        let r = res("/api/v1/namespaces/ns1");
        assert_eq!(
            r.as_ref()
                .map(|r| (r.plural.as_str(), r.name.as_deref(), r.namespace.clone())),
            Some(("namespaces", Some("ns1"), None))
        );
        let r = res("/api/v1/namespaces/ns1/status");
        assert_eq!(
            r.map(|r| (r.name, r.subresource)),
            Some((Some("ns1".into()), Some("status".into())))
        );
        let r = res("/api/v1/namespaces");
        assert_eq!(
            r.map(|r| (r.plural, r.name)),
            Some(("namespaces".into(), None))
        );
    }

    #[test]
    fn group_version_and_foreign_paths() {
        assert_eq!(
            parse_path("/apis/apps/v1"),
            Some(Target::GroupVersion {
                group: "apps".into(),
                version: "v1".into()
            })
        );
        assert_eq!(parse_path("/healthz"), None);
        assert_eq!(
            res("/api/v1/watch/namespaces/a/pods").map(|r| r.legacy_watch),
            Some(true)
        );
    }
}
