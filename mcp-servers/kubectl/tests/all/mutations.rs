//! Every mutating tool: a dry run changes nothing and reports the impact; the real call
//! changes the simulated cluster.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::Harness;
use serde_json::{Value, json};

const CRASHING: &str = "payment-service-7d8f9c6b5-x2k9p";

fn rv(v: &Option<Value>) -> String {
    v.as_ref()
        .and_then(|o| o.pointer("/metadata/resourceVersion"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn delete_pod_dry_run_then_real() {
    let h = Harness::start(true).await;
    let before = h.sim.get("Pod", Some("payment"), CRASHING);
    let r = h
        .ok(
            "delete_pod",
            json!({"namespace": "payment", "name": CRASHING, "dry_run": true}),
        )
        .await;
    let imp = &r.structured["impact"];
    assert_eq!(r.structured["dry_run"], true);
    assert_eq!(imp["pod"]["restart_count"], 7, "{imp}");
    assert_eq!(imp["pod"]["waiting_reason"], "CrashLoopBackOff");
    assert_eq!(imp["pod"]["last_termination_reason"], "OOMKilled");
    assert_eq!(imp["workload"]["kind"], "Deployment");
    assert_eq!(imp["workload"]["replicas"], 5);
    assert_eq!(imp["fraction_affected"], 0.2);
    assert_eq!(
        imp["pdb"]["allows"], true,
        "an unready pod costs the PDB nothing: {imp}"
    );
    assert_eq!(imp["stateful"], false);
    assert_eq!(
        rv(&h.sim.get("Pod", Some("payment"), CRASHING)),
        rv(&before),
        "dry run changed the pod"
    );
    let r = h
        .ok(
            "delete_pod",
            json!({"namespace": "payment", "name": CRASHING}),
        )
        .await;
    assert_eq!(r.structured["executed"], true);
    assert!(
        h.sim.get("Pod", Some("payment"), CRASHING).is_none(),
        "pod still there"
    );
    let pods = h
        .ok(
            "list_pods",
            json!({"namespace": "payment", "label_selector": "app=payment-service"}),
        )
        .await;
    assert_eq!(
        pods.structured["pods"].as_array().unwrap().len(),
        5,
        "the ReplicaSet recreates it: {}",
        pods.text
    );
}

#[tokio::test]
async fn statefulset_pod_deletion_is_stateful() {
    let h = Harness::start(true).await;
    let r = h
        .ok(
            "delete_pod",
            json!({"namespace": "payment", "name": "postgres-0", "dry_run": true}),
        )
        .await;
    assert_eq!(r.structured["impact"]["stateful"], true, "{}", r.text);
    assert_eq!(r.structured["impact"]["workload"]["kind"], "StatefulSet");
}

#[tokio::test]
async fn rollout_restart_dry_run_then_real() {
    let h = Harness::start(true).await;
    let before = h.sim.get("Deployment", Some("payment"), "payment-service");
    let r = h
        .ok(
            "rollout_restart",
            json!({"namespace": "payment", "name": "payment-service", "dry_run": true}),
        )
        .await;
    assert_eq!(r.structured["impact"]["replicas_affected"], 1, "{}", r.text);
    assert_eq!(
        rv(&h.sim.get("Deployment", Some("payment"), "payment-service")),
        rv(&before)
    );
    h.ok(
        "rollout_restart",
        json!({"namespace": "payment", "name": "payment-service"}),
    )
    .await;
    let after = h
        .sim
        .get("Deployment", Some("payment"), "payment-service")
        .unwrap();
    assert!(
        after
            .pointer("/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt")
            .is_some(),
        "{after}"
    );
    let hist = h
        .ok(
            "rollout_history",
            json!({"namespace": "payment", "name": "payment-service"}),
        )
        .await;
    assert_eq!(
        hist.structured["revisions"].as_array().unwrap().len(),
        4,
        "a restart makes a revision: {}",
        hist.text
    );
}

#[tokio::test]
async fn rollout_undo_dry_run_then_real_and_to_revision() {
    let h = Harness::start(true).await;
    let r = h.ok("rollout_undo", json!({"namespace": "payment", "name": "payment-service", "to_revision": 13, "dry_run": true})).await;
    assert_eq!(
        r.structured["impact"]["revision"],
        json!({"from": 15, "to": 13, "steps_back": 2}),
        "{}",
        r.text
    );
    let bad = h
        .call(
            "rollout_undo",
            json!({"namespace": "payment", "name": "payment-service", "to_revision": 9}),
        )
        .await;
    assert!(
        bad.is_error && bad.text.contains("recorded revisions: 13, 14, 15"),
        "{}",
        bad.text
    );
    h.ok(
        "rollout_undo",
        json!({"namespace": "payment", "name": "payment-service"}),
    )
    .await;
    let d = h
        .sim
        .get("Deployment", Some("payment"), "payment-service")
        .unwrap();
    let image = d
        .pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .unwrap();
    assert!(image.ends_with(":v2.4.0"), "{image}");
}

#[tokio::test]
async fn scale_dry_run_then_real() {
    let h = Harness::start(true).await;
    let r = h.ok("scale", json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 2, "dry_run": true})).await;
    let imp = &r.structured["impact"];
    assert_eq!(
        (
            imp["replicas_before"].clone(),
            imp["replicas_after"].clone(),
            imp["fraction_affected"].clone()
        ),
        (json!(5), json!(2), json!(0.6))
    );
    assert_eq!(
        h.sim
            .get("Deployment", Some("payment"), "payment-service")
            .unwrap()
            .pointer("/spec/replicas"),
        Some(&json!(5))
    );
    h.ok("scale", json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 6})).await;
    assert_eq!(
        h.sim
            .get("Deployment", Some("payment"), "payment-service")
            .unwrap()
            .pointer("/spec/replicas"),
        Some(&json!(6))
    );
    let bad = h
        .call(
            "scale",
            json!({"kind": "Job", "namespace": "payment", "name": "x", "replicas": 1}),
        )
        .await;
    assert!(
        bad.is_error && bad.text.contains("Deployment or StatefulSet"),
        "{}",
        bad.text
    );
}

