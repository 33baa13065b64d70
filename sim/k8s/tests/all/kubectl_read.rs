//! The real kubectl reading the simulated cluster: get (tables, wide, JSON, all
//! namespaces, selectors), describe, logs, events and top.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use common::*;

#[tokio::test]
async fn get_pods_prints_kubectls_columns() {
    let sim = start_payment().await;
    let out = kubectl(&sim, &["get", "pods", "-n", "payment"]).await;
    let table = rows(out.out());
    assert_eq!(table[0], ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]);
    let crash = table
        .iter()
        .find(|r| r[0] == CRASH_POD)
        .expect("the crash-looping pod is listed");
    assert_eq!(&crash[1..4], ["0/1", "CrashLoopBackOff", "7"]);
    assert!(crash[4].starts_with('(') && crash[5] == "ago)", "{crash:?}");
    let pending = table
        .iter()
        .find(|r| r[0] == "fraud-detector-5c7b9d6f8-vq7zl")
        .unwrap();
    assert_eq!(&pending[1..4], ["0/1", "Pending", "0"]);
    assert_eq!(names(out.out()).len(), pod_names(&sim, "payment").len());

    let wide = kubectl(&sim, &["get", "pods", "-n", "payment", "-o", "wide"]).await;
    let table = rows(wide.out());
    assert_eq!(&table[0][5..9], ["IP", "NODE", "NOMINATED", "NODE"]);
    let crash = table.iter().find(|r| r[0] == CRASH_POD).unwrap();
    assert!(
        crash.contains(&"10.0.1.87".to_owned()) && crash.contains(&"ip-10-0-1-45".to_owned()),
        "{crash:?}"
    );
}

#[tokio::test]
async fn get_other_kinds_by_short_name() {
    let sim = start_payment().await;
    let out = kubectl(
        &sim,
        &[
            "get",
            "deploy,rs,sts,pdb,hpa,netpol,svc,cm",
            "-n",
            "payment",
        ],
    )
    .await;
    let text = out.out();
    assert!(
        text.contains("NAME                              READY   UP-TO-DATE   AVAILABLE   AGE"),
        "{text}"
    );
    let deploy = rows(text)
        .into_iter()
        .find(|r| r[0] == "deployment.apps/payment-service")
        .unwrap();
    assert_eq!(&deploy[1..4], ["4/5", "5", "4"]);
    let pdb = rows(text)
        .into_iter()
        .find(|r| r[0] == "poddisruptionbudget.policy/payment-pdb")
        .unwrap();
    assert_eq!(&pdb[1..4], ["3", "N/A", "1"]);
    let hpa = rows(text)
        .into_iter()
        .find(|r| r[0] == "horizontalpodautoscaler.autoscaling/payment-service-hpa")
        .unwrap();
    assert_eq!(
        &hpa[1..7],
        [
            "Deployment/payment-service",
            "cpu:",
            "64%/70%",
            "2",
            "10",
            "5"
        ]
    );
    assert!(
        text.contains("networkpolicy.networking.k8s.io/database-access-policy   app=database"),
        "{text}"
    );
    let rs: Vec<Vec<String>> = rows(text)
        .into_iter()
        .filter(|r| r[0].starts_with("replicaset.apps/payment-service"))
        .collect();
    assert_eq!(rs.len(), 3);

    let nodes = kubectl(&sim, &["get", "no"]).await;
    let table = rows(nodes.out());
    assert_eq!(table[0], ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]);
    assert_eq!(table[1][..3], ["ip-10-0-1-45", "Ready", "<none>"]);
    assert_eq!(table.len(), 4);
    let ns = kubectl(&sim, &["get", "ns"]).await;
    for want in ["default", "kube-system", "payment", "shopping"] {
        assert!(names(ns.out()).contains(&want.to_owned()), "{want}");
    }
}

