//! The Karpenter tools over MCP against the simulated cluster of scenarios/karpenter-peak.yaml
//! (its node startup cut to 2 seconds): the NodePools and why pods are Pending, the
//! placeholder's dry-run impact (nodes, vCPUs, limits left, hourly cost), the real scale, and
//! the NodeClaims turning Ready.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use sopilot_sim_env::{Scenario, SimOptions};

use crate::common::{Harness, repo};

async fn harness() -> Harness {
    harness_with("").await
}

/// The scenario with `objects` (YAML list items, indented as its own) added.
async fn harness_with(objects: &str) -> Harness {
    let text = std::fs::read_to_string(repo().join("scenarios/karpenter-peak.yaml")).unwrap();
    assert!(text.contains("node_startup: 10s") && text.contains("\ncloudwatch:"));
    let text = text
        .replace("node_startup: 10s", "node_startup: 2s")
        .replace("\ncloudwatch:", &format!("{objects}\ncloudwatch:"));
    let scenario = Scenario::from_yaml(&text).unwrap();
    let sim = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .unwrap();
    Harness::start_with(sim, true).await
}

fn replicas(h: &Harness) -> serde_json::Value {
    h.sim
        .get("Deployment", Some("scaling"), "capacity-reservation")
        .unwrap()["spec"]["replicas"]
        .clone()
}

#[tokio::test]
async fn pre_provisioning_from_dry_run_to_ready_nodes() {
    let h = harness().await;
    let pools = h.ok("karpenter_nodepools", json!({})).await;
    let pool = &pools.structured["nodepools"][0];
    assert_eq!(pool["name"], "default");
    assert_eq!(pool["cpu_limit_vcpus"], 24.0);
    assert_eq!(pool["cpu_left_vcpus"], 24.0);
    assert_eq!(pool["consolidate_after"], "5m");
    assert!(
        pools.text.contains("No pods are Pending."),
        "{}",
        pools.text
    );

    let args = json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 7});
    let mut dry = args.clone();
    dry["dry_run"] = json!(true);
    let r = h.ok("scale_placeholder_capacity", dry).await;
    let imp = &r.structured["impact"];
    assert_eq!(r.structured["executed"], false);
    assert_eq!(
        imp["target"],
        json!({"kind": "Deployment", "namespace": "scaling", "name": "capacity-reservation"})
    );
    assert_eq!(
        (
            imp["replicas_before"].clone(),
            imp["replicas_after"].clone()
        ),
        (json!(0), json!(7))
    );
    assert_eq!(imp["fraction_affected"], 0.0);
    let k = &imp["karpenter"];
    assert_eq!(k["nodes_to_launch"], 1, "{k:#}");
    assert_eq!(k["vcpus_to_launch"], 8);
    assert_eq!(k["nodepools"][0]["instance_types"], json!(["c7i.2xlarge"]));
    assert_eq!(k["nodepools"][0]["cpu_left_after_vcpus"], 16.0);
    assert_eq!(k["hourly_cost_usd"], 0.357);
    assert_eq!(k["within_limits"], true);
    assert_eq!(k["priority_class"], "capacity-reservation");
    assert_eq!(k["priority"], -10);
    assert_eq!(replicas(&h), 0, "the dry run scaled nothing");

    let r = h.ok("scale_placeholder_capacity", args).await;
    assert_eq!(r.structured["executed"], true);
    assert_eq!(replicas(&h), 7);
    let pools = h
        .ok("karpenter_nodepools", json!({"nodepool": "default"}))
        .await;
    let pending = pools.structured["pending_pods"].as_array().unwrap();
    assert_eq!(pending.len(), 7, "{}", pools.text);
    assert!(
        pending.iter().all(|p| p["reason"] == "Nominated"),
        "{}",
        pools.text
    );
    assert!(
        pending[0]["message"]
            .as_str()
            .unwrap()
            .starts_with("Pod should schedule on: nodeclaim/default-")
    );

    let claims = h
        .ok(
            "karpenter_nodeclaims",
            json!({"wait_ready_seconds": 20, "peak_in_minutes": 30}),
        )
        .await;
    assert_eq!(claims.structured["all_ready"], true, "{}", claims.text);
    assert_eq!(
        claims.structured["ready_before_peak"], true,
        "{}",
        claims.text
    );
    assert!(
        claims
            .text
            .starts_with("All 1 NodeClaims Ready before the peak: the last at "),
        "{}",
        claims.text
    );
    let claim = &claims.structured["nodeclaims"][0];
    assert_eq!(claim["instance_type"], "c7i.2xlarge");
    assert!(
        claim["ready_at"].is_string() && claim["node"].is_string(),
        "{claim}"
    );
}

