//! Block Kit for what the bot posts: approval requests and their outcome, the final report.
//! Pure functions of records, so they are snapshot-tested; Slack's limits (3,000 characters
//! a text, 50 blocks a message) are kept by truncating with a visible mark — except for an
//! approval's call, which is shown whole (canonical JSON over as many sections as it takes),
//! since a person approves exactly what they read.
//!
//! Approval ids appear only on the approval message itself; the report and the status
//! message, which everyone in the channel reads, name approvals by tool and outcome.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, RunStatus};
use sopilot_runtime::approval::canonical;
use sopilot_runtime::{ApprovalRecord, RunReport};
use sopilot_slack_api::text::MAX_SECTION_TEXT;
pub use sopilot_slack_api::text::{clip, escape};

/// `action_id` of the Approve button; its `value` is the approval record's id.
pub const APPROVE: &str = "sopilot_approve";
/// `action_id` of the Deny button.
pub const DENY: &str = "sopilot_deny";

/// The longest text a section may carry (Slack allows 3,000: some room is kept).
const MAX_TEXT: usize = MAX_SECTION_TEXT - 100;
/// Evidence items listed in a report.
const MAX_EVIDENCE: usize = 12;

/// `text` with every approval id (`apr-` and hex digits) cut to `apr-…`: for what the whole
/// channel reads (the report, the status message), where a model's words or a note could
/// otherwise carry one.
pub fn mask_approval_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("apr-") {
        out.push_str(&rest[..i + 4]);
        rest = &rest[i + 4..];
        let hex = rest
            .char_indices()
            .find(|(_, c)| !c.is_ascii_hexdigit())
            .map_or(rest.len(), |(j, _)| j);
        if hex >= 6 {
            out.push('…');
            rest = &rest[hex..];
        }
    }
    out.push_str(rest);
    out
}

