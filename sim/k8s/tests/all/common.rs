//! Shared test helpers: start the simulated Kubernetes API on 127.0.0.1:0 with its own
//! kubeconfig, from a scenario's `kubernetes` section, and run the real kubectl against it
//! with a timeout.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use sopilot_sim_k8s::{KubeOptions, KubernetesScenario, RunningKube};

/// The real kubectl the fidelity tests drive.
pub const KUBECTL: &str = "/usr/bin/kubectl";
/// How long one kubectl command may take before the test fails.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// The `kubernetes` section of a scenario file's text (the other sections are
/// `sopilot-sim-env`'s; its tests load whole files).
pub fn kubernetes(yaml: &str) -> KubernetesScenario {
    let root = sopilot_yaml::parse(yaml).expect("the test scenario is YAML");
    match root.get("kubernetes") {
        Some(node) => KubernetesScenario::from_node(node).expect("the test scenario parses"),
        None => KubernetesScenario::default(),
    }
}

/// The shared payment incident scenario's cluster.
pub fn payment_scenario() -> KubernetesScenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/scenarios/payment-incident.yaml");
    kubernetes(&std::fs::read_to_string(path).expect("the payment scenario is readable"))
}

pub async fn start(kubernetes: KubernetesScenario) -> RunningKube {
    sopilot_sim_k8s::start(&kubernetes, KubeOptions::default())
        .await
        .expect("the simulator starts")
}

pub async fn start_payment() -> RunningKube {
    start(payment_scenario()).await
}

pub async fn start_yaml(yaml: &str) -> RunningKube {
    start(kubernetes(yaml)).await
}

/// What one kubectl run printed.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The stdout of a run that must succeed.
    #[track_caller]
    pub fn out(&self) -> &str {
        assert!(
            self.ok,
            "kubectl failed:\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// stdout parsed as JSON, for `-o json`.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(self.out()).expect("kubectl printed JSON")
    }
}

/// Runs `kubectl --kubeconfig <sim's> ARGS...`, failing the test after `KUBECTL_TIMEOUT`.
pub async fn kubectl(sim: &RunningKube, args: &[&str]) -> Run {
    let cache = sim.kubeconfig().with_file_name("kubectl-cache");
    let mut command = tokio::process::Command::new(KUBECTL);
    command
        .arg("--kubeconfig")
        .arg(sim.kubeconfig())
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(KUBECTL_TIMEOUT, command.output())
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
        .expect("kubectl runs");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The rows of kubectl's table output, split on whitespace (header first).
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

/// The first column of every row but the header.
pub fn names(table: &str) -> Vec<String> {
    rows(table)
        .into_iter()
        .skip(1)
        .filter_map(|r| r.into_iter().next())
        .collect()
}

/// Names of the pods of a namespace in the simulator's state.
pub fn pod_names(sim: &RunningKube, namespace: &str) -> Vec<String> {
    sim.kube()
        .list("pods", Some(namespace))
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

pub const CRASH_POD: &str = "payment-service-7d8f9c6b5-x2k9p";