#[tokio::test]
async fn patch_hpa_dry_run_then_real() {
    let h = Harness::start(true).await;
    let r = h.ok("patch_hpa", json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 14, "dry_run": true})).await;
    assert_eq!(
        r.structured["impact"]["hpa"],
        json!({"min_before": 2, "min_after": 2, "max_before": 10, "max_after": 14}),
        "{}",
        r.text
    );
    assert_eq!(
        h.sim
            .get(
                "HorizontalPodAutoscaler",
                Some("payment"),
                "payment-service-hpa"
            )
            .unwrap()
            .pointer("/spec/maxReplicas"),
        Some(&json!(10))
    );
    h.ok(
        "patch_hpa",
        json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 14}),
    )
    .await;
    assert_eq!(
        h.sim
            .get(
                "HorizontalPodAutoscaler",
                Some("payment"),
                "payment-service-hpa"
            )
            .unwrap()
            .pointer("/spec/maxReplicas"),
        Some(&json!(14))
    );
    let bad = h
        .call(
            "patch_hpa",
            json!({"namespace": "payment", "name": "payment-service-hpa", "min_replicas": 20}),
        )
        .await;
    assert!(
        bad.is_error && bad.text.contains("min_replicas <= max_replicas"),
        "{}",
        bad.text
    );
}

#[tokio::test]
async fn cordon_and_uncordon_dry_run_then_real() {
    let h = Harness::start(true).await;
    let r = h
        .ok("cordon", json!({"node": "ip-10-0-1-45", "dry_run": true}))
        .await;
    assert_eq!(
        r.structured["impact"]["node"]["conditions"],
        json!(["MemoryPressure"]),
        "{}",
        r.text
    );
    let unsched = |h: &Harness| {
        h.sim
            .get("Node", None, "ip-10-0-1-45")
            .unwrap()
            .pointer("/spec/unschedulable")
            .cloned()
    };
    assert_ne!(unsched(&h), Some(json!(true)));
    h.ok("cordon", json!({"node": "ip-10-0-1-45"})).await;
    assert_eq!(unsched(&h), Some(json!(true)));
    h.ok("uncordon", json!({"node": "ip-10-0-1-45", "dry_run": true}))
        .await;
    assert_eq!(unsched(&h), Some(json!(true)));
    h.ok("uncordon", json!({"node": "ip-10-0-1-45"})).await;
    assert_ne!(unsched(&h), Some(json!(true)));
}

