//! `create_issue`, `add_comment` and `transition_issue`: checked against the allow-list
//! before any request, outgoing text redacted, and a dry run that shows the impact.

use rmcp::model::CallToolResult;
use serde_json::{Value, json};
use sopilot_mcp_common::{ok_json, redact};

use crate::Ctx;
use crate::args::{AddComment, CreateIssue, TransitionIssue};
use crate::error::{JiraError, JiraResult};
use crate::read::resolve;
use crate::scope::numeric_id;

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

/// Labels are identifiers: one that redaction would change (a credential, an address) is
/// refused rather than masked into a nonsense label.
fn check_labels(labels: &[String]) -> JiraResult<()> {
    if let Some(bad) = labels
        .iter()
        .find(|l| l.is_empty() || l.contains(char::is_whitespace))
    {
        return Err(JiraError::BadArgument(format!(
            "label {bad:?} is empty or has spaces; Jira labels are single words, e.g. sev2 or payment-service"
        )));
    }
    // The value is not echoed: the error goes back to the model and into logs.
    match labels.iter().position(|l| clean(l) != *l) {
        Some(i) => Err(JiraError::BadArgument(format!(
            "label {} of {} looks like a credential or personal data; use a plain word, e.g. sev2 or payment-service",
            i + 1,
            labels.len()
        ))),
        None => Ok(()),
    }
}

/// The issue type, `Task` when none; one that redaction would change is refused.
fn issue_type(asked: Option<&str>) -> JiraResult<String> {
    let t = asked
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("Task");
    if clean(t) != t {
        return Err(JiraError::BadArgument(
            "issue_type looks like a credential or personal data; use a type of the project, e.g. Task, Bug or Incident".into(),
        ));
    }
    Ok(t.to_owned())
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
    let issue_type = issue_type(a.issue_type.as_deref())?;
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
    ctx.projects.issue(&a.issue_key)?;
    let body = clean(&a.body);
    if body.trim().is_empty() {
        return Err(JiraError::BadArgument(
            "body is empty: write the comment's text".into(),
        ));
    }
    let (issue, _) = resolve(ctx, &a.issue_key, "project").await?;
    let key = &issue.key;
    let impact = json!({"action": "add_comment", "target": {"kind": "JiraIssue", "name": key}, "project": issue.project, "issue_id": issue.id, "chars": body.chars().count()});
    if a.dry_run {
        return Ok(dry(
            format!("dry run: would comment on {key}:\n{body}"),
            impact,
        ));
    }
    let v = ctx
        .jira
        .post(
            &format!("issue/{}/comment", issue.id),
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
    let wanted = a.transition.trim();
    let (resolved, issue) = resolve(ctx, &a.issue_key, "status,project").await?;
    let (key, id) = (&resolved.key, &resolved.id);
    let from = issue["fields"]["status"]["name"]
        .as_str()
        .unwrap_or("?")
        .to_owned();
    let list = ctx
        .jira
        .get(
            &format!("issue/{id}/transitions"),
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
    let (name, to) = (
        t["name"].as_str().unwrap_or_default().to_owned(),
        t["to"]["name"].as_str().unwrap_or("?").to_owned(),
    );
    let Some(transition) = numeric_id(&t["id"]) else {
        return Err(JiraError::BadArgument(format!(
            "Jira's transition {name:?} of {key} has no numeric id; nothing was changed"
        )));
    };
    let impact = json!({"action": "transition_issue", "target": {"kind": "JiraIssue", "name": key}, "project": resolved.project, "issue_id": id, "transition": name, "from": from, "to": to});
    if a.dry_run {
        return Ok(dry(
            format!("dry run: would move {key} from {from} to {to} ({name})"),
            impact,
        ));
    }
    ctx.jira
        .post(
            &format!("issue/{id}/transitions"),
            &json!({"transition": {"id": transition}}),
            &format!("transition {key} ({name})"),
        )
        .await?;
    Ok(ok_json(
        format!("moved {key} from {from} to {to} ({name})"),
        &json!({"issue_key": key, "from": from, "to": to, "transition": name}),
    ))
}
