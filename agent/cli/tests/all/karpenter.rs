//! Karpenter pre-provisioning (issue 14) end to end in `sopilot rehearse`: the predictive-scaling
//! SOP with lever=nodes on scenarios/karpenter-peak.yaml and its scripted model. A forecast
//! peak 30 minutes away that needs 7 more pods becomes 7 placeholder pods (one c7i.2xlarge,
//! within the NodePool's limits and the $1/h ceiling: allowed), a NodeClaim, and a node Ready
//! before the peak on the simulated cluster's clock; one that needs 27 more vCPU passes the
//! NodePool's limits and is escalated, and nothing is scaled; a model that ratchets 7 vCPU at a
//! time, each step cheap on its own, is escalated once the whole reservation passes $1/h.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use sopilot_protocol::{ApprovalState, CallOrigin, Decision};
use sopilot_runtime::{
    Answer, ApprovalRecord, Approver, CallScope, EventLog, Gate, Gateway, ServerSource, ServerSpec,
    Store,
};
use sopilot_sim_env::{KubeState, Scenario, SimOptions};

fn rehearse(capacity_per_pod: &str) -> (String, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("RUST_LOG", "warn")
        .args([
            "rehearse",
            "predictive-scaling",
            "--scenario",
            "scenarios/karpenter-peak.yaml",
            "--json",
        ])
        .args([
            "-p",
            "namespace=shop",
            "-p",
            "hpa=checkout",
            "-p",
            r#"dimensions={"LoadBalancer": "app/shop/1"}"#,
        ])
        .args([
            "-p",
            &format!("capacity_per_pod={capacity_per_pod}"),
            "-p",
            "usual_min_replicas=5",
            "-p",
            "lever=nodes",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (stderr, v)
}

fn calls<'a>(v: &'a Value, tool: &str) -> Vec<&'a Value> {
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool)
        .collect()
}

#[test]
fn a_forecast_peak_becomes_placeholders_and_a_node_ready_before_the_peak() {
    let (stderr, v) = rehearse("120");
    assert_eq!(v["status"], "succeeded", "{v:#}\n{stderr}");
    let forecast = calls(&v, "cloudwatch.forecast_metric");
    assert_eq!(
        (forecast.len(), &forecast[0]["ok"]),
        (1, &json!(true)),
        "{v:#}"
    );
    let pools = calls(&v, "kubectl.karpenter_nodepools");
    assert_eq!(pools[0]["decision"], "allow", "{v:#}");
    assert_eq!(pools[0]["rules"], json!(["read-karpenter"]));
    let scale = calls(&v, "kubectl.scale_placeholder_capacity");
    assert_eq!(scale.len(), 1, "{v:#}");
    assert_eq!(scale[0]["args"]["vcpus"], 7);
    assert_eq!(scale[0]["decision"], "allow");
    assert_eq!(
        scale[0]["rules"],
        json!(["placeholder-within-limits-and-ceiling"])
    );
    assert_eq!(
        (&scale[0]["executed"], &scale[0]["ok"]),
        (&json!(true), &json!(true))
    );
    assert!(
        calls(&v, "kubectl.patch_hpa").is_empty(),
        "lever=nodes leaves the HPA alone: {v:#}"
    );
    // The NodeClaims were read back after the scale; the report turn fires only when the
    // simulated cluster's answer says every NodeClaim was Ready before the forecast peak.
    let claims = calls(&v, "kubectl.karpenter_nodeclaims");
    assert_eq!((claims.len(), &claims[0]["ok"]), (1, &json!(true)), "{v:#}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("Karpenter's node was Ready before the peak"),
        "{v:#}"
    );
}

#[test]
fn pre_provisioning_past_the_nodepool_limits_is_escalated_and_not_executed() {
    let (stderr, v) = rehearse("45");
    let scale = calls(&v, "kubectl.scale_placeholder_capacity");
    assert_eq!(scale.len(), 1, "{v:#}\n{stderr}");
    assert_eq!(scale[0]["args"]["vcpus"], 27);
    assert_eq!(scale[0]["decision"], "escalate");
    assert_eq!(
        scale[0]["rules"],
        json!(["placeholder-beyond-limits-or-ceiling"])
    );
    assert_eq!(scale[0]["approval"]["state"], "denied", "{v:#}");
    assert_eq!(scale[0]["executed"], false);
    assert!(
        calls(&v, "kubectl.karpenter_nodeclaims").is_empty(),
        "nothing to wait for: {v:#}"
    );
    assert!(
        v["summary"].as_str().unwrap().contains("waits for a human"),
        "{v:#}"
    );
}

