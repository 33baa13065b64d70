//! `check_network_policy`: why can (or can't) pod A reach service B?
//!
//! Follows the NetworkPolicy semantics: a pod selected by no policy of a direction accepts
//! everything in that direction; a selected pod accepts only what some rule of a selecting
//! policy admits (peers by pod selector in the policy's namespace, by namespace selector, or
//! both; ports by number or name; ipBlock peers are reported, not evaluated).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::ok_json;

use crate::args;
use crate::error::{ToolFailure, ToolResult};
use crate::lookup::{get_namespaced, get_pod};
use crate::selector::{self, labels_text};

/// One rule: its peers and ports.
type Rule = (
    Option<Vec<NetworkPolicyPeer>>,
    Option<Vec<NetworkPolicyPort>>,
);

/// An endpoint of the connection: its namespace and labels, and its namespace's labels.
struct End {
    namespace: String,
    labels: BTreeMap<String, String>,
    ns_labels: BTreeMap<String, String>,
}

async fn ns_labels(client: &kube::Client, ns: &str) -> BTreeMap<String, String> {
    let mut labels = Api::<Namespace>::all(client.clone())
        .get_opt(ns)
        .await
        .ok()
        .flatten()
        .and_then(|n| n.metadata.labels)
        .unwrap_or_default();
    // Set by the API server on every namespace since 1.21.
    labels
        .entry("kubernetes.io/metadata.name".into())
        .or_insert_with(|| ns.to_owned());
    labels
}

fn peer_matches(peer: &NetworkPolicyPeer, policy_ns: &str, other: &End) -> Option<bool> {
    if peer.ip_block.is_some() {
        return None;
    }
    let ns_ok = match &peer.namespace_selector {
        Some(sel) => selector::matches(Some(sel), &other.ns_labels),
        None => other.namespace == policy_ns,
    };
    let pod_ok = match &peer.pod_selector {
        Some(sel) => selector::matches(Some(sel), &other.labels),
        None => true,
    };
    Some(ns_ok && pod_ok)
}

fn port_matches(ports: Option<&Vec<NetworkPolicyPort>>, want: Option<&str>) -> bool {
    let (Some(ports), Some(want)) = (ports.filter(|p| !p.is_empty()), want) else {
        return true;
    };
    ports.iter().any(|p| match &p.port {
        None => true,
        Some(IntOrString::Int(n)) => want
            .parse::<i32>()
            .is_ok_and(|w| w == *n || p.end_port.is_some_and(|e| w >= *n && w <= e)),
        Some(IntOrString::String(name)) => name == want,
    })
}

fn describe_peer(p: &NetworkPolicyPeer) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &p.pod_selector {
        parts.push(format!("pods {}", selector_text(s)));
    }
    if let Some(s) = &p.namespace_selector {
        parts.push(format!("namespaces {}", selector_text(s)));
    }
    if let Some(b) = &p.ip_block {
        parts.push(format!("ipBlock {}", b.cidr));
    }
    parts.join(" in ")
}

fn selector_text(s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector) -> String {
    let q = selector::to_query(s);
    if q.is_empty() { "(all)".into() } else { q }
}

/// Evaluates one direction: policies of `policy_ns` that select `subject` with `kind`
/// (Ingress or Egress), and whether any rule admits `peer` on `port`.
fn evaluate(
    policies: &[NetworkPolicy],
    kind: &str,
    subject: &End,
    peer: &End,
    port: Option<&str>,
    out: &mut String,
) -> (bool, Vec<String>) {
    let selecting: Vec<&NetworkPolicy> = policies
        .iter()
        .filter(|p| {
            let spec = p.spec.as_ref();
            let types = spec
                .and_then(|s| s.policy_types.clone())
                .unwrap_or_else(|| {
                    let mut t = vec!["Ingress".to_owned()];
                    if spec.and_then(|s| s.egress.as_ref()).is_some() {
                        t.push("Egress".into());
                    }
                    t
                });
            types.iter().any(|t| t == kind)
                && selector::matches(
                    spec.and_then(|s| s.pod_selector.as_ref())
                        .or(Some(&Default::default())),
                    &subject.labels,
                )
        })
        .collect();
    let names: Vec<String> = selecting
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    if selecting.is_empty() {
        let _ = writeln!(
            out,
            "{kind}: no NetworkPolicy selects the {} pod, so all {} traffic is allowed",
            if kind == "Ingress" {
                "destination"
            } else {
                "source"
            },
            kind.to_lowercase()
        );
        return (true, names);
    }
    let mut allowed = false;
    for p in &selecting {
        let name = p.metadata.name.as_deref().unwrap_or("?");
        let policy_ns = p.metadata.namespace.clone().unwrap_or_default();
        let spec = p.spec.clone().unwrap_or_default();
        let rules: Vec<Rule> = if kind == "Ingress" {
            spec.ingress
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.from, r.ports))
                .collect()
        } else {
            spec.egress
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.to, r.ports))
                .collect()
        };
        let _ = writeln!(
            out,
            "{kind}: policy {policy_ns}/{name} selects the {} pod ({} rule(s))",
            if kind == "Ingress" {
                "destination"
            } else {
                "source"
            },
            rules.len()
        );
        if rules.is_empty() {
            let _ = writeln!(
                out,
                "  no rules: denies all {} traffic",
                kind.to_lowercase()
            );
        }
        for (i, (peers, ports)) in rules.iter().enumerate() {
            let port_ok = port_matches(ports.as_ref(), port);
            let peers = peers.clone().unwrap_or_default();
            let (peer_ok, desc) = if peers.is_empty() {
                (true, "any peer".to_owned())
            } else {
                let results: Vec<Option<bool>> = peers
                    .iter()
                    .map(|pe| peer_matches(pe, &policy_ns, peer))
                    .collect();
                (
                    results.contains(&Some(true)),
                    peers
                        .iter()
                        .map(describe_peer)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            };
            let verdict = if peer_ok && port_ok {
                "ADMITS"
            } else {
                "does not admit"
            };
            let _ = writeln!(
                out,
                "  rule {}: {desc}{}: {verdict} the {}",
                i + 1,
                if port_ok {
                    ""
                } else {
                    " (port does not match)"
                },
                if kind == "Ingress" {
                    "source"
                } else {
                    "destination"
                }
            );
            allowed |= peer_ok && port_ok;
        }
    }
    (allowed, names)
}

