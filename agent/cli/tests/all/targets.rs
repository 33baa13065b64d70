//! Two clusters and two accounts from one SOPilot: two complete simulated environments (a
//! Kubernetes API and an AWS endpoint each), one configuration naming both as targets, runs
//! through the `sopilot` binary with its real servers (one set per target). Checked: alarms
//! route to their account's target, every call reaches only its target's cluster and account,
//! the policy decides by target (writes in prod escalate), a run cannot act on another
//! target, and the report and the audit name the target.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use sopilot_runtime::Store;
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};

use crate::support::repo;

const POD: &str = "payment-service-7d8f9c6b5-x2k9p";
const PROD_ACCOUNT: &str = "111111111111";
const STAGING_ACCOUNT: &str = "222222222222";

const SOP: &str = "---
name: restart-and-look
tools: [kubectl.delete_pod, cloudwatch.describe_alarms]
---
# Restart and look

## Overview
Restart the crash-looping pod, then read the alarms.

## Parameters
- **namespace** (optional): Where the pod runs

## Steps
### 1. Restart the pod and read the alarms
**Constraints:**
- You MUST say what happened
";

/// The model: a restart on the run's own target, a restart naming prod explicitly, an alarm
/// read, then the report.
const SCRIPT: &str = r#"
turns:
  - calls:
      - kubectl.delete_pod: {namespace: payment, name: payment-service-7d8f9c6b5-x2k9p}
  - calls:
      - kubectl.delete_pod: {namespace: payment, name: payment-service-7d8f9c6b5-x2k9p, target: prod-eu}
  - calls:
      - cloudwatch.describe_alarms: {}
  - when: {contains: "Write the final report"}
    say: |
      ## Summary
      Restarted where allowed.
"#;

/// Writes on the target labelled prod are a human's decision (on top of the default policy,
/// which allows restarting a crash-looping pod).
const PROD_POLICY: &str = r#"
version: 1
rules:
  - name: writes-in-prod
    tools: ["kubectl.*"]
    when: not annotations.read_only and target.labels.env == "prod"
    decision: escalate
    because: every change in production is a human's decision
    examples:
      match:
        - tool: kubectl.delete_pod
          annotations: {read_only: false}
          target: {name: prod-eu, labels: {env: prod}}
      not_match:
        - tool: kubectl.delete_pod
          annotations: {read_only: false}
          target: {name: staging, labels: {env: staging}}
"#;

async fn sim() -> RunningSim {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap()
}

/// The configuration: each target's cluster (its kubeconfig) and account (its AWS endpoint),
/// its labels and the account its alarms come from.
fn config(prod: &RunningSim, staging: &RunningSim) -> String {
    let target = |name: &str, env: &str, sim: &RunningSim, account: &str, region: &str| {
        json!({
            "name": name, "labels": {"env": env},
            "kubernetes": {"kubeconfig": sim.kubeconfig()},
            "aws": {"region": "us-east-1"},
            "env": {"AWS_ENDPOINT_URL": sim.aws_url()},
            "routes": {"accounts": [account], "regions": [region]},
        })
    };
    let config = json!({"targets": [
        target("prod-eu", "prod", prod, PROD_ACCOUNT, "eu-west-1"),
        target("staging", "staging", staging, STAGING_ACCOUNT, "us-east-1"),
    ]});
    // JSON is YAML.
    config.to_string()
}

fn alarm(account: &str, region: &str) -> Value {
    json!({
        "version": "0", "id": "5e3c1d0a", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": account, "time": "2026-12-07T10:00:00Z",
        "region": region,
        "resources": [format!("arn:aws:cloudwatch:{region}:{account}:alarm:payment-errors")],
        "detail": {"alarmName": "payment-errors", "state": {"value": "ALARM", "reason": "errors",
                   "timestamp": "2026-12-07T10:00:00.000+0000"},
                   "previousState": {"value": "OK"}}
    })
}

