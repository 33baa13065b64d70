//! The scenario's `jira` section: the site the simulator starts with.
//!
//! ```yaml
//! jira:
//!   users:              # default: one user, DEFAULT_EMAIL with DEFAULT_API_TOKEN and DEFAULT_PAT
//!     - {account_id: 5b10ac8d82e05b22cc7d4ef5, name: SOPilot, email: sopilot@example.com,
//!        api_token: ..., pat: ..., projects: [OPS], write: true}   # projects: default all
//!   projects:           # default: OPS (Operations) with Task, Bug and Incident
//!     - key: OPS
//!       name: Operations
//!       issue_types: [Task, Bug, Incident]
//!       workflow:       # default: To Do, In Progress, Done, with global transitions to each
//!         statuses: [{name: To Do, category: new}, {name: In Progress, category: indeterminate}, {name: Done, category: done}]
//!         transitions: [{id: "21", name: Start work, to: In Progress, from: [To Do]}]
//!   issues:
//!     - {key: OPS-1, type: Incident, summary: payments 5xx, description: "text", status: In Progress,
//!        labels: [sev1], created: -2h, comments: [{body: "paged", at: -1h}]}
//!     - {key: SEC-7, summary: moved here, moved_from: [OPS-5]}   # OPS-5 still resolves to it
//! ```

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::adf;
use crate::error::JiraSimError;
use crate::model::{Comment, Issue, Project, Status, Transition, User, World};
use crate::time::parse_when;

