//! The RBAC authorizer: a ServiceAccount may do what a rule of a role bound to it allows —
//! ClusterRoles through ClusterRoleBindings anywhere, Roles or ClusterRoles through
//! RoleBindings in their namespace — plus what every authenticated user may (discovery,
//! version, health, and asking about its own access), as the default `system:discovery`,
//! `system:public-info-viewer` and `system:basic-user` roles grant.

use serde_json::{Value, json};

use super::Identity;
use super::attributes::{Attributes, Target};
use crate::k8s::store::Store;

/// The authorizer's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Why it was allowed (which binding), or what went wrong evaluating (a binding to a
    /// role that does not exist), worded as the API server words it.
    pub reason: Option<String>,
}

/// One role bound to the identity, and how (for the allow reason).
struct Grant {
    rules: Vec<Value>,
    source: String,
}

/// What every authenticated user may do, as ClusterRole rules.
fn default_grants() -> Vec<Grant> {
    vec![
        Grant {
            rules: vec![json!({"verbs": ["get"], "nonResourceURLs": [
                "/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*",
                "/version", "/version/", "/healthz", "/livez", "/readyz"]})],
            source: "ClusterRoleBinding \"system:discovery\" of ClusterRole \"system:discovery\" to Group \"system:authenticated\"".into(),
        },
        Grant {
            rules: vec![
                json!({"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                       "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]}),
                json!({"verbs": ["create"], "apiGroups": ["authentication.k8s.io"],
                       "resources": ["selfsubjectreviews"]}),
            ],
            source: "ClusterRoleBinding \"system:basic-user\" of ClusterRole \"system:basic-user\" to Group \"system:authenticated\"".into(),
        },
    ]
}

/// Whether `subject` of a binding in `binding_ns` (empty for a ClusterRoleBinding) names
/// the identity, and how the API server describes it.
fn applies(subject: &Value, binding_ns: &str, identity: &Identity) -> Option<String> {
    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
    match kind {
        "ServiceAccount" => {
            let ns = subject
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .unwrap_or(binding_ns);
            let user = format!("system:serviceaccount:{ns}:{name}");
            (user == identity.user()).then(|| format!("ServiceAccount \"{name}/{ns}\""))
        }
        "User" => (name == identity.user()).then(|| format!("User {name:?}")),
        "Group" => identity
            .groups()
            .iter()
            .any(|g| g == name)
            .then(|| format!("Group {name:?}")),
        _ => None,
    }
}

/// The role a binding refers to: its rules, or the API server's not-found message.
fn role_rules(store: &Store, role_ref: &Value, binding_ns: &str) -> Result<Vec<Value>, String> {
    let kind = role_ref.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = role_ref.get("name").and_then(Value::as_str).unwrap_or("");
    let found = match kind {
        "ClusterRole" => store.get("clusterroles", "", name),
        "Role" if !binding_ns.is_empty() => store.get("roles", binding_ns, name),
        _ => None,
    };
    match found {
        Some(role) => Ok(role
            .get("rules")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()),
        None => Err(format!(
            "{}.rbac.authorization.k8s.io {name:?} not found",
            kind.to_ascii_lowercase()
        )),
    }
}

/// The roles bound to the identity that apply in `namespace` (cluster-wide bindings
/// always; RoleBindings of that namespace when there is one), and the errors met.
fn grants(store: &Store, identity: &Identity, namespace: &str) -> (Vec<Grant>, Vec<String>) {
    let (mut out, mut errors) = (default_grants(), Vec::new());
    let cluster = store.list("clusterrolebindings", None).map(|b| (b, ""));
    let local = (!namespace.is_empty())
        .then(|| {
            store
                .list("rolebindings", Some(namespace))
                .map(move |b| (b, namespace))
        })
        .into_iter()
        .flatten();
    for (binding, ns) in cluster.chain(local) {
        let subjects = binding.get("subjects").and_then(Value::as_array);
        let Some(who) = subjects
            .into_iter()
            .flatten()
            .find_map(|s| applies(s, ns, identity))
        else {
            continue;
        };
        let role_ref = binding.get("roleRef").cloned().unwrap_or(Value::Null);
        match role_rules(store, &role_ref, ns) {
            Ok(rules) => {
                let name = crate::k8s::obj::name(binding);
                let what = if ns.is_empty() {
                    format!("ClusterRoleBinding {name:?}")
                } else {
                    format!("RoleBinding \"{name}/{ns}\"")
                };
                let role = format!(
                    "{} {:?}",
                    role_ref.get("kind").and_then(Value::as_str).unwrap_or(""),
                    role_ref.get("name").and_then(Value::as_str).unwrap_or("")
                );
                out.push(Grant {
                    rules,
                    source: format!("{what} of {role} to {who}"),
                });
            }
            Err(e) => errors.push(e),
        }
    }
    (out, errors)
}