#[tokio::test]
async fn label_and_field_selectors() {
    let sim = start_payment().await;
    let by_label = kubectl(
        &sim,
        &["get", "pods", "-n", "payment", "-l", "app=payment-service"],
    )
    .await;
    let listed = names(by_label.out());
    assert_eq!(listed.len(), 5);
    assert!(listed.iter().all(|n| n.starts_with("payment-service-")));

    let set = kubectl(
        &sim,
        &[
            "get",
            "pods",
            "-n",
            "payment",
            "-l",
            "app in (order-service, fraud-detector),app!=fraud-detector",
        ],
    )
    .await;
    assert!(
        names(set.out())
            .iter()
            .all(|n| n.starts_with("order-service-"))
    );
    assert_eq!(names(set.out()).len(), 2);

    let exists = kubectl(
        &sim,
        &["get", "pods", "-n", "payment", "-l", "tier,!engine"],
    )
    .await;
    assert_eq!(names(exists.out()).len(), 5);

    let on_node = kubectl(
        &sim,
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "spec.nodeName=ip-10-0-1-45",
        ],
    )
    .await;
    let table = rows(on_node.out());
    assert_eq!(table[0][0], "NAMESPACE");
    let mut found: Vec<&str> = table[1..].iter().map(|r| r[1].as_str()).collect();
    found.sort();
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found.contains(&CRASH_POD));
    assert!(found.iter().any(|n| n.starts_with("aws-node-")));

    let pending = kubectl(
        &sim,
        &[
            "get",
            "pods",
            "-A",
            "--field-selector",
            "status.phase=Pending",
        ],
    )
    .await;
    assert_eq!(names(pending.out()), ["payment"]);
    assert!(pending.out().contains("fraud-detector-5c7b9d6f8-vq7zl"));

    let not_running = kubectl(
        &sim,
        &[
            "get",
            "pods",
            "-n",
            "payment",
            "--field-selector",
            "status.phase!=Running,metadata.namespace=payment",
        ],
    )
    .await;
    assert_eq!(names(not_running.out()), ["fraud-detector-5c7b9d6f8-vq7zl"]);

    let bad = kubectl(
        &sim,
        &["get", "pods", "-A", "--field-selector", "spec.containers=x"],
    )
    .await;
    assert!(!bad.ok);
    assert!(
        bad.stderr
            .contains("field label not supported: spec.containers"),
        "{}",
        bad.stderr
    );
    let bad = kubectl(&sim, &["get", "pods", "-l", "app in (x"]).await;
    assert!(!bad.ok);
}

