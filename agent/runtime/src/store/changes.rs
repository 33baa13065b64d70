//! The executed changes the audit recorded, looked up by the object and workload they
//! touched: the facts behind cumulative limits (`history.*` in policies).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::params;
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
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT DISTINCT target FROM tool_calls
             WHERE executed = 1 AND executed_at >= ?1 AND target IS NOT NULL AND tool = ?2",
        )?;
        let mut out = Vec::new();
        for tool in tools {
            for t in stmt.query_map(params![stamp(since), tool], |r| r.get::<_, String>(0))? {
                let t = t?;
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
        let c = self.conn();
        let mut stmt = c.prepare(
            "SELECT run_id, tool, target, workload, impact, executed_at FROM tool_calls
             WHERE executed = 1 AND executed_at >= ?3
               AND (target = ?1 OR (?2 IS NOT NULL AND (workload = ?2 OR target = ?2)))
             ORDER BY executed_at, seq",
        )?;
        let rows = stmt.query_map(params![target, workload, stamp(since)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (run_id, tool, target, workload, impact, at) = row?;
            let Some(executed_at) = DateTime::parse_from_rfc3339(&at)
                .ok()
                .map(|t| t.with_timezone(&Utc))
            else {
                continue;
            };
            out.push(PastChange {
                run_id,
                tool,
                target,
                workload,
                impact: impact.map(|i| serde_json::from_str(&i)).transpose()?,
                executed_at,
            });
        }
        Ok(out)
    }
}
