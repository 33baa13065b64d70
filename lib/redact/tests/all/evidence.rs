//! Harmless evidence an SRE needs survives redaction untouched (and borrowed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::borrow::Cow;

use serde_json::json;
use sopilot_redact::{contains_credential, redact, redact_json};

use crate::common;

use common::EVIDENCE;

#[test]
fn every_line_survives_alone_and_together() {
    for line in EVIDENCE {
        assert!(
            matches!(redact(line), Cow::Borrowed(_)),
            "{line} -> {}",
            redact(line)
        );
        assert!(!contains_credential(line), "{line}");
    }
    let all = EVIDENCE.join("\n");
    assert_eq!(redact(&all), all);
}

#[test]
fn a_pod_manifest_keeps_its_evidence() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "payment-service-7d8f9c6b5-x2k9p", "uid": "123e4567-e89b-12d3-a456-426614174000",
                     "labels": {"app": "payment", "pod-template-hash": "7d8f9c6b5"}},
        "spec": {"containers": [{"name": "app",
            "image": "payment@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "env": [{"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "DB_POOL_SIZE", "value": "10"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db-creds", "key": "password"}}}],
            "volumeMounts": [{"name": "tls", "mountPath": "/etc/tls"}]}],
            "volumes": [{"name": "tls", "secret": {"secretName": "payment-tls"}}]},
        "status": {"containerStatuses": [{"restartCount": 7, "ready": false,
            "state": {"waiting": {"reason": "CrashLoopBackOff",
                "message": "back-off 5m0s restarting failed container=app pod=payment-service-7d8f9c6b5-x2k9p"}}}]}});
    let mut v = pod.clone();
    redact_json(&mut v);
    assert_eq!(v, pod);
    let text = serde_json::to_string_pretty(&pod).unwrap();
    assert!(matches!(redact(&text), Cow::Borrowed(_)));
}

#[test]
fn numbers_and_booleans_under_credential_keys_stay() {
    let mut v =
        json!({"max_tokens": 4096, "password_required": true, "token": 12, "secret": false});
    let before = v.clone();
    redact_json(&mut v);
    assert_eq!(v, before);
}
