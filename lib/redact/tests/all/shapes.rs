//! Every credential shape the redactor knows, as text, with the exact output expected; and
//! the four leaks an adversarial review found in the line-by-line redactor this replaces.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use sopilot_redact::{MASK, contains_credential, redact, redact_json};

fn check(input: &str, want: &str) {
    let got = redact(input);
    assert_eq!(got, want, "redacting {input:?}");
    assert!(
        contains_credential(input),
        "{input:?} should contain a credential"
    );
    assert!(!contains_credential(&got), "{got:?} should contain none");
}

#[test]
fn tokens_recognised_by_their_form() {
    let cases = [
        ("key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED] used"),
        ("role ASIAY34FZKBOKMUTVV7A", "role [REDACTED]"),
        (
            "creds wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY in file",
            "creds [REDACTED] in file",
        ),
        (
            "push ghp_1234567890abcdefghijABCDEFGHIJ123456",
            "push [REDACTED]",
        ),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnop",
            "[REDACTED]",
        ),
        ("slack xoxb-1234567890-abcdefghij ok", "slack [REDACTED] ok"),
        ("app xapp-1-A0123456789-abcdef", "app [REDACTED]"),
        (
            "post https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX failed",
            "post https://hooks.slack.com/services/[REDACTED] failed",
        ),
        (
            "charge sk_live_4eC39HqLyjWDarjtT1zdp7dc",
            "charge [REDACTED]",
        ),
        ("rk_test_abcdefghij0123", "[REDACTED]"),
        (
            "OPENAI_KEY sk-proj-AbCdEfGhIjKlMnOpQrStUvWx012345 set",
            "OPENAI_KEY [REDACTED] set",
        ),
        ("key sk-abcdefghijklmnopqrstuvwxyz012345", "key [REDACTED]"),
        (
            "anthropic sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv_wx-0123",
            "anthropic [REDACTED]",
        ),
        (
            "clone with glpat-AbCdEfGhIjKlMnOpQrSt",
            "clone with [REDACTED]",
        ),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk end",
            "jwt [REDACTED] end",
        ),
        (
            "Authorization: Bearer abcdef123456.xyz",
            "Authorization: Bearer [REDACTED]",
        ),
        (
            "Authorization: Bearer abcdefgh12345 password=hunter22",
            "Authorization: Bearer [REDACTED] password=[REDACTED]",
        ),
        (
            "authorization=Basic dXNlcjpwYXNzd29yZA==",
            "authorization=Basic [REDACTED]",
        ),
        (
            "Authorization: Digest username=\"bob\", response=\"6629fae4\"",
            "Authorization: Digest [REDACTED]",
        ),
        (
            "curl -H 'Bearer 9f8e7d6c5b4a' x",
            "curl -H 'Bearer [REDACTED]' x",
        ),
        (
            "postgres://app:s3cr3t@db:5432/pay",
            "postgres://app:[REDACTED]@db:5432/pay",
        ),
        (
            "redis://:p@ss:w0rd@cache:6379",
            "redis://:[REDACTED]@cache:6379",
        ),
        (
            "Server=db;User Id=sa;Password=my pass word;Encrypt=true",
            "Server=db;User Id=sa;Password=[REDACTED];Encrypt=true",
        ),
        (
            "curl -u admin:hunter2 https://x",
            "curl -u admin:[REDACTED] https://x",
        ),
        (
            "curl --user=admin:hunter2 x",
            "curl --user=admin:[REDACTED] x",
        ),
        (
            "machine api.github.com\n  login bob\n  password s3cr3t",
            "machine api.github.com\n  login bob\n  password [REDACTED]",
        ),
    ];
    for (input, want) in cases {
        check(input, want);
    }
}