struct World {
    prod: RunningSim,
    staging: RunningSim,
    dir: tempfile::TempDir,
}

impl World {
    async fn new() -> World {
        let (prod, staging) = (sim().await, sim().await);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write("config.yaml", &config(&prod, &staging));
        write("restart-and-look.sop.md", SOP);
        write("script.yaml", SCRIPT);
        write("prod.yaml", PROD_POLICY);
        World { prod, staging, dir }
    }

    /// `sopilot run` with the two targets; the run's JSON.
    async fn run(&self, trigger: Option<Value>, extra: &[&str]) -> Value {
        let p = |name: &str| self.dir.path().join(name);
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
        cmd.current_dir(repo())
            .env("RUST_LOG", "warn")
            // Credentials of both simulated accounts (the configuration never holds any).
            .env("AWS_ACCESS_KEY_ID", "sopilot-sim")
            .env("AWS_SECRET_ACCESS_KEY", "sopilot-sim")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("KUBECONFIG")
            .env_remove("SOPILOT_STORE")
            .arg("run")
            .arg(p("restart-and-look.sop.md"))
            .args([
                "--model",
                &format!("scripted:{}", p("script.yaml").display()),
            ])
            .args(["--policy", "policies/default.yaml", "--policy"])
            .arg(p("prod.yaml"))
            .arg("--config")
            .arg(p("config.yaml"))
            .args(["--on-escalate", "deny", "--json", "--store"])
            .arg(p("db"))
            .args(extra);
        if let Some(t) = trigger {
            std::fs::write(p("trigger.json"), t.to_string()).unwrap();
            cmd.arg("--trigger").arg(p("trigger.json"));
        }
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .expect("sopilot run timed out")
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: stdout {} stderr {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    fn pod_in(&self, sim: &RunningSim) -> bool {
        sim.get("Pod", Some("payment"), POD).is_some()
    }
}

fn calls<'a>(v: &'a Value, tool: &str) -> Vec<&'a Value> {
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool)
        .collect()
}

/// CloudWatch requests an AWS simulator answered.
fn cloudwatch_requests(sim: &RunningSim) -> usize {
    sim.aws()
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeAlarms")
        .count()
}

#[tokio::test]
async fn a_staging_alarm_acts_on_staging_only_and_cannot_reach_prod() {
    let w = World::new().await;
    let v = w.run(Some(alarm(STAGING_ACCOUNT, "us-east-1")), &[]).await;
    assert_eq!(v["target"], "staging", "the alarm's account routes: {v:#}");
    let del = calls(&v, "kubectl.delete_pod");
    assert_eq!(del.len(), 2, "{v:#}");
    // The restart on the run's own target: allowed there, executed in staging's cluster.
    assert_eq!(del[0]["args"]["target"], "staging");
    assert_eq!(del[0]["decision"], "allow", "{:#}", del[0]);
    assert_eq!(del[0]["executed"], true);
    assert!(!w.pod_in(&w.staging), "the staging pod was restarted");
    // The restart naming prod: refused, whatever the model says.
    assert_eq!(
        del[1]["rules"],
        json!(["builtin:wrong-target"]),
        "{:#}",
        del[1]
    );
    assert_eq!(del[1]["executed"], false);
    assert!(w.pod_in(&w.prod), "prod's pod is untouched");
    // The alarm read went to staging's account only.
    assert_eq!(calls(&v, "cloudwatch.describe_alarms")[0]["executed"], true);
    assert_eq!(cloudwatch_requests(&w.staging), 1);
    assert_eq!(cloudwatch_requests(&w.prod), 0);
    // The audit names the target of every call.
    let store = Store::open(&w.dir.path().join("db")).unwrap();
    let run_id = v["run_id"].as_str().unwrap();
    let (_, _, audit) = store.run(run_id).unwrap();
    let targets: Vec<&Value> = audit.iter().map(|c| &c.args["target"]).collect();
    assert_eq!(
        targets,
        [&json!("staging"), &json!("prod-eu"), &json!("staging")]
    );
}

