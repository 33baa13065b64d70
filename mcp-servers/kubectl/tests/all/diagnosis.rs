//! The source document's diagnosis questions, answered through the MCP tools.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::json;

#[tokio::test]
async fn crash_looping_pods_are_found_with_their_reasons() {
    let h = Harness::start(false).await;
    let r = h
        .ok(
            "list_pods",
            json!({"namespace": "payment", "status": "CrashLoopBackOff"}),
        )
        .await;
    println!("{}", r.text);
    assert!(
        r.text.contains("payment-service-7d8f9c6b5-x2k9p"),
        "{}",
        r.text
    );
    assert!(r.text.contains("OOMKilled(137)"), "{}", r.text);
    let pods = r.structured["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 1, "{}", r.text);
    assert_eq!(pods[0]["restarts"], 7);
    let all = h.ok("list_pods", json!({"all_namespaces": true})).await;
    println!("{}", all.text);
    assert!(all.text.starts_with(&format!(
        "{} pods in all namespaces",
        all.structured["pods"].as_array().unwrap().len()
    )));
}

#[tokio::test]
async fn describe_and_logs_explain_the_crash() {
    let h = Harness::start(false).await;
    let d = h
        .ok(
            "describe_pod",
            json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p"}),
        )
        .await;
    println!("{}", d.text);
    assert!(
        d.text.contains("last: Terminated OOMKilled exit=137"),
        "{}",
        d.text
    );
    assert!(d.text.contains("Deployment/payment-service"), "{}", d.text);
    assert!(d.text.contains("BackOff x"), "{}", d.text);
    let l = h.ok("pod_logs", json!({"namespace": "payment", "name": "payment-service-7d8f9c6b5-x2k9p", "previous": true, "grep": "outofmemory|heap"})).await;
    println!("{}", l.text);
    assert!(l.text.contains("java.lang.OutOfMemoryError"), "{}", l.text);
    assert!(
        !l.text.contains("Tomcat started"),
        "grep filters: {}",
        l.text
    );
}

#[tokio::test]
async fn oom_killed_pods_across_namespaces_with_limits_and_usage() {
    let h = Harness::start(false).await;
    let r = h.ok("oom_killed_pods", json!({})).await;
    println!("{}", r.text);
    let rows = r.structured["containers"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|c| c["pod"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"payment-service-7d8f9c6b5-x2k9p"),
        "{names:?}"
    );
    assert!(
        rows.iter().any(|c| c["namespace"] == "shopping"),
        "{names:?}"
    );
    let pay = rows
        .iter()
        .find(|c| c["pod"] == "payment-service-7d8f9c6b5-x2k9p")
        .unwrap();
    assert_eq!(pay["memory_limit_bytes"], 512.0 * 1024.0 * 1024.0);
    assert_eq!(pay["memory_usage_bytes"], 520.0 * 1024.0 * 1024.0);
    assert!(pay["usage_percent_of_limit"].as_f64().unwrap() > 100.0);
}

#[tokio::test]
async fn hot_nodes_above_a_cpu_threshold() {
    let h = Harness::start(false).await;
    let r = h
        .ok("top_nodes", json!({"cpu_threshold_percent": 80}))
        .await;
    println!("{}", r.text);
    let names: Vec<&str> = r.structured["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["ip-10-0-1-45", "ip-10-0-2-78"]);
    assert!(r.text.contains("MemoryPressure"), "{}", r.text);
}

#[tokio::test]
async fn rollback_reports_its_pdb_check() {
    let h = Harness::start(true).await;
    let hist = h
        .ok(
            "rollout_history",
            json!({"namespace": "payment", "name": "payment-service"}),
        )
        .await;
    println!("{}", hist.text);
    let r = h
        .ok(
            "rollout_undo",
            json!({"namespace": "payment", "name": "payment-service", "dry_run": true}),
        )
        .await;
    println!("{}", r.text);
    let imp = &r.structured["impact"];
    assert_eq!(imp["revision"]["steps_back"], 1, "{imp}");
    assert_eq!(imp["pdb"]["name"], "payment-pdb", "{imp}");
    assert!(imp["pdb"]["allows"].is_boolean(), "{imp}");
}

#[tokio::test]
async fn network_policy_explains_why_payment_cannot_reach_the_database() {
    let h = Harness::start(false).await;
    let r = h
        .ok(
            "check_network_policy",
            json!({"source_namespace": "payment", "source_pod": "payment-service-7d8f9c6b5-x2k9p",
        "destination_service": "postgres", "port": "5432"}),
        )
        .await;
    println!("{}", r.text);
    assert_eq!(r.structured["allowed"], false, "{}", r.text);
    assert!(
        r.text
            .contains("BLOCKED by ingress policy database-access-policy"),
        "{}",
        r.text
    );
}