#[tokio::test]
async fn drain_dry_run_then_real() {
    let h = Harness::start(true).await;
    let r = h
        .ok("drain", json!({"node": "ip-10-0-3-12", "dry_run": true}))
        .await;
    let imp = &r.structured["impact"];
    let pods: Vec<&str> = imp["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        pods.contains(&"payment/postgres-0") && !pods.iter().any(|p| p.contains("aws-node")),
        "{pods:?}"
    );
    assert_eq!(imp["stateful"], true);
    assert_ne!(
        h.sim
            .get("Node", None, "ip-10-0-3-12")
            .unwrap()
            .pointer("/spec/unschedulable"),
        Some(&json!(true))
    );
    // Evictions the PDB allows go through (the replacements come up elsewhere).
    let r = h
        .ok(
            "drain",
            json!({"node": "ip-10-0-1-45", "timeout_seconds": 20}),
        )
        .await;
    assert!(r.text.contains("evicted"), "{}", r.text);
    let left = h
        .ok(
            "list_pods",
            json!({"all_namespaces": true, "field_selector": "spec.nodeName=ip-10-0-1-45"}),
        )
        .await;
    let names: Vec<&str> = left.structured["pods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("aws-node")),
        "only the DaemonSet pod stays: {names:?}"
    );
}

