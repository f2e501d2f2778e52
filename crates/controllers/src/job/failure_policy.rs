//! Matching a failed pod against a Job's `podFailurePolicy` rules, in order; the first rule
//! that matches decides.

use k8s_openapi::api::batch::v1::{PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// What the policy says about one failed pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No rule matched (or there is no policy): the failure counts towards `backoffLimit`.
    Count,
    /// An `Ignore` rule matched: the failure does not count.
    Ignore,
    /// A `FailJob` rule matched: the Job fails with this message.
    FailJob(String),
}

impl Verdict {
    /// Whether the failure counts towards the backoff limit.
    pub fn counts(&self) -> bool {
        !matches!(self, Self::Ignore)
    }
}

/// The verdict of `policy` on the failed `pod`.
pub fn judge(policy: Option<&PodFailurePolicy>, pod: &Pod) -> Verdict {
    let Some(policy) = policy else {
        return Verdict::Count;
    };
    let namespace = pod.metadata.namespace.as_deref().unwrap_or_default();
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    for (index, rule) in policy.rules.iter().enumerate() {
        let matched = if let Some(req) = &rule.on_exit_codes {
            let container = matching_container(status.container_statuses.as_deref(), req)
                .or_else(|| matching_container(status.init_container_statuses.as_deref(), req));
            container.map(|c| {
                format!(
                    "Container {} for pod {namespace}/{name} failed with exit code {} matching {} rule at index {index}",
                    c.name,
                    exit_code(c).unwrap_or_default(),
                    rule.action
                )
            })
        } else if let Some(patterns) = &rule.on_pod_conditions {
            status.conditions.iter().flatten().find_map(|c| {
                patterns
                    .iter()
                    .any(|p| p.type_ == c.type_ && p.status == c.status)
                    .then(|| {
                        format!(
                            "Pod {namespace}/{name} has condition {} matching {} rule at index {index}",
                            c.type_, rule.action
                        )
                    })
            })
        } else {
            None
        };
        let Some(message) = matched else { continue };
        match rule.action.as_str() {
            "Ignore" => return Verdict::Ignore,
            "FailJob" => return Verdict::FailJob(message),
            "Count" => return Verdict::Count,
            // FailIndex needs backoffLimitPerIndex, which this controller does not implement:
            // the rule is passed over.
            _ => {}
        }
    }
    Verdict::Count
}

fn exit_code(status: &ContainerStatus) -> Option<i32> {
    Some(status.state.as_ref()?.terminated.as_ref()?.exit_code)
}

/// The first container that terminated with a non-zero exit code the requirement matches.
fn matching_container<'a>(
    statuses: Option<&'a [ContainerStatus]>,
    req: &PodFailurePolicyOnExitCodesRequirement,
) -> Option<&'a ContainerStatus> {
    statuses?.iter().find(|c| {
        let named = req.container_name.as_ref().is_none_or(|n| *n == c.name);
        let code = exit_code(c).filter(|code| *code != 0);
        named
            && code.is_some_and(|code| match req.operator.as_str() {
                "In" => req.values.contains(&code),
                "NotIn" => !req.values.contains(&code),
                _ => false,
            })
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::{
        PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
    };
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateTerminated, PodCondition, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn failed_pod(exit_codes: &[(&str, i32)], conditions: &[&str]) -> Pod {
        let statuses = exit_codes
            .iter()
            .map(|(name, code)| ContainerStatus {
                name: (*name).to_owned(),
                state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: *code,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect();
        Pod {
            metadata: ObjectMeta {
                name: Some("pi-x".to_owned()),
                namespace: Some("ns".to_owned()),
                ..Default::default()
            },
            status: Some(PodStatus {
                phase: Some("Failed".to_owned()),
                container_statuses: Some(statuses),
                conditions: Some(
                    conditions
                        .iter()
                        .map(|t| PodCondition {
                            type_: (*t).to_owned(),
                            status: "True".to_owned(),
                            ..Default::default()
                        })
                        .collect(),
                ),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn exit_rule(
        action: &str,
        container: Option<&str>,
        op: &str,
        values: &[i32],
    ) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.to_owned(),
            on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                container_name: container.map(str::to_owned),
                operator: op.to_owned(),
                values: values.to_vec(),
            }),
            on_pod_conditions: None,
        }
    }

    fn condition_rule(action: &str, type_: &str) -> PodFailurePolicyRule {
        PodFailurePolicyRule {
            action: action.to_owned(),
            on_exit_codes: None,
            on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                type_: type_.to_owned(),
                status: "True".to_owned(),
            }]),
        }
    }

    fn policy(rules: Vec<PodFailurePolicyRule>) -> PodFailurePolicy {
        PodFailurePolicy { rules }
    }

    #[test]
    fn without_a_policy_every_failure_counts() {
        assert_eq!(
            judge(None, &failed_pod(&[("main", 1)], &[])),
            Verdict::Count
        );
    }

    #[test]
    fn rules_match_exit_codes_in_order() {
        let p = policy(vec![
            exit_rule("FailJob", Some("main"), "In", &[42]),
            exit_rule("Ignore", None, "NotIn", &[1]),
        ]);
        let cases = [
            (vec![("main", 42)], Verdict::FailJob(
                "Container main for pod ns/pi-x failed with exit code 42 matching FailJob rule at index 0".to_owned(),
            )),
            (vec![("side", 42)], Verdict::Ignore),
            (vec![("main", 1)], Verdict::Count),
            (vec![("main", 0)], Verdict::Count),
        ];
        for (codes, want) in cases {
            assert_eq!(judge(Some(&p), &failed_pod(&codes, &[])), want, "{codes:?}");
        }
    }

    #[test]
    fn zero_exit_codes_never_match() {
        let p = policy(vec![exit_rule("Ignore", None, "NotIn", &[5])]);
        assert_eq!(
            judge(Some(&p), &failed_pod(&[("main", 0)], &[])),
            Verdict::Count
        );
    }

    #[test]
    fn pod_condition_rules_match_type_and_status() {
        let p = policy(vec![condition_rule("Ignore", "DisruptionTarget")]);
        assert_eq!(
            judge(Some(&p), &failed_pod(&[], &["DisruptionTarget"])),
            Verdict::Ignore
        );
        assert_eq!(
            judge(Some(&p), &failed_pod(&[], &["Ready"])),
            Verdict::Count
        );
        let fail = policy(vec![condition_rule("FailJob", "DisruptionTarget")]);
        assert_eq!(
            judge(Some(&fail), &failed_pod(&[], &["DisruptionTarget"])),
            Verdict::FailJob(
                "Pod ns/pi-x has condition DisruptionTarget matching FailJob rule at index 0"
                    .to_owned()
            )
        );
    }

    #[test]
    fn a_matching_count_rule_stops_later_rules() {
        let p = policy(vec![
            exit_rule("Count", None, "In", &[3]),
            exit_rule("FailJob", None, "In", &[3]),
        ]);
        assert_eq!(
            judge(Some(&p), &failed_pod(&[("main", 3)], &[])),
            Verdict::Count
        );
    }
}
