//! Property tests, bounded for CI (a few hundred cases each):
//! (a) arbitrary text and arbitrary JSON never panic;
//! (b) a credential of every known shape, embedded in harmless text or at a random place
//!     in random JSON (PEM keys split over lines), never survives;
//! (c) redaction is idempotent;
//! (d) harmless evidence, in any order and arrangement, survives untouched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::borrow::Cow;

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};
use sopilot_redact::{MASK, contains_credential, redact, redact_json};

use common::EVIDENCE;

const CASES: u32 = 256;

/// Pieces that reach the rules' corners: markers, separators, quotes, escapes, masks.
const TRICKY: &[&str] = &[
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----END RSA PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "password",
    "DB_PASSWORD",
    "token",
    "tls.key",
    "name",
    "value",
    "Authorization",
    "Bearer ",
    "Digest ",
    "=",
    ": ",
    ":",
    "\"",
    "'",
    "\\\"",
    "\\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "|",
    ">-",
    "- ",
    "{",
    "}",
    "[",
    "]",
    ",",
    ";",
    "@",
    "://",
    "${X}",
    "<set to the key>",
    "[REDACTED]",
    "eyJ",
    ".",
    "AKIA",
    "ghp_",
    "xoxb-",
    "sk_live_",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    "wJalrXUtnFEMI/K7MDENG",
    "Zw==",
    "é",
    "€",
    "日本",
];

fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => select(TRICKY).prop_map(str::to_owned),
        1 => "[A-Za-z0-9+/=_.-]{0,12}",
        1 => "\\PC{0,4}",
    ];
    prop::collection::vec(piece, 0..32).prop_map(|p| p.concat())
}

fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        select(
            &[
                "password",
                "name",
                "value",
                "data",
                "stringData",
                "kind",
                "env",
                "items",
                "API_TOKEN",
                "key",
                "metadata",
                "annotations",
                "LOG_LEVEL"
            ][..]
        )
        .prop_map(str::to_owned),
        "[a-zA-Z_.]{1,10}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        select(&["Secret", "SecretList", "List", "DB_PASSWORD", ""][..]).prop_map(|s| json!(s)),
        tricky_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner.clone()), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            // JSON inside a string, like last-applied-configuration.
            inner.prop_map(|v| Value::String(v.to_string())),
        ]
    })
}

/// A credential as it appears in text, and the parts of it that must not survive.
#[derive(Debug, Clone)]
struct Credential {
    text: String,
    secrets: Vec<String>,
}

fn cred(text: String, secret: &str) -> Credential {
    Credential {
        text,
        secrets: vec![secret.to_owned()],
    }
}

/// A secret value for a `KEY=value` form: no blanks, quotes or separators, not prose.
fn secret_value() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9!#%*+/=@^~.-]{7,24}".prop_filter("not a lowercase word", |v| {
        !v.bytes().all(|b| b.is_ascii_lowercase())
    })
}

fn credential_name() -> impl Strategy<Value = &'static str> {
    select(
        &[
            "DB_PASSWORD",
            "password",
            "passwd",
            "pwd",
            "SECRET_KEY",
            "secret",
            "api_key",
            "apiKey",
            "client_secret",
            "auth_token",
            "token",
            "STRIPE_KEY",
            "SIGNING_KEY",
            "ENCRYPTION_KEY",
            "credentials",
            "session_key",
            "private_key",
            "access_key",
            "GITHUB_TOKEN",
            "x-api-key",
        ][..],
    )
}

/// Credentials recognised by their form.
fn token_credential() -> impl Strategy<Value = Credential> {
    let aws_secret = "[A-Za-z0-9/+]{40}".prop_filter("an AWS secret shape", |s| {
        s.bytes().any(|b| b.is_ascii_uppercase())
            && s.bytes().any(|b| b.is_ascii_lowercase())
            && s.bytes()
                .any(|b| b.is_ascii_digit() || b == b'+' || b == b'/')
            && !s.bytes().all(|b| b.is_ascii_hexdigit())
    });
    let bearer = "[A-Za-z0-9._~+/-]{12,40}"
        .prop_filter("a digit", |s| s.bytes().any(|b| b.is_ascii_digit()));
    prop_oneof![
        "(AKIA|ASIA|AROA)[A-Z0-9]{16}".prop_map(|s| cred(s.clone(), &s)),
        aws_secret.prop_map(|s| cred(s.clone(), &s)),
        "gh[pousr]_[A-Za-z0-9]{36}".prop_map(|s| cred(s.clone(), &s)),
        "github_pat_[A-Za-z0-9_]{40}".prop_map(|s| cred(s.clone(), &s)),
        "xox[bpas]-[0-9]{10}-[A-Za-z0-9]{16}".prop_map(|s| cred(s.clone(), &s)),
        "xapp-1-[A-Z0-9]{11}-[a-z0-9]{20}".prop_map(|s| cred(s.clone(), &s)),
        "T[A-Z0-9]{8}/B[A-Z0-9]{8}/[A-Za-z0-9]{24}"
            .prop_map(|s| cred(format!("https://hooks.slack.com/services/{s}"), &s)),
        "(sk|rk)_(live|test)_[A-Za-z0-9]{24}".prop_map(|s| cred(s.clone(), &s)),
        "eyJ[A-Za-z0-9_-]{10,20}\\.eyJ[A-Za-z0-9_-]{10,30}\\.[A-Za-z0-9_-]{20,40}"
            .prop_map(|s| cred(s.clone(), &s)),
        bearer
            .clone()
            .prop_map(|t| cred(format!("Authorization: Bearer {t}"), &t)),
        bearer.prop_map(|t| cred(format!("Bearer {t}"), &t)),
        "[A-Za-z0-9!*%$]{8,20}".prop_map(|p| cred(format!("postgres://app:{p}@db:5432/x"), &p)),
        "[A-Za-z0-9!#%][A-Za-z0-9!#% ]{6,18}[A-Za-z0-9!#%]"
            .prop_map(|p| cred(format!("Server=db;User Id=sa;Password={p};"), &p)),
        "[A-Za-z0-9!#%@]{8,20}".prop_map(|p| cred(format!("curl -u admin:{p} https://x"), &p)),
        "[A-Za-z0-9!#%@]{8,20}"
            .prop_map(|p| cred(format!("machine db.example.com login app password {p}"), &p)),
    ]
}

