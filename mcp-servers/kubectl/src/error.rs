//! Failures, as messages a model (and an SRE) can act on.

use std::time::Duration;

use sopilot_mcp_common::Failure;

/// Why a tool could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum ToolFailure {
    /// The arguments are wrong; the message says how to fix them.
    #[error("{0}")]
    BadArgument(String),
    /// The object does not exist.
    #[error("{kind} {name:?} not found{}; {hint}", .namespace.as_ref().map(|n| format!(" in namespace {n:?}")).unwrap_or_default())]
    NotFound {
        kind: &'static str,
        namespace: Option<String>,
        name: String,
        hint: String,
    },
    /// The API server refused or failed.
    #[error("the Kubernetes API answered {code} {reason}: {message}")]
    Api {
        code: u16,
        reason: String,
        message: String,
    },
    /// The API server refused for lack of permission (403): what was refused and the fix.
    #[error("{0}")]
    Forbidden(Box<Forbidden>),
    /// The API server could not be reached or answered nonsense.
    #[error("cannot reach the Kubernetes API: {0}")]
    Transport(String),
    /// The call took longer than its deadline.
    #[error("the Kubernetes API did not answer within {0} s")]
    Timeout(u64),
    /// The request is refused by design (Secrets, a missing --allow-write).
    #[error("{0}")]
    Refused(String),
    /// A resource (`kind`) argument names no single resource.
    #[error(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),
}

impl Failure for ToolFailure {
    fn timed_out(limit: Duration) -> Self {
        ToolFailure::Timeout(limit.as_secs())
    }
}

impl ToolFailure {
    /// A not-found failure with a hint on how to find the right name.
    pub fn not_found(
        kind: &'static str,
        namespace: Option<&str>,
        name: &str,
        hint: impl Into<String>,
    ) -> Self {
        ToolFailure::NotFound {
            kind,
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
            hint: hint.into(),
        }
    }
}

impl From<kube::Error> for ToolFailure {
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(status) if status.code == 403 => {
                ToolFailure::Forbidden(Box::new(Forbidden::from_message(&status.message)))
            }
            kube::Error::Api(status) => ToolFailure::Api {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => ToolFailure::Transport(other.to_string()),
        }
    }
}

/// A 403 from the API server, read from its message (`pods "x" is forbidden: User "U"
/// cannot VERB resource "R" in API group "G" in the namespace "N"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forbidden {
    pub user: Option<String>,
    pub verb: Option<String>,
    /// `resource` or `resource/subresource`, or a non-resource path.
    pub resource: Option<String>,
    pub group: Option<String>,
    pub namespace: Option<String>,
    /// The API server's own message.
    pub message: String,
}

impl Forbidden {
    /// Reads the parts of the API server's message; what it does not say stays `None`.
    pub fn from_message(message: &str) -> Self {
        static SHAPE: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
            regex::Regex::new(
                r#"User "([^"]*)" cannot (\S+) (?:resource "([^"]*)" in API group "([^"]*)"(?: in the namespace "([^"]*)")?|path "([^"]*)")"#,
            )
            .ok()
        });
        let caps = SHAPE.as_ref().and_then(|re| re.captures(message));
        let at = |i: usize| {
            caps.as_ref()
                .and_then(|c| c.get(i))
                .map(|m| m.as_str().to_owned())
        };
        Forbidden {
            user: at(1),
            verb: at(2),
            resource: at(3).or_else(|| at(6)),
            group: at(4),
            namespace: at(5),
            message: message.to_owned(),
        }
    }
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let who = self
            .user
            .as_deref()
            .unwrap_or("the identity SOPilot runs as");
        match (&self.verb, &self.resource) {
            (Some(verb), Some(resource)) => {
                let group = match self.group.as_deref() {
                    Some("") => " (core API group)".to_owned(),
                    Some(g) => format!(" (API group {g})"),
                    None => String::new(),
                };
                let scope = self
                    .namespace
                    .as_deref()
                    .map_or(" cluster-wide".to_owned(), |n| format!(" in namespace {n}"));
                write!(
                    f,
                    "forbidden: Kubernetes RBAC does not let {who} {verb} {resource}{group}{scope}. "
                )?;
            }
            _ => write!(f, "forbidden: Kubernetes RBAC refused {who}. ")?,
        }
        let rule = match (&self.verb, &self.resource) {
            (Some(v), Some(r)) => format!(" (verb {v} on {r})"),
            _ => String::new(),
        };
        write!(
            f,
            "The role SOPilot runs under lacks this permission; regenerate it with `sopilot rbac` and apply it, or enable the rule{rule}. The API server said: {}",
            self.message
        )
    }
}

/// The HTTP status of an API error, if it is one.
pub fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// Result of a tool body.
pub type ToolResult<T> = Result<T, ToolFailure>;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn forbidden_names_what_who_where_and_the_fix() {
        let f = Forbidden::from_message(
            r#"pods "x" is forbidden: User "system:serviceaccount:sopilot:sopilot" cannot get resource "pods/log" in API group "" in the namespace "payment""#,
        );
        assert_eq!(
            f.user.as_deref(),
            Some("system:serviceaccount:sopilot:sopilot")
        );
        assert_eq!(f.verb.as_deref(), Some("get"));
        assert_eq!(f.resource.as_deref(), Some("pods/log"));
        assert_eq!(f.group.as_deref(), Some(""));
        assert_eq!(f.namespace.as_deref(), Some("payment"));
        let text = ToolFailure::Forbidden(Box::new(f)).to_string();
        assert!(text.starts_with("forbidden: Kubernetes RBAC does not let system:serviceaccount:sopilot:sopilot get pods/log (core API group) in namespace payment."), "{text}");
        assert!(text.contains("regenerate it with `sopilot rbac`"), "{text}");

        let f = Forbidden::from_message(
            r#"nodes is forbidden: User "u" cannot list resource "nodes" in API group "metrics.k8s.io" at the cluster scope"#,
        );
        assert_eq!(f.namespace, None);
        assert!(
            f.to_string()
                .contains("u list nodes (API group metrics.k8s.io) cluster-wide")
        );

        let f = Forbidden::from_message("something else");
        assert_eq!(f.verb, None);
        assert!(f.to_string().contains("sopilot rbac") && f.to_string().contains("something else"));
    }
}
