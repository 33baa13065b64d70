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
use sopilot_protocol::{ApprovalState, CallOrigin};
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
    let approver = Arc::new(ApproveWhileEdited {
        kube: sim.kube().clone(),
        edit: AtomicBool::new(true),
        asked: Mutex::new(Vec::new()),
    });
    let gate = Gate {
        gateway: Arc::new(gateway),
        policy: Arc::new(sopilot_policy::load_paths(&[root.join("policies")]).unwrap()),
        approver: approver.clone(),
        approval_timeout: Duration::from_secs(30),
    };
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
    let log = EventLog::new("run-1", store, None);
    let scope = CallScope {
        sop: Some("predictive-scaling".into()),
        trigger: None,
        dry_run: false,
        offered: ["kubectl.scale_placeholder_capacity".parse().unwrap()].into(),
    };
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
