//! What the simulated Jira holds: users, projects with their workflow, issues, and the
//! requests it received.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The most requests kept (the oldest are dropped).
pub const MAX_RECORDED: usize = 10_000;

#[derive(Debug, Clone)]
pub struct User {
    pub account_id: String,
    pub display_name: String,
    pub email: String,
    pub api_token: Option<String>,
    pub pat: Option<String>,
    /// The projects the user may browse; `None`: all.
    pub projects: Option<Vec<String>>,
    /// Whether the user may create, comment and transition.
    pub write: bool,
}

impl User {
    pub fn sees(&self, project: &str) -> bool {
        self.projects
            .as_ref()
            .is_none_or(|p| p.iter().any(|k| k == project))
    }
}

#[derive(Debug, Clone)]
pub struct Status {
    pub id: String,
    pub name: String,
    /// `new`, `indeterminate` or `done`.
    pub category: String,
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub id: String,
    pub name: String,
    /// The status it leads to.
    pub to: String,
    /// The statuses it starts from; empty: any (a global transition).
    pub from: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: String,
    pub key: String,
    pub name: String,
    /// `(id, name)`.
    pub issue_types: Vec<(String, String)>,
    pub statuses: Vec<Status>,
    pub transitions: Vec<Transition>,
}

impl Project {
    pub fn status(&self, name: &str) -> Option<&Status> {
        self.statuses
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }

    /// The transitions available from `status`.
    pub fn transitions_from<'a>(&'a self, status: &'a str) -> impl Iterator<Item = &'a Transition> {
        self.transitions.iter().filter(move |t| {
            (t.from.is_empty() || t.from.iter().any(|f| f.eq_ignore_ascii_case(status)))
                && !t.to.eq_ignore_ascii_case(status)
        })
    }
}

/// A comment on an issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: String,
    /// The author's account id.
    pub author: String,
    /// ADF.
    pub body: Value,
    pub created: DateTime<Utc>,
}

/// An issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub id: String,
    pub key: String,
    pub project: String,
    pub issue_type: String,
    pub summary: String,
    /// ADF, when there is one.
    pub description: Option<Value>,
    pub status: String,
    pub labels: Vec<String>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// The reporter's account id.
    pub reporter: Option<String>,
    pub comments: Vec<Comment>,
    /// The keys it had before it was moved to another project: like Jira, they still
    /// resolve to it (`GET issue/OPS-5` answers the issue now keyed `SEC-7`).
    pub old_keys: Vec<String>,
}

/// A request as received, with the account that made it and the status answered.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path, e.g. `/rest/api/3/issue/OPS-1/comment`.
    pub path: String,
    /// The account id of valid credentials.
    pub account: Option<String>,
    pub status: u16,
    /// The JSON body (`null` when none or not JSON).
    pub body: Value,
}

#[derive(Debug, Default)]
pub struct World {
    pub users: Vec<User>,
    pub projects: Vec<Project>,
    pub issues: Vec<Issue>,
    pub next_issue_id: u64,
    pub next_comment_id: u64,
    pub requests: Vec<RecordedRequest>,
}

impl World {
    pub fn project(&self, key: &str) -> Option<&Project> {
        self.projects.iter().find(|p| p.key == key)
    }

    pub fn issue_index(&self, key_or_id: &str) -> Option<usize> {
        self.issues
            .iter()
            .position(|i| i.key.eq_ignore_ascii_case(key_or_id) || i.id == key_or_id)
            .or_else(|| {
                self.issues
                    .iter()
                    .position(|i| i.old_keys.iter().any(|k| k.eq_ignore_ascii_case(key_or_id)))
            })
    }

    /// The next number of an issue key in `project` (a key moved away is not reused).
    pub fn next_number(&self, project: &str) -> u64 {
        self.issues
            .iter()
            .flat_map(|i| std::iter::once(&i.key).chain(&i.old_keys))
            .filter_map(|k| k.rsplit_once('-'))
            .filter(|(p, _)| *p == project)
            .filter_map(|(_, n)| n.parse::<u64>().ok())
            .max()
            .unwrap_or(0)
            + 1
    }
}
