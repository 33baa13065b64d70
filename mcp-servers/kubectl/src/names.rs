//! Object names are checked before any request is built. kube-rs puts a namespace, a name or
//! a node into the request path as given, so `billing/secrets/db?x=` as a namespace would
//! address a Secret while every check above saw a ConfigMap call. A name either is one
//! Kubernetes could have given an object, or the call is refused, naming the argument.

use serde_json::{Map, Value};

/// Arguments holding a namespace: a DNS-1123 label.
const NAMESPACE_ARGS: [&str; 3] = ["namespace", "source_namespace", "destination_namespace"];

/// Arguments holding an object's name (pods, workloads, nodes, containers, services).
const NAME_ARGS: [&str; 7] = [
    "name",
    "node",
    "container",
    "source_pod",
    "destination_pod",
    "destination_service",
    "pod",
];

/// A DNS-1123 label: lowercase letters, digits and `-`, starting and ending alphanumeric,
/// at most 63 characters.
fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// An object name as the API server accepts it in a path: at most 253 characters of letters,
/// digits, `-`, `.`, `_` and `:` (RBAC names such as `system:node`), never `.` or `..`.
fn is_object_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b':'))
}

/// Why the call's arguments name something no object could be called, if they do.
pub fn invalid(args: Option<&Map<String, Value>>) -> Option<String> {
    let args = args?;
    for (key, value) in args {
        let Some(text) = value.as_str().filter(|t| !t.is_empty()) else {
            continue;
        };
        if NAMESPACE_ARGS.contains(&key.as_str()) && !is_label(text) {
            return Some(format!(
                "{key} {text:?} is not a namespace name: namespaces are lowercase letters, digits and '-' (at most 63), e.g. \"payment\""
            ));
        }
        if NAME_ARGS.contains(&key.as_str()) && !is_object_name(text) {
            return Some(format!(
                "{key} {text:?} is not an object name: names are letters, digits, '-', '.', '_' or ':' (no '/', '?', '#', spaces), e.g. \"payment-service-7d8f9c6b5-x2k9p\""
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(v: Value) -> Option<String> {
        invalid(v.as_object())
    }

    #[test]
    fn path_smuggling_is_refused() {
        for bad in [
            json!({"namespace": "billing/secrets/ledger-db-credentials?x="}),
            json!({"namespace": "billing#"}),
            json!({"namespace": "Billing"}),
            json!({"namespace": "-x"}),
            json!({"name": "../../secrets/db"}),
            json!({"name": "db?watch=1"}),
            json!({"name": ".."}),
            json!({"name": "a b"}),
            json!({"node": "ip-10-0-1-45/proxy"}),
            json!({"container": "app%2F..%2F"}),
            json!({"source_pod": "x/y"}),
        ] {
            assert!(check(bad.clone()).is_some(), "{bad}");
        }
    }

    #[test]
    fn real_names_pass() {
        for good in [
            json!({"namespace": "kube-system", "name": "coredns-5d78c9869d-abcde"}),
            json!({"name": "system:node", "namespace": ""}),
            json!({"node": "ip-10-0-1-45.ec2.internal"}),
            json!({"name": "payment_service.v2"}),
            json!({"namespace": "payment", "label_selector": "app in (a,b)/x"}),
            json!({"replicas": 3}),
        ] {
            assert_eq!(check(good.clone()), None, "{good}");
        }
        assert_eq!(invalid(None), None);
    }
}