/// `check_network_policy`
pub async fn check_network_policy(
    client: &kube::Client,
    a: args::CheckNetworkPolicy,
) -> ToolResult<CallToolResult> {
    let src_pod = get_pod(client, &a.source_namespace, &a.source_pod).await?;
    let dst_ns = a
        .destination_namespace
        .clone()
        .unwrap_or_else(|| a.source_namespace.clone());
    let dst_labels: BTreeMap<String, String> = match (&a.destination_service, &a.destination_pod) {
        (Some(svc), _) => {
            let s: Service = get_namespaced(
                client,
                "service",
                &dst_ns,
                svc,
                "list them with get_resource {kind: Service}",
            )
            .await?;
            let sel = s.spec.and_then(|sp| sp.selector).unwrap_or_default();
            if sel.is_empty() {
                return Err(ToolFailure::BadArgument(format!(
                    "service {svc} has no selector; name the destination pod instead"
                )));
            }
            // Policies match pod labels; use a real backing pod when there is one.
            let q = sel
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            Api::<Pod>::namespaced(client.clone(), &dst_ns)
                .list(&ListParams::default().labels(&q))
                .await?
                .items
                .into_iter()
                .next()
                .and_then(|p| p.metadata.labels)
                .unwrap_or(sel)
        }
        (None, Some(pod)) => get_pod(client, &dst_ns, pod)
            .await?
            .metadata
            .labels
            .unwrap_or_default(),
        (None, None) => {
            return Err(ToolFailure::BadArgument(
                "give destination_service or destination_pod".into(),
            ));
        }
    };
    let src = End {
        namespace: a.source_namespace.clone(),
        labels: src_pod.metadata.labels.clone().unwrap_or_default(),
        ns_labels: ns_labels(client, &a.source_namespace).await,
    };
    let dst = End {
        namespace: dst_ns.clone(),
        labels: dst_labels,
        ns_labels: ns_labels(client, &dst_ns).await,
    };
    let port = a.port.as_deref();
    let mut out = format!(
        "source {}/{} labels {}\ndestination {} labels {}{}\n",
        src.namespace,
        a.source_pod,
        labels_text(&src.labels),
        a.destination_service.as_ref().map_or_else(
            || format!(
                "pod {dst_ns}/{}",
                a.destination_pod.as_deref().unwrap_or("?")
            ),
            |s| format!("service {dst_ns}/{s}")
        ),
        labels_text(&dst.labels),
        port.map(|p| format!(" port {p}")).unwrap_or_default()
    );
    let dst_policies = Api::<NetworkPolicy>::namespaced(client.clone(), &dst_ns)
        .list(&ListParams::default())
        .await?
        .items;
    let src_policies = Api::<NetworkPolicy>::namespaced(client.clone(), &src.namespace)
        .list(&ListParams::default())
        .await?
        .items;
    let (ingress_ok, ingress_policies) =
        evaluate(&dst_policies, "Ingress", &dst, &src, port, &mut out);
    let (egress_ok, egress_policies) =
        evaluate(&src_policies, "Egress", &src, &dst, port, &mut out);
    let verdict = match (ingress_ok, egress_ok) {
        (true, true) => "ALLOWED: NetworkPolicies admit this connection (if it still fails, look at DNS, the Service's endpoints, security groups or the application)".to_owned(),
        (false, _) => format!(
            "BLOCKED by ingress policy {}: no rule admits a pod with labels {} from namespace {}. Fix: add the source's labels to an ingress rule (a NetworkPolicy change, which needs a human)",
            ingress_policies.join(", "),
            labels_text(&src.labels),
            src.namespace
        ),
        (true, false) => format!("BLOCKED by egress policy {} of the source namespace", egress_policies.join(", ")),
    };
    let _ = writeln!(out, "{verdict}");
    Ok(ok_json(
        out,
        &json!({
            "allowed": ingress_ok && egress_ok,
            "ingress": {"allowed": ingress_ok, "policies": ingress_policies},
            "egress": {"allowed": egress_ok, "policies": egress_policies},
        }),
    ))
}
