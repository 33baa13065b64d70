//! `create_issue`, `add_comment` and `transition_issue`: checked against the allow-list
//! before any request, outgoing text redacted, and a dry run that shows the impact.

use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{ok_json, redact};

use crate::Ctx;
use crate::args::{AddComment, CreateIssue, TransitionIssue};
use crate::error::{JiraError, JiraResult};

/// The answer to a dry run: nothing executed, the impact named as the gate reads it
/// (`action`, and a `target` with `kind` and `name`: `JiraProject` for a new issue,
/// `JiraIssue` for a comment or a transition).
fn dry(text: String, impact: Value) -> CallToolResult {
    ok_json(
        text,
        &json!({"dry_run": true, "executed": false, "impact": impact}),
    )
}

fn clean(text: &str) -> String {
    redact(text).into_owned()
}

fn check_labels(labels: &[String]) -> JiraResult<()> {
    match labels
        .iter()
        .find(|l| l.is_empty() || l.contains(char::is_whitespace))
    {
        Some(bad) => Err(JiraError::BadArgument(format!(
            "label {bad:?} is empty or has spaces; Jira labels are single words, e.g. sev2 or payment-service"
        ))),
        None => Ok(()),
    }
}

pub async fn create_issue(ctx: &Ctx, a: CreateIssue) -> JiraResult<CallToolResult> {
    let project = ctx.projects.project(&a.project)?;
    let summary = clean(a.summary.trim());
    if summary.is_empty() || summary.contains('\n') || summary.chars().count() > 255 {
        return Err(JiraError::BadArgument(
            "summary must be one non-empty line of at most 255 characters".into(),
        ));
    }
    check_labels(&a.labels)?;
    let issue_type = a
        .issue_type
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("Task")
        .to_owned();
    let description = a
        .description
        .as_deref()
        .map(clean)
        .filter(|d| !d.trim().is_empty());
    let impact = json!({"action": "create_issue", "target": {"kind": "JiraProject", "name": project}, "project": project, "issue_type": issue_type, "summary": summary, "labels": a.labels});
    if a.dry_run {
        return Ok(dry(
            format!("dry run: would create a {issue_type} in {project}: {summary}"),
            impact,
        ));
    }
    let mut fields = json!({"project": {"key": project}, "issuetype": {"name": issue_type}, "summary": summary, "labels": a.labels});
    if let Some(d) = &description {
        fields["description"] = ctx.jira.body(d);
    }
    let v = ctx
        .jira
        .post(
            "issue",
            &json!({"fields": fields}),
            &format!("create an issue in {project}"),
        )
        .await?;
    let key = v["key"].as_str().unwrap_or("?").to_owned();
    let url = format!("{}/browse/{key}", ctx.jira.url());
    Ok(ok_json(
        format!("created {key}: {summary}\n{url}"),
        &json!({"key": key, "id": v["id"], "url": url, "project": project}),
    ))
}

pub async fn add_comment(ctx: &Ctx, a: AddComment) -> JiraResult<CallToolResult> {
    let key = ctx.projects.issue(&a.issue_key)?;
    let body = clean(&a.body);
    if body.trim().is_empty() {
        return Err(JiraError::BadArgument(
            "body is empty: write the comment's text".into(),
        ));
    }
    let project = key
        .rsplit_once('-')
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default();
    let impact = json!({"action": "add_comment", "target": {"kind": "JiraIssue", "name": key}, "project": project, "chars": body.chars().count()});
    if a.dry_run {
        return Ok(dry(
            format!("dry run: would comment on {key}:\n{body}"),
            impact,
        ));
    }
    let v = ctx
        .jira
        .post(
            &format!("issue/{key}/comment"),
            &json!({"body": ctx.jira.body(&body)}),
            &format!("comment on {key}"),
        )
        .await?;
    Ok(ok_json(
        format!(
            "commented on {key} (comment {})",
            v["id"].as_str().unwrap_or("?")
        ),
        &json!({"issue_key": key, "comment_id": v["id"]}),
    ))
}

pub async fn transition_issue(ctx: &Ctx, a: TransitionIssue) -> JiraResult<CallToolResult> {
    let key = ctx.projects.issue(&a.issue_key)?;
    let wanted = a.transition.trim();
    let issue = ctx
        .jira
        .get(
            &format!("issue/{key}"),
            &[("fields", "status")],
            &format!("read {key}"),
        )
        .await?;
    let from = issue["fields"]["status"]["name"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    let list = ctx
        .jira
        .get(
            &format!("issue/{key}/transitions"),
            &[],
            &format!("list the transitions of {key}"),
        )
        .await?;
    let available = list["transitions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let found = available
        .iter()
        .find(|t| {
            t["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        })
        // A transition is often named after its status: accept the target status too.
        .or_else(|| {
            available.iter().find(|t| {
                t["to"]["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
            })
        });
    let Some(t) = found else {
        let names: Vec<String> = available
            .iter()
            .map(|t| {
                format!(
                    "{:?} (to {})",
                    t["name"].as_str().unwrap_or("?"),
                    t["to"]["name"].as_str().unwrap_or("?")
                )
            })
            .collect();
        return Err(JiraError::BadArgument(format!(
            "{key} (status {from}) has no transition {wanted:?}; available: {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        )));
    };
    let (id, name, to) = (
        t["id"].as_str().unwrap_or_default().to_owned(),
        t["name"].as_str().unwrap_or_default().to_owned(),
        t["to"]["name"].as_str().unwrap_or("?").to_owned(),
    );
    let project = key
        .rsplit_once('-')
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default();
    let impact = json!({"action": "transition_issue", "target": {"kind": "JiraIssue", "name": key}, "project": project, "transition": name, "from": from, "to": to});
    if a.dry_run {
        return Ok(dry(
            format!("dry run: would move {key} from {from} to {to} ({name})"),
            impact,
        ));
    }
    ctx.jira
        .post(
            &format!("issue/{key}/transitions"),
            &json!({"transition": {"id": id}}),
            &format!("transition {key} ({name})"),
        )
        .await?;
    Ok(ok_json(
        format!("moved {key} from {from} to {to} ({name})"),
        &json!({"issue_key": key, "from": from, "to": to, "transition": name}),
    ))
}
