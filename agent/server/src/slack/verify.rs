//! Slack request signatures (v0): `X-Slack-Signature: v0=HEX(HMAC-SHA256(secret,
//! "v0:{X-Slack-Request-Timestamp}:{raw body}"))`, checked in constant time, with a
//! five-minute window both ways and the signatures already seen in that window refused, so a
//! captured request cannot be replayed.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::HeaderMap;
use hmac::{KeyInit, Mac};
use subtle::ConstantTimeEq;

/// How far a request's timestamp may be from our clock, either way (Slack's own rule).
pub const WINDOW_SECONDS: i64 = 5 * 60;

/// The most signatures remembered at once; beyond it requests are refused rather than
/// letting replays through (fail closed). Slack sends far fewer in five minutes.
const MAX_SEEN: usize = 100_000;

/// Why a request is not accepted as coming from Slack.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("X-Slack-Request-Timestamp is not a number of seconds")]
    BadTimestamp,
    #[error("the request is too old (more than 5 minutes)")]
    Stale,
    #[error("the request is dated in the future (more than 5 minutes)")]
    Future,
    #[error("the signature does not match")]
    BadSignature,
    #[error("this request was already received (replay)")]
    Replayed,
    #[error("too many recent requests to remember; try again later")]
    Saturated,
}

/// Checks signatures with one signing secret and remembers the ones it accepted.
pub struct Verifier {
    secret: Vec<u8>,
    /// Accepted signatures and their timestamps, kept for the window.
    seen: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier").finish_non_exhaustive()
    }
}

/// `v0=` and the hex HMAC Slack would send for this timestamp and body.
pub fn signature(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, VerifyError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(VerifyError::MissingHeader(name))
}

impl Verifier {
    /// A verifier for `secret` (`SLACK_SIGNING_SECRET`).
    pub fn new(secret: &str) -> Verifier {
        Verifier {
            secret: secret.as_bytes().to_vec(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Accepts a request signed with our secret within the window and not seen before;
    /// `now` is the Unix time in seconds. A request it accepts is remembered.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let timestamp = header(headers, "x-slack-request-timestamp")?;
        let given = header(headers, "x-slack-signature")?;
        let ts: i64 = timestamp.parse().map_err(|_| VerifyError::BadTimestamp)?;
        if now.saturating_sub(ts) > WINDOW_SECONDS {
            return Err(VerifyError::Stale);
        }
        if ts.saturating_sub(now) > WINDOW_SECONDS {
            return Err(VerifyError::Future);
        }
        let expected = signature(&self.secret, timestamp, body);
        let same = given.len() == expected.len()
            && bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
        if !same {
            return Err(VerifyError::BadSignature);
        }
        // Only authentic requests are remembered, so forgeries cannot fill the memory.
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if seen.contains_key(&expected) {
            return Err(VerifyError::Replayed);
        }
        if seen.len() >= MAX_SEEN {
            seen.retain(|_, at| now.saturating_sub(*at) <= WINDOW_SECONDS);
            if seen.len() >= MAX_SEEN {
                return Err(VerifyError::Saturated);
            }
        }
        seen.insert(expected, ts);
        // Forget what has left the window now and then, not on every request.
        if seen.len() % 256 == 0 {
            seen.retain(|_, at| now.saturating_sub(*at) <= WINDOW_SECONDS);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const NOW: i64 = 1_531_420_618;

    fn headers(ts: &str, sig: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-slack-request-timestamp", ts.parse().unwrap());
        h.insert("x-slack-signature", sig.parse().unwrap());
        h
    }

    fn signed(ts: i64, body: &str) -> HeaderMap {
        headers(
            &ts.to_string(),
            &signature(SECRET.as_bytes(), &ts.to_string(), body.as_bytes()),
        )
    }

    #[test]
    fn slack_documented_example() {
        // The worked example of Slack's "Verifying requests from Slack" guide.
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        assert_eq!(
            signature(SECRET.as_bytes(), "1531420618", body.as_bytes()),
            "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
        );
        let v = Verifier::new(SECRET);
        assert_eq!(v.verify(&signed(NOW, body), body.as_bytes(), NOW), Ok(()));
    }

    #[test]
    fn good_requests_pass_within_the_window_both_ways() {
        let v = Verifier::new(SECRET);
        assert_eq!(v.verify(&signed(NOW, "a"), b"a", NOW), Ok(()));
        assert_eq!(v.verify(&signed(NOW - 299, "b"), b"b", NOW), Ok(()));
        assert_eq!(v.verify(&signed(NOW + 299, "c"), b"c", NOW), Ok(()));
    }

    #[test]
    fn forged_requests_are_refused() {
        let v = Verifier::new(SECRET);
        // Signed with another secret.
        let forged = signature(b"not-the-secret", &NOW.to_string(), b"body");
        assert_eq!(
            v.verify(&headers(&NOW.to_string(), &forged), b"body", NOW),
            Err(VerifyError::BadSignature)
        );
        // A good signature over another body.
        assert_eq!(
            v.verify(&signed(NOW, "body"), b"body2", NOW),
            Err(VerifyError::BadSignature)
        );
        // A good signature with its timestamp changed.
        let mut h = signed(NOW, "body");
        h.insert(
            "x-slack-request-timestamp",
            (NOW + 1).to_string().parse().unwrap(),
        );
        assert_eq!(v.verify(&h, b"body", NOW), Err(VerifyError::BadSignature));
        // Truncated, upper-cased, another version.
        let good = signature(SECRET.as_bytes(), &NOW.to_string(), b"body");
        for bad in [
            &good[..good.len() - 1],
            &good.to_uppercase(),
            &good.replace("v0=", "v1="),
        ] {
            assert_eq!(
                v.verify(&headers(&NOW.to_string(), bad), b"body", NOW),
                Err(VerifyError::BadSignature),
                "{bad}"
            );
        }
    }

    #[test]
    fn stale_and_future_requests_are_refused() {
        let v = Verifier::new(SECRET);
        assert_eq!(
            v.verify(&signed(NOW - 301, "a"), b"a", NOW),
            Err(VerifyError::Stale)
        );
        assert_eq!(
            v.verify(&signed(NOW + 301, "a"), b"a", NOW),
            Err(VerifyError::Future)
        );
        assert_eq!(
            v.verify(&headers("soon", "v0=00"), b"a", NOW),
            Err(VerifyError::BadTimestamp)
        );
    }

    #[test]
    fn replays_are_refused() {
        let v = Verifier::new(SECRET);
        let h = signed(NOW, "payload");
        assert_eq!(v.verify(&h, b"payload", NOW), Ok(()));
        assert_eq!(
            v.verify(&h, b"payload", NOW + 10),
            Err(VerifyError::Replayed)
        );
        // The same body signed at another second is another request.
        assert_eq!(
            v.verify(&signed(NOW + 1, "payload"), b"payload", NOW),
            Ok(())
        );
    }

    #[test]
    fn missing_headers_are_refused() {
        let v = Verifier::new(SECRET);
        let mut h = signed(NOW, "a");
        h.remove("x-slack-signature");
        assert_eq!(
            v.verify(&h, b"a", NOW),
            Err(VerifyError::MissingHeader("x-slack-signature"))
        );
        let mut h = signed(NOW, "a");
        h.remove("x-slack-request-timestamp");
        assert_eq!(
            v.verify(&h, b"a", NOW),
            Err(VerifyError::MissingHeader("x-slack-request-timestamp"))
        );
        assert_eq!(
            v.verify(&HeaderMap::new(), b"a", NOW),
            Err(VerifyError::MissingHeader("x-slack-request-timestamp"))
        );
    }
}
