//! Block Kit: checking blocks a model wrote, and building incident reports from structured
//! fields (header, status line, summary, facts, actions taken, actions awaiting approval)
//! with a plain-text fallback for notifications and clients without blocks.

use serde_json::{Value, json};

use crate::args::{IncidentReport, Severity, Status};
use crate::error::SlackError;
use crate::text::{clip, escape};
use sopilot_slack_api::text::{
    MAX_BLOCKS, MAX_FIELD_TEXT as MAX_FIELD, MAX_HEADER_TEXT as MAX_HEADER,
    MAX_SECTION_TEXT as MAX_SECTION,
};

/// The most JSON a model may send as blocks.
pub const MAX_BLOCKS_BYTES: usize = 16 * 1024;
/// The most items of each report list.
const MAX_ITEMS: usize = 20;
const MAX_FALLBACK: usize = 3000;

/// Checks the shape Slack needs before sending: an array of at most [`MAX_BLOCKS`] objects,
/// each with a `type`, within [`MAX_BLOCKS_BYTES`]. Slack checks the rest (`invalid_blocks`).
pub fn check(blocks: &[Value]) -> Result<(), SlackError> {
    if blocks.len() > MAX_BLOCKS {
        return Err(SlackError::BadArgument(format!(
            "blocks has {} items; Slack allows at most {MAX_BLOCKS}. Merge sections or move detail into a thread reply",
            blocks.len()
        )));
    }
    let size = serde_json::to_string(blocks).map_or(0, |s| s.len());
    if size > MAX_BLOCKS_BYTES {
        return Err(SlackError::BadArgument(format!(
            "blocks is {size} bytes of JSON; the limit is {MAX_BLOCKS_BYTES}. Shorten the text or move detail into a thread reply"
        )));
    }
    for (i, b) in blocks.iter().enumerate() {
        match b.get("type").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => {}
            _ => {
                return Err(SlackError::BadArgument(format!(
                    "blocks[{i}] needs a \"type\" (section, header, divider, context, rich_text...), e.g. {{\"type\":\"section\",\"text\":{{\"type\":\"mrkdwn\",\"text\":\"...\"}}}}"
                )));
            }
        }
    }
    Ok(())
}

fn severity_label(s: Severity) -> (&'static str, &'static str) {
    match s {
        Severity::Critical => (":red_circle:", "SEV1 critical"),
        Severity::High => (":large_orange_circle:", "SEV2 high"),
        Severity::Medium => (":large_yellow_circle:", "SEV3 medium"),
        Severity::Low => (":large_blue_circle:", "SEV4 low"),
        Severity::Info => (":white_circle:", "info"),
    }
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Investigating => "Investigating",
        Status::Identified => "Identified",
        Status::Mitigated => "Mitigated",
        Status::Resolved => "Resolved",
    }
}

/// Checks a report's lists before building it.
pub fn check_report(r: &IncidentReport) -> Result<(), SlackError> {
    if r.title.trim().is_empty() || r.summary.trim().is_empty() {
        return Err(SlackError::BadArgument(
            "a report needs a title and a summary".into(),
        ));
    }
    for (name, n) in [
        ("facts", r.facts.len()),
        ("actions_taken", r.actions_taken.len()),
        ("pending_approvals", r.pending_approvals.len()),
    ] {
        if n > MAX_ITEMS {
            return Err(SlackError::BadArgument(format!(
                "{name} has {n} items; at most {MAX_ITEMS}. Keep the most telling ones and put the rest in a thread reply"
            )));
        }
    }
    Ok(())
}

fn mrkdwn(text: &str) -> Value {
    json!({"type": "mrkdwn", "text": text})
}

fn bullets(title: &str, items: &[String]) -> String {
    let list: Vec<String> = items
        .iter()
        .map(|i| format!("• {}", escape(i.trim())))
        .collect();
    clip(&format!("*{title}*\n{}", list.join("\n")), MAX_SECTION)
}

