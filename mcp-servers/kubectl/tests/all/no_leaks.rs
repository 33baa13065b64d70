//! No read path returns Secret data or literal credentials: every spelling of Secrets is
//! refused by every tool that takes a kind, and credentials in env values, ConfigMap keys,
//! last-applied annotations and logs (a private key over several lines) are redacted in
//! every output. The scenario (`tests/scenarios/credentials.yaml`) marks every credential
//! value with `LEAK`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::{Harness, Reply, own_scenario, sim_of};
use serde_json::{Value, json};

/// The Secret's values, base64 and decoded, and the marker of every other credential.
const NEVER: &[&str] = &[
    "SHVudGVyMi1zZWNyZXQtb2JqZWN0LXZhbHVl",
    "Hunter2-secret-object-value",
    "c2VjcmV0LXVzZXJuYW1lLXZhbHVl",
    "secret-username-value",
    "LEAK",
];

fn assert_clean(what: &str, r: &Reply) {
    let all = r.everything();
    for value in NEVER {
        assert!(!all.contains(value), "{what} leaked {value:?}:\n{all}");
    }
}

async fn harness() -> Harness {
    Harness::start_with(sim_of(&own_scenario("credentials")).await, true).await
}

/// Spellings the simulated API server's discovery serves Secrets under, and spellings
/// that only look like them; every one must be refused or rejected, never read.
const SECRET_SPELLINGS: &[&str] = &[
    "Secret",
    "secrets",
    "SECRET",
    "secret",
    " sEcReTs ",
    "secrets.v1",
    "Secret.v1",
    "secrets.v1.",
    "v1/Secret",
    "v1/secrets",
    "core/v1/Secret",
    "core/v1/secrets",
    "secrets.core",
    "secret.v1.core",
    "Secret.v1/x",
    "secrets.core/v1",
    "secret./",
    "/v1/Secret",
    "secrets/",
    "Secret.",
    "secrets..v1",
    "secret\u{200b}",
    "\u{455}ecret",
];

#[tokio::test]
async fn every_spelling_of_secrets_is_refused_by_every_tool_that_takes_a_kind() {
    let h = harness().await;
    for &kind in SECRET_SPELLINGS {
        let resolved = h.call("resolve_resource", json!({"kind": kind})).await;
        assert_clean(&format!("resolve_resource {kind:?}"), &resolved);
        let is_secret = !resolved.is_error;
        if is_secret {
            assert_eq!(
                resolved.structured["resource"],
                json!({"group": "", "version": "v1", "kind": "Secret", "plural": "secrets", "namespaced": true}),
                "{kind:?}: {}",
                resolved.text
            );
            assert_eq!(resolved.text, "secrets.v1 (Secret, namespaced)");
        } else {
            assert!(
                resolved.text.contains("Accepted forms"),
                "{kind:?}: {}",
                resolved.text
            );
        }
        let calls = [
            (
                "get_resource",
                json!({"kind": kind, "namespace": "vault", "name": "db-creds"}),
            ),
            ("get_resource", json!({"kind": kind, "namespace": "vault"})),
            ("get_resource", json!({"kind": kind})),
            (
                "list_events",
                json!({"namespace": "vault", "involved_object": format!("{kind}/db-creds")}),
            ),
            (
                "scale",
                json!({"kind": kind, "namespace": "vault", "name": "db-creds", "replicas": 0, "dry_run": true}),
            ),
            (
                "rollout_restart",
                json!({"kind": kind, "namespace": "vault", "name": "db-creds", "dry_run": true}),
            ),
        ];
        for (tool, args) in calls {
            let r = h.call(tool, args.clone()).await;
            assert_clean(&format!("{tool} {args}"), &r);
            assert!(r.is_error, "{tool} {args} must be refused: {}", r.text);
            let why = if is_secret {
                "resolves to core Secrets (secrets.v1)"
            } else {
                "Accepted forms"
            };
            assert!(r.text.contains(why), "{tool} {args}: {}", r.text);
        }
    }
    assert!(h.sim.get("Secret", Some("vault"), "db-creds").is_some());
}