#[tokio::test]
async fn json_output_and_secrets() {
    let sim = start_payment().await;
    let deploy = kubectl(
        &sim,
        &[
            "get",
            "deployment",
            "payment-service",
            "-n",
            "payment",
            "-o",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(deploy["kind"], "Deployment");
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "15"
    );
    assert_eq!(deploy["status"]["readyReplicas"], 4);
    assert_eq!(deploy["status"]["updatedReplicas"], 5);
    let all = kubectl(&sim, &["get", "pods", "-A", "-o", "json"])
        .await
        .json();
    assert_eq!(all["kind"], "List");
    assert_eq!(
        all["items"].as_array().unwrap().len(),
        sim.kube().list("pods", None).len()
    );
    // The store holds Secret data (mcp-kubectl is what must refuse to return it).
    let secret = kubectl(
        &sim,
        &[
            "get",
            "secret",
            "payment-db-credentials",
            "-n",
            "payment",
            "-o",
            "json",
        ],
    )
    .await
    .json();
    assert_eq!(secret["data"]["username"], "cGF5bWVudHM=");
    let missing = kubectl(&sim, &["get", "pod", "nope", "-n", "payment"]).await;
    assert!(
        missing.stderr.contains("pods \"nope\" not found"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn describe_pod_deployment_and_node() {
    let sim = start_payment().await;
    let pod = kubectl(&sim, &["describe", "pod", CRASH_POD, "-n", "payment"]).await;
    let text = pod.out();
    for want in [
        "Restart Count:  7",
        "OOMKilled",
        "Exit Code:    137",
        "CrashLoopBackOff",
        "Node:             ip-10-0-1-45/10.0.1.45",
        "Back-off restarting failed container payment",
        "Readiness probe failed",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let deploy = kubectl(
        &sim,
        &["describe", "deployment", "payment-service", "-n", "payment"],
    )
    .await;
    let text = deploy.out();
    for want in [
        "5 desired | 5 updated | 5 total | 4 available | 1 unavailable",
        "NewReplicaSet:   payment-service-7d8f9c6b5 (5/5 replicas created)",
        "payment-service:v2.4.1",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let node = kubectl(&sim, &["describe", "node", "ip-10-0-1-45"]).await;
    let text = node.out();
    for want in [
        "MemoryPressure",
        "KubeletHasInsufficientMemory",
        "Non-terminated Pods:          (3 in total)",
        "OOMKilling",
        "node.kubernetes.io/memory-pressure:NoSchedule",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[tokio::test]
async fn logs_current_previous_tail_and_container() {
    let sim = start_payment().await;
    let previous = kubectl(&sim, &["logs", CRASH_POD, "-n", "payment", "--previous"]).await;
    assert!(
        previous
            .out()
            .contains("java.lang.OutOfMemoryError: Java heap space")
    );
    let tail = kubectl(
        &sim,
        &[
            "logs", CRASH_POD, "-n", "payment", "--tail", "1", "-c", "payment",
        ],
    )
    .await;
    assert_eq!(
        tail.out(),
        "Retrying database connection in 5s (attempt 1/10)\n"
    );
    // A pattern key gives every payment-service pod the generic log.
    let other = kubectl(
        &sim,
        &[
            "logs",
            "payment-service-7d8f9c6b5-q9lkc",
            "-n",
            "payment",
            "--tail=2",
        ],
    )
    .await;
    assert_eq!(other.out().lines().count(), 2);
    assert!(other.out().contains("Failed to persist transaction"));
    let stamped = kubectl(
        &sim,
        &[
            "logs",
            CRASH_POD,
            "-n",
            "payment",
            "--previous",
            "--timestamps",
            "--tail",
            "1",
        ],
    )
    .await;
    let first = stamped.out().split_whitespace().next().unwrap();
    assert!(first.ends_with('Z') && first.contains('T'), "{first}");
    let wrong = kubectl(&sim, &["logs", CRASH_POD, "-n", "payment", "-c", "sidecar"]).await;
    assert!(!wrong.ok);
    assert!(
        wrong.stderr.contains("container sidecar is not valid"),
        "{}",
        wrong.stderr
    );
    let never_restarted = kubectl(
        &sim,
        &[
            "logs",
            "payment-service-7d8f9c6b5-q9lkc",
            "-n",
            "payment",
            "--previous",
        ],
    )
    .await;
    assert!(!never_restarted.ok);
    assert!(
        never_restarted
            .stderr
            .contains("previous terminated container"),
        "{}",
        never_restarted.stderr
    );
}

#[tokio::test]
async fn events_by_object() {
    let sim = start_payment().await;
    let for_pod = kubectl(
        &sim,
        &[
            "events",
            "-n",
            "payment",
            "--for",
            &format!("pod/{CRASH_POD}"),
        ],
    )
    .await;
    let text = for_pod.out();
    for want in ["BackOff", "Unhealthy", "Pulled"] {
        assert!(text.contains(want), "missing {want} in\n{text}");
    }
    assert!(!text.contains("FailedScheduling"), "{text}");
    assert!(text.contains("(x31 over"), "{text}");

    let selected = kubectl(
        &sim,
        &[
            "get",
            "events",
            "-n",
            "payment",
            "--field-selector",
            &format!("involvedObject.name={CRASH_POD},type=Warning"),
        ],
    )
    .await;
    let table = rows(selected.out());
    assert_eq!(
        table[0],
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    let reasons: Vec<&str> = table[1..].iter().map(|r| r[2].as_str()).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons.contains(&"BackOff") && reasons.contains(&"Unhealthy"));
    assert!(
        table[1..]
            .iter()
            .all(|r| r[3] == format!("pod/{CRASH_POD}"))
    );

    let by_reason = kubectl(
        &sim,
        &[
            "get",
            "events",
            "-A",
            "--field-selector",
            "reason=OOMKilling",
        ],
    )
    .await;
    assert!(by_reason.out().contains("node/ip-10-0-1-45"));
    let new_api = kubectl(
        &sim,
        &[
            "get",
            "events.v1.events.k8s.io",
            "-n",
            "payment",
            "--field-selector",
            "regarding.name=fraud-detector-5c7b9d6f8-vq7zl",
            "-o",
            "json",
        ],
    )
    .await
    .json();
    let items = new_api["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["note"]
            .as_str()
            .map(|n| n.starts_with("0/3 nodes are available")),
        Some(true)
    );
    assert_eq!(items[0]["regarding"]["kind"], "Pod");
}

#[tokio::test]
async fn top_pods_and_nodes() {
    let sim = start_payment().await;
    let pods = kubectl(&sim, &["top", "pods", "-n", "payment"]).await;
    let table = rows(pods.out());
    assert_eq!(table[0], ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    let crash = table.iter().find(|r| r[0] == CRASH_POD).unwrap();
    assert_eq!(&crash[1..], ["940m", "520Mi"]);
    let healthy = table
        .iter()
        .find(|r| r[0] == "payment-service-7d8f9c6b5-q9lkc")
        .unwrap();
    assert_eq!(&healthy[1..], ["410m", "431Mi"]);
    assert!(
        !table.iter().any(|r| r[0].starts_with("fraud-detector")),
        "pods without scenario metrics are not listed"
    );

    let nodes = kubectl(&sim, &["top", "nodes"]).await;
    let table = rows(nodes.out());
    let hot = table.iter().find(|r| r[0] == "ip-10-0-1-45").unwrap();
    assert_eq!(&hot[1..3], ["3420m", "87%"]);
    let warm = table.iter().find(|r| r[0] == "ip-10-0-2-78").unwrap();
    assert_eq!(warm[2], "82%");
}

#[tokio::test]
async fn api_resources_lists_short_names_and_subresource_groups() {
    let sim = start_payment().await;
    let out = kubectl(&sim, &["api-resources"]).await;
    let text = out.out();
    for (name, short) in [
        ("deployments", "deploy"),
        ("poddisruptionbudgets", "pdb"),
        ("horizontalpodautoscalers", "hpa"),
        ("networkpolicies", "netpol"),
        ("pods", "po"),
        ("nodes", "no"),
    ] {
        let row = rows(text)
            .into_iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(row[1], short, "{row:?}");
    }
    let version = kubectl(&sim, &["version", "-o", "json"]).await.json();
    assert_eq!(version["serverVersion"]["minor"], "32");
}

#[tokio::test]
async fn services_list_their_endpoints() {
    let sim = start_payment().await;
    let describe = kubectl(
        &sim,
        &["describe", "service", "payment-service", "-n", "payment"],
    )
    .await;
    let line = describe
        .out()
        .lines()
        .find(|l| l.starts_with("Endpoints:"))
        .unwrap()
        .to_owned();
    assert!(
        line.contains(":8080") && line.contains("+ 1 more"),
        "{line}"
    );
    let slices = kubectl(
        &sim,
        &[
            "get",
            "endpointslices",
            "-n",
            "payment",
            "-l",
            "kubernetes.io/service-name=postgres",
        ],
    )
    .await;
    let table = rows(slices.out());
    assert_eq!(
        table[0],
        ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    );
    assert_eq!(&table[1][1..3], ["IPv4", "5432"]);
    assert_eq!(table[1][3].split(',').count(), 3);
    // The crash-looping pod is listed, but not ready.
    let endpoints = sim
        .get("endpoints", Some("payment"), "payment-service")
        .unwrap();
    assert_eq!(
        endpoints["subsets"][0]["addresses"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        endpoints["subsets"][0]["notReadyAddresses"][0]["targetRef"]["name"],
        CRASH_POD
    );
}
