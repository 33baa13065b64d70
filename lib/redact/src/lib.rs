//! One credential redactor for SOPilot: nothing that looks like a credential may reach a
//! model, the store, a report, Slack or a log. Pure: `regex` and `serde_json`, no I/O.
//!
//! - [`redact`] masks secrets in a whole text, across lines (a PEM key printed over many
//!   log lines is one secret). A text that is a JSON object or array is redacted as JSON.
//! - [`redact_json`] masks secrets in a JSON value in place, by structure: credential-like
//!   keys, env entries named like a credential, Kubernetes Secrets' `data`, JSON nested in
//!   strings (`last-applied-configuration`), and the text rules on every other string.
//! - [`contains_credential`] says whether [`redact`] would change a text.
//! - [`is_credential_name`] is the one rule for "this key names a secret", shared by both.
//!
//! Every secret becomes [`MASK`]; what names it (a key, a header, a URL's user, PEM marker
//! lines) stays, so a reader still sees that a credential was there and where.
//! Redaction is idempotent, runs in linear time (finite-automaton regexes compiled once)
//! and returns the text borrowed when nothing matched.

use std::borrow::Cow;

mod json;
mod keyvalue;
mod names;
mod pem;
mod spans;
mod text;
mod yaml_secret;

pub use names::is_credential_name;

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

/// `text` with every credential masked; borrowed when there was none.
pub fn redact(text: &str) -> Cow<'_, str> {
    json::redact_json_text(text).unwrap_or_else(|| text::redact_text(text))
}

/// Masks every credential in `v`, in place, by structure and by the text rules.
pub fn redact_json(v: &mut serde_json::Value) {
    json::walk(v, 0);
}

/// Whether [`redact`] would change `text`: some credential shape is in it.
pub fn contains_credential(text: &str) -> bool {
    matches!(redact(text), Cow::Owned(_))
}