/// Every object mcp-kubectl can print, by every read tool.
#[tokio::test]
async fn no_read_tool_returns_a_credential() {
    let h = harness().await;
    let rs = h
        .ok("get_resource", json!({"kind": "rs", "namespace": "vault"}))
        .await;
    let rs_name = rs.structured["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let pods = h.ok("list_pods", json!({"namespace": "vault"})).await;
    assert_clean("list_pods", &pods);
    let mut names: Vec<String> = pods.structured["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 4, "2 api, 1 store, worker: {}", pods.text);
    names.sort();
    let mut calls = vec![
        (
            "get_resource",
            json!({"kind": "Deployment", "namespace": "vault", "name": "api"}),
        ),
        (
            "get_resource",
            json!({"kind": "apps/v1/ReplicaSet", "namespace": "vault", "name": rs_name}),
        ),
        (
            "get_resource",
            json!({"kind": "sts", "namespace": "vault", "name": "store"}),
        ),
        (
            "get_resource",
            json!({"kind": "cm", "namespace": "vault", "name": "app-config"}),
        ),
        (
            "get_resource",
            json!({"kind": "configmaps.v1", "namespace": "vault"}),
        ),
        (
            "get_resource",
            json!({"kind": "events", "namespace": "vault"}),
        ),
        ("get_resource", json!({"kind": "deploy"})),
        (
            "get_deployment",
            json!({"namespace": "vault", "name": "api"}),
        ),
        (
            "rollout_history",
            json!({"namespace": "vault", "name": "api"}),
        ),
        ("list_events", json!({"namespace": "vault"})),
        (
            "recent_changes",
            json!({"namespace": "vault", "since_minutes": 10080}),
        ),
        (
            "recent_changes",
            json!({"namespace": "vault", "workload": "pod/worker", "since_minutes": 10080}),
        ),
        ("oom_killed_pods", json!({"namespace": "vault"})),
        ("pod_logs", json!({"namespace": "vault", "name": "worker"})),
        (
            "pod_logs",
            json!({"namespace": "vault", "name": "worker", "previous": true}),
        ),
    ];
    for name in &names {
        calls.push(("describe_pod", json!({"namespace": "vault", "name": name})));
        calls.push((
            "get_resource",
            json!({"kind": "Pod", "namespace": "vault", "name": name}),
        ));
    }
    for (tool, args) in calls {
        let r = h.call(tool, args.clone()).await;
        assert!(!r.is_error, "{tool} {args}: {}", r.text);
        assert_clean(&format!("{tool} {args}"), &r);
    }
}

#[tokio::test]
async fn env_values_configmap_keys_and_last_applied_are_redacted_in_objects() {
    let h = harness().await;
    let d = h
        .ok(
            "get_resource",
            json!({"kind": "Deployment", "namespace": "vault", "name": "api"}),
        )
        .await;
    assert_clean("deployment", &d);
    let env = d.structured["spec"]["template"]["spec"]["containers"][0]["env"].clone();
    let by_name = |n: &str| {
        env.as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_name("DB_HOST")["value"],
        "postgres.vault.svc.cluster.local",
        "{env}"
    );
    assert_ne!(
        by_name("DB_PASSWORD")["value"],
        Value::Null,
        "masked, not dropped: {env}"
    );
    assert_eq!(
        by_name("DB_USER")["valueFrom"]["secretKeyRef"],
        json!({"name": "db-creds", "key": "username"}),
        "a reference is not a secret: {env}"
    );
    let cm = h
        .ok(
            "get_resource",
            json!({"kind": "ConfigMap", "namespace": "vault", "name": "app-config"}),
        )
        .await;
    assert_clean("configmap", &cm);
    assert_eq!(cm.structured["data"]["log_level"], "debug", "{}", cm.text);
    assert!(cm.text.contains("server.port=8080"), "{}", cm.text);
    let pod = h
        .ok(
            "get_resource",
            json!({"kind": "po", "namespace": "vault", "name": "worker"}),
        )
        .await;
    assert_clean("pod", &pod);
    assert!(pod.text.contains("\"LOG_LEVEL\""), "{}", pod.text);
}

#[tokio::test]
async fn a_private_key_over_several_log_lines_never_passes() {
    let h = harness().await;
    let cases = [
        json!({"namespace": "vault", "name": "worker"}),
        json!({"namespace": "vault", "name": "worker", "previous": true}),
        json!({"namespace": "vault", "name": "worker", "grep": "MII|keyline|BEGIN|END"}),
        json!({"namespace": "vault", "name": "worker", "grep": "keyline"}),
        json!({"namespace": "vault", "name": "worker", "tail_lines": 3}),
        json!({"namespace": "vault", "name": "worker", "tail_lines": 4}),
        json!({"namespace": "vault", "name": "worker", "previous": true, "tail_lines": 3}),
    ];
    for args in cases {
        let r = h.ok("pod_logs", args.clone()).await;
        assert_clean(&format!("pod_logs {args}"), &r);
        println!("{args}\n{}", r.text);
    }
    let all = h
        .ok("pod_logs", json!({"namespace": "vault", "name": "worker"}))
        .await;
    assert!(
        all.text.contains("ERROR upstream refused the connection"),
        "{}",
        all.text
    );
    assert!(all.text.contains("loaded signing key:"), "{}", all.text);
}
