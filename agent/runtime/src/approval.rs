//! Approvals: one durable record per escalated call, bound to the exact arguments.
//!
//! A channel (terminal, Slack, IDE, HTTP) is only a view of the record: whoever decides
//! first wins, an undecided record expires (which counts as denied), and an approval covers
//! exactly the call whose canonical arguments it digests.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sopilot_protocol::ApprovalState;

/// An escalation waiting for (or decided by) a human.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApprovalRecord {
    pub id: String,
    pub run_id: String,
    pub call_id: String,
    pub tool: String,
    /// Canonical arguments (keys sorted).
    pub args: Value,
    /// SHA-256 of the tool name and canonical arguments.
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Value>,
    /// The digest of the impact the approver was shown ([`impact_digest`]); the call executes
    /// only if a fresh dry run after the approval reports the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact_digest: Option<String>,
    /// The decision and the rules that made it, as the approver was shown them; the call
    /// executes only if the policy, asked again after the approval, decides the same way.
    #[serde(default)]
    pub decision_path: Vec<String>,
    pub rules: Vec<String>,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub state: ApprovalState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `v` with every object's keys sorted, so equal arguments serialise equally.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The digest an approval is bound to.
pub fn digest(tool: &str, args: &Value) -> String {
    let mut h = Sha256::new();
    h.update(tool.as_bytes());
    h.update([0u8]);
    h.update(canonical(args).to_string().as_bytes());
    hex::encode(h.finalize())
}

/// Impact fields that change while an incident goes on without changing what the call does
/// (a crash-looping pod's restart count, how many replicas are ready right now); left out of
/// [`impact_digest`] so that an approval is not re-asked for every tick of them.
const VOLATILE_IMPACT: [(&str, &str); 2] = [("pod", "restart_count"), ("workload", "ready")];

/// The digest of what an approver is shown about a call's effect: the impact without its
/// volatile observations, canonically serialised.
pub fn impact_digest(impact: &Value) -> String {
    let mut v = canonical(impact);
    for (parent, field) in VOLATILE_IMPACT {
        if let Some(Value::Object(m)) = v.get_mut(parent) {
            m.remove(field);
        }
    }
    let mut h = Sha256::new();
    h.update(v.to_string().as_bytes());
    hex::encode(h.finalize())
}

/// A human's answer, as a channel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub state: ApprovalState,
    pub by: String,
    pub channel: String,
}

/// Somewhere escalations are asked.
#[async_trait::async_trait]
pub trait Approver: Send + Sync + std::fmt::Debug {
    /// Asks about one record and waits at most until it expires. `None` means nobody
    /// answered in time (expired).
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer>;

    /// Whether a human can be reached at all (false: unattended, escalate becomes deny).
    fn reachable(&self) -> bool;
}

/// Nobody to ask: every escalation is denied and recorded (`--on-escalate deny`).
#[derive(Debug, Clone, Default)]
pub struct DenyAll;

#[async_trait::async_trait]
impl Approver for DenyAll {
    async fn ask(&self, _record: &ApprovalRecord) -> Option<Answer> {
        Some(Answer {
            state: ApprovalState::Denied,
            by: "policy (unattended)".into(),
            channel: "none".into(),
        })
    }

    fn reachable(&self) -> bool {
        false
    }
}

/// Decides by a fixed list: `(tool glob-free prefix, state)`; the rest are denied. For the
/// demo and for rehearsals, so a run's approvals are reproducible.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub name: String,
    pub approve: Vec<String>,
}

#[async_trait::async_trait]
impl Approver for Scripted {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        let state = if self.approve.iter().any(|t| t == &record.tool) {
            ApprovalState::Approved
        } else {
            ApprovalState::Denied
        };
        Some(Answer {
            state,
            by: self.name.clone(),
            channel: "scripted".into(),
        })
    }

    fn reachable(&self) -> bool {
        true
    }
}

/// Asks on the terminal: shows the tool, arguments, impact and rules, reads y/N, and times
/// out (denied) when nobody answers.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub timeout: Duration,
}

/// What the terminal shows for an approval.
pub fn describe(record: &ApprovalRecord) -> String {
    let mut s = format!(
        "\n  APPROVAL NEEDED  {}  {}\n  args:   {}\n",
        record.id,
        record.tool,
        serde_json::to_string(&record.args).unwrap_or_default()
    );
    if let Some(i) = &record.impact {
        s.push_str(&format!(
            "  impact: {}\n",
            serde_json::to_string(i).unwrap_or_default()
        ));
    }
    s.push_str(&format!(
        "  rules:  {}\n  why:    {}\n",
        record.rules.join(", "),
        record.reason
    ));
    s
}

#[async_trait::async_trait]
impl Approver for Terminal {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        let prompt = format!(
            "{}  approve? [y/N] (denied in {} s) ",
            describe(record),
            self.timeout.as_secs()
        );
        let read = tokio::task::spawn_blocking(move || {
            let mut err = std::io::stderr();
            let _ = err.write_all(prompt.as_bytes());
            let _ = err.flush();
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map(|_| line)
        });
        let user = std::env::var("USER").unwrap_or_else(|_| "terminal user".into());
        match tokio::time::timeout(self.timeout, read).await {
            Ok(Ok(Ok(line))) => {
                let yes = matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes");
                Some(Answer {
                    state: if yes {
                        ApprovalState::Approved
                    } else {
                        ApprovalState::Denied
                    },
                    by: user,
                    channel: "terminal".into(),
                })
            }
            Ok(_) => Some(Answer {
                state: ApprovalState::Denied,
                by: user,
                channel: "terminal".into(),
            }),
            Err(_) => None,
        }
    }

    fn reachable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digests_ignore_key_order_and_bind_values() {
        let a = digest("kubectl.scale", &json!({"namespace": "p", "replicas": 3}));
        let b = digest("kubectl.scale", &json!({"replicas": 3, "namespace": "p"}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            digest("kubectl.scale", &json!({"namespace": "p", "replicas": 4}))
        );
        assert_ne!(
            a,
            digest("kubectl.drain", &json!({"namespace": "p", "replicas": 3}))
        );
    }
}