#[test]
fn a_ratchet_of_cheap_steps_is_escalated_once_the_whole_reservation_passes_the_ceiling() {
    let (stderr, v) = rehearse("60");
    let scale = calls(&v, "kubectl.scale_placeholder_capacity");
    assert_eq!(scale.len(), 3, "{v:#}\n{stderr}");
    let steps: Vec<_> = scale
        .iter()
        .map(|c| {
            (
                c["args"]["vcpus"].clone(),
                c["decision"].clone(),
                c["executed"].clone(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            (json!(7), json!("allow"), json!(true)),
            (json!(14), json!("allow"), json!(true)),
            (json!(21), json!("escalate"), json!(false)),
        ],
        "{v:#}"
    );
    // Each step alone launches one $0.357/h node within the NodePool's limits (see
    // mcp-servers/kubectl/tests/all/karpenter.rs): only the whole reservation's cost, $1.071/h
    // at 21 pods, tells the third apart.
    assert_eq!(
        scale[2]["rules"],
        json!(["placeholder-beyond-limits-or-ceiling"])
    );
    assert_eq!(scale[2]["approval"]["state"], "denied", "{v:#}");
    // The pin: the replicas the vCPUs resolved to are what ran.
    assert_eq!(scale[1]["args"]["replicas"], 14, "{v:#}");
}

/// A gate over a real `sopilot mcp-server kubectl --allow-write` in front of `sim`, with the
/// repository's policies and `approver`.
async fn gate(sim: &sopilot_sim_env::RunningSim, approver: Arc<dyn Approver>) -> Gate {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec = ServerSpec {
        name: "kubectl".into(),
        source: ServerSource::Command {
            program: env!("CARGO_BIN_EXE_sopilot").into(),
            args: vec![
                "mcp-server".into(),
                "kubectl".into(),
                "--allow-write".into(),
                "--kubeconfig".into(),
                sim.kubeconfig().display().to_string(),
            ],
            env: vec![("RUST_LOG".into(), "warn".into())],
        },
        builtin: true,
    };
    let (gateway, failures) = Gateway::connect(vec![spec]).await;
    assert!(failures.is_empty(), "{failures:?}");
    Gate::single(
        Arc::new(gateway),
        Arc::new(sopilot_policy::load_paths(&[root.join("policies")]).unwrap()),
        approver,
        Duration::from_secs(30),
    )
}

/// A run of the predictive-scaling SOP to log the calls under, offering the placeholder tool.
fn run() -> (EventLog, CallScope) {
    let store = Arc::new(Store::in_memory().unwrap());
    store
        .create_run(
            "run-1",
            "predictive-scaling",
            &json!({}),
            &json!({}),
            "none",
        )
        .unwrap();
    let scope = CallScope {
        sop: Some("predictive-scaling".into()),
        trigger: None,
        dry_run: false,
        offered: ["kubectl.scale_placeholder_capacity".parse().unwrap()].into(),
        target: None,
        done_before: Vec::new(),
    };
    (EventLog::new("run-1", store, None), scope)
}

/// Approves every escalation; on the first, before answering, halves the placeholder pods'
/// CPU request in the simulated cluster (someone edits it while the human decides).
#[derive(Debug)]
struct ApproveWhileEdited {
    kube: KubeState,
    edit: AtomicBool,
    asked: Mutex<Vec<ApprovalRecord>>,
}

#[async_trait::async_trait]
impl Approver for ApproveWhileEdited {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        self.asked.lock().unwrap().push(record.clone());
        if self.edit.swap(false, Ordering::SeqCst) {
            let mut d = self
                .kube
                .get("Deployment", Some("scaling"), "capacity-reservation")
                .unwrap();
            d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] =
                json!("500m");
            self.kube.apply(d).unwrap();
        }
        Some(Answer {
            state: ApprovalState::Approved,
            by: "alice".into(),
            channel: "test".into(),
        })
    }

    fn reachable(&self) -> bool {
        true
    }
}

/// Review L6: an approved escalation executes exactly what was approved. A scale by vcpus
/// is pinned to the replicas its dry run resolved them to, so "27 vCPU" approved as 27 pods
/// never runs as the 54 pods the same vCPUs are once the pods' request is halved.
#[tokio::test(flavor = "multi_thread")]
async fn an_approved_scale_by_vcpus_executes_the_pods_approved_or_nothing() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = Scenario::from_file(root.join("scenarios/karpenter-peak.yaml")).unwrap();
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    let approver = Arc::new(ApproveWhileEdited {
        kube: sim.kube().clone(),
        edit: AtomicBool::new(true),
        asked: Mutex::new(Vec::new()),
    });
    let gate = gate(&sim, approver.clone()).await;
    let (log, scope) = run();
    let scale = |id: &'static str| {
        gate.handle(
            &log,
            &scope,
            id,
            "kubectl.scale_placeholder_capacity",
            json!({"namespace": "scaling", "name": "capacity-reservation", "vcpus": 27}),
            CallOrigin::Model,
        )
    };
    let replicas = || {
        sim.get("Deployment", Some("scaling"), "capacity-reservation")
            .unwrap()["spec"]["replicas"]
            .clone()
    };

    // 27 vCPU of 1-vCPU pods pass the NodePool's limits: escalated, asked about 27 pods.
    let first = scale("c1").await.unwrap();
    let asked = approver.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "{first:#?}");
    assert_eq!(asked[0].args["replicas"], 27, "the approval names the pods");
    assert_eq!(asked[0].impact.as_ref().unwrap()["replicas_after"], 27);
    // Approved, but the request was halved meanwhile: 27 vCPU are 54 pods now. Not executed.
    assert!(!first.executed, "{first:#?}");
    assert!(
        first.text.contains("resolve to 54 placeholder pods"),
        "{}",
        first.text
    );
    assert_eq!(replicas(), 0);

    // Asked again on today's figures (54 pods of 500m), approved unchanged: exactly 54 run.
    let second = scale("c2").await.unwrap();
    let asked = approver.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1].args["replicas"], 54);
    assert!(second.executed && second.ok, "{second:#?}");
    assert_eq!(second.args["replicas"], 54);
    assert_eq!(replicas(), 54);
}