#[test]
fn a_secret_printed_as_yaml() {
    check(
        "apiVersion: v1\ndata:\n  host: ZGI=\n  ca.crt: |\n    QUJD\nkind: Secret\nmetadata:\n  name: db\n",
        "apiVersion: v1\ndata:\n  host: [REDACTED]\n  ca.crt: |\n    [REDACTED]\nkind: Secret\nmetadata:\n  name: db\n",
    );
    let config_map = "kind: ConfigMap\ndata:\n  host: db\n";
    assert_eq!(redact(config_map), config_map);
}

#[test]
fn values_recognised_by_their_name() {
    let cases = [
        (
            "DB_PASSWORD=hunter2 LOG_LEVEL=debug",
            "DB_PASSWORD=[REDACTED] LOG_LEVEL=debug",
        ),
        ("export SECRET_KEY=abc123", "export SECRET_KEY=[REDACTED]"),
        (
            "DB_PASSWORD: \"hunter2hunter2\"",
            "DB_PASSWORD: \"[REDACTED]\"",
        ),
        (
            "{\"api_key\": \"k-123\", \"n\": 1",
            "{\"api_key\": \"[REDACTED]\", \"n\": 1",
        ),
        ("run --password=p4ss -v", "run --password=[REDACTED] -v"),
        (
            "run --client-secret s3cr3t -v",
            "run --client-secret [REDACTED] -v",
        ),
        (
            "SIGNING_KEY=a ENCRYPTION_KEY=b STRIPE_KEY=c",
            "SIGNING_KEY=[REDACTED] ENCRYPTION_KEY=[REDACTED] STRIPE_KEY=[REDACTED]",
        ),
        ("  passwd: two words", "  passwd: [REDACTED]"),
        ("token=xoxb-1234567890-abcdefghij", "token=[REDACTED]"),
        (
            "auth_token=t;session_key=k",
            "auth_token=[REDACTED];session_key=[REDACTED]",
        ),
        (
            "x credentials: abc private_key: def",
            "x credentials: [REDACTED] private_key: [REDACTED]",
        ),
        (
            "credentials: abc private_key: def",
            "credentials: [REDACTED]",
        ),
        ("env: DB_PASSWORD=x", "env: DB_PASSWORD=[REDACTED]"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = [REDACTED]",
        ),
        (
            "data:\n  tls.crt: |\n    MIIBcert\n  tls.key: |\n    line1\n    line2\nkind: ConfigMap",
            "data:\n  tls.crt: |\n    MIIBcert\n  tls.key: |\n    [REDACTED]\nkind: ConfigMap",
        ),
    ];
    for (input, want) in cases {
        check(input, want);
    }
}

/// Finding 1: an env entry's literal value is keyed by the entry's `name`.
#[test]
fn env_entry_values() {
    let mut v = json!({"spec": {"containers": [{"env": [
        {"name": "AWS_SECRET_ACCESS_KEY", "value": "notAnAwsShapeButSecret"},
        {"name": "DB_HOST", "value": "db.payment.svc"},
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}},
    ]}]}});
    redact_json(&mut v);
    let env = &v["spec"]["containers"][0]["env"];
    assert_eq!(env[0]["value"], MASK);
    assert_eq!(env[1]["value"], "db.payment.svc");
    assert_eq!(
        env[2]["valueFrom"]["secretKeyRef"],
        json!({"name": "db-creds", "key": "password"})
    );

    check(
        "env:\n- name: DB_PASSWORD\n  value: hunter2\n- name: DB_HOST\n  value: db",
        "env:\n- name: DB_PASSWORD\n  value: [REDACTED]\n- name: DB_HOST\n  value: db",
    );
}

/// Finding 2: ConfigMap data under credential-like keys.
#[test]
fn config_map_data() {
    let mut v = json!({"kind": "ConfigMap", "data": {
        "DB_PASSWORD": "hunter2", "STRIPE_KEY": "not-a-stripe-shape", "LOG_LEVEL": "debug",
        "application.properties": "spring.datasource.password=s3cr3t\nserver.port=8080",
    }});
    redact_json(&mut v);
    assert_eq!(
        v["data"],
        json!({"DB_PASSWORD": MASK, "STRIPE_KEY": MASK, "LOG_LEVEL": "debug",
               "application.properties": "spring.datasource.password=[REDACTED]\nserver.port=8080"})
    );
}

