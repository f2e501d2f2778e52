//! Create-only resources that are answered, never stored: the reviews clients ask the server
//! about the caller (`kubectl auth whoami`, `kubectl auth can-i`).
//!
//! A review type is an ordinary [`Strategy`] (schema, defaulting, validation, OpenAPI) whose
//! [`Strategy::review`] hook returns the [`Review`] that computes the answer; the pipeline
//! serves only `create` for such types and never touches the store.
//!
//! Authorization is not enforced yet (RBAC comes later): every authenticated request is allowed,
//! so access reviews answer `allowed: true` for every authenticated user, saying why in `reason`.

use serde_json::{json, Value};

use super::typed::Typed;
use super::{Checked, NameRule, SchemaProblem, Strategy};
use crate::auth::User;
use crate::error::Cause;
use crate::table::Column;

/// Why every access review answers "allowed" until RBAC is enforced.
pub const ALLOW_REASON: &str =
    "RBAC is not enforced yet: every authenticated user may perform every action";

/// Computes the answer of one review request.
pub trait Review: Send + Sync {
    /// The answer to `request` (already checked, defaulted and validated) asked by `user`:
    /// the request with its `status` filled in.
    fn answer(&self, request: Value, user: &User) -> Value;
}

/// The strategy of a review kind `K`: `K`'s typed strategy plus the review that answers it.
pub struct ReviewStrategy<K> {
    typed: Typed<K>,
    review: Box<dyn Review>,
}

impl<K> ReviewStrategy<K> {
    /// The strategy of `K`, answered by `review`.
    pub fn new(typed: Typed<K>, review: impl Review + 'static) -> Self {
        Self {
            typed,
            review: Box::new(review),
        }
    }
}

impl<K> Strategy for ReviewStrategy<K>
where
    Typed<K>: Strategy,
    K: 'static,
{
    fn check_schema(&self, obj: &Value) -> Result<Checked, SchemaProblem> {
        self.typed.check_schema(obj)
    }

    fn tracks_generation(&self) -> bool {
        false
    }

    fn default(&self, obj: &mut Value) {
        self.typed.default(obj)
    }

    fn validate(&self, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
        self.typed.validate(obj, old)
    }

    fn name_rule(&self) -> NameRule {
        self.typed.name_rule()
    }

    fn columns(&self) -> &[Column] {
        self.typed.columns()
    }

    fn json_schema(&self, generator: &mut schemars::SchemaGenerator) -> Option<String> {
        self.typed.json_schema(generator)
    }

    fn review(&self) -> Option<&dyn Review> {
        Some(self.review.as_ref())
    }
}

/// `authentication.k8s.io/v1` SelfSubjectReview: who the caller is.
pub struct SelfSubjectReview;

impl Review for SelfSubjectReview {
    fn answer(&self, mut request: Value, user: &User) -> Value {
        let mut user_info = json!({"username": user.name, "groups": user.groups});
        if !user.uid.is_empty() {
            user_info["uid"] = json!(user.uid);
        }
        request["status"] = json!({ "userInfo": user_info });
        request
    }
}

/// `authorization.k8s.io/v1` SelfSubjectAccessReview: whether the caller may do one thing.
pub struct SelfSubjectAccessReview;

impl Review for SelfSubjectAccessReview {
    fn answer(&self, mut request: Value, _user: &User) -> Value {
        request["status"] = json!({"allowed": true, "reason": ALLOW_REASON});
        request
    }
}

/// Upstream's check that an access review asks about exactly one kind of action.
pub fn validate_access_review(obj: &Value, _old: Option<&Value>) -> Vec<Cause> {
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    let present = |field: &str| spec.get(field).is_some_and(|v| !v.is_null());
    match (
        present("resourceAttributes"),
        present("nonResourceAttributes"),
    ) {
        (true, false) | (false, true) => Vec::new(),
        (true, true) => vec![Cause::invalid(
            "spec.nonResourceAttributes",
            spec.get("nonResourceAttributes").unwrap_or(&Value::Null),
            "cannot be specified in combination with resourceAttributes",
        )],
        (false, false) => vec![Cause::invalid(
            "spec.resourceAttributes",
            &Value::Null,
            "exactly one of nonResourceAttributes or resourceAttributes must be specified",
        )],
    }
}

/// `authorization.k8s.io/v1` SelfSubjectRulesReview: everything the caller may do in a
/// namespace (`kubectl auth can-i --list`).
pub struct SelfSubjectRulesReview;

impl Review for SelfSubjectRulesReview {
    fn answer(&self, mut request: Value, _user: &User) -> Value {
        request["status"] = json!({
            "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
            "incomplete": false,
            "evaluationError": ALLOW_REASON,
        });
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin() -> User {
        User {
            name: "system:admin".to_owned(),
            uid: String::new(),
            groups: vec![
                "system:masters".to_owned(),
                "system:authenticated".to_owned(),
            ],
        }
    }

    #[test]
    fn self_subject_review_reports_the_callers_name_and_groups() {
        let answer = SelfSubjectReview.answer(
            json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}),
            &admin(),
        );
        assert_eq!(
            answer["status"]["userInfo"],
            json!({"username": "system:admin", "groups": ["system:masters", "system:authenticated"]})
        );
    }

    #[test]
    fn access_reviews_are_allowed_while_rbac_is_not_enforced() {
        let answer = SelfSubjectAccessReview.answer(
            json!({"spec": {"resourceAttributes": {"verb": "create", "resource": "pods"}}}),
            &admin(),
        );
        assert_eq!(answer["status"]["allowed"], json!(true));
        assert_eq!(answer["status"]["reason"], json!(ALLOW_REASON));
    }

    #[test]
    fn access_review_needs_exactly_one_kind_of_attributes() {
        let one = json!({"spec": {"resourceAttributes": {"verb": "get"}}});
        assert!(validate_access_review(&one, None).is_empty());
        let none = json!({"spec": {}});
        assert_eq!(validate_access_review(&none, None).len(), 1);
        let both = json!({"spec": {"resourceAttributes": {}, "nonResourceAttributes": {}}});
        assert_eq!(validate_access_review(&both, None).len(), 1);
    }
}