#[tokio::test]
async fn a_prod_alarm_escalates_the_same_restart_and_changes_nothing() {
    let w = World::new().await;
    let v = w.run(Some(alarm(PROD_ACCOUNT, "eu-west-1")), &[]).await;
    assert_eq!(v["target"], "prod-eu", "{v:#}");
    let del = calls(&v, "kubectl.delete_pod");
    for d in &del {
        assert_eq!(d["args"]["target"], "prod-eu");
        assert_eq!(d["decision"], "deny", "escalated, nobody to ask: {d:#}");
        assert!(
            d["rules"]
                .as_array()
                .unwrap()
                .contains(&json!("writes-in-prod")),
            "{d:#}"
        );
        assert_eq!(d["executed"], false);
    }
    assert!(w.pod_in(&w.prod) && w.pod_in(&w.staging));
    assert_eq!(cloudwatch_requests(&w.prod), 1);
    assert_eq!(cloudwatch_requests(&w.staging), 0);
}

#[tokio::test]
async fn a_run_bound_to_no_target_must_name_one() {
    let w = World::new().await;
    // An alarm from an account no target claims, and no default target.
    let v = w.run(Some(alarm("333333333333", "us-east-1")), &[]).await;
    assert!(v.get("target").is_none() || v["target"].is_null(), "{v:#}");
    let del = calls(&v, "kubectl.delete_pod");
    assert_eq!(
        del[0]["rules"],
        json!(["builtin:wrong-target"]),
        "{:#}",
        del[0]
    );
    // The call naming prod goes to prod, and prod's policy escalates it.
    assert_eq!(del[1]["args"]["target"], "prod-eu");
    assert_eq!(del[1]["decision"], "deny", "{:#}", del[1]);
    assert!(w.pod_in(&w.prod) && w.pod_in(&w.staging));
    // --target binds a run by hand; an unknown one is refused naming the targets.
    let v = w.run(None, &["--target", "staging"]).await;
    assert_eq!(v["target"], "staging");
    assert!(!w.pod_in(&w.staging) && w.pod_in(&w.prod));
}

#[tokio::test]
async fn an_unknown_target_is_refused_before_anything_starts() {
    let w = World::new().await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .args(["run", "pod-crashloop", "-p", "namespace=payment", "-p"])
        .arg(format!("pod={POD}"))
        .arg("--config")
        .arg(w.dir.path().join("config.yaml"))
        .args(["--target", "qa", "--on-escalate", "deny", "--store"])
        .arg(w.dir.path().join("db"))
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr.contains("no target \"qa\"") && stderr.contains("prod-eu, staging"),
        "{stderr}"
    );
    assert!(w.pod_in(&w.prod) && w.pod_in(&w.staging));
}

/// A SOP a BackOff event starts, which restarts the pod in a tool block (no model: one
/// scripted model would be shared by the two runs).
const RESTART_ON_BACKOFF: &str = r#"---
name: restart-on-backoff
triggers:
  - kubernetes_event:
      reasons: [BackOff]
      kinds: [Pod]
    params:
      namespace: "{{ trigger.event.object.namespace }}"
      pod: "{{ trigger.event.object.name }}"
tools: [kubectl.delete_pod]
---
# Restart on BackOff

## Overview
Restart a crash-looping pod.

## Parameters
- **namespace** (required): The pod's namespace
- **pod** (required): The pod

## Steps
### 1. Restart the pod

```tool
kubectl.delete_pod: {namespace: "{{ namespace }}", name: "{{ pod }}"}
```

**Constraints:**
- You MUST restart the pod
"#;

const EB_SECRET: &str = "eventbridge-secret-for-targets-0123";

