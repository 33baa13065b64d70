//! Console sessions: a named API token, given once at sign-in, becomes an HTTP-only cookie
//! that names the token and its role until it expires, signed with a key derived from this
//! process's random key and the token's own secret (so rotating a token, or restarting the
//! server, ends its sessions). Nothing is stored but the sessions signed out before their
//! expiry. Each session has a CSRF token derived from it, which every form carries.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{KeyInit, Mac};

use crate::auth::{ApiToken, Identity, Role, same};

/// The cookie's name.
pub const COOKIE: &str = "sopilot_session";

/// How long a session lasts, in seconds.
pub const TTL_SECONDS: i64 = 8 * 3600;

/// Why a request has no usable session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("not signed in")]
    Missing,
    #[error("the session cookie is malformed")]
    Malformed,
    #[error("the session's token is no longer configured, or its role changed")]
    UnknownToken,
    #[error("the session cookie's signature does not match")]
    BadSignature,
    #[error("the session expired; sign in again")]
    Expired,
    #[error("the session was signed out")]
    SignedOut,
    #[error("no random numbers are available to make a session")]
    NoRandomness,
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub who: Identity,
    /// Unix seconds.
    pub expires: i64,
    /// The token every form of this session must carry.
    pub csrf: String,
    nonce: String,
}

impl Session {
    /// What tells this session from the token's other sessions (not a secret on its own).
    pub fn id(&self) -> &str {
        &self.nonce
    }
}

struct Keys {
    process: [u8; 32],
    signed_out: Mutex<HashMap<String, i64>>,
}

static KEYS: OnceLock<Option<Keys>> = OnceLock::new();

fn keys() -> Result<&'static Keys, SessionError> {
    KEYS.get_or_init(|| {
        let mut process = [0u8; 32];
        aws_lc_rs::rand::fill(&mut process).ok()?;
        Some(Keys {
            process,
            signed_out: Mutex::new(HashMap::new()),
        })
    })
    .as_ref()
    .ok_or(SessionError::NoRandomness)
}

fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut m) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    for p in parts {
        m.update(p);
        m.update(b".");
    }
    m.finalize().into_bytes().to_vec()
}

fn payload(name: &str, role: Role, expires: i64, nonce: &str) -> String {
    format!(
        "v1.{}.{}.{expires}.{nonce}",
        URL_SAFE_NO_PAD.encode(name),
        role.name()
    )
}

fn signature(keys: &Keys, token: &ApiToken, payload: &str) -> String {
    let key = mac(&keys.process, &[b"session-key", token.secret.as_bytes()]);
    hex::encode(mac(&key, &[payload.as_bytes()]))
}

fn csrf_of(keys: &Keys, nonce: &str) -> String {
    hex::encode(&mac(&keys.process, &[b"csrf", nonce.as_bytes()])[..16])
}

/// A new session for `token`, signed in at `now` (Unix seconds): the cookie's value and
/// the session.
pub fn issue(token: &ApiToken, now: i64) -> Result<(String, Session), SessionError> {
    let keys = keys()?;
    let mut nonce = [0u8; 16];
    aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SessionError::NoRandomness)?;
    let nonce = hex::encode(nonce);
    let expires = now + TTL_SECONDS;
    let p = payload(&token.name, token.role, expires, &nonce);
    let value = format!("{p}.{}", signature(keys, token, &p));
    let session = Session {
        who: Identity {
            name: token.name.clone(),
            role: token.role,
        },
        expires,
        csrf: csrf_of(keys, &nonce),
        nonce,
    };
    Ok((value, session))
}

/// The session a cookie value holds, if it is one of ours, its token is still configured
/// with the same role, and it has neither expired at `now` nor been signed out.
pub fn verify(tokens: &[ApiToken], value: &str, now: i64) -> Result<Session, SessionError> {
    let keys = keys()?;
    let parts: Vec<&str> = value.split('.').collect();
    let [v, name, role, expires, nonce, sig] = parts[..] else {
        return Err(SessionError::Malformed);
    };
    if v != "v1" {
        return Err(SessionError::Malformed);
    }
    let name = URL_SAFE_NO_PAD
        .decode(name)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or(SessionError::Malformed)?;
    let expires: i64 = expires.parse().map_err(|_| SessionError::Malformed)?;
    let token = tokens
        .iter()
        .find(|t| t.name == name && t.role.name() == role)
        .ok_or(SessionError::UnknownToken)?;
    let p = payload(&name, token.role, expires, nonce);
    if !same(sig.as_bytes(), signature(keys, token, &p).as_bytes()) {
        return Err(SessionError::BadSignature);
    }
    if now >= expires {
        return Err(SessionError::Expired);
    }
    if signed_out(keys, now).contains_key(nonce) {
        return Err(SessionError::SignedOut);
    }
    Ok(Session {
        who: Identity {
            name,
            role: token.role,
        },
        expires,
        csrf: csrf_of(keys, nonce),
        nonce: nonce.to_owned(),
    })
}

