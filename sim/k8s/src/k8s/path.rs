//! Parsing API paths: `/api/v1/namespaces/NS/pods/NAME/log` and friends.

use super::resources::{self, ResourceType};

/// What an API path addresses.
#[derive(Debug, Clone)]
pub enum ApiPath {
    /// `/api/v1` or `/apis/GROUP/VERSION`: the resource list.
    GroupVersion { group: String, version: String },
    /// `/apis/GROUP`.
    Group(String),
    /// A resource collection, object or subresource.
    Resource(Target),
}

/// A resource collection (`name` is `None`), object, or object subresource.
#[derive(Debug, Clone)]
pub struct Target {
    pub rt: &'static ResourceType,
    /// `None` for cluster-scoped types and all-namespace lists.
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
}

impl Target {
    pub fn namespace(&self) -> &str {
        self.namespace.as_deref().unwrap_or("")
    }
}

/// Parses a path; `None` when nothing is served there (a 404).
pub fn parse(path: &str) -> Option<ApiPath> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group] => return Some(ApiPath::Group((*group).to_owned())),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    if rest.is_empty() {
        return Some(ApiPath::GroupVersion {
            group: group.to_owned(),
            version: version.to_owned(),
        });
    }
    if rest.iter().any(|s| s.is_empty()) {
        return None;
    }
    // `namespaces/NS/RESOURCE/...` unless RESOURCE is not a type here, in which case it
    // is a subresource of the namespace object itself (`namespaces/NS/status`).
    if let ["namespaces", ns, resource, tail @ ..] = rest
        && let Some(rt) = resources::find(group, version, resource)
    {
        if !rt.namespaced || tail.len() > 2 {
            return None;
        }
        return Some(ApiPath::Resource(Target {
            rt,
            namespace: Some((*ns).to_owned()),
            name: tail.first().map(|s| (*s).to_owned()),
            sub: tail.get(1).map(|s| (*s).to_owned()),
        }));
    }
    let [resource, tail @ ..] = rest else {
        return None;
    };
    let rt = resources::find(group, version, resource)?;
    if tail.len() > 2 || (rt.namespaced && !tail.is_empty()) {
        return None;
    }
    Some(ApiPath::Resource(Target {
        rt,
        namespace: None,
        name: tail.first().map(|s| (*s).to_owned()),
        sub: tail.get(1).map(|s| (*s).to_owned()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(path: &str) -> Target {
        match parse(path) {
            Some(ApiPath::Resource(t)) => t,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn paths() {
        let t = target("/api/v1/namespaces/payment/pods/web-1/log");
        assert_eq!(
            (
                t.rt.plural,
                t.namespace(),
                t.name.as_deref(),
                t.sub.as_deref()
            ),
            ("pods", "payment", Some("web-1"), Some("log"))
        );
        let t = target("/api/v1/pods");
        assert_eq!(
            (t.rt.plural, t.namespace.as_deref(), t.name.as_deref()),
            ("pods", None, None)
        );
        let t = target("/api/v1/namespaces/payment");
        assert_eq!(
            (t.rt.plural, t.name.as_deref()),
            ("namespaces", Some("payment"))
        );
        let t = target("/api/v1/namespaces/payment/status");
        assert_eq!(
            (t.rt.plural, t.name.as_deref(), t.sub.as_deref()),
            ("namespaces", Some("payment"), Some("status"))
        );
        let t = target("/api/v1/nodes/n1");
        assert_eq!((t.rt.plural, t.name.as_deref()), ("nodes", Some("n1")));
        let t = target("/apis/apps/v1/namespaces/p/deployments/d/scale");
        assert_eq!((t.rt.kind, t.sub.as_deref()), ("Deployment", Some("scale")));
        let t = target("/apis/metrics.k8s.io/v1beta1/nodes");
        assert_eq!(t.rt.kind, "NodeMetrics");
        assert!(
            matches!(parse("/apis/apps/v1"), Some(ApiPath::GroupVersion { group, version }) if group == "apps" && version == "v1")
        );
        assert!(matches!(parse("/apis/apps"), Some(ApiPath::Group(g)) if g == "apps"));
        for bad in [
            "/",
            "/api/v1/pods/x",
            "/api/v1/namespaces/a/nodes/n",
            "/api/v1/gadgets",
            "/api/v1/namespaces/a/pods/b/c/d",
            "/apis/apps/v1/namespaces/p/deployments//scale",
            "/foo",
        ] {
            assert!(!matches!(parse(bad), Some(ApiPath::Resource(_))), "{bad}");
        }
    }
}
