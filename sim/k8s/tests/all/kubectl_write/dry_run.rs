//! `--dry-run=server` on every write verb: the answer kubectl prints, and nothing changes.

use super::write_manifests;
use crate::common::*;

#[tokio::test]
async fn server_dry_runs_change_nothing() {
    let sim = start_payment().await;
    let manifests = write_manifests(&sim, "payment");
    let rv = sim.kube().resource_version();
    let pods = pod_names(&sim, "payment");
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "scale",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--replicas=2",
            "--dry-run=server",
        ],
        vec![
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":1}}"#,
            "--dry-run=server",
        ],
        vec![
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=strategic",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"payment","image":"x:1"}]}}}}"#,
            "--dry-run=server",
        ],
        vec![
            "patch",
            "hpa",
            "payment-service-hpa",
            "-n",
            "payment",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/minReplicas","value":4}]"#,
            "--dry-run=server",
        ],
        vec![
            "delete",
            "pod",
            CRASH_POD,
            "-n",
            "payment",
            "--dry-run=server",
        ],
        vec![
            "delete",
            "deployment",
            "order-service",
            "-n",
            "payment",
            "--dry-run=server",
        ],
        vec!["cordon", "ip-10-0-1-45", "--dry-run=server"],
        vec![
            "drain",
            "ip-10-0-1-45",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--dry-run=server",
        ],
        // `rollout restart` has no --dry-run flag; this is the patch it sends.
        vec![
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=strategic",
            "-p",
            r#"{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-01-01T00:00:00Z"}}}}}"#,
            "--dry-run=server",
        ],
        vec![
            "rollout",
            "undo",
            "deployment/payment-service",
            "-n",
            "payment",
            "--dry-run=server",
        ],
        vec!["create", "-f", &manifests, "--dry-run=server"],
        vec![
            "label",
            "pod",
            CRASH_POD,
            "-n",
            "payment",
            "triage=oom",
            "--dry-run=server",
        ],
    ];
    for args in cases {
        let out = kubectl(&sim, &args).await;
        assert!(out.ok, "{args:?} failed: {}", out.stderr);
        // kubectl's patch and rollout undo print no dry-run suffix; the rest do.
        if !matches!(args[0], "patch" | "rollout") {
            assert!(
                out.stdout.contains("(server dry run)"),
                "{args:?}: {}",
                out.stdout
            );
        }
        assert_eq!(
            sim.kube().resource_version(),
            rv,
            "{args:?} changed the store"
        );
    }
    assert_eq!(pod_names(&sim, "payment"), pods);
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        5
    );
    assert!(sim.get("deploy", Some("payment"), "web").is_none());
    assert!(sim.get("ns", None, "scratch").is_none());
    assert_ne!(
        sim.get("node", None, "ip-10-0-1-45").unwrap()["spec"]["unschedulable"],
        true
    );
    // The dry run answers what would have happened.
    let answer = kubectl(
        &sim,
        &[
            "patch",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":2}}"#,
            "--dry-run=server",
            "-o",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(answer["spec"]["replicas"], 2);
    assert_eq!(sim.kube().resource_version(), rv);
}
