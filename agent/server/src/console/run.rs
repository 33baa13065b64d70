//! `/runs/{id}`: one run: its facts, its report with the evidence linked to the calls that
//! produced it, the Slack thread and Jira ticket when there are some, and its timeline. Live
//! while the run is going.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sopilot_runtime::{ApprovalMessage, RunRow, StoreError};

use super::html::{badge, esc, json_inline, json_pre, link_evidence, url_part};
use super::page::{ConsoleError, Nav, layout, ok};
use super::runs::{Facts, duration_text, facts, status_text};
use super::signed_in;
use super::timeline::{Call, Item, Timeline, changes};
use crate::AppState;

fn time(at: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        at.to_rfc3339(),
        at.format("%H:%M:%S")
    )
}

/// The before/after table of an impact.
pub fn impact_html(impact: &Value) -> String {
    let diff = changes(impact);
    let mut o = String::new();
    if !diff.is_empty() {
        o.push_str("<table class=\"diff\"><thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Before</th><th scope=\"col\">After</th></tr></thead><tbody>");
        for c in diff {
            let changed = c.before != c.after;
            let (b, a) = (json_inline(&c.before), json_inline(&c.after));
            let (b, a) = if changed {
                (format!("<del>{b}</del>"), format!("<ins>{a}</ins>"))
            } else {
                (b, a)
            };
            let _ = write!(
                o,
                "<tr><th scope=\"row\">{}</th><td>{b}</td><td>{a}</td></tr>",
                esc(&c.field)
            );
        }
        o.push_str("</tbody></table>");
    }
    let _ = write!(
        o,
        "<details><summary>Full impact</summary>{}</details>",
        json_pre(impact)
    );
    o
}