/// `sopilot serve` with both targets and the event watcher: one watcher per target.
async fn serve_both(w: &World) -> crate::support::Server {
    let p = |name: &str| w.dir.path().join(name);
    std::fs::create_dir_all(p("sops")).unwrap();
    std::fs::write(p("sops/restart-on-backoff.sop.md"), RESTART_ON_BACKOFF).unwrap();
    let mut config: Value = serde_json::from_str(&config(&w.prod, &w.staging)).unwrap();
    config["store"] = json!(p("db"));
    config["serve"] = json!({
        "listen": "127.0.0.1:0",
        "model": "none",
        "sops": [p("sops")],
        "policy": [repo().join("policies/default.yaml"), p("prod.yaml")],
        "kubernetes_events": {"namespaces": ["payment"], "reasons": ["BackOff"]},
    });
    std::fs::write(p("serve.yaml"), config.to_string()).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("SOPILOT_API_TOKEN", crate::support::TOKEN)
        .env("SOPILOT_EVENTBRIDGE_SECRET", EB_SECRET)
        .env("AWS_ACCESS_KEY_ID", "sopilot-sim")
        .env("AWS_SECRET_ACCESS_KEY", "sopilot-sim")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .env_remove("KUBECONFIG")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SOPILOT_STORE")
        .args(["serve", "--config"])
        .arg(p("serve.yaml"));
    crate::support::spawn(cmd).await
}