/// The email of the default user.
pub const DEFAULT_EMAIL: &str = "sopilot@example.com";
/// The API token (Cloud, with [`DEFAULT_EMAIL`]) of the default user.
pub const DEFAULT_API_TOKEN: &str = "ATATT3xFfGF0-sopilot-sim-api-token";
/// The personal access token (Data Center) of the default user.
pub const DEFAULT_PAT: &str = "NjM0-sopilot-sim-personal-access-token";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    users: Option<Vec<UserSpec>>,
    projects: Option<Vec<ProjectSpec>>,
    #[serde(default)]
    issues: Vec<IssueSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserSpec {
    account_id: Option<String>,
    name: Option<String>,
    email: String,
    api_token: Option<String>,
    pat: Option<String>,
    projects: Option<Vec<String>>,
    #[serde(default = "yes")]
    write: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSpec {
    key: String,
    name: Option<String>,
    issue_types: Option<Vec<String>>,
    workflow: Option<WorkflowSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkflowSpec {
    statuses: Vec<StatusSpec>,
    transitions: Option<Vec<TransitionSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusSpec {
    name: String,
    category: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionSpec {
    id: String,
    name: String,
    to: String,
    #[serde(default)]
    from: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueSpec {
    key: String,
    #[serde(rename = "type")]
    issue_type: Option<String>,
    summary: String,
    description: Option<String>,
    status: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    created: Option<String>,
    reporter: Option<String>,
    #[serde(default)]
    comments: Vec<CommentSpec>,
    /// Keys the issue had in other projects before it was moved (they keep resolving).
    #[serde(default)]
    moved_from: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentSpec {
    author: Option<String>,
    body: String,
    at: Option<String>,
}

/// The world a section describes; relative times count from `now`.
pub(crate) fn world(section: Option<&Value>, now: DateTime<Utc>) -> Result<World, JiraSimError> {
    let spec: Section = match section {
        None | Some(Value::Null) => Section::default(),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| JiraSimError::field("", e.to_string()))?
        }
    };
    let users = users(spec.users)?;
    let projects = projects(spec.projects)?;
    let mut world = World {
        users,
        projects,
        next_issue_id: 10_000,
        next_comment_id: 10_000,
        ..World::default()
    };
    for (i, s) in spec.issues.into_iter().enumerate() {
        let issue = issue(&mut world, s, now, &format!("issues[{i}]"))?;
        world.issues.push(issue);
    }
    Ok(world)
}

fn users(specs: Option<Vec<UserSpec>>) -> Result<Vec<User>, JiraSimError> {
    let Some(specs) = specs else {
        return Ok(vec![User {
            account_id: "5b10ac8d82e05b22cc7d4ef5".into(),
            display_name: "SOPilot".into(),
            email: DEFAULT_EMAIL.into(),
            api_token: Some(DEFAULT_API_TOKEN.into()),
            pat: Some(DEFAULT_PAT.into()),
            projects: None,
            write: true,
        }]);
    };
    specs
        .into_iter()
        .enumerate()
        .map(|(i, u)| {
            if u.api_token.is_none() && u.pat.is_none() {
                return Err(JiraSimError::field(
                    format!("users[{i}]"),
                    "give the user an api_token (Cloud) or a pat (Data Center), or both",
                ));
            }
            Ok(User {
                account_id: u.account_id.unwrap_or_else(|| format!("acct-{i}")),
                display_name: u.name.unwrap_or_else(|| u.email.clone()),
                email: u.email,
                api_token: u.api_token,
                pat: u.pat,
                projects: u.projects,
                write: u.write,
            })
        })
        .collect()
}

fn default_workflow() -> (Vec<Status>, Vec<Transition>) {
    let statuses = [
        ("To Do", "new"),
        ("In Progress", "indeterminate"),
        ("Done", "done"),
    ];
    let statuses: Vec<Status> = statuses
        .iter()
        .enumerate()
        .map(|(i, (n, c))| Status {
            id: (10_000 + i).to_string(),
            name: (*n).into(),
            category: (*c).into(),
        })
        .collect();
    let transitions = statuses
        .iter()
        .enumerate()
        .map(|(i, s)| Transition {
            id: (11 + 10 * i).to_string(),
            name: s.name.clone(),
            to: s.name.clone(),
            from: Vec::new(),
        })
        .collect();
    (statuses, transitions)
}

fn projects(specs: Option<Vec<ProjectSpec>>) -> Result<Vec<Project>, JiraSimError> {
    let specs = specs.unwrap_or_else(|| {
        vec![ProjectSpec {
            key: "OPS".into(),
            name: Some("Operations".into()),
            issue_types: None,
            workflow: None,
        }]
    });
    specs
        .into_iter()
        .enumerate()
        .map(|(i, p)| project(p, i))
        .collect()
}

fn project(p: ProjectSpec, i: usize) -> Result<Project, JiraSimError> {
    let at = format!("projects[{i}]");
    if p.key.is_empty()
        || !p
            .key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(JiraSimError::field(
            format!("{at}.key"),
            "a project key is upper-case letters and digits, e.g. OPS",
        ));
    }
    let types = p
        .issue_types
        .unwrap_or_else(|| vec!["Task".into(), "Bug".into(), "Incident".into()]);
    let (statuses, transitions) = match p.workflow {
        None => default_workflow(),
        Some(w) => workflow(w, &at)?,
    };
    Ok(Project {
        id: (10_000 + i).to_string(),
        name: p.name.unwrap_or_else(|| p.key.clone()),
        key: p.key,
        issue_types: types
            .into_iter()
            .enumerate()
            .map(|(j, n)| ((10_001 + j).to_string(), n))
            .collect(),
        statuses,
        transitions,
    })
}

fn workflow(w: WorkflowSpec, at: &str) -> Result<(Vec<Status>, Vec<Transition>), JiraSimError> {
    let mut statuses = Vec::new();
    for (j, s) in w.statuses.into_iter().enumerate() {
        if !["new", "indeterminate", "done"].contains(&s.category.as_str()) {
            return Err(JiraSimError::field(
                format!("{at}.workflow.statuses[{j}].category"),
                "one of new, indeterminate, done",
            ));
        }
        statuses.push(Status {
            id: (10_000 + j).to_string(),
            name: s.name,
            category: s.category,
        });
    }
    let known = |n: &str| statuses.iter().any(|s| s.name == n);
    let transitions = match w.transitions {
        None => statuses
            .iter()
            .enumerate()
            .map(|(j, s)| Transition {
                id: (11 + 10 * j).to_string(),
                name: s.name.clone(),
                to: s.name.clone(),
                from: vec![],
            })
            .collect(),
        Some(ts) => {
            for (j, t) in ts.iter().enumerate() {
                if let Some(bad) = std::iter::once(&t.to).chain(&t.from).find(|n| !known(n)) {
                    return Err(JiraSimError::field(
                        format!("{at}.workflow.transitions[{j}]"),
                        format!("status {bad:?} is not one of the workflow's statuses"),
                    ));
                }
            }
            ts.into_iter()
                .map(|t| Transition {
                    id: t.id,
                    name: t.name,
                    to: t.to,
                    from: t.from,
                })
                .collect()
        }
    };
    Ok((statuses, transitions))
}

fn issue(
    world: &mut World,
    s: IssueSpec,
    now: DateTime<Utc>,
    at: &str,
) -> Result<Issue, JiraSimError> {
    let Some((project_key, n)) = s.key.rsplit_once('-') else {
        return Err(JiraSimError::field(
            format!("{at}.key"),
            "an issue key is PROJECT-NUMBER, e.g. OPS-1",
        ));
    };
    let Some(project) = world
        .project(project_key)
        .filter(|_| n.parse::<u64>().is_ok())
    else {
        return Err(JiraSimError::field(
            format!("{at}.key"),
            format!(
                "{:?} is not PROJECT-NUMBER of a project in jira.projects",
                s.key
            ),
        ));
    };
    let issue_type = s.issue_type.unwrap_or_else(|| "Task".into());
    if !project.issue_types.iter().any(|(_, n)| *n == issue_type) {
        return Err(JiraSimError::field(
            format!("{at}.type"),
            format!("{issue_type:?} is not an issue type of project {project_key}"),
        ));
    }
    let status = match s.status {
        None => project
            .statuses
            .first()
            .map(|s| s.name.clone())
            .unwrap_or_default(),
        Some(st) if project.status(&st).is_some() => st,
        Some(st) => {
            return Err(JiraSimError::field(
                format!("{at}.status"),
                format!("{st:?} is not a status of project {project_key}'s workflow"),
            ));
        }
    };
    let when = |field: String, v: Option<String>| match v {
        None => Ok(now),
        Some(v) => parse_when(&v, now).ok_or_else(|| {
            JiraSimError::field(
                field,
                format!("{v:?}: use -30m, -2h, -1d or an RFC 3339 time"),
            )
        }),
    };
    let created = when(format!("{at}.created"), s.created)?;
    let default_author = world
        .users
        .first()
        .map(|u| u.account_id.clone())
        .unwrap_or_default();
    let mut comments = Vec::new();
    for (j, c) in s.comments.into_iter().enumerate() {
        world.next_comment_id += 1;
        comments.push(Comment {
            id: world.next_comment_id.to_string(),
            author: c.author.unwrap_or_else(|| default_author.clone()),
            body: adf::from_text(&c.body),
            created: when(format!("{at}.comments[{j}].at"), c.at)?,
        });
    }
    world.next_issue_id += 1;
    Ok(Issue {
        id: world.next_issue_id.to_string(),
        key: s.key.clone(),
        project: project_key.to_owned(),
        issue_type,
        summary: s.summary,
        description: s.description.as_deref().map(adf::from_text),
        status,
        labels: s.labels,
        updated: comments
            .iter()
            .map(|c| c.created)
            .max()
            .unwrap_or(created)
            .max(created),
        created,
        reporter: s.reporter.or(Some(default_author)),
        comments,
        old_keys: s.moved_from,
    })
}
