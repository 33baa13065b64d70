//! Who is calling `/api/*` and `/mcp`: named bearer tokens with a role, compared in constant
//! time; and shared-secret checks for the webhooks.
//!
//! Roles are ordered: a `viewer` reads runs and approvals, an `operator` also starts runs
//! (and calls tools through `/mcp`), an `approver` also decides approvals. A decision is
//! recorded under the identity of the token that made it (`api:NAME`, `mcp:NAME`), never
//! under a name the client reports.

use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::ApiError;

/// What a token may do; each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads runs and approvals.
    Viewer,
    /// Also starts runs and calls tools through the MCP gateway.
    Operator,
    /// Also decides approvals.
    Approver,
}

impl Role {
    /// The role's name as configured.
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Approver => "approver",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A named bearer token and its role (`serve.api_tokens`, or the legacy `SOPILOT_API_TOKEN`).
#[derive(Clone)]
pub struct ApiToken {
    pub name: String,
    pub role: Role,
    pub secret: String,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("name", &self.name)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// The name `SOPILOT_API_TOKEN` is known by (role `approver`).
pub const LEGACY_TOKEN_NAME: &str = "api";

/// Who made a request: the token's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
}

impl Identity {
    /// Refuses unless this identity has at least `needed`; the error names both roles.
    pub fn require(&self, needed: Role, to: &str) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Role {
                token: self.name.clone(),
                has: self.role,
                needs: needed,
                to: to.to_owned(),
            })
        }
    }

    /// How decisions by this identity are recorded through `door` (`api:NAME`, `mcp:NAME`).
    pub fn recorded(&self, door: &str) -> String {
        format!("{door}:{}", self.name)
    }
}

/// Whether `given` equals `expected`, without leaking where they differ.
pub fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && bool::from(given.ct_eq(expected))
}

/// The bearer token of the `Authorization` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    v.strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
}

/// Whether the request carries `Authorization: Bearer <expected>`.
pub fn bearer_ok(headers: &HeaderMap, expected: &str) -> bool {
    bearer(headers).is_some_and(|t| same(t.as_bytes(), expected.as_bytes()))
}

/// The identity whose token `given` is. Every token is compared (in constant time), so the
/// time taken does not say which one nearly matched.
pub fn identify(tokens: &[ApiToken], given: &str) -> Option<Identity> {
    let mut found = None;
    for t in tokens {
        if same(given.as_bytes(), t.secret.as_bytes()) && found.is_none() {
            found = Some(Identity {
                name: t.name.clone(),
                role: t.role,
            });
        }
    }
    found
}

/// Why a request is not authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthenticated {
    /// No token is configured: the door is closed.
    Closed,
    /// A token is missing or wrong.
    Refused,
}

/// The identity of a request's bearer token.
pub fn authenticate(tokens: &[ApiToken], headers: &HeaderMap) -> Result<Identity, Unauthenticated> {
    if tokens.is_empty() {
        return Err(Unauthenticated::Closed);
    }
    bearer(headers)
        .and_then(|t| identify(tokens, t))
        .ok_or(Unauthenticated::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Vec<ApiToken> {
        [
            ("grafana", Role::Viewer, "viewer-secret-0123456789"),
            ("ci", Role::Operator, "operator-secret-0123456789"),
            ("oncall", Role::Approver, "approver-secret-0123456789"),
        ]
        .into_iter()
        .map(|(n, r, s)| ApiToken {
            name: n.into(),
            role: r,
            secret: s.into(),
        })
        .collect()
    }

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn comparisons() {
        assert!(same(b"secret", b"secret"));
        assert!(!same(b"secret", b"secreT"));
        assert!(!same(b"secret", b"secret2"));
        let h = headers("abc");
        assert!(bearer_ok(&h, "abc"));
        assert!(!bearer_ok(&h, "abd"));
    }

    #[test]
    fn each_token_is_its_own_identity_and_role() {
        let t = tokens();
        let who = authenticate(&t, &headers("operator-secret-0123456789")).unwrap();
        assert_eq!(
            who,
            Identity {
                name: "ci".into(),
                role: Role::Operator
            }
        );
        assert_eq!(who.recorded("api"), "api:ci");
        assert!(who.require(Role::Viewer, "read runs").is_ok());
        assert!(who.require(Role::Operator, "start runs").is_ok());
        let e = who
            .require(Role::Approver, "decide approvals")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ci") && e.contains("operator") && e.contains("approver"),
            "{e}"
        );
        let viewer = authenticate(&t, &headers("viewer-secret-0123456789")).unwrap();
        assert!(viewer.require(Role::Operator, "start runs").is_err());
        assert_eq!(
            authenticate(&t, &headers("viewer-secret-012345678")),
            Err(Unauthenticated::Refused)
        );
        assert_eq!(
            authenticate(&t, &HeaderMap::new()),
            Err(Unauthenticated::Refused)
        );
        assert_eq!(
            authenticate(&[], &headers("x")),
            Err(Unauthenticated::Closed)
        );
    }
}