/// Credentials recognised by their name.
fn named_credential() -> impl Strategy<Value = Credential> {
    let form = select(
        &[
            "{k}={v}",
            "export {k}={v}",
            "{k}: {v}",
            "\"{k}\": \"{v}\"",
            "--{k}={v}",
            "--{k} {v}",
            "{k} = {v}",
            "{k}: '{v}'",
            "{\\\"{k}\\\":\\\"{v}\\\"}",
            "{\"name\": \"{K}\", \"value\": \"{v}\"}",
            "- name: {K}\n  value: {v}",
            "{k}: |\n        {v}\n        {v}x",
        ][..],
    );
    (form, credential_name(), secret_value()).prop_map(|(form, k, v)| {
        let text = form
            .replace("{k}", k)
            .replace("{K}", &k.to_ascii_uppercase())
            .replace("{v}", &v);
        cred(text, &v)
    })
}

/// A PEM private key: whole, without its END (a `head`), without its BEGIN (a `tail`),
/// or with a log prefix on every line.
fn pem_credential() -> impl Strategy<Value = Credential> {
    let lines = (
        prop::collection::vec("[A-Za-z0-9+/]{64}", 1..5),
        "[A-Za-z0-9+/]{8,60}",
    )
        .prop_map(|(mut lines, last)| {
            lines.push(format!("{last}=="));
            lines
        });
    (lines, 0..4u8, select(&["RSA ", "EC ", "OPENSSH ", ""][..])).prop_map(
        |(lines, variant, kind)| {
            let begin = format!("-----BEGIN {kind}PRIVATE KEY-----");
            let end = format!("-----END {kind}PRIVATE KEY-----");
            let body = lines.join("\n");
            let text = match variant {
                0 => format!("{begin}\n{body}\n{end}"),
                1 => format!("{begin}\n{body}"),
                2 => format!("{body}\n{end}"),
                _ => format!("{begin}\n{body}\n{end}")
                    .lines()
                    .map(|l| format!("2024-05-01T10:00:00.123Z stdout F {l}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            };
            Credential {
                text,
                secrets: lines,
            }
        },
    )
}

/// A Kubernetes Secret printed as YAML: its data keys say nothing.
fn yaml_secret_credential() -> impl Strategy<Value = Credential> {
    ("[a-z][a-z_.]{0,10}", "[A-Za-z0-9+/]{8,40}={0,2}").prop_map(|(k, v)| {
        let text = format!("apiVersion: v1\nkind: Secret\ndata:\n  {k}: {v}\ntype: Opaque");
        cred(text, &v)
    })
}

fn any_credential() -> impl Strategy<Value = Credential> {
    prop_oneof![
        3 => token_credential(),
        3 => named_credential(),
        1 => pem_credential(),
        1 => yaml_secret_credential(),
    ]
}

fn evidence_text() -> impl Strategy<Value = String> {
    let sep = select(&[" ", "\n", " | ", "\t", ", ", "\n  "][..]);
    prop::collection::vec((select(EVIDENCE), sep), 0..6)
        .prop_map(|parts| parts.into_iter().map(|(e, s)| format!("{e}{s}")).collect())
}

/// Harmless text, a blank or a line break, the credential, a blank or a line break, more.
fn embedded() -> impl Strategy<Value = (String, Credential)> {
    let sep = select(&[" ", "\n", "\t", "\n    "][..]);
    (
        evidence_text(),
        sep.clone(),
        any_credential(),
        sep,
        evidence_text(),
    )
        .prop_map(|(a, s1, c, s2, b)| (format!("{a}{s1}{}{s2}{b}", c.text), c))
}

/// A node holding the credential, in one of the places JSON puts one.
fn json_credential() -> impl Strategy<Value = (Value, Vec<String>)> {
    let text = any_credential().prop_map(|c| (Value::String(c.text), c.secrets));
    let keyed =
        (credential_name(), secret_value()).prop_map(|(k, v)| (json!({k: v.clone()}), vec![v]));
    let env = (credential_name(), secret_value()).prop_map(|(k, v)| {
        (
            json!({"name": k.to_ascii_uppercase(), "value": v.clone()}),
            vec![v],
        )
    });
    let secret = ("[a-z_.]{1,12}", secret_value())
        .prop_map(|(k, v)| (json!({"kind": "Secret", "data": {k: v.clone()}}), vec![v]));
    let applied = (credential_name(), secret_value()).prop_map(|(k, v)| {
        let manifest = json!({"kind": "Deployment", "spec": {"containers": [{"env": [
            {"name": k.to_ascii_uppercase(), "value": v.clone()}]}]}});
        let ann = json!({"kubectl.kubernetes.io/last-applied-configuration": manifest.to_string()});
        (json!({"metadata": {"annotations": ann}}), vec![v])
    });
    prop_oneof![text, keyed, env, secret, applied]
}

/// Puts `node` somewhere in `tree`, following `path` down.
fn insert(tree: &mut Value, path: &[usize], node: Value) {
    let (next, rest) = match path.split_first() {
        Some((i, rest)) => (*i, rest),
        None => (0, &[][..]),
    };
    match tree {
        Value::Object(map) if !rest.is_empty() && !map.is_empty() => {
            let key = map.keys().nth(next % map.len()).cloned().unwrap();
            insert(map.get_mut(&key).unwrap(), rest, node);
        }
        Value::Object(map) => {
            map.insert(format!("field{next}"), node);
        }
        Value::Array(items) if !rest.is_empty() && !items.is_empty() => {
            let len = items.len();
            insert(&mut items[next % len], rest, node);
        }
        Value::Array(items) => items.push(node),
        leaf => *leaf = Value::Array(vec![leaf.take(), node]),
    }
}

fn survivors<'a>(out: &str, secrets: &'a [String]) -> Vec<&'a String> {
    secrets
        .iter()
        .filter(|s| out.contains(s.as_str()))
        .collect()
}

proptest! {
    // Failures are turned into unit tests, not persisted next to this file.
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// (a) and (c) on arbitrary text.
    #[test]
    fn arbitrary_text(text in any::<String>()) {
        let once = redact(&text).into_owned();
        prop_assert_eq!(redact(&once), once.as_str());
    }

    /// (a) and (c) on text built from the rules' corner cases.
    #[test]
    fn tricky_text_never_panics_and_is_idempotent(text in tricky_text()) {
        let once = redact(&text).into_owned();
        prop_assert_eq!(redact(&once), once.as_str());
        prop_assert!(!contains_credential(&once));
    }

    /// (a) and (c) on arbitrary JSON, as a value and as text.
    #[test]
    fn arbitrary_json(v in json_value()) {
        let mut once = v.clone();
        redact_json(&mut once);
        let mut twice = once.clone();
        redact_json(&mut twice);
        prop_assert_eq!(&twice, &once);
        let text = v.to_string();
        let out = redact(&text).into_owned();
        prop_assert_eq!(redact(&out), out.as_str());
    }

    /// (b) and (c): a credential in harmless text never survives.
    #[test]
    fn credentials_in_text_never_survive((text, c) in embedded()) {
        let out = redact(&text);
        prop_assert!(survivors(&out, &c.secrets).is_empty(), "{:?} survived in {}", survivors(&out, &c.secrets), out);
        prop_assert!(out.contains(MASK));
        prop_assert!(contains_credential(&text));
        prop_assert_eq!(redact(&out), out.as_ref());
    }

    /// (b) and (c): a credential anywhere in random JSON never survives.
    #[test]
    fn credentials_in_json_never_survive(
        mut tree in json_value(),
        (node, secrets) in json_credential(),
        path in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        insert(&mut tree, &path, node);
        let mut once = tree.clone();
        redact_json(&mut once);
        let out = once.to_string();
        prop_assert!(survivors(&out, &secrets).is_empty(), "{:?} survived in {}", survivors(&out, &secrets), out);
        let mut twice = once.clone();
        redact_json(&mut twice);
        prop_assert_eq!(&twice, &once);
        let text = tree.to_string();
        prop_assert!(survivors(&redact(&text), &secrets).is_empty());
    }

    /// (d): harmless evidence survives, borrowed.
    #[test]
    fn evidence_survives(text in evidence_text()) {
        let out = redact(&text);
        prop_assert!(matches!(out, Cow::Borrowed(_)), "changed: {}", out);
    }
}
