//! `SOPILOT_AWS_ROLE_ARN`'s role, assumed through the simulated STS by the SDK's own
//! AssumeRole provider: STS sees the role, the session name and the base credentials, and
//! the calls that follow are signed with the credentials STS issued.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use sopilot_mcp_common::aws::AssumeRole;
use sopilot_sim_aws::{AwsState, Service};

const ROLE: &str = "arn:aws:iam::210987654321:role/ops/sopilot-reader";

/// The standard loader pointed at `endpoint` with static base credentials.
async fn base_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(
            "AKIDBASE",
            "base-secret",
            None,
            None,
            "test",
        ))
        .load()
        .await
}

#[tokio::test]
async fn calls_after_an_assumed_role_use_the_credentials_sts_issued() {
    let state = AwsState::from_sections(None, None, None).unwrap();
    let endpoint = sopilot_test_support::aws::serve(state.clone()).await;
    let role = AssumeRole {
        role_arn: ROLE.to_owned(),
        external_id: Some("ext-7".to_owned()),
    };
    let config = role.apply(base_config(&endpoint).await).await;

    let sts = aws_sdk_sts::Client::new(&config);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(
        me.arn(),
        Some("arn:aws:sts::210987654321:assumed-role/sopilot-reader/sopilot")
    );
    assert_eq!(me.account(), Some("210987654321"));

    let assumed = state.assumed_roles();
    assert_eq!(assumed.len(), 1, "{assumed:?}");
    assert_eq!(assumed[0].role_arn, ROLE);
    assert_eq!(assumed[0].session_name, "sopilot");
    assert_eq!(assumed[0].external_id.as_deref(), Some("ext-7"));
    assert_eq!(assumed[0].caller_access_key.as_deref(), Some("AKIDBASE"));
    let call = state
        .requests()
        .into_iter()
        .find(|r| r.service == Service::Sts && r.operation == "GetCallerIdentity")
        .unwrap();
    assert_eq!(
        call.access_key.as_deref(),
        Some(assumed[0].issued_access_key.as_str())
    );
}

#[tokio::test]
async fn without_a_role_the_base_credentials_are_used() {
    let state = AwsState::from_sections(None, None, None).unwrap();
    let endpoint = sopilot_test_support::aws::serve(state.clone()).await;
    let config = base_config(&endpoint).await;
    let creds = config
        .credentials_provider()
        .unwrap()
        .provide_credentials()
        .await
        .unwrap();
    assert_eq!(creds.access_key_id(), "AKIDBASE");
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(me.account(), Some(sopilot_sim_aws::SIM_ACCOUNT));
    assert!(state.assumed_roles().is_empty());
}
