//! The container deployment as docker-compose.yml describes it, without Docker: the compose
//! service's command (paths under the image's /opt/sopilot mapped to this checkout) runs
//! `sopilot serve --simulate` with the image's configuration; an Alertmanager alert starts the
//! complex-incident SOP on the simulator, the rollback runs, the HPA escalation waits for a
//! human, and approving it through the API executes it (checked with the real kubectl).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::{Value, json};
use support::{AM_TOKEN, TOKEN, http, repo, wait_for};

const IMAGE_ROOT: &str = "/opt/sopilot/";

/// The compose service's command, its paths mapped from the image to this checkout, listening
/// on a free loopback port.
fn compose_command() -> Vec<String> {
    let compose = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let compose: Value = sopilot_yaml::from_str(&compose).unwrap();
    let service = &compose["services"]["sopilot"];
    for key in ["SOPILOT_API_TOKEN", "SOPILOT_STORE"] {
        assert!(
            service["environment"][key].is_string(),
            "compose sets {key}"
        );
    }
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("WORKDIR {}", IMAGE_ROOT.trim_end_matches('/'))));
    let mut args: Vec<String> = service["command"]
        .as_array()
        .expect("command is a list")
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    for a in &mut args {
        if let Some(rel) = a.strip_prefix(IMAGE_ROOT) {
            let top = rel.split('/').next().unwrap();
            assert!(
                dockerfile.contains(&format!("COPY {top} ./{top}")),
                "the image holds {top}/ which the command uses"
            );
            *a = repo().join(rel).display().to_string();
        }
    }
    let listen = args.iter().position(|a| a == "--listen").unwrap();
    args[listen + 1] = "127.0.0.1:0".into();
    assert!(args.contains(&"--simulate".to_owned()), "{args:?}");
    args
}

#[tokio::test]
async fn the_compose_service_serves_the_demo_on_the_simulator() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .args(compose_command())
        .env("SOPILOT_API_TOKEN", TOKEN)
        .env("SOPILOT_ALERTMANAGER_TOKEN", AM_TOKEN)
        .env("SOPILOT_STORE", dir.path().join("sopilot.db"))
        .env("RUST_LOG", "info")
        // A simulation never reaches real systems, whatever the environment says.
        .env("KUBECONFIG", dir.path().join("no-such-kubeconfig"))
        .env("SLACK_BOT_TOKEN", "xoxb-real-token-must-not-be-used")
        .env("SLACK_API_URL", "http://127.0.0.1:9/api/");
    let server = support::spawn(cmd).await;
    let url = server.url.clone();
    let urls: Value = server
        .log
        .lock()
        .unwrap()
        .iter()
        .find_map(|l| {
            l.find(".yaml: {")
                .map(|i| serde_json::from_str(&l[i + ".yaml: ".len()..]).unwrap())
        })
        .expect("the simulator's URLs are logged");
    let kubeconfig = urls["kubeconfig"].as_str().unwrap();
    let http = http();
    let health = http.get(format!("{url}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let alert = json!({"version": "4", "groupKey": "{}:{alertname=\"PaymentErrors\"}", "status": "firing",
        "receiver": "sopilot", "groupLabels": {"alertname": "PaymentErrors"},
        "commonLabels": {"alertname": "PaymentErrors", "severity": "critical", "namespace": "payment", "service": "payment-service"},
        "alerts": [{"status": "firing", "fingerprint": "c0ffee",
            "labels": {"alertname": "PaymentErrors", "severity": "critical", "namespace": "payment", "service": "payment-service"}}]});
    let r: Value = http
        .post(format!("{url}/hooks/alertmanager"))
        .bearer_auth(AM_TOKEN)
        .json(&alert)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&r["status"], &r["sop"]),
        (&json!("started"), &json!("complex-incident")),
        "{r}"
    );
    let run_id = r["run_id"].as_str().unwrap();

    // The rollback is allowed and runs; raising the HPA waits for a human.
    let pending = support::pending_approval(&http, &url).await;
    assert_eq!(pending["tool"], "kubectl.patch_hpa", "{pending}");
    assert_eq!(hpa_max(kubeconfig), 10);
    let (status, _) = support::decide(
        &http,
        &url,
        pending["id"].as_str().unwrap(),
        "approve",
        "alice",
    )
    .await;
    assert_eq!(status, 200);
    let done = wait_for(
        &http,
        &format!("{url}/api/runs/{run_id}"),
        "the run to end",
        |v| v["run"]["status"] != "running",
    )
    .await;
    let calls = done["tool_calls"].as_array().unwrap();
    let call = |tool: &str| calls.iter().find(|c| c["tool"] == tool).unwrap();
    assert_eq!(
        (
            &call("kubectl.rollout_undo")["decision"],
            &call("kubectl.rollout_undo")["executed"]
        ),
        (&json!("allow"), &json!(true)),
        "{done:#}"
    );
    assert_eq!(call("kubectl.patch_hpa")["executed"], true, "{done:#}");
    assert_eq!(hpa_max(kubeconfig), 20);
}

/// The HPA's maximum as the real kubectl reads it from the simulator.
fn hpa_max(kubeconfig: &str) -> u64 {
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            kubeconfig,
            "-n",
            "payment",
            "get",
            "hpa",
            "payment-service-hpa",
            "-o",
            "jsonpath={.spec.maxReplicas}",
        ])
        .output()
        .expect("kubectl is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
