//! The trigger webhooks: a door without its secret is closed (403), a wrong or missing secret
//! is 401 and counted, a body that is not the expected payload is 400, and a well-formed
//! trigger gets through to the run manager (this server has no SOPs: "ignored"). SNS
//! messages are refused on their topic and certificate URL before anything is fetched.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use sopilot_server::hooks::sns::verify::Trust;
use sopilot_server::hooks::sns::{SnsHook, SnsOptions};
use sopilot_server::{AppState, ServeOptions};

use crate::server::with_options;
use crate::testing::raw;

const EB_SECRET: &str = "eventbridge-secret-0123456789";
const AM_TOKEN: &str = "alertmanager-token-0123456789";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ops-alerts";

/// A server with the EventBridge and Alertmanager doors open, and SNS trusting `TOPIC`.
async fn open_doors() -> AppState {
    let mut s = with_options(ServeOptions {
        eventbridge_secret: Some(EB_SECRET.into()),
        alertmanager_token: Some(AM_TOKEN.into()),
        ..ServeOptions::default()
    })
    .await;
    let options = SnsOptions {
        trust: Trust {
            regions: vec!["us-east-1".into()],
            topics: vec![TOPIC.into()],
            ..Trust::default()
        },
        test_only: None,
    };
    let store = s.runs.store().clone();
    s.sns = Some(Arc::new(SnsHook::new(options, store).unwrap()));
    s
}

/// POST `body` to `path` with `authorization` (if any).
async fn post(s: &AppState, path: &str, authorization: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/json");
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    raw(s, req.body(Body::from(body.to_owned())).unwrap()).await
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

fn refused(s: &AppState) -> u64 {
    s.metrics.requests_refused.load(Ordering::Relaxed)
}

fn eventbridge_alarm() -> Value {
    json!({"version": "0", "id": "e1", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": "123456789012", "region": "us-east-1",
        "time": "2025-01-01T00:00:00Z", "resources": [],
        "detail": {"alarmName": "payment-5xx", "state": {"value": "ALARM", "reason": "Threshold crossed"},
            "previousState": {"value": "OK"}, "configuration": {"metrics": []}}})
}

fn alertmanager_alert(status: &str) -> Value {
    json!({"version": "4", "groupKey": "{}:{alertname=\"KubePodCrashLooping\"}", "status": status,
        "receiver": "sopilot", "groupLabels": {"alertname": "KubePodCrashLooping"},
        "commonLabels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": "p-1"},
        "alerts": [{"status": status, "labels": {"alertname": "KubePodCrashLooping", "namespace": "payment", "pod": "p-1"}, "fingerprint": "f1"}]})
}

#[tokio::test]
async fn doors_without_their_secret_are_closed() {
    let s = with_options(ServeOptions::default()).await;
    let alarm = eventbridge_alarm().to_string();
    for (path, auth, names) in [
        (
            "/hooks/eventbridge",
            EB_SECRET,
            "SOPILOT_EVENTBRIDGE_SECRET",
        ),
        (
            "/hooks/alertmanager",
            AM_TOKEN,
            "SOPILOT_ALERTMANAGER_TOKEN",
        ),
        ("/hooks/sns", "", "serve.sns.regions"),
    ] {
        let (code, body) = post(&s, path, Some(&format!("Bearer {auth}")), &alarm).await;
        assert_eq!(code, 403, "{path}: {body}");
        assert!(error(&body).contains(names), "{path}: {body}");
    }
}

#[tokio::test]
async fn eventbridge_needs_its_secret_and_an_alarm_state_change() {
    let s = open_doors().await;
    let alarm = eventbridge_alarm().to_string();
    let path = "/hooks/eventbridge";
    // No secret, a wrong one, the right one with something after it: 401, each counted.
    let wrong = format!("Bearer {EB_SECRET}x");
    for auth in [None, Some("Bearer nope"), Some(wrong.as_str())] {
        let (code, body) = post(&s, path, auth, &alarm).await;
        assert_eq!(code, 401, "{auth:?}: {body}");
    }
    assert_eq!(refused(&s), 3);
    // The secret as EventBridge sends it (bare) or as a bearer token.
    let bearer = format!("Bearer {EB_SECRET}");
    for auth in [EB_SECRET, bearer.as_str()] {
        let (code, body) = post(&s, path, Some(auth), &alarm).await;
        assert_eq!((code, &body["status"]), (200, &json!("ignored")), "{body}");
        assert!(
            body["reason"].as_str().unwrap().contains("no SOP"),
            "{body}"
        );
    }
    // Bad bodies: not JSON, another event, an alarm without its name.
    let mut nameless = eventbridge_alarm();
    nameless["detail"]
        .as_object_mut()
        .unwrap()
        .remove("alarmName");
    let other = json!({"detail-type": "EC2 Instance State-change Notification", "detail": {}});
    for (what, body, says) in [
        ("not JSON", "{not json".to_owned(), "not JSON"),
        (
            "another event",
            other.to_string(),
            "CloudWatch Alarm State Change",
        ),
        ("no alarm name", nameless.to_string(), "alarmName"),
    ] {
        let (code, answer) = post(&s, path, Some(EB_SECRET), &body).await;
        assert_eq!(code, 400, "{what}: {answer}");
        assert!(error(&answer).contains(says), "{what}: {answer}");
    }
}

