//! `kubectl set image` and `kubectl patch`: strategic merge patches of a Deployment and an
//! HPA (the controllers follow the new target).

use super::payment_pods;
use crate::common::*;

#[tokio::test]
async fn set_image_uses_a_strategic_merge_patch() {
    let sim = start_payment().await;
    let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/payment-service:v2.4.2";
    kubectl(
        &sim,
        &[
            "set",
            "image",
            "deployment/payment-service",
            &format!("payment={image}"),
            "-n",
            "payment",
        ],
    )
    .await
    .out();
    let deploy = sim
        .get("deploy", Some("payment"), "payment-service")
        .unwrap();
    let container = &deploy["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["image"], image);
    assert_eq!(
        container["env"].as_array().unwrap().len(),
        2,
        "the merge kept the other fields"
    );
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "16"
    );
}

#[tokio::test]
async fn hpa_patches_move_the_target() {
    let sim = start_payment().await;
    kubectl(
        &sim,
        &[
            "patch",
            "hpa",
            "payment-service-hpa",
            "-n",
            "payment",
            "--type=json",
            "-p",
            r#"[{"op":"replace","path":"/spec/minReplicas","value":7}]"#,
        ],
    )
    .await
    .out();
    assert_eq!(
        sim.get("hpa", Some("payment"), "payment-service-hpa")
            .unwrap()["spec"]["minReplicas"],
        7
    );
    assert_eq!(
        sim.get("deploy", Some("payment"), "payment-service")
            .unwrap()["spec"]["replicas"],
        7
    );
    assert_eq!(payment_pods(&sim).len(), 7);
    let bad = kubectl(
        &sim,
        &[
            "patch",
            "hpa",
            "payment-service-hpa",
            "-n",
            "payment",
            "--type=merge",
            "-p",
            r#"{"spec":{"maxReplicas":3}}"#,
        ],
    )
    .await;
    assert!(!bad.ok);
    assert!(bad.stderr.contains("is invalid"), "{}", bad.stderr);
}
