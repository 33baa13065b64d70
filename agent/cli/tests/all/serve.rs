//! `sopilot serve` end to end on the simulator: an Alertmanager alert starts a run, its
//! escalation is approved through the HTTP API and executes; repeats join the run; bad
//! requests start nothing; an approval still resolves after a restart. Named API tokens with
//! roles, recorded identities, and configurations refused at load (an inline token, SNS
//! without topics or accounts, a server named like a builtin one).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::{Value, json};
use support::{
    AM_TOKEN, TOKEN, decide, http, pending_approval, serve_refuses, sim, start_server, wait_for,
};

fn alert(pod: &str) -> Value {
    json!({"version": "4", "groupKey": format!("{{}}:{{alertname=\"KubePodCrashLooping\", pod=\"{pod}\"}}"), "status": "firing",
        "receiver": "sopilot", "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": pod},
        "alerts": [{"status": "firing", "labels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": pod}, "fingerprint": "f1"}]})
}

#[tokio::test]
async fn alert_to_approved_action_through_the_api() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&sim, dir.path(), "").await;
    let http = http();
    let u = |p: &str| format!("{}{p}", server.url);

    // Refusals start nothing.
    let r = http
        .post(u("/hooks/alertmanager"))
        .json(&alert("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http
        .post(u("/hooks/alertmanager"))
        .bearer_auth(AM_TOKEN)
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("not JSON"));
    let r = http.get(u("/api/runs")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        http.get(u("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );

    // The alert starts pod-crashloop.
    let r: Value = http
        .post(u("/hooks/alertmanager"))
        .bearer_auth(AM_TOKEN)
        .json(&alert("payment-service-7d8f9c6b5-x2k9p"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "started", "{r}");
    assert_eq!(r["sop"], "pod-crashloop");
    let run_id = r["run_id"].as_str().unwrap().to_owned();
    // A repeat joins it.
    let again: Value = http
        .post(u("/hooks/alertmanager"))
        .bearer_auth(AM_TOKEN)
        .json(&alert("payment-service-7d8f9c6b5-x2k9p"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again, json!({"status": "joined", "run_id": run_id}));

    // The HPA change escalates; approve it through the API.
    let approval = &pending_approval(&http, &server.url).await;
    assert_eq!(approval["tool"], "kubectl.patch_hpa");
    assert_eq!(approval["run_id"], run_id.as_str());
    let id = approval["id"].as_str().unwrap();
    assert_eq!(
        decide(&http, &server.url, id, "maybe", "alice").await.0,
        400
    );
    assert_eq!(
        decide(&http, &server.url, id, "approve", "alice").await.0,
        200
    );
    // The first decision wins.
    let (status, body) = decide(&http, &server.url, id, "deny", "bob").await;
    assert_eq!(status, 409);
    assert!(
        body.to_string().contains("already approved by api:api"),
        "{body}"
    );

    let done = wait_for(
        &http,
        &u(&format!("/api/runs/{run_id}")),
        "the run to finish",
        |v| v["run"]["status"] != "running",
    )
    .await;
    let hpa = done["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tool"] == "kubectl.patch_hpa")
        .unwrap();
    assert_eq!(hpa["executed"], true, "{done:#}");
    assert_eq!(hpa["decision"], "escalate");
    assert_eq!(
        sim.get(
            "HorizontalPodAutoscaler",
            Some("payment"),
            "payment-service-hpa"
        )
        .unwrap()
        .pointer("/spec/maxReplicas"),
        Some(&json!(20))
    );
    let events = done["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["event"] == "note" && e["message"].as_str().unwrap_or("").contains("repeat")), "the repeat is on the timeline");
    let metrics = http
        .get(u("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("sopilot_triggers_joined_total 1"),
        "{metrics}"
    );
    drop(server);
}

#[tokio::test]
async fn an_approval_still_resolves_after_a_restart() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(&sim, dir.path(), "").await;
    let http = http();
    let r: Value = http
        .post(format!("{}/hooks/alertmanager", server.url))
        .bearer_auth(AM_TOKEN)
        .json(&alert("payment-service-7d8f9c6b5-x2k9p"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let run_id = r["run_id"].as_str().unwrap().to_owned();
    let id = pending_approval(&http, &server.url).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Stop the server while the run waits.
    server.child.kill().await.unwrap();
    let server = start_server(&sim, dir.path(), "").await;
    let run = wait_for(
        &http,
        &format!("{}/api/runs/{run_id}", server.url),
        "the interrupted run",
        |v| v["run"]["status"] == "interrupted",
    )
    .await;
    assert!(run["run"]["reason"].as_str().unwrap().contains("stopped"));
    let r: Value = http
        .post(format!("{}/api/approvals/{id}", server.url))
        .bearer_auth(TOKEN)
        .json(&json!({"decision": "approve", "by": "carol"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(r["resumed"].as_str().unwrap().contains("executed"), "{r}");
    assert_eq!(
        sim.get(
            "HorizontalPodAutoscaler",
            Some("payment"),
            "payment-service-hpa"
        )
        .unwrap()
        .pointer("/spec/maxReplicas"),
        Some(&json!(20))
    );
}

#[tokio::test]
async fn named_tokens_have_roles_and_decisions_record_the_token() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let secrets = [
        ("grafana", "viewer", "viewer-secret-0123456789"),
        ("ci", "operator", "operator-secret-0123456789"),
        ("oncall", "approver", "approver-secret-0123456789"),
    ];
    let mut extra = String::from("  api_tokens:\n");
    for (name, role, secret) in secrets {
        let file = dir.path().join(name);
        std::fs::write(&file, format!("{secret}\n")).unwrap();
        extra.push_str(&format!(
            "    - {{name: {name}, role: {role}, token_file: {}}}\n",
            file.display()
        ));
    }
    let server = start_server(&sim, dir.path(), &extra).await;
    let http = http();
    let u = |p: &str| format!("{}{p}", server.url);
    let post = |path: String, token: &'static str, body: Value| {
        http.post(u(&path)).bearer_auth(token).json(&body).send()
    };
    // The viewer reads; cannot start a run or decide.
    let r = http
        .get(u("/api/approvals"))
        .bearer_auth(secrets[0].2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let params = json!({"namespace": "payment", "pod": "payment-service-7d8f9c6b5-x2k9p"});
    let start = json!({"sop": "pod-crashloop", "params": params});
    let r = post("/api/runs".into(), secrets[0].2, start.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["role_needed"], "operator", "{body}");
    // The operator starts one (its escalation waits), but cannot decide it.
    let r: Value = post("/api/runs".into(), secrets[1].2, start)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "started", "{r}");
    let run_id = r["run_id"].as_str().unwrap().to_owned();
    let approval = pending_approval(&http, &server.url).await;
    let id = approval["id"].as_str().unwrap();
    let path = format!("/api/approvals/{id}");
    let r = post(path.clone(), secrets[1].2, json!({"decision": "approve"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["role_needed"], "approver", "{body}");
    // The approver decides; a name in the body changes nothing of the record.
    let r: Value = post(
        path,
        secrets[2].2,
        json!({"decision": "approve", "by": "somebody-else"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(r["approval"]["decided_by"], "api:oncall", "{r}");
    let run = wait_for(
        &http,
        &u(&format!("/api/runs/{run_id}")),
        "the run to finish",
        |v| v["run"]["status"] != "running",
    )
    .await;
    let by = run["run"]["trigger"]["by"].as_str().unwrap();
    assert!(by.starts_with("api:ci: pod-crashloop"), "{by}");
    // SOPILOT_API_TOKEN is still the approver `api`.
    let r = http
        .get(u("/api/runs"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn unsafe_configurations_do_not_load() {
    let dir = tempfile::tempdir().unwrap();
    let e = serve_refuses(
        dir.path(),
        "serve:\n  api_tokens:\n    - {name: oncall, role: approver, token: approver-secret-0123456789}\n",
    )
    .await;
    assert!(e.contains("token_env") && e.contains("token_file"), "{e}");
    let e = serve_refuses(dir.path(), "serve:\n  sns: {regions: [us-east-1]}\n").await;
    assert!(
        e.contains("serve.sns needs `topics`") && e.contains("accounts"),
        "{e}"
    );
    let e = serve_refuses(dir.path(), "servers:\n  Kubectl: {command: [/bin/true]}\n").await;
    assert!(
        e.contains("\"Kubectl\"") && e.contains("\"kubectl\""),
        "{e}"
    );
    let e = serve_refuses(
        dir.path(),
        "servers:\n  argocd: {command: [/bin/true]}\n  ArgoCD: {command: [/bin/true]}\n",
    )
    .await;
    assert!(e.contains("\"argocd\"") && e.contains("\"ArgoCD\""), "{e}");
}
