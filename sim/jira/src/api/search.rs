//! `POST /rest/api/3/search/jql`, the enhanced JQL search paged by `nextPageToken`, and
//! `POST /rest/api/2/search` (Data Center), paged by `startAt` with a `total`.

use serde_json::{Value, json};

use super::view::At;
use super::{Api, Call, error};
use crate::jql::{self, Clause, Field, OrderField};
use crate::model::{Issue, World};
use crate::state::Reply;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 100;

fn matches(world: &World, issue: &Issue, c: &Clause) -> bool {
    let hit = c.values.iter().any(|v| match c.field {
        Field::Project => {
            issue.project.eq_ignore_ascii_case(v)
                || world
                    .project(&issue.project)
                    .is_some_and(|p| p.name.eq_ignore_ascii_case(v))
        }
        Field::Status => issue.status.eq_ignore_ascii_case(v),
        Field::Labels => issue.labels.iter().any(|l| l == v),
        Field::Key => issue.key.eq_ignore_ascii_case(v),
        Field::IssueType => issue.issue_type.eq_ignore_ascii_case(v),
    });
    hit != c.negated
}

/// Jira's 400 for a project value the user cannot see.
fn check_projects(call: &Call<'_>, clauses: &[Clause]) -> Result<(), Reply> {
    for c in clauses.iter().filter(|c| c.field == Field::Project) {
        for v in &c.values {
            let known = call.world.projects.iter().any(|p| {
                (p.key.eq_ignore_ascii_case(v) || p.name.eq_ignore_ascii_case(v))
                    && call.user().sees(&p.key)
            });
            if !known {
                return Err(error(
                    400,
                    &[&format!(
                        "The value '{v}' does not exist for the field 'project'."
                    )],
                    &[],
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn search(call: &Call<'_>) -> Result<Reply, Reply> {
    let body = call.json()?;
    let Some(text) = body["jql"].as_str() else {
        return Err(error(400, &["The 'jql' field is required."], &[]));
    };
    let query = jql::parse(text).map_err(|m| error(400, &[&m], &[]))?;
    if query.clauses.is_empty() {
        return Err(error(
            400,
            &[
                "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
            ],
            &[],
        ));
    }
    check_projects(call, &query.clauses)?;
    let page = match body["maxResults"].as_u64() {
        Some(n) => usize::try_from(n).unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE),
        None => DEFAULT_PAGE,
    };
    let start = match call.api {
        Api::V2 => start_at(&body)?,
        Api::V3 => page_token(&body)?,
    };
    let fields = wanted_fields(call.api, &body["fields"]);
    let mut hits: Vec<&Issue> = call
        .world
        .issues
        .iter()
        .filter(|i| call.user().sees(&i.project))
        .filter(|i| query.clauses.iter().all(|c| matches(call.world, i, c)))
        .collect();
    sort(
        &mut hits,
        query.order.unwrap_or((OrderField::Created, true)),
    );
    let end = (start + page).min(hits.len());
    let at = At::of(call);
    let issues: Vec<Value> = hits
        .get(start..end)
        .unwrap_or_default()
        .iter()
        .map(|i| super::view::issue_bean(call.world, &at, i, fields.as_deref()))
        .collect();
    let out = match call.api {
        Api::V2 => {
            json!({"expand": "schema,names", "startAt": start, "maxResults": page, "total": hits.len(), "issues": issues})
        }
        Api::V3 => {
            let mut out = json!({"issues": issues, "isLast": end >= hits.len()});
            if end < hits.len() {
                out["nextPageToken"] = json!(format!("sim-page-{end}"));
            }
            out
        }
    };
    Ok(Reply {
        status: 200,
        body: Some(out),
    })
}

/// v2's `startAt` (default 0).
fn start_at(body: &Value) -> Result<usize, Reply> {
    match &body["startAt"] {
        Value::Null => Ok(0),
        v => v
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| error(400, &["startAt must be a non-negative number."], &[])),
    }
}

/// v3's `nextPageToken` (none: the first page).
fn page_token(body: &Value) -> Result<usize, Reply> {
    match body["nextPageToken"].as_str() {
        None => Ok(0),
        Some(t) => t
            .strip_prefix("sim-page-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| {
                error(
                    400,
                    &["The provided next page token is invalid or expired."],
                    &[],
                )
            }),
    }
}

/// The fields asked for; without a list, v3's enhanced search returns ids only and v2's
/// search every navigable field.
fn wanted_fields(api: Api, fields: &Value) -> Option<Vec<String>> {
    match (fields, api) {
        (Value::Array(a), _) => Some(
            a.iter()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect(),
        ),
        (_, Api::V3) => Some(vec!["id".to_owned()]),
        (_, Api::V2) => None,
    }
}

fn sort(hits: &mut [&Issue], (by, desc): (OrderField, bool)) {
    hits.sort_by(|a, b| {
        let o = match by {
            OrderField::Created => a.created.cmp(&b.created),
            OrderField::Updated => a.updated.cmp(&b.updated),
            OrderField::Key => {
                a.id.parse::<u64>()
                    .unwrap_or(0)
                    .cmp(&b.id.parse::<u64>().unwrap_or(0))
            }
        }
        .then_with(|| a.id.cmp(&b.id));
        if desc { o.reverse() } else { o }
    });
}