fn signed_out(keys: &Keys, now: i64) -> std::sync::MutexGuard<'_, HashMap<String, i64>> {
    let mut g = match keys.signed_out.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    };
    g.retain(|_, expires| *expires > now);
    g
}

/// Ends a session before its expiry.
pub fn sign_out(session: &Session, now: i64) {
    if let Ok(keys) = keys() {
        signed_out(keys, now).insert(session.nonce.clone(), session.expires);
    }
}

/// Whether `given` is this session's CSRF token.
pub fn csrf_ok(session: &Session, given: Option<&str>) -> bool {
    given.is_some_and(|g| same(g.as_bytes(), session.csrf.as_bytes()))
}

/// The session cookie's value among a request's `Cookie` headers.
pub fn cookie_value(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value that stores `value` (`None`: clears the cookie).
pub fn set_cookie(value: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match value {
        Some(v) => format!(
            "{COOKIE}={v}; Path=/; HttpOnly; SameSite=Strict; Max-Age={TTL_SECONDS}{secure}"
        ),
        None => format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn token(name: &str, role: Role, secret: &str) -> ApiToken {
        ApiToken {
            name: name.into(),
            role,
            secret: secret.into(),
        }
    }

    #[test]
    fn a_session_holds_until_it_expires_or_is_signed_out() {
        let t = token("oncall", Role::Approver, "approver-secret-0123456789");
        let tokens = vec![t.clone()];
        let (value, s) = issue(&t, 1_000).unwrap();
        let back = verify(&tokens, &value, 1_000 + TTL_SECONDS - 1).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.who.role, Role::Approver);
        assert_eq!(
            verify(&tokens, &value, 1_000 + TTL_SECONDS),
            Err(SessionError::Expired)
        );
        sign_out(&s, 1_001);
        assert_eq!(verify(&tokens, &value, 1_002), Err(SessionError::SignedOut));
    }

    #[test]
    fn a_forged_or_stale_cookie_is_refused() {
        let t = token("grafana", Role::Viewer, "viewer-secret-0123456789");
        let (value, _) = issue(&t, 0).unwrap();
        // Claiming another role, another name, or a later expiry breaks the signature or
        // names no configured token.
        let promoted = value.replace(".viewer.", ".approver.");
        let promoted_tokens = vec![token("grafana", Role::Approver, "viewer-secret-0123456789")];
        assert_eq!(
            verify(&promoted_tokens, &promoted, 1),
            Err(SessionError::BadSignature)
        );
        assert_eq!(
            verify(std::slice::from_ref(&t), &promoted, 1),
            Err(SessionError::UnknownToken)
        );
        let later = value.replacen(&format!(".{TTL_SECONDS}."), ".99999999.", 1);
        assert_eq!(
            verify(std::slice::from_ref(&t), &later, 1),
            Err(SessionError::BadSignature)
        );
        // A rotated secret ends the session.
        let rotated = token("grafana", Role::Viewer, "another-secret-0123456789");
        assert_eq!(
            verify(&[rotated], &value, 1),
            Err(SessionError::BadSignature)
        );
        assert_eq!(verify(&[t], "junk", 1), Err(SessionError::Malformed));
    }

    #[test]
    fn csrf_tokens_are_per_session() {
        let t = token("oncall", Role::Approver, "approver-secret-0123456789");
        let (_, a) = issue(&t, 0).unwrap();
        let (_, b) = issue(&t, 0).unwrap();
        assert!(csrf_ok(&a, Some(&a.csrf)));
        assert!(!csrf_ok(&a, Some(&b.csrf)));
        assert!(!csrf_ok(&a, None));
        assert!(set_cookie(Some("v"), true).contains("HttpOnly; SameSite=Strict"));
        assert!(set_cookie(Some("v"), true).ends_with("; Secure"));
        assert!(!set_cookie(Some("v"), false).contains("Secure"));
    }
}