/// The target a run recorded at its start.
fn run_target(run: &Value) -> Value {
    run["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "run_started")
        .map_or(Value::Null, |e| e["target"].clone())
}

#[tokio::test]
async fn serve_watches_each_cluster_and_binds_its_events_runs_to_it() {
    let w = World::new().await;
    let server = serve_both(&w).await;
    let http = crate::support::http();
    // The scenario's recent BackOff event is in both clusters: one run per cluster (the
    // same pod and reason in two clusters is two incidents).
    let listed = crate::support::wait_for(
        &http,
        &format!("{}/api/runs", server.url),
        "a run per cluster",
        |v| v["runs"].as_array().unwrap().len() >= 2,
    )
    .await;
    let mut by_target = std::collections::BTreeMap::new();
    for run in listed["runs"].as_array().unwrap() {
        let id = run["id"].as_str().unwrap();
        let v = crate::support::wait_for(
            &http,
            &format!("{}/api/runs/{id}", server.url),
            "the run's start",
            |v| !run_target(v).is_null(),
        )
        .await;
        assert_eq!(v["run"]["sop"], "restart-on-backoff");
        assert_eq!(
            v["run"]["trigger"]["event"]["cluster"],
            run_target(&v),
            "the event names its cluster"
        );
        by_target.insert(run_target(&v).as_str().unwrap().to_owned(), id.to_owned());
    }
    assert_eq!(by_target.keys().collect::<Vec<_>>(), ["prod-eu", "staging"]);
    // Staging restarts the pod itself; prod waits for a human.
    let approval = crate::support::pending_approval(&http, &server.url).await;
    assert_eq!(approval["run_id"], by_target["prod-eu"], "{approval:#}");
    assert_eq!(approval["args"]["target"], "prod-eu");
    for _ in 0..100 {
        if !w.pod_in(&w.staging) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!w.pod_in(&w.staging), "staging's pod was restarted");
    assert!(w.pod_in(&w.prod), "prod's pod waits for the approval");
    // Approved, the restart happens in prod's cluster.
    let id = approval["id"].as_str().unwrap();
    let (status, _) = crate::support::decide(&http, &server.url, id, "approve", "alice").await;
    assert_eq!(status, 200);
    for _ in 0..100 {
        if !w.pod_in(&w.prod) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!w.pod_in(&w.prod), "prod's pod was restarted once approved");

    // The API binds a run to a target by name; an unknown one is refused, naming them.
    let r = http
        .post(format!("{}/api/runs", server.url))
        .bearer_auth(crate::support::TOKEN)
        .json(&json!({"sop": "restart-on-backoff", "params": {"namespace": "payment", "pod": POD}, "target": "qa"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("prod-eu, staging"), "{text}");

    // An alarm from an account no target claims (and no default target) starts nothing:
    // an unbound run would let the model choose where to act. It is recorded as unrouted.
    let r = http
        .post(format!("{}/hooks/eventbridge", server.url))
        .bearer_auth(EB_SECRET)
        .json(&alarm("333333333333", "us-east-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("no target's routes claim"), "{text}");
    let unrouted = crate::support::wait_for(
        &http,
        &format!("{}/api/triggers/unrouted", server.url),
        "the unrouted alarm",
        |v| !v["triggers"].as_array().unwrap().is_empty(),
    )
    .await;
    assert!(unrouted.to_string().contains("333333333333"), "{unrouted}");
}

/// `sopilot serve` watching a target that is an EKS cluster (no kubeconfig anywhere): the
/// watcher reaches it through the target's own AWS settings (EKS DescribeCluster at the
/// target's endpoint, then a signed token on every request), its event's run is bound to the
/// target, and the target's kubectl server restarts the pod in that cluster.
#[tokio::test]
async fn serve_watches_an_eks_target_through_the_target_s_aws_settings() {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    let options = SimOptions {
        eks_cluster: Some("prod-eks".to_owned()),
        ..SimOptions::default()
    };
    let sim = sopilot_sim_env::start(scenario, options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::create_dir_all(p("sops")).unwrap();
    std::fs::write(p("sops/restart-on-backoff.sop.md"), RESTART_ON_BACKOFF).unwrap();
    let config = json!({
        "store": p("db"),
        "targets": [{
            "name": "prod-eks", "labels": {"env": "prod"},
            "kubernetes": {"eks_cluster": "prod-eks"},
            "aws": {"region": "us-east-1"},
            "env": {"AWS_ENDPOINT_URL": sim.aws_url()},
        }],
        "serve": {
            "listen": "127.0.0.1:0",
            "model": "none",
            "sops": [p("sops")],
            "policy": [repo().join("policies/default.yaml")],
            "kubernetes_events": {"namespaces": ["payment"], "reasons": ["BackOff"]},
        },
    });
    std::fs::write(p("serve.yaml"), config.to_string()).unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo())
        .env("SOPILOT_API_TOKEN", crate::support::TOKEN)
        .env("AWS_ACCESS_KEY_ID", "sopilot-sim")
        .env("AWS_SECRET_ACCESS_KEY", "sopilot-sim")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RUST_LOG", "info")
        .env_remove("KUBECONFIG")
        // SOPilot's own region and endpoint lead nowhere: only the target's reach the cluster.
        .env("AWS_REGION", "ap-south-1")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("SLACK_BOT_TOKEN")
        .env_remove("SOPILOT_STORE")
        .args(["serve", "--config"])
        .arg(p("serve.yaml"));
    let server = crate::support::spawn(cmd).await;
    let http = crate::support::http();
    let listed = crate::support::wait_for(
        &http,
        &format!("{}/api/runs", server.url),
        "the BackOff event's run",
        |v| !v["runs"].as_array().unwrap().is_empty(),
    )
    .await;
    let id = listed["runs"][0]["id"].as_str().unwrap();
    let run = crate::support::wait_for(
        &http,
        &format!("{}/api/runs/{id}", server.url),
        "the run's start",
        |v| !run_target(v).is_null(),
    )
    .await;
    assert_eq!(run_target(&run), "prod-eks");
    assert_eq!(run["run"]["trigger"]["event"]["cluster"], "prod-eks");
    let described = sim
        .aws()
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeCluster")
        .count();
    assert!(described >= 1, "the watcher described the EKS cluster");
    for _ in 0..100 {
        if sim.get("Pod", Some("payment"), POD).is_none() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        sim.get("Pod", Some("payment"), POD).is_none(),
        "the pod in the EKS cluster was restarted"
    );
}
