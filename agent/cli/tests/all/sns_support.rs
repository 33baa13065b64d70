//! Helpers of the SNS tests: an independent SNS stand-in (tests/python/sns_stand_in.py, signing
//! with Python's `cryptography` and serving its certificate over HTTPS from a test CA), and
//! CloudWatch alarm notifications as SNS delivers them. Test crates using it also declare
//! `mod support;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

use crate::support::repo;

pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alarms";

pub struct StandIn {
    _child: tokio::process::Child,
    pub port: u16,
}

pub async fn stand_in(dir: &Path) -> StandIn {
    let mut child = tokio::process::Command::new("python3")
        .arg(repo().join("tests/python/sns_stand_in.py"))
        .arg("serve")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs tests/python/sns_stand_in.py (needs the cryptography package)");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines
        .next_line()
        .await
        .unwrap()
        .expect("the stand-in prints its port");
    let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
        .as_u64()
        .unwrap() as u16;
    StandIn {
        _child: child,
        port,
    }
}

/// Signs `msg` with the stand-in's key (SignatureVersion `version`).
pub async fn sign(dir: &Path, version: &str, msg: &Value) -> Value {
    let mut child = tokio::process::Command::new("python3")
        .arg(repo().join("tests/python/sns_stand_in.py"))
        .args(["sign"])
        .arg(dir)
        .arg(version)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(msg.to_string().as_bytes()).await.unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn alarm_message(port: u16, id: &str, pod: &str) -> Value {
    let alarm = json!({
        "AlarmName": format!("payment-crashloop-{pod}"),
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: restarts > 3",
        "StateChangeTime": chrono::Utc::now().to_rfc3339(),
        "Region": "US East (N. Virginia)",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:payment-crashloop",
        "Trigger": {"MetricName": "pod_number_of_container_restarts", "Namespace": "ContainerInsights",
            "Dimensions": [{"name": "Namespace", "value": "payment"}, {"name": "PodName", "value": pod}]}
    });
    json!({
        "Type": "Notification",
        "MessageId": id,
        "TopicArn": TOPIC,
        "Subject": "ALARM: payment crashloop",
        "Message": alarm.to_string(),
        "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "SigningCertURL": format!("https://sns.us-east-1.amazonaws.com:{port}/SimpleNotificationService-test.pem"),
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    })
}

/// The `serve.sns` section (indented for `serve:`) trusting the stand-in of `dir`.
pub fn serve_config(dir: &Path, sns: &StandIn) -> String {
    format!(
        "  sns:\n    regions: [us-east-1]\n    topics: [\"{TOPIC}\"]\n    test_only: {{ca_file: {}, connect_to: \"127.0.0.1:{}\"}}\n",
        dir.join("ca.pem").display(),
        sns.port
    )
}

/// As [`serve_config`], trusting the topics of AWS account `account` instead of one topic.
pub fn serve_config_accounts(dir: &Path, sns: &StandIn, account: &str) -> String {
    format!(
        "  sns:\n    regions: [us-east-1]\n    accounts: [\"{account}\"]\n    test_only: {{ca_file: {}, connect_to: \"127.0.0.1:{}\"}}\n",
        dir.join("ca.pem").display(),
        sns.port
    )
}