#[tokio::test]
async fn beyond_the_nodepool_limits_and_refusals() {
    let h = harness().await;
    let r = h
        .ok("scale_placeholder_capacity", json!({"namespace": "scaling", "name": "capacity-reservation", "vcpus": 26.5, "dry_run": true}))
        .await;
    let k = &r.structured["impact"]["karpenter"];
    assert_eq!(
        r.structured["impact"]["replicas_after"], 27,
        "26.5 vCPU of 1-vCPU pods, rounded up"
    );
    assert_eq!(k["within_limits"], false, "{k:#}");
    assert_eq!(k["nodepools"][0]["pods_over_limits"], 6);
    assert_eq!(k["nodes_to_launch"], 3);
    assert!(
        r.text.contains("6 pods over its limits stay Pending"),
        "{}",
        r.text
    );

    let real = h
        .call(
            "scale_placeholder_capacity",
            json!({"namespace": "shop", "name": "checkout", "replicas": 9, "dry_run": true}),
        )
        .await;
    assert!(real.is_error);
    assert!(
        real.text.contains("not a capacity placeholder") && real.text.contains("kubectl.scale"),
        "{}",
        real.text
    );
    let neither = h
        .call(
            "scale_placeholder_capacity",
            json!({"namespace": "scaling", "name": "capacity-reservation"}),
        )
        .await;
    assert!(
        neither.is_error && neither.text.contains("give replicas or vcpus"),
        "{}",
        neither.text
    );
    let disagree = h.call("scale_placeholder_capacity", json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 2, "vcpus": 1.0})).await;
    assert!(
        disagree.is_error && disagree.text.contains("now resolve to 1 placeholder pods"),
        "{}",
        disagree.text
    );
    let wait = h
        .call("karpenter_nodeclaims", json!({"wait_ready_seconds": 600}))
        .await;
    assert!(
        wait.is_error && wait.text.contains("at most 50"),
        "{}",
        wait.text
    );
}

#[tokio::test]
async fn without_a_nodepool_nothing_is_provisioned_and_the_tools_say_so() {
    let h = Harness::start(true).await;
    let r = h.ok("karpenter_nodepools", json!({})).await;
    assert!(
        r.text
            .starts_with("0 NodePools: Karpenter launches no nodes"),
        "{}",
        r.text
    );
    let claims = h
        .ok("karpenter_nodeclaims", json!({"peak_in_minutes": 30}))
        .await;
    assert!(
        claims
            .text
            .starts_with("No NodeClaims: nothing is being provisioned for the peak"),
        "{}",
        claims.text
    );
    assert_eq!(claims.structured["ready_before_peak"], false);
}

/// A real low-priority workload: batch workers under a negative PriorityClass.
const BATCH: &str = r#"
    - apiVersion: scheduling.k8s.io/v1
      kind: PriorityClass
      metadata: {name: batch-low}
      value: -5
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: batch-workers, namespace: scaling, labels: {app: batch-workers}}
      spec:
        replicas: 2
        selector: {matchLabels: {app: batch-workers}}
        template:
          metadata: {labels: {app: batch-workers}}
          spec:
            priorityClassName: batch-low
            containers:
              - name: worker
                image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/batch-worker:pause
                resources:
                  requests: {cpu: 100m, memory: 128Mi}
"#;

#[tokio::test]
async fn a_negative_priority_workload_that_is_not_pause_pods_is_refused() {
    let h = harness_with(BATCH).await;
    let batch = |n: i64| json!({"namespace": "scaling", "name": "batch-workers", "replicas": n, "dry_run": true});
    for n in [0, 20] {
        let r = h.call("scale_placeholder_capacity", batch(n)).await;
        assert!(r.is_error, "{}", r.text);
        assert!(
            r.text.contains("not a capacity placeholder")
                && r.text.contains("batch-worker:pause")
                && r.text.contains("not a pause image")
                && r.text.contains("kubectl.scale"),
            "{}",
            r.text
        );
    }
    let real = h
        .call(
            "scale_placeholder_capacity",
            json!({"namespace": "scaling", "name": "batch-workers", "replicas": 0}),
        )
        .await;
    assert!(real.is_error, "{}", real.text);
    assert_eq!(
        h.sim
            .get("Deployment", Some("scaling"), "batch-workers")
            .unwrap()["spec"]["replicas"],
        2
    );
    // The document's placeholder, pause pods from registry.k8s.io, still is one.
    let ok = h
        .ok(
            "scale_placeholder_capacity",
            json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 7, "dry_run": true}),
        )
        .await;
    assert_eq!(
        ok.structured["impact"]["karpenter"]["images"],
        json!(["registry.k8s.io/pause:3.9"])
    );
}

