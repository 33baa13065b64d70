//! The policy file format, as written by a person.
//!
//! ```yaml
//! rules:
//!   - name: restart-crashlooping-pod
//!     tools: [kubectl.delete_pod]
//!     when: impact.pod.waiting_reason == "CrashLoopBackOff" and impact.pod.restart_count >= 5
//!     decision: allow
//!     because: A pod crash-looping 5+ times is restarted by its controller; deleting it is safe.
//!     examples:
//!       match:
//!         - args: {namespace: payment, name: payment-7d8f-xyz}
//!           impact: {action: delete_pod, pod: {restart_count: 7, waiting_reason: CrashLoopBackOff}}
//!       not_match:
//!         - impact: {action: delete_pod, pod: {restart_count: 2, waiting_reason: CrashLoopBackOff}}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole policy file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyFile {
    /// Format version; only 1 exists.
    #[serde(default)]
    pub version: Option<u32>,
    #[serde(default)]
    #[allow(dead_code)] // documentation for readers of the file
    pub description: Option<String>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSpec {
    pub name: String,
    pub tools: OneOrMany,
    #[serde(default)]
    pub when: Option<String>,
    pub decision: String,
    pub because: String,
    #[serde(default)]
    pub examples: Examples,
}

/// `tools: kubectl.scale` or `tools: [kubectl.scale, kubectl.patch_hpa]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// Calls the rule must and must not match, checked when the policy loads.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Examples {
    #[serde(default, rename = "match")]
    pub must_match: Vec<ExampleSpec>,
    #[serde(default)]
    pub not_match: Vec<ExampleSpec>,
}

/// One example call. `tool` may be omitted when the rule names exactly one tool without
/// wildcards. Serialised as written, for listings.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExampleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Value>,
    /// The resource the call's `kind` resolved to (`{group, version, kind, plural,
    /// namespaced}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
    /// What already happened to the target; merged over the fresh history of the example's
    /// impact (no earlier changes, baselines from the impact's "before" values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<ExampleRun>,
    /// Tool annotations, as a SOPilot server would declare them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Value>,
    /// Whether the tool's server is one of SOPilot's own (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin_server: Option<bool>,
    /// The call's target (`{name, labels}`); default: the implicit target `default` with
    /// no labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Value>,
}

/// The run an example call is made in.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExampleRun {
    #[serde(default)]
    pub unattended: bool,
    #[serde(default)]
    pub dry_run: bool,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub sop: Option<String>,
}
