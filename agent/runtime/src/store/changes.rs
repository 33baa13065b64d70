//! The executed changes the audit recorded, looked up by the object and workload they
//! touched: the facts behind cumulative limits (`history.*` in policies).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use super::{Store, StoreError};

/// One executed mutating call.
#[derive(Debug, Clone, PartialEq)]
pub struct PastChange {
    pub run_id: String,
    pub tool: String,
    pub target: Option<String>,
    pub workload: Option<String>,
    pub impact: Option<Value>,
    pub executed_at: DateTime<Utc>,
}

/// The fixed-width form timestamps are stored and compared in.
pub(crate) fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

impl Store {
    /// The distinct objects that executed calls of `tools` (`SERVER.TOOL`) changed since
    /// `since`, e.g. the nodes cordoned or drained.
    pub fn targets_changed_by(
        &self,
        tools: &[&str],
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for tool in tools {
            for t in self.backend.targets_changed_by(tool, since)? {
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// Executed calls since `since` that changed `target`, or whose target or workload is
    /// `workload`; oldest first.
    pub fn changes_since(
        &self,
        target: &str,
        workload: Option<&str>,
        since: DateTime<Utc>,
    ) -> Result<Vec<PastChange>, StoreError> {
        self.backend.changes_since(target, workload, since)
    }
}
