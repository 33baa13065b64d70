//! Redaction time stays linear on inputs built to make a careless rule quadratic: many keys
//! whose values never close, markers without partners, one huge line. Each input is about
//! 256 KiB; a quadratic rule would take minutes on it, a linear one milliseconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sopilot_redact::{redact, redact_json};

const SIZE: usize = 256 * 1024;

/// Generous for a debug build on a busy CI machine, far below any quadratic behaviour.
const BUDGET: Duration = Duration::from_secs(10);

fn repeated(unit: &str) -> String {
    unit.repeat(SIZE / unit.len())
}

#[test]
fn pathological_text_is_linear() {
    let inputs = [
        repeated("password=\"a\\\" "),
        repeated("password='a "),
        repeated("password=<a "),
        repeated("password: |\n "),
        repeated("token: "),
        repeated("--token "),
        repeated("- name: DB_PASSWORD\n"),
        repeated("{\"name\":\"DB_PASSWORD\",\"value\":\"a"),
        repeated("-----END PRIVATE KEY-----AAAAAAAAAAAAAAAAAAAAAAAA\n"),
        repeated("-----BEGIN PRIVATE KEY-----"),
        repeated("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n"),
        repeated("Bearer "),
        repeated("Authorization: Digest "),
        repeated("x://a:"),
        repeated("AKIA"),
        repeated("eyJabcd."),
        repeated("aB1+"),
        repeated("Password=a"),
        repeated("- - - \"' "),
        repeated("{"),
        repeated("["),
    ];
    for text in inputs {
        let start = Instant::now();
        let out = redact(&text);
        let again = redact(&out);
        let took = start.elapsed();
        assert!(took < BUDGET, "{took:?} on {:?}...", &text[..40]);
        assert_eq!(again, out, "idempotent on {:?}...", &text[..40]);
    }
}

#[test]
fn deeply_nested_json_strings_are_bounded() {
    // JSON in a string in a string..., 20 levels: every level is parsed once.
    let mut v = serde_json::json!({"password": "x", "pad": "y".repeat(1024)});
    for _ in 0..20 {
        v = serde_json::json!({"wrapped": v.to_string()});
    }
    let start = Instant::now();
    redact_json(&mut v);
    assert!(start.elapsed() < BUDGET);
    assert!(
        !v.to_string().contains("\"x"),
        "the password is masked at the bottom"
    );
}
