//! `--eks-cluster`: the binary against the simulated AWS (EKS DescribeCluster, STS) and the
//! simulated Kubernetes API playing that EKS cluster (HTTPS, EKS bearer tokens only).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Output;

use serde_json::json;
use sopilot_sim_aws::Service;
use sopilot_sim_env::{RunningSim, Scenario, SimOptions};
use sopilot_test_support::aws::{aws_env, aws_server};
use sopilot_test_support::{Server, repo};

const CLUSTER: &str = "prod";
const ROLE: &str = "arn:aws:iam::210987654321:role/sopilot-reader";
const ROLE_VAR: &str = "SOPILOT_AWS_ROLE_ARN";
const BIN: &str = env!("CARGO_BIN_EXE_mcp-kubectl");

/// The payment incident's cluster, as the EKS cluster [`CLUSTER`].
async fn eks_sim() -> RunningSim {
    let scenario =
        Scenario::from_file(repo().join("tests/scenarios/payment-incident.yaml")).unwrap();
    let options = SimOptions {
        eks_cluster: Some(CLUSTER.to_owned()),
        prometheus: false,
        ..SimOptions::default()
    };
    sopilot_sim_env::start(scenario, options).await.unwrap()
}

/// `mcp-kubectl --eks-cluster NAME` with the simulated AWS's endpoint and test credentials.
fn eks_server(sim: &RunningSim, cluster: &str) -> Server {
    aws_server(BIN, &sim.aws_url())
        .env_remove("KUBECONFIG")
        .env_remove(ROLE_VAR)
        .args(["--eks-cluster", cluster])
}

/// [`eks_server`]'s arguments with [`aws_env`] but the variables named in `without`.
fn eks_server_without(sim: &RunningSim, cluster: &str, without: &[&str]) -> Server {
    let env = aws_env(&sim.aws_url())
        .into_iter()
        .filter(|(k, _)| !without.contains(k));
    Server::new(BIN).envs(env).args(["--eks-cluster", cluster])
}

/// Runs the binary to its exit (for start-up failures) with `server`'s arguments, only
/// `server`'s environment (nothing of the test's: no stray AWS_* or KUBECONFIG) and stdin
/// closed.
async fn run_to_exit(server: &Server) -> Output {
    let mut cmd = tokio::process::Command::new(server.bin());
    cmd.args(server.arguments())
        .stdin(std::process::Stdio::null())
        .env_clear();
    for (k, v) in server.vars() {
        cmd.env(k, v);
    }
    tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
        .await
        .expect("the server exits within a minute")
        .unwrap()
}

#[tokio::test]
async fn pods_of_an_eks_cluster_are_listed_with_a_token_and_no_kubeconfig() {
    let sim = eks_sim().await;
    let client = eks_server(&sim, CLUSTER).stdio().await;
    let r = client
        .ok("list_pods", json!({"namespace": "payment"}))
        .await;
    assert!(
        r.text.contains("payment-service-7d8f9c6b5-x2k9p"),
        "{}",
        r.text
    );
    let describes: Vec<_> = sim
        .aws()
        .requests()
        .into_iter()
        .filter(|q| q.service == Service::Eks)
        .collect();
    assert_eq!(describes.len(), 1, "{describes:?}");
    assert_eq!(describes[0].operation, "DescribeCluster");
    assert_eq!(describes[0].body["name"], CLUSTER);
    assert_eq!(describes[0].access_key.as_deref(), Some("AKIDTEST"));
    assert!(sim.aws().assumed_roles().is_empty());
}

#[tokio::test]
async fn with_a_role_arn_the_cluster_is_described_with_the_assumed_credentials() {
    let sim = eks_sim().await;
    let server = eks_server(&sim, CLUSTER)
        .env(ROLE_VAR, ROLE)
        .env("SOPILOT_AWS_EXTERNAL_ID", "ext-42");
    let client = server.stdio().await;
    let r = client.ok("list_nodes", json!({})).await;
    assert!(
        r.structured["nodes"]
            .as_array()
            .is_some_and(|n| !n.is_empty()),
        "{}",
        r.text
    );
    let assumed = sim.aws().assumed_roles();
    assert!(!assumed.is_empty());
    let role = &assumed[0];
    assert_eq!(role.role_arn, ROLE);
    assert_eq!(role.session_name, "sopilot");
    assert_eq!(role.external_id.as_deref(), Some("ext-42"));
    assert_eq!(role.caller_access_key.as_deref(), Some("AKIDTEST"));
    let describe = sim
        .aws()
        .requests()
        .into_iter()
        .find(|q| q.service == Service::Eks)
        .unwrap();
    let issued: Vec<&str> = assumed
        .iter()
        .map(|a| a.issued_access_key.as_str())
        .collect();
    let key = describe.access_key.unwrap();
    assert!(
        issued.contains(&key.as_str()),
        "{key} is not one of {issued:?}"
    );
}

#[tokio::test]
async fn the_kubeconfig_token_is_refused_by_the_eks_cluster() {
    let sim = eks_sim().await;
    let client = Server::new(BIN)
        .args([
            "--kubeconfig".to_owned(),
            sim.kubeconfig().display().to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdio()
        .await;
    let error = client
        .fails("list_pods", json!({"namespace": "payment"}))
        .await;
    assert!(error.to_lowercase().contains("unauthorized"), "{error}");
}

#[tokio::test]
async fn an_unknown_cluster_names_the_cluster_the_region_and_the_fix() {
    let sim = eks_sim().await;
    let out = run_to_exit(&eks_server(&sim, "nope")).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--eks-cluster nope: no EKS cluster of that name in us-east-1"),
        "{stderr}"
    );
    assert!(stderr.contains("aws eks list-clusters"), "{stderr}");
}

#[tokio::test]
async fn without_a_region_or_credentials_the_error_says_what_to_set() {
    let sim = eks_sim().await;
    let no_region = eks_server_without(&sim, CLUSTER, &["AWS_REGION"]);
    let out = run_to_exit(&no_region).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no AWS region configured: set AWS_REGION"),
        "{stderr}"
    );
    let no_keys = eks_server_without(
        &sim,
        CLUSTER,
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    );
    let out = run_to_exit(&no_keys).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--eks-cluster prod: no AWS credentials"),
        "{stderr}"
    );
    let bad_role = eks_server(&sim, CLUSTER).env(ROLE_VAR, "reader");
    let out = run_to_exit(&bad_role).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SOPILOT_AWS_ROLE_ARN=\"reader\" is not a role ARN"),
        "{stderr}"
    );
}

#[tokio::test]
async fn eks_cluster_conflicts_with_kubeconfig_and_context() {
    for extra in [["--kubeconfig", "/dev/null"], ["--context", "x"]] {
        let server = Server::new(BIN)
            .args(["--eks-cluster", CLUSTER])
            .args(extra);
        let out = run_to_exit(&server).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}
