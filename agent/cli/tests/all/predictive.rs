//! The predictive SOPs (issue 7) end to end in `sopilot rehearse`, each on its scenario with the
//! scenario's scripted model: pre-scaling applies a +40 % minReplicas change and escalates a
//! +100 % one, the gray-failure SOP never executes a zonal shift unapproved (`zonal_shift` has
//! the approved path), and the network-bottleneck SOP forecasts without changing anything.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Output;

use serde_json::{Value, json};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `sopilot rehearse SOP --scenario FILE ARGS... --json`; the output and the run's JSON.
fn rehearse(sop: &str, scenario: &str, args: &[&str]) -> (Output, Value) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .args(["rehearse", sop, "--scenario", scenario, "--json"])
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out, v)
}

fn calls<'a>(v: &'a Value, tool: &str) -> Vec<&'a Value> {
    v["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["tool"] == tool)
        .collect()
}

fn scaling(capacity: &str) -> (Output, Value) {
    rehearse(
        "predictive-scaling",
        "scenarios/predictive-scaling.yaml",
        &[
            "-p",
            "namespace=shop",
            "-p",
            "hpa=checkout",
            "-p",
            r#"dimensions={"LoadBalancer": "app/shop/1"}"#,
            "-p",
            &format!("capacity_per_pod={capacity}"),
            "-p",
            "usual_min_replicas=5",
        ],
    )
}

#[test]
fn pre_scaling_by_40_percent_is_applied_automatically() {
    let (out, v) = scaling("200");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(v["status"], "succeeded", "{v:#}\n{stderr}");
    let forecast = calls(&v, "cloudwatch.forecast_metric");
    assert_eq!(forecast.len(), 1, "{v:#}");
    assert_eq!(forecast[0]["ok"], true, "{v:#}");
    let patch = calls(&v, "kubectl.patch_hpa");
    assert_eq!(patch.len(), 1, "{v:#}");
    assert_eq!(patch[0]["args"]["min_replicas"], 7);
    assert_eq!(patch[0]["decision"], "allow");
    assert_eq!(patch[0]["rules"], json!(["hpa-within-50-percent"]));
    assert_eq!(patch[0]["executed"], true);
    assert_eq!(patch[0]["ok"], true);
    // The simulated cluster's HPA was read back after the change: the script's report turn only
    // fires when the real answer shows minReplicas 7.
    let read_back = calls(&v, "kubectl.get_resource");
    assert_eq!(read_back.len(), 2, "before and after: {v:#}");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("the HPA now reads minReplicas 7"),
        "{v:#}"
    );
}

#[test]
fn pre_scaling_by_100_percent_is_escalated_and_not_executed_when_denied() {
    let (out, v) = scaling("140");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let patch = calls(&v, "kubectl.patch_hpa");
    assert_eq!(patch.len(), 1, "{v:#}\n{stderr}");
    assert_eq!(patch[0]["args"]["min_replicas"], 10);
    assert_eq!(patch[0]["decision"], "escalate");
    assert_eq!(patch[0]["rules"], json!(["hpa-beyond-50-percent"]));
    assert_eq!(patch[0]["approval"]["state"], "denied", "{v:#}");
    assert_eq!(patch[0]["executed"], false);
    assert!(
        v["summary"].as_str().unwrap().contains("waits for a human"),
        "{v:#}"
    );
}

#[test]
fn a_zonal_shift_is_escalated_and_nothing_moves_out_of_the_zone() {
    let (out, v) = rehearse(
        "gray-failure-az",
        "scenarios/gray-failure.yaml",
        &["-p", "load_balancer=app/shop/1"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        calls(&v, "cloudwatch.get_metric_data").len(),
        7,
        "{v:#}\n{stderr}"
    );
    let band = calls(&v, "cloudwatch.anomaly_band");
    assert_eq!(band.len(), 1, "the zones were compared: {v:#}");
    assert_eq!(band[0]["ok"], true);
    let shift = calls(&v, "arc.start_zonal_shift");
    assert_eq!(shift.len(), 1, "the suspect zone was above its band: {v:#}");
    assert_eq!(shift[0]["decision"], "escalate");
    assert_eq!(shift[0]["rules"], json!(["zonal-shift"]));
    for c in v["tool_calls"].as_array().unwrap() {
        let tool = c["tool"].as_str().unwrap();
        if ["kubectl.cordon", "kubectl.drain"].contains(&tool) || tool.contains("zonal_shift") {
            assert_eq!(c["executed"], tool == "arc.list_zonal_shifts", "{c}");
        }
    }
    assert!(
        v["summary"].as_str().unwrap().contains("waits for a human"),
        "{v:#}"
    );
}

#[test]
fn the_network_bottleneck_forecast_changes_nothing() {
    let (out, v) = rehearse(
        "network-bottleneck",
        "scenarios/network-bottleneck.yaml",
        &["-p", "namespace=inference", "-p", "service=llm-gateway"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(v["status"], "succeeded", "{v:#}\n{stderr}");
    let band = calls(&v, "cloudwatch.anomaly_band");
    assert_eq!(band.len(), 1, "{v:#}");
    assert_eq!(band[0]["ok"], true, "{v:#}");
    let forecast = calls(&v, "cloudwatch.forecast_metric");
    assert_eq!(forecast.len(), 1, "the latency was above its band: {v:#}");
    assert_eq!(forecast[0]["ok"], true);
    assert_eq!(forecast[0]["args"]["threshold"], 24);
    for c in v["tool_calls"].as_array().unwrap() {
        let tool = c["tool"].as_str().unwrap();
        assert!(
            tool.starts_with("cloudwatch.")
                || ["kubectl.list_pods", "kubectl.list_nodes"].contains(&tool),
            "read-only: {c}"
        );
    }
    assert!(
        v["summary"].as_str().unwrap().contains("No change made"),
        "{v:#}"
    );
}
