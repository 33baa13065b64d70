//! Properties of the gate that must hold for every policy and every call.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use proptest::prelude::*;
use serde_json::{Value, json};
use sopilot_policy::{Policy, Request, RunInfo, ServerTrust, ToolAnnotations, Verdict};
use sopilot_protocol::{Decision, Impact, Resource, ToolRef};

fn default_text() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies/default.yaml");
    std::fs::read_to_string(path).unwrap()
}

const TOOLS: [&str; 9] = [
    "kubectl.get_resource",
    "kubectl.delete_pod",
    "kubectl.scale",
    "kubectl.list_pods",
    "kubectl.patch_hpa",
    "cloudwatch.get_metric_data",
    "foreign.read_thing",
    "vault.get_secret",
    "k.scale",
];
const GLOBS: [&str; 7] = [
    "*",
    "kubectl.*",
    "kubectl.delete_pod",
    "*.scale",
    "k.*",
    "foreign.*",
    "*.get_*",
];
const WHENS: [&str; 9] = [
    "",
    "true",
    "false",
    "args.replicas is defined and args.replicas > 3",
    "impact.pod.restart_count >= 5",
    "args.nope.deeper == 1",
    "args.kind is defined and args.kind == 'Secret'",
    "annotations.read_only",
    "run.unattended",
];

#[derive(Debug, Clone)]
struct GenRule {
    glob: usize,
    when: usize,
    decision: Decision,
}

fn rule_yaml(i: usize, r: &GenRule) -> String {
    let mut s = format!(
        "  - name: gen-{i}\n    tools: [\"{}\"]\n    decision: {}\n    because: generated\n",
        GLOBS[r.glob], r.decision
    );
    if !WHENS[r.when].is_empty() {
        s.push_str(&format!("    when: \"{}\"\n", WHENS[r.when]));
    }
    s
}

fn policy_of(rules: &[GenRule]) -> Option<Policy> {
    let mut text = String::from("rules:\n");
    for (i, r) in rules.iter().enumerate() {
        text.push_str(&rule_yaml(i, r));
    }
    Policy::from_sources(&[("gen.yaml".into(), text)]).ok()
}

fn gen_rule() -> impl Strategy<Value = GenRule> {
    (
        0..GLOBS.len(),
        0..WHENS.len(),
        prop::sample::select(Decision::ALL.to_vec()),
    )
        .prop_map(|(glob, when, decision)| GenRule {
            glob,
            when,
            decision,
        })
}

#[derive(Debug, Clone)]
struct GenCall {
    tool: ToolRef,
    args: Value,
    impact: Option<Impact>,
    run: RunInfo,
    trust: ServerTrust,
    read_only: bool,
    /// What the gate's resolution said the kind is.
    resource: Option<Resource>,
}

impl GenCall {
    fn decide(&self, p: &Policy) -> Verdict {
        let ann = ToolAnnotations {
            read_only: Some(self.read_only),
            ..ToolAnnotations::default()
        };
        p.evaluate(&Request {
            tool: &self.tool,
            args: &self.args,
            impact: self.impact.as_ref(),
            resource: self.resource.as_ref(),
            history: None,
            trigger: None,
            run: &self.run,
            annotations: Some(&ann),
            trust: self.trust,
            target: None,
        })
    }
}

fn secret_spelling() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "secret",
            "secrets",
            "v1/secret",
            "secrets.v1",
            "core/v1/secrets",
            // Spellings the cluster's discovery resolved to core secrets in the review.
            "secret.v1/x",
            "secrets.core/v1",
            "secret./",
            "secrets.v1.",
            // A spelling only discovery can tell: the resolved resource decides.
            "mysecretalias",
        ]),
        any::<u32>(),
        0..3usize,
    )
        .prop_map(|(base, case_bits, pad)| {
            let cased: String = base
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case_bits >> (i % 32) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            format!("{}{cased}{}", " ".repeat(pad), " ".repeat(pad))
        })
}

