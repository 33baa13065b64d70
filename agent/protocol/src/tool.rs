//! Tool names and tool calls.
//!
//! A person reads and writes a tool as `SERVER.TOOL` (`kubectl.delete_pod`) in policies, SOPs,
//! the audit log and reports. Model providers forbid dots in function names, so the model sees
//! `SERVER__TOOL` (`kubectl__delete_pod`); [`ToolRef::model_name`] and
//! [`ToolRef::from_model_name`] are the only places that mapping lives.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest function name OpenAI, Bedrock and Anthropic all accept.
pub const MAX_MODEL_NAME_LEN: usize = 64;

/// Why a tool name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolRefError {
    #[error("tool name {0:?} has no server part; write SERVER.TOOL, e.g. kubectl.delete_pod")]
    MissingServer(String),
    #[error(
        "tool name {0:?} has an empty server or tool part; write SERVER.TOOL, e.g. kubectl.delete_pod"
    )]
    EmptyPart(String),
    #[error(
        "tool name {name:?} contains {ch:?}; server and tool names may use only letters, digits, '_' and '-'"
    )]
    BadChar { name: String, ch: char },
    #[error(
        "server name {0:?} may not contain \"__\" or end with '_': the model-facing name SERVER__TOOL would be ambiguous"
    )]
    AmbiguousServer(String),
    #[error(
        "tool name {name:?} is {len} characters as SERVER__TOOL; model providers accept at most {MAX_MODEL_NAME_LEN}"
    )]
    TooLong { name: String, len: usize },
    #[error("model function name {0:?} is not of the form SERVER__TOOL")]
    NotModelName(String),
}

/// A validated reference to one tool of one MCP server.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ToolRef {
    server: String,
    tool: String,
}

fn check_part(whole: &str, part: &str) -> Result<(), ToolRefError> {
    if part.is_empty() {
        return Err(ToolRefError::EmptyPart(whole.to_owned()));
    }
    match part
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(ch) => Err(ToolRefError::BadChar {
            name: whole.to_owned(),
            ch,
        }),
        None => Ok(()),
    }
}

impl ToolRef {
    /// Builds a reference from its two parts, validating both.
    pub fn new(server: &str, tool: &str) -> Result<Self, ToolRefError> {
        let whole = format!("{server}.{tool}");
        check_part(&whole, server)?;
        check_part(&whole, tool)?;
        if server.contains("__") || server.ends_with('_') {
            return Err(ToolRefError::AmbiguousServer(server.to_owned()));
        }
        let len = server.len() + 2 + tool.len();
        if len > MAX_MODEL_NAME_LEN {
            return Err(ToolRefError::TooLong { name: whole, len });
        }
        Ok(Self {
            server: server.to_owned(),
            tool: tool.to_owned(),
        })
    }

    /// Parses the model-facing form `SERVER__TOOL` (split at the first `__`).
    pub fn from_model_name(name: &str) -> Result<Self, ToolRefError> {
        let (server, tool) = name
            .split_once("__")
            .ok_or_else(|| ToolRefError::NotModelName(name.to_owned()))?;
        Self::new(server, tool)
    }

    /// The MCP server's configured name, e.g. `kubectl`.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The tool's name on its server, e.g. `delete_pod`.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The name the model sees: `SERVER__TOOL`, always `[a-zA-Z0-9_-]{1,64}`.
    pub fn model_name(&self) -> String {
        format!("{}__{}", self.server, self.tool)
    }
}

impl FromStr for ToolRef {
    type Err = ToolRefError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (server, tool) = s
            .split_once('.')
            .ok_or_else(|| ToolRefError::MissingServer(s.to_owned()))?;
        Self::new(server, tool)
    }
}

impl fmt::Display for ToolRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.server, self.tool)
    }
}

impl Serialize for ToolRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ToolRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a tool call came from. Every origin passes the same gate; the origin is recorded
/// and visible to policies as `run.origin`, never a reason to skip a check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOrigin {
    /// Proposed by the model during a run.
    #[default]
    Model,
    /// A deterministic ```` ```tool ```` block of the SOP.
    ToolBlock,
    /// An engineer's IDE through `sopilot mcp`.
    Ide,
    /// The HTTP API or another front end acting for a person.
    Api,
}

/// One call of one tool with its arguments (a JSON object).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Identifier of the call within its run (the model's tool-call id when it has one).
    pub id: String,
    pub tool: ToolRef,
    #[serde(default = "empty_object")]
    pub args: serde_json::Value,
    pub origin: CallOrigin,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl ToolCall {
    /// The call's `dry_run` argument, false when absent or not a boolean.
    pub fn is_dry_run(&self) -> bool {
        self.args
            .get("dry_run")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_maps_to_model_names() {
        let t: ToolRef = "kubectl.delete_pod".parse().unwrap();
        assert_eq!(t.server(), "kubectl");
        assert_eq!(t.tool(), "delete_pod");
        assert_eq!(t.model_name(), "kubectl__delete_pod");
        assert_eq!(ToolRef::from_model_name("kubectl__delete_pod").unwrap(), t);
        // A tool part may itself contain "__": the split is at the first one.
        let odd = ToolRef::new("my-srv", "a__b").unwrap();
        assert_eq!(ToolRef::from_model_name(&odd.model_name()).unwrap(), odd);
    }

    #[test]
    fn rejects_malformed_names_with_a_reason() {
        for bad in [
            "delete_pod",
            ".x",
            "k.",
            "k.del pod",
            "k.del.pod",
            "a__b.c",
            "a_.c",
        ] {
            assert!(bad.parse::<ToolRef>().is_err(), "{bad} should be rejected");
        }
        let long = format!("k.{}", "x".repeat(63));
        assert!(matches!(
            long.parse::<ToolRef>(),
            Err(ToolRefError::TooLong { .. })
        ));
        let msg = "delete_pod".parse::<ToolRef>().unwrap_err().to_string();
        assert!(msg.contains("SERVER.TOOL"), "{msg}");
    }

    #[test]
    fn serde_round_trip() {
        let call = ToolCall {
            id: "c1".into(),
            tool: "kubectl.scale".parse().unwrap(),
            args: serde_json::json!({"replicas": 3, "dry_run": true}),
            origin: CallOrigin::ToolBlock,
        };
        let json = serde_json::to_string(&call).unwrap();
        assert!(json.contains("\"tool\":\"kubectl.scale\""));
        assert!(json.contains("\"origin\":\"tool_block\""));
        let back: ToolCall = serde_json::from_str(&json).unwrap();
        assert_eq!(back, call);
        assert!(back.is_dry_run());
        assert!(serde_json::from_str::<ToolRef>("\"nodot\"").is_err());
    }

    proptest! {
        #[test]
        fn model_names_are_provider_safe_and_reversible(
            server in "[a-zA-Z0-9-]([a-zA-Z0-9-]|_[a-zA-Z0-9-]){0,10}",
            tool in "[a-zA-Z0-9_-]{1,40}",
        ) {
            if let Ok(t) = ToolRef::new(&server, &tool) {
                let m = t.model_name();
                prop_assert!(m.len() <= MAX_MODEL_NAME_LEN);
                prop_assert!(m.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
                prop_assert_eq!(ToolRef::from_model_name(&m).unwrap(), t.clone());
                prop_assert_eq!(t.to_string().parse::<ToolRef>().unwrap(), t);
            }
        }

        #[test]
        fn parsing_never_panics(s in ".{0,80}") {
            let _ = s.parse::<ToolRef>();
            let _ = ToolRef::from_model_name(&s);
        }
    }
}
