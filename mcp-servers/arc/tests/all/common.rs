//! The simulated AWS of `scenarios/gray-failure.yaml` (CloudWatch's healthy targets per zone,
//! ARC's managed shop ALB) in process, and an `mcp-arc` child process spoken to over stdio.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::ops::Deref;

use serde_json::Value;
use sopilot_sim_aws::{AwsState, Service};
use sopilot_test_support::aws::{aws_server, serve};
use sopilot_test_support::{Client, Server, repo};

/// The shop ALB of the scenario.
pub const SHOP: &str =
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shop/1";

/// The scenario's zone name → ID mapping, as sim/env hands it to the servers.
pub const AZ_IDS: &str = "us-east-1a=use1-az1,us-east-1b=use1-az2,us-east-1c=use1-az4";

/// `scenarios/gray-failure.yaml` as JSON.
pub fn scenario() -> Value {
    let text = std::fs::read_to_string(repo().join("scenarios/gray-failure.yaml")).unwrap();
    sopilot_yaml::parse(&text).unwrap().to_json()
}

/// The simulated AWS of a scenario's `cloudwatch` and `arc` sections.
pub fn state_of(s: &Value) -> AwsState {
    AwsState::from_sections(s.get("cloudwatch"), None, None)
        .and_then(|state| state.with_arc(s.get("arc")))
        .unwrap()
}

/// The `mcp-arc` binary against `endpoint`, with the zone mapping.
pub fn server(endpoint: &str) -> Server {
    aws_server(env!("CARGO_BIN_EXE_mcp-arc"), endpoint).env("SOPILOT_AZ_IDS", AZ_IDS)
}

/// A simulated AWS and an `mcp-arc` client in front of it.
pub struct Harness {
    pub state: AwsState,
    pub client: Client,
}

impl Deref for Harness {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with(state_of(&scenario())).await
    }

    pub async fn with(state: AwsState) -> Harness {
        let url = serve(state.clone()).await;
        let client = server(&url).stdio().await;
        Harness { state, client }
    }

    /// The ARC operations the simulator answered, in order.
    pub fn arc_operations(&self) -> Vec<String> {
        self.state
            .requests()
            .into_iter()
            .filter(|r| r.service == Service::Arc)
            .map(|r| r.operation)
            .collect()
    }
}
