//! Invariants no policy file can relax.
//!
//! SOPilot never reads Secret data: a call whose target is a Secret is denied before any
//! rule is consulted, whatever the policy says. Policies may add their own Secret rules (the
//! default one does, so the reason shows up in explanations), but cannot remove this one.
//!
//! The guard decides on what will actually be read or changed: the resource the call's
//! `kind` resolved to on the cluster, when the gate resolved it, and the impact's target. On
//! the spelling alone (no cluster at hand, or before resolution) it is conservative: every
//! spelling that could resolve to Secrets counts ([`sopilot_protocol::may_name_secrets`]).

use serde_json::Value;
use sopilot_protocol::may_name_secrets;

use crate::Request;

/// The name under which the guard appears in explanations.
pub const SECRET_GUARD: &str = "builtin:secret-data";

/// Argument names that say which kind of object a call targets.
const KIND_ARGS: [&str; 5] = ["kind", "resource", "resources", "resource_type", "type"];

/// Whether a kind or resource spelling may denote Secrets: `Secret`, `secrets`,
/// `v1/Secret`, `Secret.v1/x`, `secrets.core/v1`, ` SECRET ` all do.
pub fn is_secret_kind(text: &str) -> bool {
    may_name_secrets(text)
}

/// Why the call targets Secret data, if it does.
pub fn secret_target(req: &Request<'_>) -> Option<String> {
    let tool = req.tool.tool();
    if is_secret_kind(tool) || tool.to_ascii_lowercase().contains("secret") {
        return Some(format!("the tool {} reads or changes Secrets", req.tool));
    }
    if let Some(r) = req.resource
        && r.is_secret()
    {
        return Some(format!(
            "its kind resolves to {} on the cluster",
            r.qualified()
        ));
    }
    for key in KIND_ARGS {
        let hit = match req.args.get(key) {
            Some(Value::String(s)) => is_secret_kind(s),
            Some(Value::Array(items)) => {
                items.iter().any(|v| v.as_str().is_some_and(is_secret_kind))
            }
            _ => false,
        };
        if hit {
            return Some(format!("args.{key} may name Secrets"));
        }
    }
    if let Some(target) = req.impact.and_then(|i| i.target.as_ref())
        && is_secret_kind(&target.kind)
    {
        return Some("the impact's target is a Secret".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_spellings() {
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
        ] {
            assert!(is_secret_kind(yes), "{yes}");
        }
        for no in ["ConfigMap", "secretary", "SecretProviderClass", "", "pods"] {
            assert!(!is_secret_kind(no), "{no}");
        }
    }
}
