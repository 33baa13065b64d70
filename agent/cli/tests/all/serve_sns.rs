//! `/hooks/sns` against an independent SNS stand-in (tests/python/sns_stand_in.py, signing
//! with Python's `cryptography` and serving its certificate over HTTPS from a test CA):
//! confirmations, alarms of both signature versions, and every way a message can be forged;
//! topics of another AWS account refused; a redelivery refused even after a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::sns_support;
use crate::support;

use serde_json::{Value, json};
use sns_support::{TOPIC, alarm_message, serve_config, serve_config_accounts, sign, stand_in};
use support::{http, sim, start_server, wait_for};

#[tokio::test]
async fn signed_alarms_run_and_forgeries_start_nothing() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let sns = stand_in(dir.path()).await;
    let extra = serve_config(dir.path(), &sns);
    let server = start_server(&sim, dir.path(), &extra).await;
    let http = http();
    let hook = format!("{}/hooks/sns", server.url);
    let post = |body: String| http.post(&hook).body(body).send();

    // A subscription confirmation from an allowed region is confirmed at its SubscribeURL.
    let confirm = json!({"Type": "SubscriptionConfirmation", "MessageId": "c1", "Token": "tok",
        "TopicArn": TOPIC, "Message": "You have chosen to subscribe",
        "SubscribeURL": format!("https://sns.us-east-1.amazonaws.com:{}/?Action=ConfirmSubscription&Token=tok", sns.port),
        "Timestamp": chrono::Utc::now().to_rfc3339(),
        "SigningCertURL": format!("https://sns.us-east-1.amazonaws.com:{}/SimpleNotificationService-test.pem", sns.port)});
    let r = post(sign(dir.path(), "2", &confirm).await.to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // ...and one whose SubscribeURL leaves SNS is not fetched.
    let mut elsewhere = confirm.clone();
    elsewhere["MessageId"] = json!("c2");
    elsewhere["SubscribeURL"] = json!("https://attacker.example/?Action=ConfirmSubscription");
    let r = post(sign(dir.path(), "2", &elsewhere).await.to_string())
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("SubscribeURL"));
    let confirmations: Vec<String> = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(dir.path().join("ca.pem")).unwrap(),
        )
        .unwrap()])
        .resolve(
            "sns.us-east-1.amazonaws.com",
            ([127, 0, 0, 1], sns.port).into(),
        )
        .build()
        .unwrap()
        .get(format!(
            "https://sns.us-east-1.amazonaws.com:{}/confirmations",
            sns.port
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(confirmations.len(), 1, "{confirmations:?}");

    // Forgeries: each is refused with a 4xx and starts nothing.
    let pod = "payment-service-7d8f9c6b5-x2k9p";
    let good = sign(dir.path(), "1", &alarm_message(sns.port, "n1", pod)).await;
    let mut tampered = good.clone();
    tampered["Message"] = json!(
        good["Message"]
            .as_str()
            .unwrap()
            .replace("payment", "kube-system")
    );
    let mut wrong_cert_host = good.clone();
    wrong_cert_host["SigningCertURL"] =
        json!("https://attacker.example/SimpleNotificationService-test.pem");
    let mut other_topic = alarm_message(sns.port, "n2", pod);
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:other");
    let other_topic = sign(dir.path(), "2", &other_topic).await;
    let mut stale = alarm_message(sns.port, "n3", pod);
    stale["Timestamp"] = json!("2020-01-01T00:00:00.000Z");
    let stale = sign(dir.path(), "2", &stale).await;
    let mut v3 = good.clone();
    v3["SignatureVersion"] = json!("3");
    for (what, msg, status) in [
        ("tampered", tampered, 403),
        ("certificate off SNS", wrong_cert_host, 403),
        ("topic not allowed", other_topic, 403),
        ("stale", stale, 400),
        ("unknown version", v3, 400),
    ] {
        let r = post(msg.to_string()).await.unwrap();
        assert_eq!(r.status(), status, "{what}");
        let body: Value = r.json().await.unwrap();
        assert!(body["error"].is_string(), "{what}: {body}");
    }
    let r = post("{not json".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    let runs = wait_for(&http, &format!("{}/api/runs", server.url), "runs", |_| true).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 0, "{runs}");

    // The genuine alarm (SignatureVersion 1) starts pod-crashloop; a v2 repeat joins it; a
    // redelivery of the same message does nothing twice.
    let r: Value = post(good.to_string()).await.unwrap().json().await.unwrap();
    assert_eq!(r["status"], "started", "{r}");
    assert_eq!(r["sop"], "pod-crashloop");
    let run_id = r["run_id"].as_str().unwrap().to_owned();
    let repeat = sign(dir.path(), "2", &alarm_message(sns.port, "n4", pod)).await;
    let r: Value = post(repeat.to_string())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"status": "joined", "run_id": run_id}));
    let r: Value = post(good.to_string()).await.unwrap().json().await.unwrap();
    assert_eq!(r, json!({"status": "duplicate"}));
    let runs = wait_for(&http, &format!("{}/api/runs", server.url), "runs", |_| true).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
}

#[tokio::test]
async fn without_configuration_the_hook_is_closed() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(&sim, dir.path(), "").await;
    let r = http()
        .post(format!("{}/hooks/sns", server.url))
        .body(json!({"Type": "Notification"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("serve.sns.regions"));
}

#[tokio::test]
async fn only_the_allowed_accounts_topics_and_no_replay_after_a_restart() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let sns = stand_in(dir.path()).await;
    let extra = serve_config_accounts(dir.path(), &sns, "123456789012");
    let mut server = start_server(&sim, dir.path(), &extra).await;
    let http = http();
    let pod = "payment-service-7d8f9c6b5-x2k9p";

    // Signed by SNS, in an allowed region, but another account's topic: refused.
    let mut foreign = alarm_message(sns.port, "f1", pod);
    foreign["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:alarms");
    let foreign = sign(dir.path(), "2", &foreign).await;
    let r = http
        .post(format!("{}/hooks/sns", server.url))
        .body(foreign.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("serve.sns.accounts"));

    // Any topic of the allowed account: accepted.
    let good = sign(dir.path(), "2", &alarm_message(sns.port, "m-restart", pod)).await;
    let r: Value = http
        .post(format!("{}/hooks/sns", server.url))
        .body(good.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["status"], "started", "{r}");

    wait_for(&http, &format!("{}/api/runs", server.url), "the run", |v| {
        v["runs"].as_array().unwrap().len() == 1
    })
    .await;

    // The same message after a restart is still a replay: it starts nothing.
    server.child.kill().await.unwrap();
    let server = start_server(&sim, dir.path(), &extra).await;
    let r: Value = http
        .post(format!("{}/hooks/sns", server.url))
        .body(good.to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"status": "duplicate"}));
    let runs = wait_for(&http, &format!("{}/api/runs", server.url), "runs", |_| true).await;
    assert_eq!(runs["runs"].as_array().unwrap().len(), 1, "{runs}");
}
