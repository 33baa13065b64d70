//! Authentication and RBAC, as the real API server does them for ServiceAccounts.
//!
//! A request without a token, or with the simulator's own kubeconfig token, is the cluster
//! admin (everything worked this way before RBAC existed here, and still does). A token
//! issued by the TokenRequest API (`kubectl create token SA`) is that ServiceAccount, and its
//! requests are authorized from the stored Roles, ClusterRoles and their bindings
//! ([`authorize`]); any other bearer token is 401. Denials answer the real 403 `Status`.
//! Made an EKS cluster ([`KubeState::require_eks_token`], module [`eks`]), the API wants an EKS
//! bearer token instead of none or the kubeconfig's.

pub(crate) mod attributes;
pub(crate) mod authorize;
pub(crate) mod eks;
pub(crate) mod reviews;

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::state::KubeState;
use super::status::{ApiStatus, Reason};
use attributes::Attributes;

/// The token of the kubeconfig the simulator writes: the cluster admin.
pub const ADMIN_TOKEN: &str = "sopilot-sim-token";

/// Who a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// No token, or the simulator's own: allowed everything.
    Admin,
    /// A ServiceAccount, by a token the TokenRequest API issued.
    ServiceAccount { namespace: String, name: String },
}

impl Identity {
    /// The user name the authorizer and its messages use.
    pub fn user(&self) -> String {
        match self {
            Identity::Admin => "kubernetes-admin".to_owned(),
            Identity::ServiceAccount { namespace, name } => {
                format!("system:serviceaccount:{namespace}:{name}")
            }
        }
    }

    /// The groups a ServiceAccount belongs to, as the API server assigns them.
    pub fn groups(&self) -> Vec<String> {
        match self {
            Identity::Admin => vec!["system:masters".into(), "system:authenticated".into()],
            Identity::ServiceAccount { namespace, .. } => vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }
}

/// A token the TokenRequest API issued.
#[derive(Debug, Clone)]
struct Issued {
    namespace: String,
    name: String,
    /// The ServiceAccount's uid: a token dies with the account it was issued for.
    uid: String,
    expires: DateTime<Utc>,
}

/// The tokens issued so far.
#[derive(Debug, Default)]
pub struct Tokens {
    issued: Mutex<HashMap<String, Issued>>,
    /// The EKS cluster this API plays, when it wants EKS tokens.
    eks_cluster: Mutex<Option<String>>,
}

impl Tokens {
    pub(crate) fn eks_cluster(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.eks_cluster.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn issued(&self) -> std::sync::MutexGuard<'_, HashMap<String, Issued>> {
        self.issued.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new token for a ServiceAccount (JWT-shaped, opaque to clients).
    pub(crate) fn issue(
        &self,
        namespace: &str,
        name: &str,
        uid: &str,
        expires: DateTime<Utc>,
    ) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut issued = self.issued();
        let header = b64.encode(br#"{"alg":"none","kid":"sopilot-sim"}"#);
        let claims = json!({"iss": "https://kubernetes.default.svc", "sub": format!("system:serviceaccount:{namespace}:{name}"),
                            "exp": expires.timestamp(), "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}}});
        let signature = random_hex(issued.len() as u64);
        let token = format!("{header}.{}.{signature}", b64.encode(claims.to_string()));
        issued.insert(
            token.clone(),
            Issued {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                uid: uid.to_owned(),
                expires,
            },
        );
        token
    }
}

/// 128 random bits as hex, from std's per-process random hasher keys.
fn random_hex(salt: u64) -> String {
    let part = |n: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.finish()
    };
    format!("{:016x}{:016x}", part(1), part(2))
}

/// The 401 the API server answers to a token it does not know.
pub fn unauthorized() -> ApiStatus {
    ApiStatus::new(Reason::Unauthorized, "Unauthorized")
}

/// Who sent the request: the admin without a token or with [`ADMIN_TOKEN`], the
/// ServiceAccount of an issued, unexpired token whose account still exists; 401 otherwise.
pub fn authenticate(state: &KubeState, headers: &HeaderMap) -> Result<Identity, ApiStatus> {
    let eks = state.tokens().eks_cluster().is_some();
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return if eks {
            Err(unauthorized())
        } else {
            Ok(Identity::Admin)
        };
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(unauthorized)?;
    if eks && token.starts_with(eks::TOKEN_PREFIX) {
        return match eks::check_token(token, Utc::now()) {
            Ok(()) => Ok(Identity::Admin),
            Err(why) => {
                tracing::debug!(%why, "EKS token refused");
                Err(unauthorized())
            }
        };
    }
    if token == ADMIN_TOKEN && !eks {
        return Ok(Identity::Admin);
    }
    let issued = state
        .tokens()
        .issued()
        .get(token)
        .cloned()
        .ok_or_else(unauthorized)?;
    let alive = state.read(|s| {
        s.get("serviceaccounts", &issued.namespace, &issued.name)
            .is_some_and(|sa| super::obj::uid(sa) == issued.uid)
            && s.now() < issued.expires
    });
    if !alive {
        return Err(unauthorized());
    }
    Ok(Identity::ServiceAccount {
        namespace: issued.namespace,
        name: issued.name,
    })
}

/// The middleware in front of every route: authenticates, authorizes a ServiceAccount's
/// request, and answers the TokenRequest and SelfSubjectAccessReview APIs itself (they
/// need the identity; nothing is stored).
pub async fn guard(State(state): State<KubeState>, request: Request, next: Next) -> Response {
    let identity = match authenticate(&state, request.headers()) {
        Ok(identity) => identity,
        Err(status) => return status.into_response(),
    };
    if identity != Identity::Admin {
        let attributes = Attributes::of(request.method(), request.uri());
        let decision = state.read(|s| authorize::decide(s, &identity, &attributes));
        if !decision.allowed {
            tracing::debug!(user = %identity.user(), ?attributes, "forbidden");
            return attributes
                .forbidden(&identity, decision.reason.as_deref())
                .into_response();
        }
    }
    match reviews::Review::of(request.method(), request.uri().path()) {
        Some(review) => reviews::serve(&state, &identity, review, request).await,
        None => next.run(request).await,
    }
}
