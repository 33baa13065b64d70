//! Creating issues, commenting and transitioning, with Jira's validation errors.

use serde_json::{Value, json};

use super::view::At;
use super::{Api, Call, error};
use crate::adf;
use crate::model::{Comment, Issue};
use crate::state::Reply;

fn needs_write(call: &Call<'_>, what: &str) -> Result<(), Reply> {
    if call.user().write {
        Ok(())
    } else {
        Err(error(
            403,
            &[&format!("You do not have the permission to {what}.")],
            &[],
        ))
    }
}

/// A body as the request's API writes it: an ADF document (v3) or a string of wiki markup
/// (v2), kept as ADF; `None` when it is neither.
fn body_of(api: Api, v: &Value) -> Option<Value> {
    match (api, v) {
        (Api::V3, d) if adf::is_document(d) => Some(d.clone()),
        (Api::V2, Value::String(text)) => Some(adf::from_text(text)),
        _ => None,
    }
}

/// What Jira says about a body of the wrong shape for the API.
fn wrong_body(api: Api) -> &'static str {
    match api {
        Api::V3 => adf::NOT_A_DOCUMENT,
        Api::V2 => "Operation value must be a string",
    }
}

/// `POST /rest/api/N/issue`: `{"fields": {project, issuetype, summary, description, labels}}`.
pub(crate) fn create(call: &mut Call<'_>) -> Result<Reply, Reply> {
    let body = call.json()?;
    let f = &body["fields"];
    if !f.is_object() {
        return Err(error(
            400,
            &["Field 'fields' is required: {\"fields\": {\"project\": {\"key\": ...}, ...}}"],
            &[],
        ));
    }
    let project_ref = f["project"]["key"].as_str().or(f["project"]["id"].as_str());
    let project = project_ref
        .and_then(|r| call.world.projects.iter().find(|p| p.key == r || p.id == r))
        .filter(|p| call.user().sees(&p.key))
        .cloned();
    let Some(project) = project else {
        return Err(error(
            400,
            &[],
            &[("project", "Specify a valid project ID or key")],
        ));
    };
    needs_write(call, "create issues in this project")?;
    let type_ref = f["issuetype"]["name"]
        .as_str()
        .or(f["issuetype"]["id"].as_str());
    let Some((_, issue_type)) =
        type_ref.and_then(|r| project.issue_types.iter().find(|(id, n)| n == r || id == r))
    else {
        return Err(error(
            400,
            &[],
            &[("issuetype", "Specify a valid issue type")],
        ));
    };
    let summary = f["summary"].as_str().map(str::trim).unwrap_or_default();
    if summary.is_empty() {
        return Err(error(
            400,
            &[],
            &[("summary", "You must specify a summary of the issue.")],
        ));
    }
    if summary.chars().count() > 255 || summary.contains('\n') {
        return Err(error(
            400,
            &[],
            &[(
                "summary",
                "Summary must be less than 255 characters and on one line.",
            )],
        ));
    }
    let description = match &f["description"] {
        Value::Null => None,
        d => match body_of(call.api, d) {
            Some(d) => Some(d),
            None => return Err(error(400, &[], &[("description", wrong_body(call.api))])),
        },
    };
    let labels = labels(&f["labels"])?;
    call.world.next_issue_id += 1;
    let issue = Issue {
        id: call.world.next_issue_id.to_string(),
        key: format!("{}-{}", project.key, call.world.next_number(&project.key)),
        project: project.key.clone(),
        issue_type: issue_type.clone(),
        summary: summary.to_owned(),
        description,
        status: project
            .statuses
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        labels,
        created: call.now,
        updated: call.now,
        reporter: Some(call.user().account_id.clone()),
        comments: Vec::new(),
        old_keys: Vec::new(),
    };
    let reply = json!({"id": issue.id, "key": issue.key, "self": format!("{}/issue/{}", At::of(call).root, issue.id)});
    call.world.issues.push(issue);
    Ok(Reply {
        status: 201,
        body: Some(reply),
    })
}

fn labels(v: &Value) -> Result<Vec<String>, Reply> {
    let Some(list) = v.as_array() else {
        return if v.is_null() {
            Ok(Vec::new())
        } else {
            Err(error(
                400,
                &[],
                &[("labels", "labels must be an array of strings")],
            ))
        };
    };
    let mut out = Vec::new();
    for l in list {
        match l.as_str() {
            Some(s) if !s.is_empty() && !s.contains(char::is_whitespace) => out.push(s.to_owned()),
            _ => {
                let msg = format!(
                    "The label '{}' contains spaces which is invalid.",
                    l.as_str().unwrap_or_default()
                );
                return Err(error(400, &[], &[("labels", &msg)]));
            }
        }
    }
    Ok(out)
}

/// `POST /rest/api/N/issue/{key}/comment`: `{"body": ADF}` (v3) or `{"body": "text"}` (v2).
pub(crate) fn comment(call: &mut Call<'_>, key: &str) -> Result<Reply, Reply> {
    let i = call.visible_issue(key)?;
    let body = call.json()?;
    needs_write(call, "comment on this issue")?;
    let Some(text) = body_of(call.api, &body["body"]) else {
        return Err(error(400, &[], &[("comment", wrong_body(call.api))]));
    };
    call.world.next_comment_id += 1;
    let c = Comment {
        id: call.world.next_comment_id.to_string(),
        author: call.user().account_id.clone(),
        body: text,
        created: call.now,
    };
    let now = call.now;
    let issue = &mut call.world.issues[i];
    issue.comments.push(c.clone());
    issue.updated = now;
    let issue = &call.world.issues[i];
    let out = super::view::comment(call.world, &At::of(call), issue, &c);
    Ok(Reply {
        status: 201,
        body: Some(out),
    })
}

/// `POST /rest/api/N/issue/{key}/transitions`: `{"transition": {"id": "21"}}`; 204.
pub(crate) fn transition(call: &mut Call<'_>, key: &str) -> Result<Reply, Reply> {
    let i = call.visible_issue(key)?;
    let body = call.json()?;
    needs_write(call, "transition this issue")?;
    let Some(id) = body["transition"]["id"].as_str() else {
        return Err(error(400, &["Missing 'transition' identifier"], &[]));
    };
    let issue = &call.world.issues[i];
    let to = call
        .world
        .project(&issue.project)
        .and_then(|p| p.transitions_from(&issue.status).find(|t| t.id == id))
        .map(|t| t.to.clone());
    let Some(to) = to else {
        return Err(error(
            400,
            &[&format!(
                "Transition id '{id}' is not valid for this issue."
            )],
            &[],
        ));
    };
    let now = call.now;
    let issue = &mut call.world.issues[i];
    issue.status = to;
    issue.updated = now;
    Ok(Reply {
        status: 204,
        body: None,
    })
}