#[tokio::test]
async fn repeated_steps_each_cheap_show_the_whole_reservation_growing() {
    let h = harness().await;
    let mut totals = Vec::new();
    for n in [7, 14, 21] {
        let r = h
            .ok(
                "scale_placeholder_capacity",
                json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": n}),
            )
            .await;
        let k = &r.structured["impact"]["karpenter"];
        // Each step on its own launches one c7i.2xlarge within the NodePool's limits...
        assert_eq!(
            (
                &k["nodes_to_launch"],
                &k["hourly_cost_usd"],
                &k["within_limits"]
            ),
            (&json!(1), &json!(0.357), &json!(true)),
            "{k:#}"
        );
        assert_eq!(k["reserved_pods_after"], n);
        assert_eq!(k["reserved_vcpus_after"], n as f64);
        totals.push(k["reserved_hourly_cost_usd_after"].clone());
        assert_eq!(replicas(&h), n);
    }
    // ...but the reservation they add up to passes the $1/h ceiling at the third.
    assert_eq!(totals, [json!(0.357), json!(0.714), json!(1.071)]);
}

#[tokio::test]
async fn a_count_by_vcpus_is_pinned_to_replicas_and_executes_only_as_assessed() {
    let h = harness().await;
    let args = json!({"namespace": "scaling", "name": "capacity-reservation", "vcpus": 7});
    let mut dry = args.clone();
    dry["dry_run"] = json!(true);
    let assessed = h.ok("scale_placeholder_capacity", dry).await;
    assert_eq!(assessed.structured["impact"]["replicas_after"], 7);
    // The gate adds the pin to the call it asks about and executes.
    assert_eq!(
        assessed.structured["pin"],
        json!({"replicas": 7, "cluster_hourly_cost_usd_at_most": 0.357})
    );
    let mut pinned = args.clone();
    pinned["replicas"] = json!(7);
    // Someone halves the placeholder pods' CPU request after the assessment: the same 7 vCPU
    // are 14 pods now. The pinned call scales to 7 or not at all.
    let mut d = h
        .sim
        .get("Deployment", Some("scaling"), "capacity-reservation")
        .unwrap();
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] = json!("500m");
    h.sim.kube().apply(d).unwrap();
    let refused = h.call("scale_placeholder_capacity", pinned).await;
    assert!(
        refused.is_error
            && refused.text.contains("now resolve to 14 placeholder pods")
            && refused.text.contains("nothing was scaled"),
        "{}",
        refused.text
    );
    assert_eq!(replicas(&h), 0);
    // A fresh dry run shows (and pins) the new count, which the approval's impact digest
    // covers: replicas_after 14 is not the 7 that was approved.
    let mut dry = args;
    dry["dry_run"] = json!(true);
    let fresh = h.ok("scale_placeholder_capacity", dry).await;
    let imp = &fresh.structured["impact"];
    assert_eq!(imp["replicas_after"], 14, "{imp:#}");
    assert_eq!(fresh.structured["pin"]["replicas"], 14);
    assert_eq!(imp["karpenter"]["reserved_pods_after"], 14);
    assert_eq!(imp["karpenter"]["pod_requests"]["cpu_millicores"], 500);
    // A call by replicas needs no replicas pinned, only the cluster's total.
    let by_replicas = h
        .ok(
            "scale_placeholder_capacity",
            json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 3, "dry_run": true}),
        )
        .await;
    let total =
        &by_replicas.structured["impact"]["karpenter"]["cluster_reserved_hourly_cost_usd_after"];
    assert_eq!(total, 0.1008, "3 pods of 500m on one m7i.large");
    assert_eq!(
        by_replicas.structured["pin"],
        json!({"cluster_hourly_cost_usd_at_most": total})
    );
}

#[tokio::test]
async fn room_on_existing_nodes_counts_only_for_placeholders_free_to_run_there() {
    let h = harness().await;
    let set_template = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d = h
            .sim
            .get("Deployment", Some("scaling"), "capacity-reservation")
            .unwrap();
        f(&mut d["spec"]["template"]["spec"]);
        h.sim.kube().apply(d).unwrap();
    };
    let dry = json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 4, "dry_run": true});
    // Pods of 500m: one fits in the 900m each managed node has left.
    set_template(&|s| s["containers"][0]["resources"]["requests"]["cpu"] = json!("500m"));
    let r = h.ok("scale_placeholder_capacity", dry.clone()).await;
    assert_eq!(
        r.structured["impact"]["karpenter"]["pods_on_existing_capacity"], 2,
        "{}",
        r.text
    );
    // Pinned elsewhere by a nodeSelector: where they may go is not worked out, so none counts.
    set_template(&|s| s["nodeSelector"] = json!({"karpenter.sh/nodepool": "default"}));
    let r = h.ok("scale_placeholder_capacity", dry).await;
    let k = &r.structured["impact"]["karpenter"];
    assert_eq!(k["pods_on_existing_capacity"], 0, "{}", r.text);
    assert_eq!(k["pods_on_new_nodes"], 4);
}

