//! Create-only kinds that are answered, never stored (see [`crate::strategy::review`]): the
//! body goes through the same decoding, schema check and validation as any create, then the
//! kind's [`Review`] computes the answer from the caller's identity.

use axum::response::Response;
use bytes::Bytes;
use http::{Method, StatusCode};

use super::lifecycle;
use super::read::object_response;
use super::request::{body_format, decode_body};
use super::Ctx;
use crate::auth::User;
use crate::error::ApiError;
use crate::strategy::Review;

/// Serves a request to a review kind: only POST of the collection is allowed.
///
/// # Errors
/// 405 for any other verb, 401 without a caller, 400/422 for a malformed or invalid review.
pub(crate) async fn serve(
    ctx: &Ctx<'_>,
    review: &dyn Review,
    method: &Method,
    body: &Bytes,
    user: Option<&User>,
) -> Result<Response, ApiError> {
    if ctx.path.subresource.is_some() {
        return Err(ApiError::NoRoute);
    }
    if *method != Method::POST || ctx.path.name.is_some() {
        return Err(ApiError::MethodNotAllowed);
    }
    let user = user.ok_or(ApiError::Unauthorized)?;
    let mut obj = decode_body(body_format(&ctx.headers)?, body)?;
    let warnings = lifecycle::check_shape(ctx, &mut obj)?;
    ctx.rt.strategy.default(&mut obj);
    let causes = ctx.rt.strategy.validate(&obj, None);
    if !causes.is_empty() {
        return Err(ApiError::Invalid {
            kind: ctx.rt.kind.clone(),
            group: ctx.rt.group.clone(),
            name: String::new(),
            causes,
        });
    }
    let answer = review.answer(obj, user);
    Ok(object_response(
        ctx,
        StatusCode::CREATED,
        &answer,
        &warnings,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::test_server::{send, server};

    const SSR: &str = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    const SSAR: &str = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

    #[tokio::test]
    async fn self_subject_review_answers_with_the_callers_identity() {
        let server = server().await;
        let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}});
        let (status, body) = send(&server, Method::POST, SSR, review).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["kind"], json!("SelfSubjectReview"));
        assert_eq!(
            body["status"]["userInfo"],
            json!({"username": "system:admin", "groups": ["system:masters", "system:authenticated"]})
        );
    }

    #[tokio::test]
    async fn access_review_is_allowed_and_malformed_ones_are_invalid() {
        let server = server().await;
        let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"namespace": "default", "verb": "create", "resource": "pods"}}});
        let (status, body) = send(&server, Method::POST, SSAR, review).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["status"]["allowed"], json!(true));
        let empty = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}});
        let (status, _) = send(&server, Method::POST, SSAR, empty).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[tokio::test]
    async fn reviews_are_create_only_and_never_stored() {
        let server = server().await;
        let (status, _) = send(&server, Method::GET, SSR, Value::Null).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (status, _) = send(&server, Method::GET, &format!("{SSR}/x"), Value::Null).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (_, discovery) = send(
            &server,
            Method::GET,
            "/apis/authentication.k8s.io/v1",
            Value::Null,
        )
        .await;
        assert_eq!(discovery["resources"][0]["verbs"], json!(["create"]));
    }
}