/// Denies every escalation and keeps what it was asked.
#[derive(Debug, Default)]
struct DenyAll {
    asked: Mutex<Vec<ApprovalRecord>>,
}

#[async_trait::async_trait]
impl Approver for DenyAll {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        self.asked.lock().unwrap().push(record.clone());
        Some(Answer {
            state: ApprovalState::Denied,
            by: "alice".into(),
            channel: "test".into(),
        })
    }

    fn reachable(&self) -> bool {
        true
    }
}

/// Review: the $1/h ceiling bounds every placeholder in the cluster, not one Deployment's.
/// With 14 pods ($0.714/h) in scaling/capacity-reservation, a second placeholder's 7 pods cost
/// $0.357/h on their own but $1.071/h together: escalated, denied, not scaled.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_placeholder_is_escalated_once_every_placeholder_together_passes_the_ceiling() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let scenario = Scenario::from_file(root.join("scenarios/karpenter-peak.yaml")).unwrap();
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    let mut b = sim
        .get("Deployment", Some("scaling"), "capacity-reservation")
        .unwrap();
    // The same pause pods under the same PriorityClass, as another Deployment elsewhere.
    b["metadata"] = json!({"name": "reserve-b", "namespace": "shop"});
    b["spec"]["selector"] = json!({"matchLabels": {"app": "reserve-b"}});
    b["spec"]["template"]["metadata"] = json!({"labels": {"app": "reserve-b"}});
    b.as_object_mut().unwrap().remove("status");
    sim.kube().apply(b).unwrap();
    let approver = Arc::new(DenyAll::default());
    let gate = gate(&sim, approver.clone()).await;
    let (log, scope) = run();
    let scale = |id: &'static str, namespace: &str, name: &str, replicas: i64| {
        gate.handle(
            &log,
            &scope,
            id,
            "kubectl.scale_placeholder_capacity",
            json!({"namespace": namespace, "name": name, "replicas": replicas}),
            CallOrigin::Model,
        )
    };
    let replicas = |ns: &str, name: &str| {
        sim.get("Deployment", Some(ns), name).unwrap()["spec"]["replicas"].clone()
    };

    let a = scale("c1", "scaling", "capacity-reservation", 14)
        .await
        .unwrap();
    assert!(a.executed && a.ok, "{a:#?}");
    assert_eq!(a.rules, ["placeholder-within-limits-and-ceiling"]);
    // The gate pinned the cluster total its dry run assessed to the call it executed.
    assert_eq!(a.args["cluster_hourly_cost_usd_at_most"], 0.714, "{a:#?}");
    assert_eq!(replicas("scaling", "capacity-reservation"), 14);

    let b = scale("c2", "shop", "reserve-b", 7).await.unwrap();
    assert_eq!(b.decision, Some(Decision::Escalate), "{b:#?}");
    assert_eq!(b.rules, ["placeholder-beyond-limits-or-ceiling"]);
    assert!(!b.executed, "{b:#?}");
    assert_eq!(replicas("shop", "reserve-b"), 0);
    let asked = approver.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    let k = &asked[0].impact.as_ref().unwrap()["karpenter"];
    // What the approver saw: B's own reservation is under the ceiling, the cluster's is not.
    assert_eq!(k["reserved_hourly_cost_usd_after"], 0.357, "{k:#}");
    assert_eq!(k["cluster_reserved_hourly_cost_usd_after"], 1.071);
    assert_eq!(k["other_placeholders"][0]["name"], "capacity-reservation");

    // Once capacity-reservation is released, the same call is within the ceiling.
    let release = scale("c3", "scaling", "capacity-reservation", 0)
        .await
        .unwrap();
    assert!(release.executed, "{release:#?}");
    let b = scale("c4", "shop", "reserve-b", 7).await.unwrap();
    assert_eq!(b.decision, Some(Decision::Allow), "{b:#?}");
    assert!(b.executed && b.ok, "{b:#?}");
    assert_eq!(replicas("shop", "reserve-b"), 7);
}
