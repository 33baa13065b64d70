//! What a change leaves behind for "what changed" questions, read back by the real kubectl:
//! `managedFields` (manager, operation, time, the fields it set) on patches, scale and
//! `set env`; the new ReplicaSet revision with its pod template; nodes' creation times.

use serde_json::{Value, json};

use crate::common::*;

fn entry<'a>(object: &'a Value, manager: &str) -> &'a Value {
    object["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no managedFields entry of {manager}: {object}"))
}

fn recent(time: &Value) -> bool {
    let t = chrono::DateTime::parse_from_rfc3339(time.as_str().unwrap_or("")).unwrap();
    (chrono::Utc::now().timestamp() - t.timestamp()).abs() < 120
}

#[tokio::test]
async fn kubectl_reads_who_changed_what_and_when() {
    let sim = start_payment().await;
    let patch = r#"{"data":{"POOL_SIZE":"10"}}"#;
    let args = [
        "patch",
        "configmap",
        "payment-config",
        "-n",
        "payment",
        "--type",
        "merge",
        "-p",
        patch,
    ];
    kubectl(&sim, &args).await.out();
    let get = [
        "get",
        "configmap",
        "payment-config",
        "-n",
        "payment",
        "-o",
        "json",
    ];
    let hidden = kubectl(&sim, &get).await.json();
    assert!(
        hidden["metadata"].get("managedFields").is_none(),
        "kubectl hides them by default: {hidden}"
    );
    let mut shown = get.to_vec();
    shown.push("--show-managed-fields");
    let cm = kubectl(&sim, &shown).await.json();
    let e = entry(&cm, "kubectl-patch");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["fieldsType"], "FieldsV1");
    assert_eq!(e["fieldsV1"], json!({"f:data": {"f:POOL_SIZE": {}}}));
    assert!(recent(&e["time"]), "{e}");

    let set_env = [
        "set",
        "env",
        "deployment/payment-service",
        "-n",
        "payment",
        "DB_POOL_MAX_SIZE=25",
    ];
    kubectl(&sim, &set_env).await.out();
    let scale = [
        "scale",
        "deployment",
        "payment-service",
        "-n",
        "payment",
        "--replicas=4",
    ];
    kubectl(&sim, &scale).await.out();
    let get = [
        "get",
        "deployment",
        "payment-service",
        "-n",
        "payment",
        "-o",
        "json",
        "--show-managed-fields",
    ];
    let d = kubectl(&sim, &get).await.json();
    let set = entry(&d, "kubectl-set");
    let containers = &set["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"];
    let env = containers
        .as_object()
        .and_then(|c| c.values().next())
        .map(|c| &c["f:env"])
        .unwrap_or_else(|| panic!("containers in {set}"));
    assert!(
        env.as_object()
            .is_some_and(|e| e.keys().any(|k| k.contains("DB_POOL_MAX_SIZE"))),
        "{set}"
    );
    let by_scale = d["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subresource"] == "scale")
        .unwrap_or_else(|| panic!("a scale entry: {d}"));
    assert_eq!(by_scale["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));

    // The new revision is a ReplicaSet holding the new template, as `rollout history` reads.
    let history = [
        "rollout",
        "history",
        "deployment/payment-service",
        "-n",
        "payment",
        "--revision=16",
    ];
    let out = kubectl(&sim, &history).await;
    assert!(
        out.out().contains("DB_POOL_MAX_SIZE:\t25"),
        "{}",
        out.stdout
    );
    let nodes = kubectl(&sim, &["get", "nodes", "-o", "json"]).await.json();
    assert!(
        nodes["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["metadata"]["creationTimestamp"].is_string())
    );
}
