//! One-time sign-in codes: a holder of an API token asks for one (`POST /api/signin-code`
//! with its bearer token) and gives it to a person, who types it into `/signin` instead of
//! the token. A code signs in as its token (same name and role) once, within
//! [`TTL_SECONDS`]; then it is useless. `sopilot demo --serve` prints one instead of a link
//! carrying the token, so no secret lands in a URL (browser history, access logs, Referer).
//!
//! Only a digest of each code is kept, in this process's memory (a restart voids them; with
//! several replicas a code works on the replica that made it), and at most
//! [`MAX_OUTSTANDING`] at once, [`MAX_PER_TOKEN`] of one token.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};

use crate::auth::{Identity, Unauthenticated, authenticate};
use crate::{ApiError, AppState};

/// How long a code may wait for its use, in seconds.
pub const TTL_SECONDS: i64 = 600;

/// The most codes waiting for their use at once.
pub const MAX_OUTSTANDING: usize = 32;

/// The most codes waiting at once for one token: one token (a viewer's, say) cannot take
/// every place and lock everyone else out of signing in by code.
pub const MAX_PER_TOKEN: usize = 4;

/// Crockford's base32: no I, L, O or U to misread.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Characters in a code (5 random bits each: 80 bits).
const LENGTH: usize = 16;

/// Why no code was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error(
        "{MAX_OUTSTANDING} sign-in codes are already waiting for their use; use one, or wait until they expire ({TTL_SECONDS} s after they were made)"
    )]
    TooMany,
    #[error(
        "{MAX_PER_TOKEN} sign-in codes of this token are already waiting for their use; use one, or wait until they expire ({TTL_SECONDS} s after they were made)"
    )]
    TooManyForToken,
    #[error("no random numbers are available to make a sign-in code")]
    NoRandomness,
}

struct Waiting {
    who: Identity,
    expires: i64,
}

static CODES: OnceLock<Mutex<HashMap<String, Waiting>>> = OnceLock::new();

/// The codes still waiting at `now`.
fn waiting(now: i64) -> MutexGuard<'static, HashMap<String, Waiting>> {
    let mut g = CODES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    g.retain(|_, w| w.expires > now);
    g
}

/// A code as typed, reduced to its characters: upper case, without dashes or spaces. `None`
/// if it cannot be a code.
fn normalize(given: &str) -> Option<String> {
    let code: String = given
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

fn digest(code: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(code.as_bytes()))
}

/// A new code that signs in as `who` once before `now + TTL_SECONDS`, shown as
/// `XXXX-XXXX-XXXX-XXXX`.
pub fn issue(who: &Identity, now: i64) -> Result<String, CodeError> {
    let mut random = [0u8; LENGTH];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| CodeError::NoRandomness)?;
    // 256 is a multiple of 32: every character is equally likely.
    let code: String = random
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    let mut codes = waiting(now);
    if codes.len() >= MAX_OUTSTANDING {
        return Err(CodeError::TooMany);
    }
    if codes.values().filter(|w| w.who.name == who.name).count() >= MAX_PER_TOKEN {
        return Err(CodeError::TooManyForToken);
    }
    codes.insert(
        digest(&code),
        Waiting {
            who: who.clone(),
            expires: now + TTL_SECONDS,
        },
    );
    let groups: Vec<&str> = (0..LENGTH / 4).map(|i| &code[i * 4..i * 4 + 4]).collect();
    Ok(groups.join("-"))
}

/// Who `given` signs in as, if it is a code still waiting at `now`; it is used up.
pub fn redeem(given: &str, now: i64) -> Option<Identity> {
    let code = normalize(given)?;
    waiting(now).remove(&digest(&code)).map(|w| w.who)
}

/// `POST /api/signin-code` (bearer token of any role): a one-time code that signs in to the
/// console as that token.
pub async fn create(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let who = authenticate(&s.options.api_tokens, &headers).map_err(|e| match e {
        Unauthenticated::Closed => ApiError::Forbidden(
            "the console is closed: no API token is configured (serve.api_tokens)".into(),
        ),
        Unauthenticated::Refused => ApiError::Unauthorized,
    })?;
    let code = issue(&who, super::now_unix()).map_err(|e| match e {
        CodeError::TooMany | CodeError::TooManyForToken => ApiError::TooMany(e.to_string()),
        CodeError::NoRandomness => ApiError::Internal(e.to_string()),
    })?;
    tracing::info!(token = %who.name, "console: one-time sign-in code issued");
    Ok(Json(json!({
        "code": code,
        "signs_in_as": who.name,
        "role": who.role.name(),
        "expires_in_seconds": TTL_SECONDS,
    })))
}

/// The configured token `who` still is: same name, same role (a code made before its token
/// was removed or its role changed signs nobody in).
pub fn token_of(tokens: &[crate::ApiToken], who: &Identity) -> Option<crate::ApiToken> {
    tokens
        .iter()
        .find(|t| t.name == who.name && t.role == who.role)
        .cloned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::auth::Role;

    fn who() -> Identity {
        named("you")
    }

    fn named(name: &str) -> Identity {
        Identity {
            name: name.into(),
            role: Role::Approver,
        }
    }

    #[test]
    fn a_code_signs_in_once_and_only_before_it_expires() {
        let code = issue(&who(), 1_000).unwrap();
        assert_eq!(code.len(), LENGTH + 3, "{code}");
        // Typed in lower case, without dashes: still the code; once.
        let typed = code.replace('-', " ").to_lowercase();
        assert_eq!(redeem(&typed, 1_001), Some(who()));
        assert_eq!(redeem(&code, 1_002), None, "a used code is void");
        let late = issue(&who(), 2_000).unwrap();
        assert_eq!(
            redeem(&late, 2_000 + TTL_SECONDS),
            None,
            "an expired code is void"
        );
        assert_eq!(redeem("not-a-code", 2_001), None);
        assert_ne!(issue(&who(), 0).unwrap(), issue(&who(), 0).unwrap());
    }

    #[test]
    fn codes_waiting_are_capped() {
        let now = 50_000;
        for n in 0..MAX_OUTSTANDING {
            if issue(&named(&format!("person-{n}")), now).is_err() {
                break;
            }
        }
        assert_eq!(issue(&named("another"), now), Err(CodeError::TooMany));
        // Expired ones make room.
        assert!(issue(&who(), now + TTL_SECONDS).is_ok());
    }

    #[test]
    fn one_token_cannot_take_every_place() {
        let now = 90_000;
        for _ in 0..MAX_PER_TOKEN {
            issue(&named("viewer"), now).unwrap();
        }
        assert_eq!(
            issue(&named("viewer"), now),
            Err(CodeError::TooManyForToken)
        );
        assert!(issue(&who(), now).is_ok(), "others still get codes");
    }
}
