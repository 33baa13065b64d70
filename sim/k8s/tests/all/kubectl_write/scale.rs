//! `kubectl scale`: Deployments (the unready pod goes first, the HPA's minimum holds) and
//! StatefulSets (claims outlive their pods).

use super::payment_pods;
use crate::common::*;

#[tokio::test]
async fn scaling_a_deployment_and_a_statefulset() {
    let sim = start_payment().await;
    let out = kubectl(
        &sim,
        &[
            "scale",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--replicas=3",
        ],
    )
    .await;
    assert_eq!(out.out().trim(), "deployment.apps/payment-service scaled");
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        3
    );
    let current = sim
        .get("rs", Some("payment"), "payment-service-7d8f9c6b5")
        .unwrap();
    assert_eq!(current["spec"]["replicas"], 3);
    let pods = payment_pods(&sim);
    assert_eq!(pods.len(), 3);
    assert!(
        !pods.iter().any(|p| p["metadata"]["name"] == CRASH_POD),
        "an unready pod goes first"
    );
    let events = kubectl(
        &sim,
        &[
            "events",
            "-n",
            "payment",
            "--for",
            "deployment/payment-service",
        ],
    )
    .await;
    assert!(
        events
            .out()
            .contains("Scaled down replica set payment-service-7d8f9c6b5 from 5 to 3"),
        "{}",
        events.out()
    );
    // Below the HPA's minimum the autoscaler scales back up.
    kubectl(
        &sim,
        &[
            "scale",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "--replicas=1",
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        2
    );

    kubectl(
        &sim,
        &[
            "scale",
            "statefulset",
            "postgres",
            "-n",
            "payment",
            "--replicas=2",
        ],
    )
    .await
    .out();
    assert!(sim.get("pod", Some("payment"), "postgres-2").is_none());
    assert!(sim.get("pod", Some("payment"), "postgres-1").is_some());
    assert!(
        sim.get("pvc", Some("payment"), "data-postgres-2").is_some(),
        "claims outlive their pods"
    );
    let sts = kubectl(&sim, &["get", "sts", "postgres", "-n", "payment"]).await;
    assert_eq!(rows(sts.out())[1][1], "2/2");
}