/// The rules that decided a call and why.
fn why_html(c: &Call) -> String {
    if c.decision.is_none() {
        return String::new();
    }
    let rules = if c.rules.is_empty() {
        "no rule".to_owned()
    } else {
        c.rules
            .iter()
            .map(|r| format!("<a href=\"/policy#rule-{}\">{}</a>", url_part(r), esc(r)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "<p class=\"why\">Rule{} {rules}: {}</p>",
        if c.rules.len() == 1 { "" } else { "s" },
        esc(&c.reason)
    )
}

/// A call's approval: who decided, through which channel and when, or a link to decide.
fn approval_html(c: &Call) -> String {
    let Some(id) = &c.approval_id else {
        return String::new();
    };
    let decided = match &c.resolved {
        Some((state, by, channel, at)) => format!(
            "{} by {} through {} at {}",
            badge(state),
            esc(by.as_deref().unwrap_or("nobody")),
            esc(channel),
            time(*at)
        ),
        None => format!(
            "{} <a href=\"/approvals#{}\">decide in the inbox</a>",
            badge("pending"),
            esc(id)
        ),
    };
    format!(
        "<p class=\"approval\">Approval <code>{}</code>: {decided}</p>",
        esc(id)
    )
}

/// Whether a call executed, how it ended, its bytes and duration.
fn result_html(c: &Call) -> String {
    let Some(f) = &c.finished else {
        return String::new();
    };
    format!(
        "<p class=\"result\">{} {} · {} bytes · {} ms{}</p>",
        badge(if f.executed {
            "executed"
        } else {
            "not executed"
        }),
        badge(if f.ok { "ok" } else { "error" }),
        f.bytes,
        f.ms,
        f.error
            .as_deref()
            .map(|e| format!(" · {}", esc(e)))
            .unwrap_or_default()
    )
}

fn call_html(c: &Call) -> String {
    let anchor = c
        .evidence
        .map(|n| format!(" id=\"E{n}\""))
        .unwrap_or_default();
    let ev = c
        .evidence
        .map(|n| format!("<span class=\"evid\">[E{n}]</span> "))
        .unwrap_or_default();
    format!(
        "<li class=\"call\"{anchor}><div class=\"head\">{ev}<code>{}</code> {}{} <small>{}</small></div><div class=\"args\">{}</div>{}{}{}{}</li>",
        esc(&c.tool),
        c.decision.as_deref().map(badge).unwrap_or_default(),
        c.at.map(time).unwrap_or_default(),
        esc(&c.origin),
        json_inline(&c.args),
        why_html(c),
        c.impact.as_ref().map(impact_html).unwrap_or_default(),
        approval_html(c),
        result_html(c)
    )
}

/// The timeline as an ordered list.
pub fn timeline_html(t: &Timeline) -> String {
    let mut o = String::from("<ol class=\"timeline\">");
    for item in &t.items {
        match item {
            Item::Started { at, sop } => {
                let _ = write!(
                    o,
                    "<li class=\"mark\">{} Run of <strong>{}</strong> started</li>",
                    time(*at),
                    esc(sop)
                );
            }
            Item::Step {
                at,
                step,
                title,
                phase,
            } => {
                let phase = phase
                    .as_deref()
                    .map(|p| format!(" <span class=\"phase\">{}</span>", esc(p)))
                    .unwrap_or_default();
                let _ = write!(
                    o,
                    "<li class=\"step\">{} <h3>Step {step}. {}{phase}</h3></li>",
                    time(*at),
                    esc(title)
                );
            }
            Item::Turn {
                at,
                turn,
                input,
                output,
            } => {
                let _ = write!(
                    o,
                    "<li class=\"turn\">{} Model turn {turn}: {input} tokens in, {output} out</li>",
                    time(*at)
                );
            }
            Item::Note { at, message } => {
                let _ = write!(
                    o,
                    "<li class=\"note\">{} {}</li>",
                    time(*at),
                    link_evidence(message)
                );
            }
            Item::Call(i) => {
                if let Some(c) = t.calls.get(*i) {
                    o.push_str(&call_html(c));
                }
            }
            Item::Finished {
                at,
                status,
                summary,
            } => {
                let _ = write!(
                    o,
                    "<li class=\"mark\">{} Finished {}: {}</li>",
                    time(*at),
                    badge(status),
                    link_evidence(summary)
                );
            }
        }
    }
    o.push_str("</ol>");
    o
}

/// What an executed Slack or Jira call left behind: the channel posted to, the issue
/// created, commented or moved (linked under `jira`, the `JIRA_URL`, when it is known).
fn posted(c: &Call, jira: Option<&str>) -> Option<String> {
    if !c.finished.as_ref().is_some_and(|f| f.executed && f.ok) {
        return None;
    }
    let arg = |k: &str| c.args[k].as_str().unwrap_or("").to_owned();
    match c.tool.as_str() {
        "slack.post_message" | "slack.post_incident_report" => Some(format!(
            "Slack: posted to <code>{}</code>",
            esc(&arg("channel"))
        )),
        "jira.create_issue" => Some(format!(
            "Jira: issue created in <code>{}</code>: {} <a href=\"#E{n}\">[E{n}]</a>",
            esc(&arg("project")),
            esc(&arg("summary")),
            n = c.evidence.unwrap_or(0)
        )),
        "jira.add_comment" | "jira.transition_issue" => {
            let key = arg("issue_key");
            let shown = match jira {
                Some(base) => format!(
                    "<a href=\"{}/browse/{}\" rel=\"noreferrer\">{}</a>",
                    esc(base.trim_end_matches('/')),
                    url_part(&key),
                    esc(&key)
                ),
                None => format!("<code>{}</code>", esc(&key)),
            };
            Some(format!("Jira: {} {shown}", esc(&c.tool)))
        }
        _ => None,
    }
}

/// Where the run was discussed and ticketed: its Slack thread (a Slack-started run) and
/// what it posted; the Jira issues it created or changed.
pub fn links_html(row: &RunRow, t: &Timeline, asked: &[ApprovalMessage]) -> String {
    let mut items = Vec::new();
    for m in asked {
        items.push(format!(
            "Slack: approval <code>{}</code> asked in channel <code>{}</code>, message <code>{}</code>",
            esc(&m.approval_id),
            esc(&m.channel),
            esc(&m.ts)
        ));
    }
    let req = &row.trigger["request"];
    if row.trigger["kind"] == "slack" {
        let channel = req["channel"].as_str().unwrap_or("");
        let ts = req["thread_ts"]
            .as_str()
            .or(req["ts"].as_str())
            .unwrap_or("");
        items.push(format!(
            "Slack thread: channel <code>{}</code>, thread <code>{}</code>",
            esc(channel),
            esc(ts)
        ));
    }
    let jira = std::env::var("JIRA_URL").ok().filter(|u| !u.is_empty());
    items.extend(t.calls.iter().filter_map(|c| posted(c, jira.as_deref())));
    if items.is_empty() {
        return String::new();
    }
    format!(
        "<section class=\"links\" aria-label=\"Slack and Jira\"><h2>Slack and Jira</h2><ul>{}</ul></section>",
        items
            .iter()
            .map(|i| format!("<li>{i}</li>"))
            .collect::<String>()
    )
}

fn facts_html(row: &RunRow, f: &Facts) -> String {
    let cost = f
        .cost_usd
        .map(|c| format!("${c:.4}"))
        .unwrap_or_else(|| "–".into());
    format!(
        "<dl class=\"facts\"><div><dt>Status</dt><dd>{}</dd></div><div><dt>SOP</dt><dd><a href=\"/sops/{}\">{}</a></dd></div><div><dt>Trigger</dt><dd>{}</dd></div><div><dt>Target</dt><dd>{}</dd></div><div><dt>Started</dt><dd>{}</dd></div><div><dt>Duration</dt><dd>{}</dd></div><div><dt>Tokens in/out</dt><dd>{} / {}</dd></div><div><dt>Cost</dt><dd>{cost}</dd></div><div><dt>Model</dt><dd>{}</dd></div></dl>",
        badge(&status_text(row)),
        url_part(&row.sop),
        esc(&row.sop),
        esc(&f.trigger),
        esc(&f.target),
        f.started
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| esc(&row.started_at)),
        f.seconds.map(duration_text).unwrap_or_default(),
        f.input_tokens,
        f.output_tokens,
        esc(&row.model)
    )
}

/// `GET /runs/{id}`
pub async fn show(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ConsoleError> {
    let session = signed_in(&s, &headers)?;
    let live = super::events::live_url(&s, Some(&id));
    let (row, events, _) = match s.runs.store().run(&id) {
        Ok(r) => r,
        Err(StoreError::NoRun(_)) => return Err(ConsoleError::NotFound(format!("no run {id}"))),
        Err(e) => return Err(e.into()),
    };
    let f = facts(&row, &events, &s.runs.runner().prices, Utc::now());
    let t = Timeline::build(&events);
    let asked: Vec<ApprovalMessage> = t
        .calls
        .iter()
        .filter_map(|c| c.approval_id.as_deref())
        .filter_map(|id| s.approvals.store().approval_message(id).ok().flatten())
        .collect();
    let root = sopilot_protocol::root_cause_of(&events)
        .map(|rc| {
            format!(
                "<p>Root cause: <strong>{}</strong> ({:.0} % confident): {}</p>",
                esc(&serde_json::to_value(rc.class)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()),
                rc.confidence * 100.0,
                link_evidence(&rc.summary)
            )
        })
        .unwrap_or_default();
    let report = if row.finished_at.is_some() {
        format!(
            "<section class=\"report\" aria-label=\"Report\"><h2>Report</h2><p>{}</p>{root}{}</section>",
            link_evidence(&row.summary),
            if row.reason.is_empty() {
                String::new()
            } else {
                format!("<p>Stopped: {}</p>", esc(&row.reason))
            }
        )
    } else {
        "<p class=\"live\" role=\"status\">This run is still going; the page follows it.</p>"
            .to_owned()
    };
    let main = format!(
        "<p><a href=\"/runs\">← Runs</a></p><h1>Run <code>{}</code></h1>{}{report}{}<section aria-label=\"Timeline\"><h2>Timeline</h2>{}</section><details><summary>Trigger and parameters</summary>{}{}</details>",
        esc(&row.id),
        facts_html(&row, &f),
        links_html(&row, &t, &asked),
        timeline_html(&t),
        json_pre(&row.trigger),
        json_pre(&row.params)
    );
    Ok(ok(layout(
        &format!("Run {}", row.id),
        Some(&session),
        Nav::Runs,
        Some(&live),
        &main,
    )))
}