#[tokio::test]
async fn drain_blocked_by_a_pdb_times_out_and_keeps_the_node_cordoned() {
    let h = Harness::start(true).await;
    // Three replicas against minAvailable 3: the PDB allows no disruption.
    h.ok("scale", json!({"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 3})).await;
    let dry = h
        .ok("drain", json!({"node": "ip-10-0-2-78", "dry_run": true}))
        .await;
    assert_eq!(
        dry.structured["impact"]["pdb"]["allows"], false,
        "{}",
        dry.text
    );
    let r = h
        .call(
            "drain",
            json!({"node": "ip-10-0-2-78", "timeout_seconds": 3}),
        )
        .await;
    assert!(r.is_error, "{}", r.text);
    assert!(
        r.text.contains("blocked by PodDisruptionBudgets") && r.text.contains("stays cordoned"),
        "{}",
        r.text
    );
    assert_eq!(
        h.sim
            .get("Node", None, "ip-10-0-2-78")
            .unwrap()
            .pointer("/spec/unschedulable"),
        Some(&json!(true))
    );
}

/// Every mutating tool's dry run says it is one, changed nothing, and names its target.
#[tokio::test]
async fn every_dry_run_reports_its_impact_and_target() {
    let h = Harness::start(true).await;
    let cases = [
        (
            "delete_pod",
            json!({"namespace": "payment", "name": CRASHING}),
            ("Pod", Some("payment"), CRASHING),
        ),
        (
            "rollout_restart",
            json!({"kind": "sts", "namespace": "payment", "name": "postgres"}),
            ("StatefulSet", Some("payment"), "postgres"),
        ),
        (
            "rollout_restart",
            json!({"namespace": "payment", "name": "payment-service"}),
            ("Deployment", Some("payment"), "payment-service"),
        ),
        (
            "rollout_undo",
            json!({"namespace": "payment", "name": "payment-service"}),
            ("Deployment", Some("payment"), "payment-service"),
        ),
        (
            "scale",
            json!({"kind": "deployments.v1.apps", "namespace": "payment", "name": "payment-service", "replicas": 4}),
            ("Deployment", Some("payment"), "payment-service"),
        ),
        (
            "patch_hpa",
            json!({"namespace": "payment", "name": "payment-service-hpa", "max_replicas": 12}),
            (
                "HorizontalPodAutoscaler",
                Some("payment"),
                "payment-service-hpa",
            ),
        ),
        (
            "cordon",
            json!({"node": "ip-10-0-3-12"}),
            ("Node", None, "ip-10-0-3-12"),
        ),
        (
            "uncordon",
            json!({"node": "ip-10-0-3-12"}),
            ("Node", None, "ip-10-0-3-12"),
        ),
        (
            "drain",
            json!({"node": "ip-10-0-3-12"}),
            ("Node", None, "ip-10-0-3-12"),
        ),
    ];
    for (tool, mut args, (kind, namespace, name)) in cases {
        args["dry_run"] = json!(true);
        let r = h.ok(tool, args.clone()).await;
        let s = &r.structured;
        assert_eq!(s["dry_run"], true, "{tool}: {s}");
        assert_eq!(s["executed"], false, "{tool}: {s}");
        assert!(s["impact"].is_object(), "{tool}: {s}");
        assert_eq!(s["impact"]["action"], tool, "{tool}: {s}");
        let target = &s["impact"]["target"];
        assert_eq!(target["kind"], kind, "{tool} {args}: {s}");
        assert_eq!(target["name"], name, "{tool} {args}: {s}");
        assert_eq!(
            target.get("namespace").and_then(Value::as_str),
            namespace,
            "{tool}: {s}"
        );
        assert!(
            r.text.starts_with("DRY RUN (nothing changed)"),
            "{tool}: {}",
            r.text
        );
    }
    let r = h
        .ok(
            "delete_pod",
            json!({"namespace": "payment", "name": CRASHING, "dry_run": true}),
        )
        .await;
    assert_eq!(
        r.structured["impact"]["workload"]["name"], "payment-service",
        "a pod's impact names its workload"
    );
    assert!(h.sim.get("Pod", Some("payment"), CRASHING).is_some());
}

/// A rollback to "the previous revision" is pinned to the revision its dry run assessed, so
/// a rollout in between cannot change what the real call does.
#[tokio::test]
async fn rollout_undo_dry_run_pins_the_revision_it_assessed() {
    let h = Harness::start(true).await;
    let dry = h
        .ok(
            "rollout_undo",
            json!({"namespace": "payment", "name": "payment-service", "dry_run": true}),
        )
        .await;
    assert_eq!(
        dry.structured["pin"],
        json!({"to_revision": 14}),
        "{}",
        dry.text
    );
    assert_eq!(dry.structured["impact"]["revision"]["to"], 14);
    assert!(
        dry.text.contains("pin: {\"to_revision\":14}"),
        "{}",
        dry.text
    );
    // Someone restarts the deployment: "previous" is now revision 15, the crashing one.
    h.ok(
        "rollout_restart",
        json!({"namespace": "payment", "name": "payment-service"}),
    )
    .await;
    let unpinned = h
        .ok(
            "rollout_undo",
            json!({"namespace": "payment", "name": "payment-service", "dry_run": true}),
        )
        .await;
    assert_eq!(unpinned.structured["pin"], json!({"to_revision": 15}));
    let mut real = json!({"namespace": "payment", "name": "payment-service"});
    real["to_revision"] = dry.structured["pin"]["to_revision"].clone();
    let done = h.ok("rollout_undo", real.clone()).await;
    assert_eq!(done.structured["executed"], true);
    assert_eq!(
        done.structured["impact"]["revision"]["to"], 14,
        "{}",
        done.text
    );
    assert!(done.structured.get("pin").is_none(), "only dry runs pin");
    let image = h
        .sim
        .get("Deployment", Some("payment"), "payment-service")
        .unwrap()
        .pointer("/spec/template/spec/containers/0/image")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert!(image.ends_with(":v2.4.0"), "revision 14's image: {image}");
    // Revision 14 became the newest revision: the same pinned call now fails clearly.
    let again = h.call("rollout_undo", real).await;
    assert!(
        again.is_error && again.text.contains("has no revision 14 (any more)"),
        "{}",
        again.text
    );
}
