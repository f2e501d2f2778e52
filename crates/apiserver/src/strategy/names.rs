//! Object name rules: RFC 1123 subdomains and labels, RFC 1035 labels.

use serde_json::Value;

use crate::error::Cause;

/// How an object's name must look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain: lower-case alphanumerics, `-` and `.`, at most 253 characters.
    Subdomain,
    /// RFC 1123 label: lower-case alphanumerics and `-`, at most 63 characters.
    Label,
    /// RFC 1035 label: an RFC 1123 label that starts with a letter (Services).
    Label1035,
    /// Any name that is a valid path segment (RBAC roles, for instance).
    PathSegment,
}

impl NameRule {
    /// The causes, if any, that make `name` invalid for this rule (field `metadata.name`).
    pub fn check(self, name: &str) -> Vec<Cause> {
        let value = Value::String(name.to_owned());
        let problem = match self {
            NameRule::Subdomain => check_subdomain(name),
            NameRule::Label => check_label(name),
            NameRule::Label1035 => check_label_1035(name),
            NameRule::PathSegment => check_path_segment(name),
        };
        problem
            .map(|detail| vec![Cause::invalid("metadata.name", &value, &detail)])
            .unwrap_or_default()
    }
}

/// Whether `s` is an RFC 1123 label.
pub fn is_dns_label(s: &str) -> bool {
    is_label(s)
}

fn is_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

fn check_subdomain(name: &str) -> Option<String> {
    if name.len() <= 253 && name.split('.').all(is_label) {
        return None;
    }
    Some(if name.len() > 253 {
        "must be no more than 253 characters".to_owned()
    } else {
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_owned()
    })
}

fn check_label(name: &str) -> Option<String> {
    if is_label(name) {
        return None;
    }
    Some(if name.len() > 63 {
        "must be no more than 63 characters".to_owned()
    } else {
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')".to_owned()
    })
}

fn check_label_1035(name: &str) -> Option<String> {
    if is_label(name) && name.as_bytes()[0].is_ascii_lowercase() {
        return None;
    }
    Some(if name.len() > 63 {
        "must be no more than 63 characters".to_owned()
    } else {
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".to_owned()
    })
}

fn check_path_segment(name: &str) -> Option<String> {
    if name == "." || name == ".." {
        return Some(format!("may not be '{name}'"));
    }
    ["/", "%"]
        .iter()
        .find(|bad| name.contains(*bad))
        .map(|bad| format!("may not contain '{bad}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains_accept_dots_and_reject_capitals() {
        assert!(NameRule::Subdomain.check("web.example-1").is_empty());
        assert_eq!(NameRule::Subdomain.check("Web").len(), 1);
        assert_eq!(NameRule::Subdomain.check("-web").len(), 1);
    }

    #[test]
    fn labels_reject_dots_and_1035_labels_reject_leading_digits() {
        assert_eq!(NameRule::Label.check("a.b").len(), 1);
        assert!(NameRule::Label.check("1abc").is_empty());
        assert_eq!(NameRule::Label1035.check("1abc").len(), 1);
    }
}