/// Every string of `v` with approval ids masked ([`mask_approval_ids`]).
pub fn mask_ids_in(v: &mut Value) {
    match v {
        Value::String(s) => *s = mask_approval_ids(s),
        Value::Array(items) => items.iter_mut().for_each(mask_ids_in),
        Value::Object(m) => m.values_mut().for_each(mask_ids_in),
        _ => {}
    }
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

/// Who decided and through which door, as the thread shows it: a Slack user as a mention,
/// anyone else by the identity recorded (`api:NAME`, `mcp:NAME`) and the door.
pub fn decider(record: &ApprovalRecord) -> String {
    let by = record.decided_by.as_deref().unwrap_or("someone");
    match record.channel.as_deref() {
        Some("slack") => format!("<@{by}> in Slack"),
        Some("api") => format!("`{}` through the HTTP API", escape(by)),
        Some("mcp") => format!("`{}` through the MCP gateway (an IDE)", escape(by)),
        Some(door) => format!("`{}` (via {})", escape(by), escape(door)),
        None => escape(by),
    }
}

/// The one-line outcome of a decided record, e.g. "Approved by <@U1> in Slack".
pub fn outcome_line(record: &ApprovalRecord) -> String {
    match record.state {
        ApprovalState::Pending => "Waiting for a decision".to_owned(),
        ApprovalState::Approved => format!(":white_check_mark: Approved by {}", decider(record)),
        ApprovalState::Denied => format!(":no_entry: Denied by {}", decider(record)),
        ApprovalState::Expired => ":hourglass: Expired: nobody decided in time (denied)".to_owned(),
    }
}

/// The outcome with when it was decided, as the rewritten approval message says it.
pub fn outcome_at(record: &ApprovalRecord, decided_at: Option<DateTime<Utc>>) -> String {
    let line = outcome_line(record);
    match decided_at {
        Some(at) if record.state != ApprovalState::Pending => {
            format!("{line} — {}", at.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        _ => line,
    }
}

/// `v` as canonical JSON (keys sorted) safe inside a Slack code block: a backtick would end
/// the block, so it is written `\u0060`, which JSON reads as the same string.
fn code_json(v: &Value) -> String {
    serde_json::to_string(&canonical(v))
        .unwrap_or_default()
        .replace('`', "\\u0060")
}

/// `text` escaped for mrkdwn and cut into pieces of at most `max` characters each (after
/// escaping), so nothing is clipped.
fn escaped_pieces(text: &str, max: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut len = 0;
    for c in text.chars() {
        let e = escape(c.encode_utf8(&mut [0; 4]));
        let n = e.chars().count();
        if len + n > max {
            pieces.push(String::new());
            len = 0;
        }
        if let Some(last) = pieces.last_mut() {
            last.push_str(&e);
        }
        len += n;
    }
    pieces
}

/// The most sections the arguments of one call take (about 28,000 characters).
const MAX_ARG_SECTIONS: usize = 10;

/// The call exactly: the tool and its canonical arguments, whole, in as many sections as it
/// takes (beyond [`MAX_ARG_SECTIONS`] the rest is named by size and digest).
fn call_sections(record: &ApprovalRecord) -> Vec<Value> {
    let args = code_json(&record.args);
    let pieces = escaped_pieces(&args, MAX_TEXT - 10);
    let n = pieces.len();
    // The target (cluster and account) first, where no padded argument can push it out.
    let on = record
        .args
        .get(sopilot_protocol::TARGET_ARG)
        .and_then(Value::as_str)
        .map(|t| format!(" on target *{}*", escape(t)))
        .unwrap_or_default();
    let mut out = vec![section(&format!(
        ":warning: *Approval needed* — `{}`{on}\n*Call*: `{}` with these arguments (canonical JSON):",
        escape(&record.tool),
        escape(&record.tool)
    ))];
    for piece in pieces.iter().take(MAX_ARG_SECTIONS) {
        out.push(section(&format!("```{piece}```")));
    }
    if n > MAX_ARG_SECTIONS {
        out.push(section(&format!(
            ":warning: The arguments go on ({} characters in all, SHA-256 `{}`): read them whole with `GET /api/approvals` before deciding.",
            args.chars().count(),
            record.digest
        )));
    }
    out
}

/// The changes an impact measures, as `name: before → after` (its `X_before`/`X_after` and
/// `from`/`to` pairs), with dotted paths for nested ones.
pub fn changes(impact: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        let Value::Object(m) = v else { return };
        let at = |stem: &str| {
            if path.is_empty() {
                stem.to_owned()
            } else if stem.is_empty() {
                path.to_owned()
            } else {
                format!("{path}.{stem}")
            }
        };
        if let (Some(from), Some(to)) = (m.get("from"), m.get("to")) {
            out.push(format!("{}: {from} → {to}", at("")));
        }
        for (k, before) in m {
            if let Some(stem) = k.strip_suffix("_before")
                && let Some(after) = m.get(&format!("{stem}_after"))
            {
                out.push(format!("{}: {before} → {after}", at(stem)));
            }
            if before.is_object() {
                walk(before, &at(k), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&canonical(impact), "", &mut out);
    out
}

fn impact_sections(impact: &Value) -> Vec<Value> {
    let mut text = String::from("*Impact* (measured by a dry run)");
    for c in changes(impact) {
        text.push_str(&format!("\n• {}", escape(&c)));
    }
    let mut out = vec![section(&text)];
    let full = escaped_pieces(&code_json(impact), MAX_TEXT - 100);
    let more = if full.len() > 1 {
        "\n(the impact goes on; `GET /api/approvals` shows it whole)"
    } else {
        ""
    };
    out.push(section(&format!(
        "```{}```{more}",
        full.first().map_or("", String::as_str)
    )));
    out
}

fn approval_body(record: &ApprovalRecord) -> Vec<Value> {
    let mut blocks = call_sections(record);
    if let Some(impact) = &record.impact {
        blocks.extend(impact_sections(impact));
    }
    let rules = if record.rules.is_empty() {
        "no rule allows it (a call no rule matches goes to a human)".to_owned()
    } else {
        record
            .rules
            .iter()
            .map(|r| format!("`{}`", escape(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    blocks.push(section(&format!(
        "*Escalated by*: {rules}\n*Why*: {}",
        escape(&record.reason)
    )));
    blocks
}

fn approval_context(record: &ApprovalRecord) -> Value {
    context(&format!(
        "approval `{}` · run `{}` · expires {} · call digest `{}`",
        record.id,
        record.run_id,
        record.expires_at.format("%Y-%m-%d %H:%M:%S UTC"),
        record.digest.chars().take(12).collect::<String>()
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

/// The approval message as first posted, before its place is recorded: no buttons yet.
pub fn approval_preparing(record: &ApprovalRecord) -> Value {
    let mut blocks = approval_body(record);
    blocks.push(context(
        ":hourglass_flowing_sand: The Approve and Deny buttons appear here in a moment.",
    ));
    blocks.push(approval_context(record));
    Value::Array(blocks)
}

/// The same message once decided: the buttons give way to who decided, through which door
/// and when.
pub fn approval_resolved(record: &ApprovalRecord, decided_at: Option<DateTime<Utc>>) -> Value {
    let mut blocks = approval_body(record);
    blocks.push(section(&outcome_at(record, decided_at)));
    blocks.push(approval_context(record));
    Value::Array(blocks)
}

/// The notification text of an approval message (what a phone shows).
pub fn approval_text(record: &ApprovalRecord) -> String {
    let on = record
        .args
        .get(sopilot_protocol::TARGET_ARG)
        .and_then(Value::as_str)
        .map(|t| format!(" on {t}"))
        .unwrap_or_default();
    match record.state {
        ApprovalState::Pending => format!("Approval needed: {}{on} ({})", record.tool, record.id),
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
        RunStatus::Inconclusive => ":grey_question: inconclusive (no conclusion)",
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
                Some((_, ApprovalState::Approved, by)) => format!("approved by {}", person(by)),
                Some((_, ApprovalState::Denied, by)) => format!("denied by {}", person(by)),
                Some((_, ApprovalState::Expired, _)) => "expired".to_owned(),
                Some((_, ApprovalState::Pending, _)) => "waiting for an approver".to_owned(),
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
    let mut blocks = Value::Array(blocks);
    mask_ids_in(&mut blocks);
    blocks
}

/// The notification text of the report.
pub fn report_text(r: &RunReport) -> String {
    clip(
        &mask_approval_ids(&format!("SOPilot report: {} — {}", r.sop, r.summary)),
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
            impact_digest: None,
            decision_path: Vec::new(),
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
    fn an_approval_names_its_target_before_any_argument() {
        let mut r = record(ApprovalState::Pending, None, None);
        r.args["target"] = json!("prod-eu");
        // Arguments padded to push the JSON's `target` out of the shown sections.
        r.args["aaa"] = json!("x".repeat(40_000));
        let blocks = approval_request(&r);
        let first = blocks[0]["text"]["text"].as_str().unwrap();
        assert!(first.contains("on target *prod-eu*"), "{first}");
        assert!(approval_text(&r).contains("on prod-eu"));
        let without = approval_request(&record(ApprovalState::Pending, None, None));
        assert!(
            !without[0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("target")
        );
    }

    #[test]
    fn resolved_approvals_name_the_decider_the_door_and_the_time() {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 27, 10, 3, 12)
            .unwrap();
        let slack = approval_resolved(
            &record(ApprovalState::Approved, Some("U0ALICE"), Some("slack")),
            Some(at),
        );
        insta::assert_json_snapshot!("approval_resolved", slack);
        let text = slack.to_string();
        assert!(!text.contains("\"actions\""));
        assert!(
            text.contains("Approved by <@U0ALICE> in Slack — 2026-11-27 10:03:12 UTC"),
            "{text}"
        );
        let api = outcome_line(&record(
            ApprovalState::Denied,
            Some("api:oncall"),
            Some("api"),
        ));
        assert_eq!(
            api,
            ":no_entry: Denied by `api:oncall` through the HTTP API"
        );
        let mcp = outcome_line(&record(
            ApprovalState::Approved,
            Some("mcp:ide-alice"),
            Some("mcp"),
        ));
        assert!(
            mcp.contains("`mcp:ide-alice` through the MCP gateway"),
            "{mcp}"
        );
    }

    #[test]
    fn the_approval_message_shows_the_exact_call_its_changes_and_rules() {
        let mut r = record(ApprovalState::Pending, None, None);
        // A long argument is shown whole, not clipped; a backtick cannot close the code
        // block (it is written as JSON's \u0060), and markup is escaped.
        let long = "x".repeat(7_000);
        r.args = json!({"note": format!("```*Impact*: none``` <!channel> {long}"), "name": "h"});
        let blocks = approval_request(&r);
        let texts: Vec<String> = blocks
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b.pointer("/text/text").and_then(Value::as_str))
            .map(str::to_owned)
            .collect();
        assert!(texts.iter().all(|t| t.chars().count() <= 3000));
        let codes: String = texts
            .iter()
            .filter_map(|t| t.strip_prefix("```").and_then(|t| t.strip_suffix("```")))
            .take_while(|t| !t.starts_with("{\"action\""))
            .collect();
        let shown = codes
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        let back: Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, r.args, "the arguments read back exactly");
        assert!(!shown.contains('`'));
        let all = texts.join("\n");
        assert!(all.contains("• hpa.max: 10 → 20"), "{all}");
        assert!(
            all.contains("*Escalated by*: `hpa-within-50-percent`")
                && all.contains("more than 50 %"),
            "{all}"
        );
        assert!(!all.contains('…'), "nothing clipped: {all}");
    }

    #[test]
    fn approval_ids_are_masked_where_everyone_reads() {
        assert_eq!(
            mask_approval_ids("approve apr-0123456789ab now (apr-1 and apr-)"),
            "approve apr-… now (apr-1 and apr-)"
        );
        let mut v = json!({"a": ["see apr-abcdef012345", 3]});
        mask_ids_in(&mut v);
        assert_eq!(v, json!({"a": ["see apr-…", 3]}));
    }

    #[test]
    fn impact_changes_are_before_after_pairs() {
        let impact = json!({"action": "scale", "replicas_before": 5, "replicas_after": 2,
            "revision": {"from": 15, "to": 14}, "hpa": {"min_before": 2, "min_after": 3,
            "max_before": 10, "max_after": 14}, "pdb": {"allows": true}});
        assert_eq!(
            changes(&impact),
            [
                "hpa.max: 10 → 14",
                "hpa.min: 2 → 3",
                "replicas: 5 → 2",
                "revision: 15 → 14"
            ]
        );
    }

    fn outcome(
        tool: &str,
        decision: Decision,
        executed: bool,
        approval: Option<(&str, ApprovalState, &str)>,
    ) -> GateOutcome {
        GateOutcome {
            origin: sopilot_protocol::CallOrigin::Model,
            call_id: "c".into(),
            tool: tool.into(),
            args: json!({"namespace": "payment", "name": "payment-service-hpa"}),
            target: None,
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
        let report = RunReport::build(sopilot_runtime::ReportParts {
            run_id: "run-0123456789ab".into(),
            sop: "pod-crashloop".into(),
            target: None,
            model: "scripted:script.yaml".into(),
            status: RunStatus::NeedsHuman,
            stopped_by: None,
            root_cause: None,
            turns: 4,
            context_bytes: 2048,
            context_by_tool: Default::default(),
            prompt_bytes: 0,
            analysis: Some("## Summary\nThe pod is **OOMKilled** [E1].\n\n## Root cause\nMemory limit too low <512Mi>.".into()),
            evidence: vec![
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
            calls: vec![
                outcome("kubectl.patch_hpa", Decision::Escalate, true, Some(("apr-1", ApprovalState::Approved, "U0ALICE"))),
                outcome("kubectl.delete_pod", Decision::Deny, false, None),
            ],
            tokens: sopilot_llm::Usage { input: 1200, output: 300 },
            cost_usd: None,
            duration: std::time::Duration::from_millis(4200),
            notes: vec!["a repeat of the trigger joined this run".into()],
            no_model: false,
        });
        let blocks = super::report(&report);
        insta::assert_json_snapshot!("report", blocks);
        assert!(blocks.as_array().unwrap().len() <= 50);
        assert_eq!(
            report_text(&report),
            "SOPilot report: pod-crashloop — The pod is **OOMKilled** [E1]."
        );
        let text = blocks.to_string();
        assert!(text.contains("approved by <@U0ALICE>"), "{text}");
        assert!(
            !text.contains("apr-1"),
            "approval ids stay on the approval message: {text}"
        );
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