/// Finding 3: `last-applied-configuration` is a whole manifest in one JSON string.
#[test]
fn last_applied_configuration() {
    let manifest = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {
        "containers": [{"name": "app", "env": [{"name": "API_TOKEN", "value": "plainvalue"}]}]}}}});
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "data": {"url": "cG9zdGdyZXM6Ly8="}});
    for (inner, hidden) in [(manifest, "plainvalue"), (secret, "cG9zdGdyZXM6Ly8=")] {
        let mut v = json!({"metadata": {"annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": inner.to_string() + "\n"}}});
        redact_json(&mut v);
        let text = v.to_string();
        assert!(!text.contains(hidden), "{text}");
        assert!(text.contains("[REDACTED]"), "{text}");
    }
    // The same annotation inside a log line, escaped, not parseable as a whole.
    let line =
        r#"applied: {\"env\":[{\"name\":\"API_TOKEN\",\"value\":\"plainvalue\"}]} (truncated"#;
    assert!(!redact(line).contains("plainvalue"));
}

/// Finding 4: a PEM private key printed over several log lines, whole or in part.
#[test]
fn private_keys_over_lines() {
    let body = [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        "VJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1G",
        "Zw==",
    ];
    let key = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
        body.join("\n")
    );
    let cases = [
        format!("starting\n{key}\ndone"),
        format!("{}\n{key}", "x ".repeat(3)),
        // A `head` that cut the END marker off.
        key.split("-----END").next().unwrap().to_owned(),
        // A `tail` that cut the BEGIN marker off.
        format!("{}\n-----END RSA PRIVATE KEY-----\nnext", body.join("\n")),
        // Every line with a log prefix.
        key.lines()
            .map(|l| format!("2024-05-01T10:00:00Z stdout F {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    ];
    for text in cases {
        let out = redact(&text);
        for line in body {
            assert!(!out.contains(line), "{line} survived in {out}");
        }
        assert_eq!(redact(&out), out, "idempotent");
    }
    check(
        &format!("a\n{key}\nb"),
        "a\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n-----END RSA PRIVATE KEY-----\nb",
    );
}

#[test]
fn secrets_and_secret_lists() {
    let mut v = json!({"kind": "SecretList", "items": [
        {"metadata": {"name": "db-creds"}, "data": {"username": "YXBw", "host": "ZGI="}, "type": "Opaque"}]});
    redact_json(&mut v);
    assert_eq!(
        v["items"][0]["data"],
        json!({"username": MASK, "host": MASK})
    );
    assert_eq!(v["items"][0]["metadata"]["name"], "db-creds");
}

#[test]
fn json_text_is_redacted_by_structure() {
    let text =
        serde_json::to_string_pretty(&json!({"kind": "Secret", "data": {"host": "ZGI="}})).unwrap();
    let out = redact(&text);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"]["host"], MASK);
    assert!(out.contains('\n'), "stays pretty-printed");
}

#[test]
fn credentials_passed_as_separate_arguments_are_masked() {
    let mut v = serde_json::json!({"containers": [{"name": "app", "args": [
        "--db-password", "hunter2-argv-attackmarker-1", "--api-key", "ak-argv-attackmarker-2",
        "--port", "8080", "--verbose", "--token=tok-inline-attackmarker-3"]}]});
    sopilot_redact::redact_json(&mut v);
    let text = v.to_string();
    assert!(!text.contains("attackmarker"), "{text}");
    assert!(text.contains("\"--port\",\"8080\""), "{text}");
    assert!(text.contains("--verbose"), "{text}");
}
