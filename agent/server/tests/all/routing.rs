//! The router over the shipped SOP library: the most specific trigger rule wins whatever the
//! library's order, and a route that cannot take the trigger (its parameters do not render)
//! falls through to the next instead of dropping the alert.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;
use sopilot_protocol::Trigger;
use sopilot_server::runs::{Origin, StartError, StartRequest, plan, route};
use sopilot_sop::Sop;

/// The shipped SOPs, in file-name order (`complex-incident` before `pod-crashloop`).
fn library() -> Vec<Sop> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sops");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".sop.md"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let name = f
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".sop.md", "");
            sopilot_sop::load(&name, &std::fs::read_to_string(f).unwrap())
                .unwrap()
                .0
        })
        .collect()
}

fn alert(labels: serde_json::Value) -> StartRequest {
    let payload = json!({
        "version": "4", "groupKey": "{}:{alertname=\"x\"}", "status": "firing",
        "receiver": "sopilot", "groupLabels": {}, "commonLabels": labels.clone(),
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": [{"status": "firing", "labels": labels, "annotations": {},
                    "startsAt": "2026-01-01T00:00:00Z", "fingerprint": "0123456789abcdef"}]
    });
    StartRequest {
        trigger: Trigger::from_payload(&payload).unwrap(),
        sop: None,
        params: BTreeMap::new(),
        origin: Origin::Webhook("alertmanager".into()),
        target: None,
        carries_on: None,
    }
}

#[test]
fn a_critical_crash_loop_alert_goes_to_the_crash_loop_sop() {
    let sops = library();
    let req = alert(
        json!({"alertname": "KubePodCrashLooping", "severity": "critical",
                           "namespace": "payment", "pod": "payment-service-7d8f9c6b5-x2k9p"}),
    );
    let order: Vec<String> = route(&sops, &req)
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(order[0], "pod-crashloop", "{order:?}");
    assert!(order.contains(&"complex-incident".to_owned()), "{order:?}");
    let (sop, params) = plan(&sops, &req).unwrap();
    assert_eq!(sop.name, "pod-crashloop");
    assert_eq!(params["pod"], "payment-service-7d8f9c6b5-x2k9p");
}

#[test]
fn a_route_that_cannot_take_the_trigger_falls_through() {
    // Only complex-incident matches a critical alert of another name; without a `service`
    // label it cannot run, and nothing else can: the error names why.
    let sops = library();
    let req =
        alert(json!({"alertname": "SomethingOdd", "severity": "critical", "namespace": "payment"}));
    match plan(&sops, &req) {
        Err(StartError::BadRequest(why)) => {
            assert!(why.contains("complex-incident"), "{why}");
            assert!(why.contains("service"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    // With the label, the generic route takes it.
    let req = alert(json!({"alertname": "SomethingOdd", "severity": "critical",
                           "namespace": "payment", "service": "payment-service"}));
    assert_eq!(plan(&sops, &req).unwrap().0.name, "complex-incident");
    // A crash-loop alert without its `pod` label falls through to the generic route.
    let req = alert(
        json!({"alertname": "KubePodCrashLooping", "severity": "critical",
                           "namespace": "payment", "service": "payment-service"}),
    );
    assert_eq!(plan(&sops, &req).unwrap().0.name, "complex-incident");
}

#[test]
fn a_named_sop_is_the_only_route_and_no_match_is_no_sop() {
    let sops = library();
    let mut req = alert(
        json!({"alertname": "KubePodCrashLooping", "severity": "critical",
                               "namespace": "payment", "pod": "p-1"}),
    );
    req.sop = Some("oom-killed".into());
    let order = route(&sops, &req).unwrap();
    assert_eq!(order.len(), 1);
    assert_eq!(order[0].name, "oom-killed");
    let req = alert(json!({"alertname": "Watchdog", "severity": "none"}));
    assert!(matches!(route(&sops, &req), Err(StartError::NoSop(_))));
}
