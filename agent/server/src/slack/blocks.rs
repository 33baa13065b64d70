//! Block Kit for what the bot posts: approval requests and their outcome, the final report.
//! Pure functions of records, so they are snapshot-tested; Slack's limits (3,000 characters
//! a text, 50 blocks a message) are kept by truncating with a visible mark.

use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, RunStatus};
use sopilot_runtime::{ApprovalRecord, RunReport};

/// `action_id` of the Approve button; its `value` is the approval record's id.
pub const APPROVE: &str = "sopilot_approve";
/// `action_id` of the Deny button.
pub const DENY: &str = "sopilot_deny";

/// The longest text a section may carry (Slack allows 3,000).
const MAX_TEXT: usize = 2_900;
/// Evidence items listed in a report.
const MAX_EVIDENCE: usize = 12;

/// `s` cut to at most `max` characters, with a mark when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Slack mrkdwn escapes: `&`, `<` and `>` would otherwise start entities and links.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_TEXT)}})
}

fn context(text: &str) -> Value {
    json!({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, MAX_TEXT)}]})
}

fn compact(v: &Value) -> String {
    clip(&serde_json::to_string(v).unwrap_or_default(), 400)
}

/// A Slack user id as a mention, anything else as text.
fn person(by: &str) -> String {
    let slack_id = by.len() >= 3
        && by.starts_with(['U', 'W'])
        && by
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if slack_id {
        format!("<@{by}>")
    } else {
        escape(by)
    }
}

/// Who decided, as the thread shows it: a Slack user as a mention, anyone else by name and door.
pub fn decider(record: &ApprovalRecord) -> String {
    let by = record.decided_by.as_deref().unwrap_or("someone");
    match record.channel.as_deref() {
        Some("slack") => format!("<@{by}>"),
        Some(door) => format!("{} (via {door})", escape(by)),
        None => escape(by),
    }
}

/// The one-line outcome of a decided record, e.g. "Approved by <@U1>".
pub fn outcome_line(record: &ApprovalRecord) -> String {
    match record.state {
        ApprovalState::Pending => "Waiting for a decision".to_owned(),
        ApprovalState::Approved => format!(":white_check_mark: Approved by {}", decider(record)),
        ApprovalState::Denied => format!(":no_entry: Denied by {}", decider(record)),
        ApprovalState::Expired => ":hourglass: Expired: nobody decided in time (denied)".to_owned(),
    }
}

fn approval_body(record: &ApprovalRecord) -> Vec<Value> {
    let mut blocks = vec![section(&format!(
        ":warning: *Approval needed* — `{}`\n{}",
        record.tool,
        escape(&record.reason)
    ))];
    let mut details = format!("*Arguments*\n```{}```", escape(&compact(&record.args)));
    if let Some(impact) = &record.impact {
        details.push_str(&format!("\n*Impact*\n```{}```", escape(&compact(impact))));
    }
    if !record.rules.is_empty() {
        details.push_str(&format!("\n*Rules*: {}", escape(&record.rules.join(", "))));
    }
    blocks.push(section(&details));
    blocks
}

fn approval_context(record: &ApprovalRecord) -> Value {
    context(&format!(
        "approval `{}` · run `{}` · expires {}",
        record.id,
        record.run_id,
        record.expires_at.format("%Y-%m-%d %H:%M:%S UTC")
    ))
}

/// An escalation with Approve and Deny buttons bound to the record's id.
pub fn approval_request(record: &ApprovalRecord) -> Value {
    let mut blocks = approval_body(record);
    blocks.push(json!({
        "type": "actions",
        "block_id": "sopilot_approval",
        "elements": [
            {"type": "button", "action_id": APPROVE, "style": "primary", "value": record.id,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": DENY, "style": "danger", "value": record.id,
             "text": {"type": "plain_text", "text": "Deny"}},
        ],
    }));
    blocks.push(approval_context(record));
    Value::Array(blocks)
}

/// The same message once decided: the buttons give way to the outcome.
pub fn approval_resolved(record: &ApprovalRecord) -> Value {
    let mut blocks = approval_body(record);
    blocks.push(section(&outcome_line(record)));
    blocks.push(approval_context(record));
    Value::Array(blocks)
}

/// The notification text of an approval message (what a phone shows).
pub fn approval_text(record: &ApprovalRecord) -> String {
    match record.state {
        ApprovalState::Pending => format!("Approval needed: {} ({})", record.tool, record.id),
        _ => format!("{} — {}", record.tool, outcome_line(record)),
    }
}

