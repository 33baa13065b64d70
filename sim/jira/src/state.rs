//! The shared site behind the router, what tests read back, and the one place a raw HTTP
//! request becomes a Jira answer.

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::error::JiraSimError;
use crate::model::{Issue, MAX_RECORDED, RecordedRequest, World};
use crate::{api, auth, section};

/// A simulated Jira site. Clones share it.
#[derive(Debug, Clone)]
pub struct JiraState {
    world: Arc<Mutex<World>>,
}

/// An HTTP request as the router received it.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawRequest<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path, e.g. `/rest/api/3/issue/OPS-1`.
    pub path: &'a str,
    /// The query string without `?`.
    pub query: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
    /// `http://HOST` for the `self` links (empty: relative links).
    pub base: &'a str,
}

/// The credentials of a user of the site, for the clients under test.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    pub email: String,
    /// Jira Cloud's API token (Basic with `email`).
    pub api_token: Option<String>,
    /// Jira Data Center's personal access token (Bearer).
    pub pat: Option<String>,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({}, [REDACTED])", self.email)
    }
}

/// What the simulator answers: HTTP status and JSON body (`None` for a 204).
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: u16,
    pub body: Option<Value>,
}

impl JiraState {
    /// The site a scenario's `jira` section describes (`None`: the defaults). Relative times
    /// count from now.
    pub fn from_section(section: Option<&Value>) -> Result<JiraState, JiraSimError> {
        Self::from_section_at(section, Utc::now())
    }

    /// As [`JiraState::from_section`], with relative times counted from `now`.
    pub fn from_section_at(
        section: Option<&Value>,
        now: DateTime<Utc>,
    ) -> Result<JiraState, JiraSimError> {
        Ok(JiraState {
            world: Arc::new(Mutex::new(section::world(section, now)?)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, World> {
        // A test double keeps serving after a panic elsewhere.
        self.world
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Answers one request as Jira would, and records it.
    pub fn handle(&self, req: &RawRequest<'_>) -> Reply {
        let mut world = self.lock();
        let account = auth::account(&world.users, req.authorization);
        let reply = match account {
            None => api::unauthorized(),
            Some(user) => api::call(&mut world, user, req, Utc::now()),
        };
        let recorded = RecordedRequest {
            method: req.method.to_owned(),
            path: req.path.to_owned(),
            account: account
                .and_then(|i| world.users.get(i))
                .map(|u| u.account_id.clone()),
            status: reply.status,
            body: serde_json::from_slice(req.body).unwrap_or(Value::Null),
        };
        if world.requests.len() >= MAX_RECORDED {
            world.requests.remove(0);
        }
        world.requests.push(recorded);
        reply
    }

    /// Every request received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// The issue with `key`, as it is now.
    pub fn issue(&self, key: &str) -> Option<Issue> {
        let world = self.lock();
        world
            .issue_index(key)
            .and_then(|i| world.issues.get(i).cloned())
    }

    /// The keys of the site's projects, in the order the section lists them.
    pub fn project_keys(&self) -> Vec<String> {
        self.lock().projects.iter().map(|p| p.key.clone()).collect()
    }

    /// The credentials of the first user who may write (what SOPilot logs in as).
    pub fn login(&self) -> Option<Login> {
        self.lock().users.iter().find(|u| u.write).map(|u| Login {
            email: u.email.clone(),
            api_token: u.api_token.clone(),
            pat: u.pat.clone(),
        })
    }

    /// Every issue, in creation order.
    pub fn issues(&self) -> Vec<Issue> {
        self.lock().issues.clone()
    }
}
