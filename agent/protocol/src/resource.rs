//! Kubernetes resources as the API server's discovery resolves them, and the one check that
//! says whether a call is about Secrets.
//!
//! A resource argument (`kind: "deploy"`, `"Secret.v1"`, `"deployments.v1.apps"`) is only a
//! spelling. `mcp-kubectl` resolves it against discovery before doing anything, and the gate
//! asks for that resolution before the policy decides, so decisions are made on the
//! [`Resource`] that will actually be read or changed. [`may_name_secrets`] is the
//! conservative check on a spelling alone, for where no discovery is at hand (`sopilot policy
//! check`, the policy's built-in guard): every spelling that can resolve to Secrets passes it.

use serde::{Deserialize, Serialize};

/// A resource resolved against the cluster's discovery.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Resource {
    /// The API group; empty for the core group (`""` for Pods and Secrets, `apps` for
    /// Deployments).
    pub group: String,
    pub version: String,
    /// The kind, e.g. `Deployment`.
    pub kind: String,
    /// The plural resource name, e.g. `deployments`.
    pub plural: String,
    pub namespaced: bool,
}

impl Resource {
    /// Whether this is the core `secrets` resource.
    pub fn is_secret(&self) -> bool {
        is_secret_resource(&self.group, &self.plural)
    }

    /// The fully qualified spelling `PLURAL.VERSION.GROUP` (`deployments.v1.apps`), or
    /// `PLURAL.VERSION` for the core group (`pods.v1`), which resolves to exactly this
    /// resource and nothing else.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            format!("{}.{}", self.plural, self.version)
        } else {
            format!("{}.{}.{}", self.plural, self.version, self.group)
        }
    }
}

/// Whether `(group, plural)` is the core `secrets` resource.
pub fn is_secret_resource(group: &str, plural: &str) -> bool {
    (group.is_empty() || group.eq_ignore_ascii_case("core"))
        && plural.eq_ignore_ascii_case("secrets")
}

/// Whether a resource spelling may denote Secrets, without asking discovery.
///
/// Conservative by design: true when any run of ASCII letters and digits in the text is
/// `secret` or `secrets` in any case (`Secret`, `v1/Secret`, `Secret.v1/x`, `secrets.core/v1`,
/// `secret./`), and for any text with a character outside printable ASCII, which no real
/// resource name has and which a check that reads bytes could not reason about.
/// `SecretProviderClass` and `secretary` are single words, so they do not match.
pub fn may_name_secrets(text: &str) -> bool {
    if text.chars().any(|c| !(c.is_ascii_graphic() || c == ' ')) {
        return true;
    }
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w.eq_ignore_ascii_case("secret") || w.eq_ignore_ascii_case("secrets"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_secrets_is_caught() {
        for yes in [
            "Secret",
            "secrets",
            "v1/Secret",
            "secrets.v1",
            " SECRET ",
            "core/v1/secrets",
            "Secret.v1/x",
            "secrets.core/v1",
            "secret./",
            "sEcReTs.v1.",
            "secret\u{200b}",
            "ѕecret",
            "secret\t",
        ] {
            assert!(may_name_secrets(yes), "{yes:?}");
        }
        for no in [
            "ConfigMap",
            "secretary",
            "SecretProviderClass",
            "",
            "pods",
            "deployments.v1.apps",
            "sealedsecrets.bitnami.com",
        ] {
            assert!(!may_name_secrets(no), "{no:?}");
        }
    }

    #[test]
    fn the_resolved_secret_resource() {
        let r = Resource {
            group: String::new(),
            version: "v1".into(),
            kind: "Secret".into(),
            plural: "secrets".into(),
            namespaced: true,
        };
        assert!(r.is_secret());
        assert_eq!(r.qualified(), "secrets.v1");
        let d = Resource {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            plural: "deployments".into(),
            namespaced: true,
        };
        assert!(!d.is_secret());
        assert_eq!(d.qualified(), "deployments.v1.apps");
        assert!(is_secret_resource("core", "secrets"));
        assert!(!is_secret_resource("example.com", "secrets"));
    }
}
