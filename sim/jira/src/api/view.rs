//! Issues, comments and transitions as Jira's JSON (`IssueBean`, `Comment`, `Transitions`).

use serde_json::{Map, Value, json};

use super::{Api, Call};
use crate::adf;
use crate::model::{Comment, Issue, Project, Status, User, World};
use crate::state::Reply;
use crate::time::jira;

/// Where links point and how bodies are written: the API a request spoke.
pub(crate) struct At {
    /// `http://HOST/rest/api/N`.
    pub root: String,
    pub api: Api,
}

impl At {
    pub fn of(call: &Call<'_>) -> At {
        At {
            root: format!("{}/rest/api/{}", call.req.base, call.api.number()),
            api: call.api,
        }
    }

    /// A stored ADF body as this API writes it: the document (v3) or its text (v2).
    pub fn body(&self, doc: &Value) -> Value {
        match self.api {
            Api::V3 => doc.clone(),
            Api::V2 => Value::String(adf::to_text(doc)),
        }
    }
}

fn category(s: &Status) -> Value {
    let (id, name, color) = match s.category.as_str() {
        "new" => (2, "To Do", "blue-gray"),
        "done" => (3, "Done", "green"),
        _ => (4, "In Progress", "yellow"),
    };
    json!({"id": id, "key": s.category, "colorName": color, "name": name})
}

pub(crate) fn status(at: &At, s: &Status) -> Value {
    json!({"self": format!("{}/status/{}", at.root, s.id), "description": "", "name": s.name, "id": s.id, "statusCategory": category(s)})
}

fn user(world: &World, account_id: &str) -> Value {
    let u: Option<&User> = world.users.iter().find(|u| u.account_id == account_id);
    // Cloud names users by accountId; Data Center by name and key (both given: clients
    // read the one they know).
    let name = u.map_or(account_id, |u| u.email.as_str());
    json!({"accountId": account_id, "name": name, "key": account_id, "displayName": u.map_or(account_id, |u| u.display_name.as_str()), "active": true, "accountType": "atlassian"})
}

pub(crate) fn comment(world: &World, at: &At, issue: &Issue, c: &Comment) -> Value {
    json!({
        "self": format!("{}/issue/{}/comment/{}", at.root, issue.id, c.id),
        "id": c.id,
        "author": user(world, &c.author),
        "body": at.body(&c.body),
        "updateAuthor": user(world, &c.author),
        "created": jira(c.created),
        "updated": jira(c.created),
        "jsdPublic": true,
    })
}

/// Every field of `issue`, by its Jira id.
fn all_fields(world: &World, at: &At, issue: &Issue, project: &Project) -> Map<String, Value> {
    let issue_type = project
        .issue_types
        .iter()
        .find(|(_, n)| *n == issue.issue_type);
    let comments: Vec<Value> = issue
        .comments
        .iter()
        .map(|c| comment(world, at, issue, c))
        .collect();
    let mut f = Map::new();
    f.insert("summary".into(), json!(issue.summary));
    f.insert(
        "status".into(),
        project
            .status(&issue.status)
            .map_or(Value::Null, |s| status(at, s)),
    );
    f.insert(
        "issuetype".into(),
        json!({"id": issue_type.map(|t| t.0.clone()), "name": issue.issue_type, "subtask": false}),
    );
    f.insert("project".into(), json!({"self": format!("{}/project/{}", at.root, project.id), "id": project.id, "key": project.key, "name": project.name}));
    f.insert("labels".into(), json!(issue.labels));
    f.insert("created".into(), json!(jira(issue.created)));
    f.insert("updated".into(), json!(jira(issue.updated)));
    f.insert(
        "description".into(),
        issue
            .description
            .as_ref()
            .map_or(Value::Null, |d| at.body(d)),
    );
    f.insert(
        "reporter".into(),
        issue
            .reporter
            .as_deref()
            .map_or(Value::Null, |r| user(world, r)),
    );
    f.insert("comment".into(), json!({"self": format!("{}/issue/{}/comment", at.root, issue.id), "comments": comments, "maxResults": comments.len(), "total": comments.len(), "startAt": 0}));
    f
}

/// An `IssueBean` with the fields `wanted` (`None`, `*all` or `*navigable`: all; empty or
/// `id` alone: none).
pub(crate) fn issue_bean(
    world: &World,
    at: &At,
    issue: &Issue,
    wanted: Option<&[String]>,
) -> Value {
    let mut bean = json!({"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations", "id": issue.id, "self": format!("{}/issue/{}", at.root, issue.id), "key": issue.key});
    let Some(project) = world.project(&issue.project) else {
        return bean;
    };
    let all = all_fields(world, at, issue, project);
    let fields: Map<String, Value> = match wanted {
        Some(w) if !w.iter().any(|f| f == "*all" || f == "*navigable") => all
            .into_iter()
            .filter(|(k, _)| w.iter().any(|f| f == k))
            .collect(),
        _ => all,
    };
    if wanted.is_some_and(|w| w.iter().all(|f| f == "id")) {
        return json!({"id": issue.id});
    }
    bean["fields"] = Value::Object(fields);
    bean
}

pub(crate) fn get_issue(call: &Call<'_>, key: &str) -> Result<Reply, Reply> {
    let i = call.visible_issue(key)?;
    let wanted: Option<Vec<String>> = call.req.query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("fields="))
            .map(|v| percent_decode(v).split(',').map(str::to_owned).collect())
    });
    let issue = &call.world.issues[i];
    Ok(Reply {
        status: 200,
        body: Some(issue_bean(
            call.world,
            &At::of(call),
            issue,
            wanted.as_deref(),
        )),
    })
}

pub(crate) fn transitions(call: &Call<'_>, key: &str) -> Result<Reply, Reply> {
    let i = call.visible_issue(key)?;
    let issue = &call.world.issues[i];
    let at = At::of(call);
    let list: Vec<Value> = call
        .world
        .project(&issue.project)
        .map(|p| {
            p.transitions_from(&issue.status)
                .map(|t| {
                    let to = p.status(&t.to).map_or(Value::Null, |s| status(&at, s));
                    json!({"id": t.id, "name": t.name, "to": to, "hasScreen": false, "isGlobal": t.from.is_empty(), "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false})
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Reply {
        status: 200,
        body: Some(json!({"expand": "transitions", "transitions": list})),
    })
}

/// `%XX` escapes and `+` decoded (what a query string's value needs).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