/// The emoji and word of a run status.
pub fn status_word(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Running => ":hourglass_flowing_sand: running",
        RunStatus::Succeeded => ":white_check_mark: succeeded",
        RunStatus::NeedsHuman => ":raising_hand: needs a human",
        RunStatus::Failed => ":x: failed",
        RunStatus::Cancelled => ":octagonal_sign: cancelled",
        RunStatus::Interrupted => ":electric_plug: interrupted",
    }
}

/// Markdown as the model writes it, made readable as Slack mrkdwn: headings and `**bold**`
/// become `*bold*`.
pub fn mrkdwn(markdown: &str) -> String {
    markdown
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with('#') {
                let title = t.trim_start_matches('#').trim();
                format!("*{}*", escape(title))
            } else {
                escape(l).replace("**", "*")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn list_or_none(items: Vec<String>) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join("\n")
    }
}

/// The final report: summary, findings, actions, what waits for a human, evidence refs.
pub fn report(r: &RunReport) -> Value {
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text",
            "text": clip(&format!("SOPilot report: {}", r.sop), 150)}}),
        section(&format!(
            "*Status*: {}\n*Summary*: {}",
            status_word(r.status),
            mrkdwn(&r.summary)
        )),
    ];
    let findings = match &r.analysis {
        Some(a) => format!(
            "*Findings* (the model's conclusions; check them against the evidence)\n{}",
            mrkdwn(a.trim())
        ),
        None => {
            "*Findings*\nNo model analysed this run; the evidence below is for a human to read."
                .to_owned()
        }
    };
    blocks.push(section(&findings));
    let taken: Vec<String> = r
        .actions_taken()
        .iter()
        .map(|c| {
            format!(
                "• `{}` {} — {}",
                c.tool,
                escape(&compact(&c.args)),
                if c.ok { "done" } else { "FAILED" }
            )
        })
        .collect();
    blocks.push(section(&format!(
        "*Actions taken*\n{}",
        list_or_none(taken)
    )));
    let waiting: Vec<String> = r
        .waiting_for_human()
        .iter()
        .map(|c| {
            let approval = match &c.approval {
                Some((id, ApprovalState::Approved, by)) => {
                    format!("approved by {} ({id})", person(by))
                }
                Some((id, ApprovalState::Denied, by)) => format!("denied by {} ({id})", person(by)),
                Some((id, ApprovalState::Expired, _)) => format!("expired ({id})"),
                Some((id, ApprovalState::Pending, _)) => format!("pending ({id})"),
                None => "not asked".to_owned(),
            };
            format!("• `{}` — {}; {approval}", c.tool, escape(&c.reason))
        })
        .collect();
    blocks.push(section(&format!(
        "*Decisions for a human*\n{}",
        list_or_none(waiting)
    )));
    let mut evidence: Vec<String> = r
        .evidence
        .iter()
        .take(MAX_EVIDENCE)
        .map(|e| {
            format!(
                "`[{}]` `{}`{} {}",
                e.id,
                e.tool,
                if e.ok { "" } else { " (failed)" },
                escape(&clip(e.excerpt.lines().next().unwrap_or(""), 160))
            )
        })
        .collect();
    if r.evidence.len() > MAX_EVIDENCE {
        evidence.push(format!(
            "… and {} more in the run record",
            r.evidence.len() - MAX_EVIDENCE
        ));
    }
    blocks.push(section(&format!("*Evidence*\n{}", list_or_none(evidence))));
    if !r.notes.is_empty() {
        blocks.push(section(&format!(
            "*Notes*\n{}",
            r.notes
                .iter()
                .map(|n| format!("• {}", escape(n)))
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    blocks.push(context(&format!(
        "run `{}` · model {} · {} input + {} output tokens{} · {:.1} s",
        r.run_id,
        escape(&r.model),
        r.tokens.input,
        r.tokens.output,
        r.cost_usd
            .map(|c| format!(" (${c:.4})"))
            .unwrap_or_default(),
        r.duration.as_secs_f64()
    )));
    Value::Array(blocks)
}

/// The notification text of the report.
pub fn report_text(r: &RunReport) -> String {
    clip(
        &format!("SOPilot report: {} — {}", r.sop, r.summary),
        MAX_TEXT,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;
    use sopilot_protocol::Decision;
    use sopilot_runtime::{Evidence, GateOutcome};

    fn record(state: ApprovalState, by: Option<&str>, channel: Option<&str>) -> ApprovalRecord {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 27, 10, 0, 0)
            .unwrap();
        ApprovalRecord {
            id: "apr-1a2b3c".into(),
            run_id: "run-0123456789ab".into(),
            call_id: "t3c1".into(),
            tool: "kubectl.patch_hpa".into(),
            args: json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 20}),
            digest: "d".into(),
            impact: Some(
                json!({"action": "patch_hpa", "hpa": {"max_before": 10, "max_after": 20}}),
            ),
            rules: vec!["hpa-within-50-percent".into()],
            reason: "max_replicas changes by more than 50 % <needs a human>".into(),
            requested_at: at,
            expires_at: at + chrono::Duration::minutes(15),
            state,
            decided_by: by.map(str::to_owned),
            channel: channel.map(str::to_owned),
        }
    }

    #[test]
    fn approval_request_blocks() {
        let blocks = approval_request(&record(ApprovalState::Pending, None, None));
        insta::assert_json_snapshot!("approval_request", blocks);
        let actions = blocks
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "actions")
            .unwrap();
        assert_eq!(actions["elements"][0]["value"], "apr-1a2b3c");
        assert_eq!(actions["elements"][1]["action_id"], DENY);
    }

    #[test]
    fn resolved_approvals_name_the_decider() {
        let slack = approval_resolved(&record(
            ApprovalState::Approved,
            Some("U0ALICE"),
            Some("slack"),
        ));
        insta::assert_json_snapshot!("approval_resolved", slack);
        assert!(!slack.to_string().contains("\"actions\""));
        let api = outcome_line(&record(ApprovalState::Denied, Some("bob"), Some("api")));
        assert_eq!(api, ":no_entry: Denied by bob (via api)");
    }

    fn outcome(
        tool: &str,
        decision: Decision,
        executed: bool,
        approval: Option<(&str, ApprovalState, &str)>,
    ) -> GateOutcome {
        GateOutcome {
            call_id: "c".into(),
            tool: tool.into(),
            args: json!({"namespace": "payment", "name": "payment-service-hpa"}),
            decision: Some(decision),
            rules: vec!["rule".into()],
            reason: "no rule allows it".into(),
            impact: executed.then(|| sopilot_protocol::Impact {
                action: "patch_hpa".into(),
                ..Default::default()
            }),
            approval: approval.map(|(a, s, b)| (a.to_owned(), s, b.to_owned())),
            executed,
            ok: true,
            text: String::new(),
            structured: None,
            duration_ms: 5,
        }
    }

    #[test]
    fn report_blocks() {
        let report = RunReport::build(
            "run-0123456789ab",
            "pod-crashloop",
            "scripted:script.yaml",
            RunStatus::NeedsHuman,
            None,
            Some("## Summary\nThe pod is **OOMKilled** [E1].\n\n## Root cause\nMemory limit too low <512Mi>.".into()),
            vec![
                Evidence {
                    id: "E1".into(),
                    tool: "kubectl.describe_pod".into(),
                    args: json!({}),
                    ok: true,
                    excerpt: "payment-service-7d8f9c6b5-x2k9p  CrashLoopBackOff  restarts 7\nmore".into(),
                },
                Evidence {
                    id: "E2".into(),
                    tool: "kubectl.pod_logs".into(),
                    args: json!({}),
                    ok: false,
                    excerpt: "container not found".into(),
                },
            ],
            vec![
                outcome("kubectl.patch_hpa", Decision::Escalate, true, Some(("apr-1", ApprovalState::Approved, "U0ALICE"))),
                outcome("kubectl.delete_pod", Decision::Deny, false, None),
            ],
            sopilot_llm::Usage { input: 1200, output: 300 },
            None,
            std::time::Duration::from_millis(4200),
            vec!["a repeat of the trigger joined this run".into()],
            false,
        );
        let blocks = super::report(&report);
        insta::assert_json_snapshot!("report", blocks);
        assert!(blocks.as_array().unwrap().len() <= 50);
        assert_eq!(
            report_text(&report),
            "SOPilot report: pod-crashloop — The pod is **OOMKilled** [E1]."
        );
        let text = blocks.to_string();
        assert!(text.contains("approved by <@U0ALICE> (apr-1)"), "{text}");
        assert!(
            text.contains("*Summary*: The pod is *OOMKilled* [E1]."),
            "{text}"
        );
    }

    #[test]
    fn long_texts_are_clipped_visibly() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        let mut r = record(ApprovalState::Pending, None, None);
        r.reason = "x".repeat(10_000);
        for b in approval_request(&r).as_array().unwrap() {
            if let Some(t) = b.pointer("/text/text").and_then(Value::as_str) {
                assert!(t.chars().count() <= 3000);
            }
        }
    }
}