fn gen_call(secret: bool) -> impl Strategy<Value = GenCall> {
    let kind = if secret {
        secret_spelling().prop_map(Some).boxed()
    } else {
        prop::option::of(prop::sample::select(vec![
            "Pod".to_owned(),
            "Deployment".to_owned(),
            "ConfigMap".to_owned(),
        ]))
        .boxed()
    };
    (
        prop::sample::select(TOOLS.to_vec()),
        kind,
        prop::option::of(0i64..200),
        prop::option::of(0i64..12),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec!["kind", "resource", "resources"]),
    )
        .prop_map(|(tool, kind, replicas, restarts, unattended, builtin, read_only, key)| {
            let mut args = json!({"namespace": "payment"});
            if let Some(k) = kind {
                let v = if key == "resources" { json!([k]) } else { json!(k) };
                args[key] = v;
            }
            if let Some(r) = replicas {
                args["replicas"] = json!(r);
            }
            let impact = restarts.map(|n| {
                serde_json::from_value(json!({"action": "x", "pod": {"restart_count": n, "waiting_reason": "CrashLoopBackOff"}}))
                    .unwrap()
            });
            let alias = args.to_string().to_ascii_lowercase().contains("mysecretalias");
            GenCall {
                tool: tool.parse().unwrap(),
                resource: alias.then(|| Resource {
                    group: String::new(),
                    version: "v1".into(),
                    kind: "Secret".into(),
                    plural: "secrets".into(),
                    namespaced: true,
                }),
                args,
                impact,
                run: RunInfo { unattended, ..RunInfo::default() },
                trust: if builtin { ServerTrust::Builtin } else { ServerTrust::Foreign },
                read_only,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever rules are added to the default policy, a call that targets a Secret is never
    /// allowed.
    #[test]
    fn no_secret_call_is_ever_allowed(extra in prop::collection::vec(gen_rule(), 0..6), call in gen_call(true)) {
        let mut text = default_text();
        for (i, r) in extra.iter().enumerate() {
            text.push_str(&rule_yaml(i, r));
        }
        let Ok(policy) = Policy::from_sources(&[("p.yaml".into(), text)]) else {
            return Ok(());
        };
        let v = call.decide(&policy);
        prop_assert_ne!(v.decision, Decision::Allow, "{}", v.reason);
    }

    /// Adding a rule never relaxes a decision that a rule made, and adding a deny or escalate
    /// rule never relaxes any decision (a decision made by no rule is escalate, which an added
    /// allow rule may relax: that is what allow rules are for).
    #[test]
    fn adding_a_rule_never_relaxes(rules in prop::collection::vec(gen_rule(), 0..6), added in gen_rule(), call in gen_call(false)) {
        let Some(before) = policy_of(&rules) else { return Ok(()); };
        let mut more = rules.clone();
        more.push(added.clone());
        let Some(after) = policy_of(&more) else { return Ok(()); };
        let (b, a) = (call.decide(&before), call.decide(&after));
        if !b.matched.is_empty() || added.decision != Decision::Allow {
            prop_assert!(a.decision >= b.decision, "before {} ({}) after {} ({})", b.decision, b.reason, a.decision, a.reason);
        }
    }

    /// The same call always gets the same verdict, from the same or a reloaded policy.
    #[test]
    fn evaluation_is_deterministic(rules in prop::collection::vec(gen_rule(), 0..8), call in gen_call(false)) {
        let Some(p1) = policy_of(&rules) else { return Ok(()); };
        let p2 = policy_of(&rules).unwrap();
        let v = call.decide(&p1);
        prop_assert_eq!(&v, &call.decide(&p1));
        prop_assert_eq!(&v, &call.decide(&p2));
    }

    /// Unattended never yields escalate.
    #[test]
    fn unattended_never_escalates(rules in prop::collection::vec(gen_rule(), 0..6), mut call in gen_call(false)) {
        let Some(p) = policy_of(&rules) else { return Ok(()); };
        call.run.unattended = true;
        prop_assert_ne!(call.decide(&p).decision, Decision::Escalate);
    }

    /// The loader never panics, on random text or on mutations of the default policy.
    #[test]
    fn loader_never_panics_on_random_text(text in "\\PC{0,300}") {
        let _ = Policy::from_sources(&[("r.yaml".into(), text)]);
    }

    #[test]
    fn loader_never_panics_on_mutated_policies(edits in prop::collection::vec((any::<prop::sample::Index>(), 0..4usize, "[-:\\[\\]{}'\" \\n#a-z0-9.*%|>]{0,6}"), 1..6)) {
        let mut text = default_text().into_bytes();
        for (at, del, insert) in edits {
            let i = at.index(text.len().max(1)).min(text.len());
            let end = (i + del).min(text.len());
            text.splice(i..end, insert.bytes());
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        if let Ok(p) = Policy::from_sources(&[("m.yaml".into(), text)]) {
            // Whatever loaded still decides, and still protects Secrets.
            let tool: ToolRef = "kubectl.get_resource".parse().unwrap();
            let args = json!({"kind": "Secret"});
            let run = RunInfo::default();
            let v = p.evaluate(&Request { tool: &tool, args: &args, impact: None, resource: None, history: None, trigger: None, run: &run, annotations: None, trust: ServerTrust::Builtin, target: None });
            prop_assert_eq!(v.decision, Decision::Deny);
        }
    }
}
