//! The REST resources, v3 (Cloud: ADF bodies, the enhanced `search/jql`) and v2 (Data
//! Center: plain-text bodies in wiki markup, `search` paged by `startAt`): routing a request
//! to its handler, and Jira's error shape.

mod search;
mod view;
mod write;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::model::World;
use crate::state::{RawRequest, Reply};

/// Which REST API a request speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `/rest/api/2/`: bodies are strings (wiki markup).
    V2,
    /// `/rest/api/3/`: bodies are ADF documents.
    V3,
}

impl Api {
    /// The API of `path` and the rest of the path after its prefix.
    fn of(path: &str) -> Option<(Api, &str)> {
        path.strip_prefix("/rest/api/3/")
            .map(|r| (Api::V3, r))
            .or_else(|| path.strip_prefix("/rest/api/2/").map(|r| (Api::V2, r)))
    }

    /// `2` or `3`, for `self` links.
    pub fn number(self) -> u8 {
        match self {
            Api::V2 => 2,
            Api::V3 => 3,
        }
    }
}

/// What every handler gets.
pub(crate) struct Call<'a> {
    pub world: &'a mut World,
    /// The index of the authenticated user.
    pub user: usize,
    pub req: &'a RawRequest<'a>,
    pub now: DateTime<Utc>,
    pub api: Api,
}

impl Call<'_> {
    pub fn user(&self) -> &crate::model::User {
        &self.world.users[self.user]
    }

    /// The body as JSON, or Jira's 400 for one that is not.
    pub fn json(&self) -> Result<Value, Reply> {
        serde_json::from_slice(self.req.body).map_err(|e| {
            error(
                400,
                &[&format!("Unexpected character in the request body: {e}")],
                &[],
            )
        })
    }

    /// The index of the issue `key` if this user may see it; Jira's 404 otherwise (which
    /// does not say whether it exists).
    pub fn visible_issue(&self, key: &str) -> Result<usize, Reply> {
        self.world
            .issue_index(key)
            .filter(|&i| self.user().sees(&self.world.issues[i].project))
            .ok_or_else(|| {
                error(
                    404,
                    &["Issue does not exist or you do not have permission to see it."],
                    &[],
                )
            })
    }
}

/// Jira's `ErrorCollection`: `{"errorMessages": [...], "errors": {field: message}}`.
pub(crate) fn error(status: u16, messages: &[&str], errors: &[(&str, &str)]) -> Reply {
    let errors: Map<String, Value> = errors
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    Reply {
        status,
        body: Some(json!({"errorMessages": messages, "errors": errors})),
    }
}

/// The answer to a request without valid credentials.
pub(crate) fn unauthorized() -> Reply {
    error(
        401,
        &["Client must be authenticated to access this resource."],
        &[],
    )
}

/// Answers an authenticated request.
pub(crate) fn call(
    world: &mut World,
    user: usize,
    req: &RawRequest<'_>,
    now: DateTime<Utc>,
) -> Reply {
    let Some((api, rest)) = Api::of(req.path) else {
        return error(
            404,
            &[&format!(
                "No resource at {}: the simulated Jira serves /rest/api/3/ and /rest/api/2/",
                req.path
            )],
            &[],
        );
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let mut call = Call {
        world,
        user,
        req,
        now,
        api,
    };
    let result = match (req.method, segments.as_slice()) {
        ("POST", ["issue"]) => write::create(&mut call),
        ("GET", ["issue", key]) => view::get_issue(&call, key),
        ("POST", ["issue", key, "comment"]) => write::comment(&mut call, key),
        ("GET", ["issue", key, "transitions"]) => view::transitions(&call, key),
        ("POST", ["issue", key, "transitions"]) => write::transition(&mut call, key),
        ("POST", ["search", "jql"]) if api == Api::V3 => search::search(&call),
        ("POST", ["search"]) if api == Api::V2 => search::search(&call),
        (
            _,
            ["issue"] | ["issue", _] | ["issue", _, "comment" | "transitions"] | ["search", "jql"],
        ) if api == Api::V3 => Err(error(
            405,
            &[&format!(
                "Method {} is not allowed on {}",
                req.method, req.path
            )],
            &[],
        )),
        (_, ["issue"] | ["issue", _] | ["issue", _, "comment" | "transitions"] | ["search"])
            if api == Api::V2 =>
        {
            Err(error(
                405,
                &[&format!(
                    "Method {} is not allowed on {}",
                    req.method, req.path
                )],
                &[],
            ))
        }
        _ => Err(error(404, &[&format!("No resource at {}", req.path)], &[])),
    };
    result.unwrap_or_else(|e| e)
}