/// The CloudWatch investigation event of `tests/fixtures/` (the shape is assumed: see
/// docs/investigations.md).
fn investigation_event() -> Value {
    serde_json::from_str(include_str!(
        "../fixtures/aiops-investigation-completed.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn eventbridge_takes_a_cloudwatch_investigation_event() {
    let s = open_doors().await;
    let path = "/hooks/eventbridge";
    let event = investigation_event();
    let (code, body) = post(&s, path, Some(EB_SECRET), &event.to_string()).await;
    assert_eq!((code, &body["status"]), (200, &json!("ignored")), "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("no SOP"),
        "{body}"
    );
    // Other aiops events (the documented ones are CloudTrail API calls), and an
    // investigation without its id, are refused naming what is expected.
    let mut api_call = event.clone();
    api_call["detail-type"] = json!("AWS API Call via CloudTrail");
    let mut no_id = event;
    no_id["detail"]
        .as_object_mut()
        .unwrap()
        .remove("investigationId");
    for (what, body, says) in [
        ("an API call", api_call, "aws.aiops"),
        ("no id", no_id, "investigationId"),
    ] {
        let (code, answer) = post(&s, path, Some(EB_SECRET), &body.to_string()).await;
        assert_eq!(code, 400, "{what}: {answer}");
        assert!(error(&answer).contains(says), "{what}: {answer}");
    }
}

#[tokio::test]
async fn alertmanager_needs_its_bearer_token_and_a_v4_payload() {
    let s = open_doors().await;
    let alert = alertmanager_alert("firing").to_string();
    let path = "/hooks/alertmanager";
    // The token without `Bearer`, a wrong one, none: 401.
    for auth in [None, Some(AM_TOKEN), Some("Bearer nope")] {
        let (code, body) = post(&s, path, auth, &alert).await;
        assert_eq!(code, 401, "{auth:?}: {body}");
    }
    assert_eq!(refused(&s), 3);
    let bearer = format!("Bearer {AM_TOKEN}");
    let (code, body) = post(&s, path, Some(&bearer), &alert).await;
    assert_eq!((code, &body["status"]), (200, &json!("ignored")), "{body}");
    assert!(
        body["reason"].as_str().unwrap().contains("no SOP"),
        "{body}"
    );
    // A resolved group starts nothing.
    let resolved = alertmanager_alert("resolved").to_string();
    let (code, body) = post(&s, path, Some(&bearer), &resolved).await;
    assert_eq!(
        (code, &body["reason"]),
        (200, &json!("the group is resolved"))
    );
    // Not JSON, another version, an empty group.
    let mut v3 = alertmanager_alert("firing");
    v3["version"] = json!("3");
    let mut empty = alertmanager_alert("firing");
    empty["alerts"] = json!([]);
    // Another kind of trigger behind the token and `version: 4` (a normalised Kubernetes
    // event claiming a cluster, an SNS envelope claiming an account): this door takes only
    // Alertmanager's own format.
    let event = json!({"version": "4", "kind": "kubernetes_event", "event": {"reason": "BackOff",
        "object": {"kind": "Pod", "namespace": "payment", "name": "web-1"}, "cluster": "prod"}});
    let envelope = json!({"version": "4", "Type": "Notification", "Message": json!({
        "AlarmName": "payment-5xx", "AWSAccountId": "111111111111", "NewStateValue": "ALARM",
        "Region": "EU (Ireland)", "Trigger": {"Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count"}}).to_string()});
    for (what, body, says) in [
        ("not JSON", "{not json".to_owned(), "not JSON"),
        ("version 3", v3.to_string(), "version \"4\""),
        ("no alerts", empty.to_string(), "no alerts"),
        ("a Kubernetes event", event.to_string(), "not another kind"),
        ("an SNS envelope", envelope.to_string(), "not another kind"),
    ] {
        let (code, answer) = post(&s, path, Some(&bearer), &body).await;
        assert_eq!(code, 400, "{what}: {answer}");
        assert!(error(&answer).contains(says), "{what}: {answer}");
    }
}

/// An SNS notification of `TOPIC` whose certificate would be at `cert_url` (never fetched:
/// every message here is refused before that).
fn sns_message(topic: &str, cert_url: &str) -> Value {
    json!({"Type": "Notification", "MessageId": "m-1", "TopicArn": topic,
        "Message": "{}", "Timestamp": chrono::Utc::now().to_rfc3339(),
        "SignatureVersion": "2", "Signature": "AAAA", "SigningCertURL": cert_url})
}

#[tokio::test]
async fn sns_refuses_before_fetching_anything() {
    let s = open_doors().await;
    let good_cert = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem";
    let mut no_type = sns_message(TOPIC, good_cert);
    no_type.as_object_mut().unwrap().remove("Type");
    let mut odd_type = sns_message(TOPIC, good_cert);
    odd_type["Type"] = json!("Surprise");
    let mut no_cert = sns_message(TOPIC, good_cert);
    no_cert.as_object_mut().unwrap().remove("SigningCertURL");
    let cases = [
        ("not JSON", "{not json".to_owned(), 400, "not JSON"),
        ("no Type", no_type.to_string(), 400, "Type"),
        ("unknown Type", odd_type.to_string(), 400, "Surprise"),
        (
            "no certificate URL",
            no_cert.to_string(),
            400,
            "SigningCertURL",
        ),
        (
            "a topic not listed",
            sns_message("arn:aws:sns:us-east-1:123456789012:other", good_cert).to_string(),
            403,
            "serve.sns.topics",
        ),
        (
            "the topic in a region not allowed",
            sns_message("arn:aws:sns:eu-west-1:123456789012:ops-alerts", good_cert).to_string(),
            403,
            "TopicArn",
        ),
    ];
    let off_sns = [
        (
            "a host off SNS",
            "https://attacker.example/SimpleNotificationService-x.pem",
        ),
        (
            "plain http",
            "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        ),
        (
            "another region",
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
        ),
        (
            "another port",
            "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-x.pem",
        ),
        (
            "credentials",
            "https://u:p@sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem",
        ),
        (
            "not a .pem",
            "https://sns.us-east-1.amazonaws.com/redirect?to=x",
        ),
    ];
    let cert_cases = off_sns.map(|(what, url)| {
        (
            what,
            sns_message(TOPIC, url).to_string(),
            403,
            "SigningCertURL",
        )
    });
    let mut counted = 0;
    for (what, body, status, says) in cases.into_iter().chain(cert_cases) {
        let (code, answer) = post(&s, "/hooks/sns", None, &body).await;
        assert_eq!(code, status, "{what}: {answer}");
        assert!(error(&answer).contains(says), "{what}: {answer}");
        if what != "not JSON" {
            counted += 1;
        }
    }
    assert_eq!(refused(&s), counted, "every refused message is counted");
    // Nothing was claimed as seen: the store remembers no message id.
    assert!(
        s.runs
            .store()
            .remember_message("sns", "m-1", chrono::Utc::now())
            .unwrap()
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let mut s = open_doors().await;
    let mut options = (*s.options).clone();
    options.max_body_bytes = 1024;
    s.options = Arc::new(options);
    let mut big = alertmanager_alert("firing");
    big["commonAnnotations"] = json!({"description": "x".repeat(4096)});
    let (code, _) = post(
        &s,
        "/hooks/alertmanager",
        Some(&format!("Bearer {AM_TOKEN}")),
        &big.to_string(),
    )
    .await;
    assert_eq!(code, 413);
}

#[tokio::test]
async fn a_trigger_no_sop_takes_is_recorded_redacted_and_counted() {
    let s = open_doors().await;
    let mut alert = alertmanager_alert("firing");
    alert["commonAnnotations"] =
        json!({"description": "db password=Sup3rS3cretPassw0rd in the pool config"});
    let bearer = format!("Bearer {AM_TOKEN}");
    let (code, body) = post(&s, "/hooks/alertmanager", Some(&bearer), &alert.to_string()).await;
    assert_eq!((code, &body["status"]), (200, &json!("ignored")), "{body}");

    assert_eq!(s.metrics.triggers_unrouted.load(Ordering::Relaxed), 1);
    assert!(
        s.metrics
            .render()
            .contains("sopilot_triggers_unrouted_total 1")
    );
    let recorded = s.runs.store().unrouted(10).unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let t = &recorded[0];
    assert_eq!(
        (t.kind.as_str(), t.origin.as_str()),
        ("alertmanager", "webhook alertmanager")
    );
    assert!(t.dedup_key.contains("KubePodCrashLooping"), "{t:?}");
    assert!(t.reason.contains("no SOP"), "{t:?}");
    let stored = t.trigger.to_string();
    assert!(stored.contains("pool config"), "{stored}");
    assert!(!stored.contains("Sup3rS3cretPassw0rd"), "{stored}");

    // A resolved group is not an alert to handle: nothing more is recorded.
    let resolved = alertmanager_alert("resolved").to_string();
    post(&s, "/hooks/alertmanager", Some(&bearer), &resolved).await;
    assert_eq!(s.runs.store().unrouted(10).unwrap().len(), 1);
}