fn strings<'a>(rule: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    rule.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Whether one rule allows the request (RBAC's `RuleAllows`).
pub fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !strings(rule, "verbs").any(|v| v == "*" || v == a.verb) {
        return false;
    }
    match &a.target {
        Target::Path(path) => strings(rule, "nonResourceURLs").any(|u| {
            u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
        }),
        Target::Resource {
            group,
            resource,
            subresource,
            name,
            ..
        } => {
            let combined = if subresource.is_empty() {
                resource.clone()
            } else {
                format!("{resource}/{subresource}")
            };
            let names: Vec<&str> = strings(rule, "resourceNames").collect();
            strings(rule, "apiGroups").any(|g| g == "*" || g == group)
                && strings(rule, "resources").any(|r| {
                    r == "*"
                        || r == combined
                        || (!subresource.is_empty()
                            && r.strip_prefix("*/") == Some(subresource.as_str()))
                })
                && (names.is_empty() || names.contains(&name.as_str()))
        }
    }
}

/// Decides a ServiceAccount's request. Non-resource paths are granted only by
/// cluster-wide roles, as in the real authorizer.
pub fn decide(store: &Store, identity: &Identity, a: &Attributes) -> Decision {
    if *identity == Identity::Admin {
        return Decision {
            allowed: true,
            reason: None,
        };
    }
    let namespace = match &a.target {
        Target::Resource { namespace, .. } => namespace.as_str(),
        Target::Path(_) => "",
    };
    let (grants, errors) = grants(store, identity, namespace);
    if let Some(g) = grants
        .iter()
        .find(|g| g.rules.iter().any(|r| rule_allows(r, a)))
    {
        return Decision {
            allowed: true,
            reason: Some(format!("RBAC: allowed by {}", g.source)),
        };
    }
    let reason = match errors.as_slice() {
        [] => None,
        [one] => Some(format!("RBAC: {one}")),
        many => Some(format!("RBAC: [{}]", many.join(", "))),
    };
    Decision {
        allowed: false,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Method, Uri};

    fn attrs(method: Method, uri: &str) -> Attributes {
        Attributes::of(&method, &uri.parse::<Uri>().unwrap_or_default())
    }

    #[test]
    fn rules_match_like_rbac() {
        let rule =
            json!({"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]});
        assert!(rule_allows(
            &rule,
            &attrs(Method::GET, "/api/v1/namespaces/a/pods/x/log")
        ));
        assert!(rule_allows(&rule, &attrs(Method::GET, "/api/v1/pods")));
        assert!(!rule_allows(
            &rule,
            &attrs(Method::GET, "/api/v1/pods?watch=1")
        ));
        assert!(!rule_allows(
            &rule,
            &attrs(Method::DELETE, "/api/v1/namespaces/a/pods/x")
        ));
        assert!(!rule_allows(
            &rule,
            &attrs(Method::POST, "/api/v1/namespaces/a/pods/x/eviction")
        ));
        assert!(!rule_allows(
            &rule,
            &attrs(Method::GET, "/apis/apps/v1/deployments")
        ));
        let any_status = json!({"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["*"]});
        assert!(rule_allows(
            &any_status,
            &attrs(
                Method::PUT,
                "/apis/apps/v1/namespaces/a/deployments/d/status"
            )
        ));
        assert!(!rule_allows(
            &any_status,
            &attrs(Method::PUT, "/apis/apps/v1/namespaces/a/deployments/d")
        ));
        let named = json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"], "resourceNames": ["app"]});
        assert!(rule_allows(
            &named,
            &attrs(Method::GET, "/api/v1/namespaces/a/configmaps/app")
        ));
        assert!(!rule_allows(
            &named,
            &attrs(Method::GET, "/api/v1/namespaces/a/configmaps/other")
        ));
        assert!(!rule_allows(
            &named,
            &attrs(Method::GET, "/api/v1/namespaces/a/configmaps")
        ));
        let urls = json!({"verbs": ["get"], "nonResourceURLs": ["/apis/*", "/version"]});
        assert!(rule_allows(&urls, &attrs(Method::GET, "/apis/apps/v1")));
        assert!(rule_allows(&urls, &attrs(Method::GET, "/version")));
        assert!(!rule_allows(&urls, &attrs(Method::GET, "/metrics")));
        assert!(!rule_allows(&urls, &attrs(Method::GET, "/api/v1/pods")));
    }
}
