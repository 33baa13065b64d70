//! What a request asks to do, as the API server's RequestInfo reads it from the URL: a verb on
//! a resource (group, resource, subresource, namespace, name) or on a non-resource path.

use axum::http::{Method, Uri};
use serde_json::{Map, Value, json};

use super::Identity;
use crate::k8s::status::{ApiStatus, Reason};

/// A request's authorization attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`
    /// for resources; the lower-case HTTP method for paths.
    pub verb: String,
    pub target: Target,
}

/// What the verb applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Resource {
        group: String,
        resource: String,
        /// Empty when none.
        subresource: String,
        /// Empty for cluster-scoped requests (and lists across all namespaces).
        namespace: String,
        /// Empty for collections.
        name: String,
    },
    /// A non-resource URL (`/api`, `/apis/apps`, `/version`, `/openapi/v3`).
    Path(String),
}

impl Attributes {
    /// Reads the attributes from the method and URL, the way the API server does:
    /// `/api/v1/...` and `/apis/GROUP/VERSION/...` with a resource are resource requests,
    /// `namespaces/NS/...` sets the namespace (`/api/v1/namespaces/NS` is in NS itself),
    /// a GET without a name is a list (a watch with `watch=true`), a DELETE without one a
    /// deletecollection. Everything else is a path.
    pub fn of(method: &Method, uri: &Uri) -> Self {
        let path = uri.path();
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (group, rest) = match segments.as_slice() {
            ["api", _version, rest @ ..] if !rest.is_empty() => ("", rest),
            ["apis", group, _version, rest @ ..] if !rest.is_empty() => (*group, rest),
            _ => {
                return Attributes {
                    verb: method.as_str().to_ascii_lowercase(),
                    target: Target::Path(path.to_owned()),
                };
            }
        };
        let (namespace, rest) = match rest {
            ["namespaces", ns, tail @ ..]
                if !tail.is_empty() && !matches!(tail.first(), Some(&("status" | "finalize"))) =>
            {
                ((*ns).to_owned(), tail)
            }
            ["namespaces", ns, ..] => ((*ns).to_owned(), rest),
            _ => (String::new(), rest),
        };
        let part = |i: usize| rest.get(i).map_or(String::new(), |s| (*s).to_owned());
        let (resource, name, subresource) = (part(0), part(1), part(2));
        let watch = uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .any(|(k, v)| k == "watch" && matches!(v.as_ref(), "true" | "1"))
            })
            .unwrap_or(false);
        let verb = match *method {
            Method::GET | Method::HEAD if name.is_empty() && watch => "watch",
            Method::GET | Method::HEAD if name.is_empty() => "list",
            Method::GET | Method::HEAD => "get",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH => "patch",
            Method::DELETE if name.is_empty() => "deletecollection",
            Method::DELETE => "delete",
            _ => "",
        };
        let verb = if verb.is_empty() {
            method.as_str().to_ascii_lowercase()
        } else {
            verb.to_owned()
        };
        Attributes {
            verb,
            target: Target::Resource {
                group: group.to_owned(),
                resource,
                subresource,
                namespace,
                name,
            },
        }
    }

    /// The real API server's 403: `pods "x" is forbidden: User "U" cannot get resource
    /// "pods/log" in API group "" in the namespace "payment"`, plus `: REASON` when the
    /// authorizer gave one (a binding to a missing role).
    pub fn forbidden(&self, identity: &Identity, reason: Option<&str>) -> ApiStatus {
        let user = identity.user();
        let (message, details) = match &self.target {
            Target::Path(path) => (
                format!(
                    "forbidden: User {user:?} cannot {} path {path:?}",
                    self.verb
                ),
                None,
            ),
            Target::Resource {
                group,
                resource,
                subresource,
                namespace,
                name,
            } => {
                let combined = if subresource.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}/{subresource}")
                };
                let scope = if namespace.is_empty() {
                    "at the cluster scope".to_owned()
                } else {
                    format!("in the namespace {namespace:?}")
                };
                let why = format!(
                    "User {user:?} cannot {} resource {combined:?} in API group {group:?} {scope}",
                    self.verb
                );
                let qualified = if group.is_empty() {
                    resource.clone()
                } else {
                    format!("{resource}.{group}")
                };
                let subject = if name.is_empty() {
                    qualified
                } else {
                    format!("{qualified} {name:?}")
                };
                let mut details = Map::new();
                if !name.is_empty() {
                    details.insert("name".into(), json!(name));
                }
                if !group.is_empty() {
                    details.insert("group".into(), json!(group));
                }
                details.insert("kind".into(), json!(resource));
                (
                    format!("{subject} is forbidden: {why}"),
                    Some(Value::Object(details)),
                )
            }
        };
        let message = match reason.filter(|r| !r.is_empty()) {
            Some(r) => format!("{message}: {r}"),
            None => message,
        };
        ApiStatus {
            reason: Reason::Forbidden,
            message,
            details,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(method: Method, uri: &str) -> Attributes {
        Attributes::of(&method, &uri.parse::<Uri>().unwrap_or_default())
    }

    fn resource(a: &Attributes) -> (&str, &str, &str, &str, &str, &str) {
        match &a.target {
            Target::Resource {
                group,
                resource,
                subresource,
                namespace,
                name,
            } => (&a.verb, group, resource, subresource, namespace, name),
            Target::Path(p) => panic!("a path: {p}"),
        }
    }

    #[test]
    fn reads_requests_as_the_api_server_does() {
        let a = attrs(
            Method::GET,
            "/api/v1/namespaces/payment/pods/x/log?tailLines=5",
        );
        assert_eq!(resource(&a), ("get", "", "pods", "log", "payment", "x"));
        let a = attrs(Method::GET, "/api/v1/pods?watch=true");
        assert_eq!(resource(&a), ("watch", "", "pods", "", "", ""));
        let a = attrs(Method::GET, "/apis/apps/v1/namespaces/p/deployments");
        assert_eq!(resource(&a), ("list", "apps", "deployments", "", "p", ""));
        let a = attrs(
            Method::PATCH,
            "/apis/apps/v1/namespaces/p/deployments/d/scale",
        );
        assert_eq!(
            resource(&a),
            ("patch", "apps", "deployments", "scale", "p", "d")
        );
        let a = attrs(Method::POST, "/api/v1/namespaces/p/pods/x/eviction");
        assert_eq!(resource(&a), ("create", "", "pods", "eviction", "p", "x"));
        let a = attrs(Method::GET, "/api/v1/namespaces/payment");
        assert_eq!(
            resource(&a),
            ("get", "", "namespaces", "", "payment", "payment")
        );
        let a = attrs(Method::PUT, "/api/v1/namespaces/payment/status");
        assert_eq!(
            resource(&a),
            ("update", "", "namespaces", "status", "payment", "payment")
        );
        let a = attrs(Method::DELETE, "/api/v1/namespaces/p/pods");
        assert_eq!(resource(&a), ("deletecollection", "", "pods", "", "p", ""));
        for path in [
            "/api",
            "/api/v1",
            "/apis",
            "/apis/apps/v1",
            "/version",
            "/openapi/v3",
        ] {
            assert_eq!(attrs(Method::GET, path).target, Target::Path(path.into()));
        }
    }

    #[test]
    fn forbidden_is_worded_like_the_api_server() {
        let sa = Identity::ServiceAccount {
            namespace: "sopilot".into(),
            name: "sopilot".into(),
        };
        let s = attrs(Method::GET, "/api/v1/namespaces/payment/pods/x/log").forbidden(&sa, None);
        assert_eq!(
            s.to_value(),
            json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
                   "message":"pods \"x\" is forbidden: User \"system:serviceaccount:sopilot:sopilot\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"payment\"",
                   "reason":"Forbidden","details":{"name":"x","kind":"pods"},"code":403})
        );
        let s = attrs(Method::GET, "/apis/apps/v1/deployments").forbidden(
            &sa,
            Some("RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found"),
        );
        assert_eq!(
            s.message,
            "deployments.apps is forbidden: User \"system:serviceaccount:sopilot:sopilot\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope: RBAC: clusterrole.rbac.authorization.k8s.io \"gone\" not found"
        );
        let s = attrs(Method::GET, "/metrics").forbidden(&sa, None);
        assert_eq!(
            s.message,
            "forbidden: User \"system:serviceaccount:sopilot:sopilot\" cannot get path \"/metrics\""
        );
    }
}
