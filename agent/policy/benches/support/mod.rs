//! Policies and calls for the policy benchmarks (criterion and the latency example).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use serde_json::{Value, json};
use sopilot_policy::{Policy, Request, RunInfo, ServerTrust, Verdict, load_paths};
use sopilot_protocol::{Impact, ToolRef};

/// The shipped default policy.
pub fn default_policy() -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    load_paths(&[path]).expect("default policy loads")
}

/// A generated policy of `n` rules over 40 servers: literal tools, server globs and a few
/// rules for every tool, each with a `when` over args or impact, decisions mixed.
pub fn generated_policy(n: usize) -> Policy {
    let whens = [
        "args.replicas is defined and args.replicas > {k}",
        "impact.fraction_affected is defined and impact.fraction_affected > 0.{k}",
        "args.namespace is defined and args.namespace in ['kube-system', 'ns{k}']",
        "impact.hpa is defined and within_pct(impact.hpa.max_before, impact.hpa.max_after, {k}0)",
        "impact.pod is defined and impact.pod.restart_count >= {k}",
    ];
    let mut text = String::from("rules:\n");
    for i in 0..n {
        let server = i % 40;
        let tools = match i % 10 {
            0 if i < 50 => "\"*\"".to_owned(),
            1 | 2 => format!("\"svc{server}.*\""),
            _ => format!("svc{server}.tool_{}", i % 7),
        };
        let decision = ["allow", "escalate", "allow", "deny", "allow"][i % 5];
        let when = whens[i % whens.len()].replace("{k}", &(i % 9 + 1).to_string());
        text.push_str(&format!(
            "  - name: gen-{i}\n    tools: [{tools}]\n    when: \"{when}\"\n    decision: {decision}\n    because: generated rule {i}\n"
        ));
    }
    Policy::from_sources(&[("generated.yaml".into(), text)]).expect("generated policy loads")
}

/// One call to decide, owning what a request borrows.
pub struct Call {
    pub name: &'static str,
    pub tool: ToolRef,
    pub args: Value,
    pub impact: Option<Impact>,
    pub run: RunInfo,
}

impl Call {
    pub fn decide(&self, p: &Policy) -> Verdict {
        p.evaluate(&Request {
            tool: &self.tool,
            args: &self.args,
            impact: self.impact.as_ref(),
            resource: None,
            history: None,
            trigger: None,
            run: &self.run,
            annotations: None,
            trust: ServerTrust::Builtin,
            target: None,
        })
    }
}

fn call(name: &'static str, tool: &str, args: Value, impact: Option<Value>) -> Call {
    Call {
        name,
        tool: tool.parse().unwrap(),
        args,
        impact: impact.map(|i| serde_json::from_value(i).unwrap()),
        run: RunInfo::default(),
    }
}

/// Calls typical of an incident against the default policy.
pub fn default_calls() -> Vec<Call> {
    vec![
        call(
            "read",
            "kubectl.list_pods",
            json!({"namespace": "payment"}),
            None,
        ),
        call(
            "restart-crashloop",
            "kubectl.delete_pod",
            json!({"namespace": "payment", "name": "p-1"}),
            Some(json!({
                "action": "delete_pod", "target": {"kind": "Pod", "namespace": "payment", "name": "p-1"},
                "workload": {"kind": "Deployment", "namespace": "payment", "name": "payment-service", "replicas": 5, "ready": 4},
                "replicas_affected": 1, "fraction_affected": 0.2,
                "pod": {"restart_count": 7, "waiting_reason": "CrashLoopBackOff"}, "stateful": false, "data_loss_risk": false
            })),
        ),
        call(
            "hpa",
            "kubectl.patch_hpa",
            json!({"namespace": "payment", "name": "payment-service", "max_replicas": 14}),
            Some(
                json!({"action": "patch_hpa", "hpa": {"min_before": 2, "min_after": 2, "max_before": 10, "max_after": 14}}),
            ),
        ),
        call(
            "unknown-tool",
            "argocd.sync_app",
            json!({"app": "payment"}),
            None,
        ),
    ]
}

/// A call that several rules of the generated policy cover.
pub fn generated_call() -> Call {
    call(
        "generated",
        "svc7.tool_3",
        json!({"namespace": "ns4", "replicas": 6, "name": "x"}),
        Some(json!({
            "action": "scale", "fraction_affected": 0.3,
            "hpa": {"min_before": 2, "min_after": 2, "max_before": 10, "max_after": 13},
            "pod": {"restart_count": 3}
        })),
    )
}