/// The report as Block Kit, and its plain-text fallback. Every field is escaped, so nothing
/// the model wrote can mention, link or ping.
pub fn report(r: &IncidentReport) -> (Vec<Value>, String) {
    let (emoji, sev) = severity_label(r.severity);
    let status = status_label(r.status);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "emoji": true,
            "text": clip(&format!("{emoji} {}", r.title.trim()), MAX_HEADER)}}),
        json!({"type": "context", "elements": [mrkdwn(&format!("*Status:* {status}   *Severity:* {sev}"))]}),
        json!({"type": "section", "text": mrkdwn(&clip(&escape(r.summary.trim()), MAX_SECTION))}),
    ];
    for chunk in r.facts.chunks(10) {
        let fields: Vec<Value> = chunk
            .iter()
            .map(|f| {
                mrkdwn(&clip(
                    &format!("*{}*\n{}", escape(f.label.trim()), escape(f.value.trim())),
                    MAX_FIELD,
                ))
            })
            .collect();
        blocks.push(json!({"type": "section", "fields": fields}));
    }
    if !r.actions_taken.is_empty() || !r.pending_approvals.is_empty() {
        blocks.push(json!({"type": "divider"}));
    }
    if !r.actions_taken.is_empty() {
        blocks.push(json!({"type": "section", "text": mrkdwn(&bullets(":white_check_mark: Actions taken", &r.actions_taken))}));
    }
    if !r.pending_approvals.is_empty() {
        blocks.push(json!({"type": "section", "text": mrkdwn(&bullets(":hourglass_flowing_sand: Waiting for approval", &r.pending_approvals))}));
    }
    if let Some(c) = r
        .context
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        blocks
            .push(json!({"type": "context", "elements": [mrkdwn(&clip(&escape(c), MAX_SECTION))]}));
    }
    (blocks, fallback(r, sev, status))
}

fn fallback(r: &IncidentReport, sev: &str, status: &str) -> String {
    let mut lines = vec![
        format!("[{}] {} ({status})", sev.to_uppercase(), r.title.trim()),
        r.summary.trim().to_owned(),
    ];
    for f in &r.facts {
        lines.push(format!("{}: {}", f.label.trim(), f.value.trim()));
    }
    if !r.actions_taken.is_empty() {
        lines.push(format!("Actions taken: {}", r.actions_taken.join("; ")));
    }
    if !r.pending_approvals.is_empty() {
        lines.push(format!(
            "Waiting for approval: {}",
            r.pending_approvals.join("; ")
        ));
    }
    clip(&escape(&lines.join("\n")), MAX_FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::Fact;

    fn sample() -> IncidentReport {
        IncidentReport {
            channel: "#incidents".into(),
            title: "payment-service crash-looping".into(),
            severity: Severity::High,
            status: Status::Identified,
            summary: "OOMKilled since 14:02 <!here>; p99 > 4s & rising".into(),
            facts: (0..12)
                .map(|i| Fact {
                    label: format!("fact {i}"),
                    value: "v".into(),
                })
                .collect(),
            actions_taken: vec!["deleted pod payment-7d8f-xyz".into()],
            pending_approvals: vec!["raise memory limit to 768Mi".into()],
            context: Some("run r-42".into()),
            thread_ts: None,
            update_ts: None,
            dry_run: false,
        }
    }

    #[test]
    fn reports_become_block_kit_with_a_fallback() {
        let (blocks, text) = report(&sample());
        let types: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(
            types,
            [
                "header", "context", "section", "section", "section", "divider", "section",
                "section", "context"
            ]
        );
        assert_eq!(
            blocks[0]["text"]["text"],
            ":large_orange_circle: payment-service crash-looping"
        );
        assert_eq!(
            blocks[2]["text"]["text"],
            "OOMKilled since 14:02 &lt;!here&gt;; p99 &gt; 4s &amp; rising"
        );
        assert_eq!(blocks[3]["fields"].as_array().map(Vec::len), Some(10));
        assert_eq!(blocks[4]["fields"].as_array().map(Vec::len), Some(2));
        assert!(text.starts_with("[SEV2 HIGH] payment-service crash-looping (Identified)\nOOMKilled since 14:02 &lt;!here&gt;"), "{text}");
        assert!(text.contains("Waiting for approval: raise memory limit to 768Mi"));
        assert!(check(&blocks).is_ok());
    }

    #[test]
    fn limits_are_tool_errors() {
        assert!(check(&vec![json!({"type": "divider"}); 51]).is_err());
        assert!(check(&[json!({"text": "no type"})]).is_err());
        let big =
            json!({"type": "section", "text": {"type": "mrkdwn", "text": "x".repeat(17_000)}});
        assert!(check(&[big]).is_err());
        let mut r = sample();
        r.actions_taken = vec!["a".into(); 21];
        assert!(check_report(&r).is_err());
        r.actions_taken.clear();
        r.summary = " ".into();
        assert!(check_report(&r).is_err());
    }
}