/// A second placeholder (the document's pause pods under the same PriorityClass) in another
/// namespace, standing at 0; and a real negative-priority workload, which reserves nothing here.
const SECOND: &str = r#"
    - apiVersion: apps/v1
      kind: Deployment
      metadata: {name: reserve-b, namespace: shop, labels: {app: reserve-b}}
      spec:
        replicas: 0
        selector: {matchLabels: {app: reserve-b}}
        template:
          metadata: {labels: {app: reserve-b}}
          spec:
            priorityClassName: capacity-reservation
            containers:
              - name: pause
                image: registry.k8s.io/pause:3.9
                resources:
                  requests: {cpu: "1", memory: 2Gi}
"#;

#[tokio::test]
async fn the_reservation_counts_every_placeholder_in_the_cluster() {
    let h = harness_with(&format!("{SECOND}{BATCH}")).await;
    let a = h
        .ok(
            "scale_placeholder_capacity",
            json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 14}),
        )
        .await;
    let k = &a.structured["impact"]["karpenter"];
    // B stands at 0 and batch-workers is no placeholder: A's total is its own.
    assert_eq!(k["cluster_reserved_hourly_cost_usd_after"], 0.714, "{k:#}");
    assert_eq!(k["other_placeholders"], json!([]));
    assert_eq!(replicas(&h), 14);

    // B's 7 pods alone cost $0.357/h, under the ceiling; with A's 14, $1.071/h.
    let b = h
        .ok(
            "scale_placeholder_capacity",
            json!({"namespace": "shop", "name": "reserve-b", "replicas": 7, "dry_run": true}),
        )
        .await;
    let k = &b.structured["impact"]["karpenter"];
    assert_eq!(k["reserved_hourly_cost_usd_after"], 0.357, "{k:#}");
    assert_eq!(k["cluster_reserved_pods_after"], 21);
    assert_eq!(k["cluster_reserved_vcpus_after"], 21.0);
    assert_eq!(k["cluster_reserved_nodes_after"], 3);
    assert_eq!(k["cluster_reserved_hourly_cost_usd_after"], 1.071);
    assert_eq!(
        k["other_placeholders"],
        json!([{"namespace": "scaling", "name": "capacity-reservation", "replicas": 14, "vcpus": 14.0, "hourly_cost_usd": 0.714}])
    );
    assert!(
        b.text
            .contains("every placeholder in the cluster together (1 more Deployment(s)): 21 pods"),
        "{}",
        b.text
    );

    // Releasing A brings B's total back to its own.
    h.ok(
        "scale_placeholder_capacity",
        json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 0}),
    )
    .await;
    let b = h
        .ok(
            "scale_placeholder_capacity",
            json!({"namespace": "shop", "name": "reserve-b", "replicas": 7, "dry_run": true}),
        )
        .await;
    let k = &b.structured["impact"]["karpenter"];
    assert_eq!(k["cluster_reserved_hourly_cost_usd_after"], 0.357, "{k:#}");
}

/// Two calls assessed side by side: B's dry run sees A at 0 ($0.357/h together), then A is
/// scaled to 14. B's call, pinned to the total its dry run assessed, is refused: the policy
/// decided on a cluster that no longer is.
#[tokio::test]
async fn a_call_whose_cluster_total_grew_since_its_dry_run_is_refused() {
    let h = harness_with(SECOND).await;
    let b = json!({"namespace": "shop", "name": "reserve-b", "replicas": 7});
    let mut dry = b.clone();
    dry["dry_run"] = json!(true);
    let assessed = h.ok("scale_placeholder_capacity", dry).await;
    let pin = assessed.structured["pin"].clone();
    assert_eq!(pin, json!({"cluster_hourly_cost_usd_at_most": 0.357}));
    h.ok(
        "scale_placeholder_capacity",
        json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 14}),
    )
    .await;
    let mut pinned = b.clone();
    pinned["cluster_hourly_cost_usd_at_most"] = pin["cluster_hourly_cost_usd_at_most"].clone();
    let refused = h.call("scale_placeholder_capacity", pinned.clone()).await;
    assert!(
        refused.is_error
            && refused.text.contains("would cost $1.0710 an hour")
            && refused
                .text
                .contains("more than the $0.3570 its dry run assessed")
            && refused.text.contains("nothing was scaled"),
        "{}",
        refused.text
    );
    let b_replicas =
        || h.sim.get("Deployment", Some("shop"), "reserve-b").unwrap()["spec"]["replicas"].clone();
    assert_eq!(b_replicas(), 0);
    // A released again: the pinned call is within what was assessed and runs.
    h.ok(
        "scale_placeholder_capacity",
        json!({"namespace": "scaling", "name": "capacity-reservation", "replicas": 0}),
    )
    .await;
    h.ok("scale_placeholder_capacity", pinned).await;
    assert_eq!(b_replicas(), 7);
}
