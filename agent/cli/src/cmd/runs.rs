//! `sopilot runs list` and `sopilot runs show ID`: reading the store.

use std::fmt::Write as _;

use sopilot_runtime::{Location, Store};

use crate::session::store_path;
use crate::{Outcome, RunsArgs, RunsCommand};

/// `sopilot runs ...`
pub fn runs(args: &RunsArgs) -> Outcome {
    let location = Location::of(&store_path(args.store.as_deref(), None));
    if let Location::Sqlite(path) = &location
        && !path.exists()
    {
        return Outcome::fail(format!(
            "no store at {} yet: runs are recorded there by `sopilot run`",
            path.display()
        ));
    }
    let store = match Store::open_at(&location) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(e),
    };
    match &args.command {
        RunsCommand::List { limit, json } => match store.runs(*limit) {
            Ok(rows) if *json => Outcome::ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            )),
            Ok(rows) => {
                let mut t = String::new();
                let _ = writeln!(
                    t,
                    "{:<18} {:<20} {:<12} {:<26} SUMMARY",
                    "RUN", "SOP", "STATUS", "STARTED"
                );
                for r in rows {
                    let status = serde_json::to_value(r.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let summary: String = r.summary.chars().take(80).collect();
                    let _ = writeln!(
                        t,
                        "{:<18} {:<20} {:<12} {:<26} {summary}",
                        r.id, r.sop, status, r.started_at
                    );
                }
                Outcome::ok(t)
            }
            Err(e) => Outcome::fail(e),
        },
        RunsCommand::Show { id, json } => match store.run(id) {
            Ok((row, events, calls)) if *json => Outcome::ok(format!(
                "{}\n",
                serde_json::to_string_pretty(&serde_json::json!({
                    "run": row,
                    "root_cause": sopilot_protocol::root_cause_of(&events),
                    "events": events,
                    "tool_calls": calls
                }))
                .unwrap_or_default()
            )),
            Ok((row, events, calls)) => {
                let mut t = String::new();
                let status = serde_json::to_value(row.status)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let _ = writeln!(
                    t,
                    "run {}  SOP {}  model {}  status {status}",
                    row.id, row.sop, row.model
                );
                let _ = writeln!(
                    t,
                    "started {}  finished {}",
                    row.started_at,
                    row.finished_at.as_deref().unwrap_or("-")
                );
                if !row.reason.is_empty() {
                    let _ = writeln!(t, "reason: {}", row.reason);
                }
                let _ = writeln!(t, "summary: {}", row.summary);
                if let Some(rc) = sopilot_protocol::root_cause_of(&events) {
                    let _ = writeln!(
                        t,
                        "root cause: {} (confidence {:.2}): {}",
                        rc.class, rc.confidence, rc.summary
                    );
                }
                let _ = writeln!(t, "\ntool calls:");
                for c in &calls {
                    let _ = writeln!(
                        t,
                        "  {} {} -> {} [{}]{}{} {} ms",
                        c.tool,
                        c.args,
                        c.decision.map_or("refused", |d| d.as_str()),
                        c.rules.join(", "),
                        c.approval
                            .as_ref()
                            .map(|a| format!(" approval {a}"))
                            .unwrap_or_default(),
                        if c.executed {
                            " executed"
                        } else {
                            " not executed"
                        },
                        c.duration_ms
                    );
                }
                let _ = writeln!(t, "\n{} events recorded", events.len());
                Outcome::ok(t)
            }
            Err(e) => Outcome::fail(e),
        },
    }
}
