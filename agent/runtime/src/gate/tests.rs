//! The gate's stages against an in-process fake MCP server: one test per fail-closed
//! branch, and the paths that must still work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, InitializeResult,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use sopilot_policy::Policy;
use sopilot_protocol::{ApprovalState, CallOrigin, Decision, ToolRef};

use super::*;
use crate::approval::{Answer, ApprovalRecord, Approver};
use crate::events::EventLog;
use crate::gateway::Gateway;
use crate::store::Store;

// ------------------------------------------------------------------ the fake server

/// What the fake server answers and what it saw.
#[derive(Debug, Default)]
struct Fake {
    /// Structured replies of successive dry runs of `patch_hpa` (the last one repeats).
    dry: VecDeque<Value>,
    /// `resolve_resource` answers: spelling → resource JSON (absent: an error).
    resolve: Vec<(String, Value)>,
    /// Calls made for real (not dry runs), with their arguments.
    executed: Vec<(String, Value)>,
    dry_runs: usize,
    /// The store, to check that a call's audit row is on disk when it arrives.
    store: Option<Arc<Store>>,
    /// Whether the audit said "executed" when the real call arrived.
    audited_before: Vec<bool>,
}

#[derive(Debug, Clone)]
struct FakeServer(Arc<Mutex<Fake>>);

fn tool(name: &str, read_only: bool, dry_runnable: bool) -> Tool {
    let mut props = json!({"namespace": {"type": "string"}, "name": {"type": "string"},
                           "kind": {"type": "string"}, "max_replicas": {"type": "integer"},
                           "to_revision": {"type": "integer"}});
    if dry_runnable {
        props["dry_run"] = json!({"type": "boolean"});
    }
    let schema = json!({"type": "object", "properties": props});
    let Value::Object(schema) = schema else {
        unreachable!()
    };
    Tool::new(name.to_owned(), format!("fake {name}"), Arc::new(schema))
        .with_annotations(ToolAnnotations::new().read_only(read_only))
}

fn text(t: &str) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(t)])
}

fn structured(t: &str, v: Value) -> CallToolResult {
    let mut r = text(t);
    r.structured_content = Some(v);
    r
}

impl FakeServer {
    fn answer(&self, name: &str, args: Value) -> CallToolResult {
        let mut f = self.0.lock().unwrap();
        let dry = args.get("dry_run") == Some(&Value::Bool(true));
        match (name, dry) {
            ("resolve_resource", _) => {
                let kind = args["kind"].as_str().unwrap_or_default().to_owned();
                match f.resolve.iter().find(|(k, _)| *k == kind) {
                    Some((_, r)) => structured("resolved", json!({"resource": r})),
                    None => CallToolResult::error(vec![ContentBlock::text(format!(
                        "unknown kind {kind:?}"
                    ))]),
                }
            }
            ("patch_hpa" | "noconfirm" | "drain", true) => {
                f.dry_runs += 1;
                let reply = if f.dry.len() > 1 {
                    f.dry.pop_front()
                } else {
                    f.dry.front().cloned()
                };
                match reply {
                    Some(Value::String(e)) => CallToolResult::error(vec![ContentBlock::text(e)]),
                    Some(mut v) => {
                        // The impact names the object the call names.
                        if let (Some(name), Some(t)) =
                            (args.get("name"), v.pointer_mut("/impact/target/name"))
                        {
                            *t = name.clone();
                        }
                        structured("dry run", v)
                    }
                    None => CallToolResult::error(vec![ContentBlock::text("no dry run")]),
                }
            }
            _ => {
                if let Some(store) = &f.store {
                    let runs = store.runs(1).unwrap();
                    let (_, _, calls) = store.run(&runs[0].id).unwrap();
                    let audited = calls.iter().any(|c| c.tool.ends_with(name) && c.executed);
                    f.audited_before.push(audited);
                }
                f.executed.push((name.to_owned(), args));
                text("pods: web-1 Running. creds AKIAIOSFODNN7EXAMPLE")
            }
        }
    }
}

impl ServerHandler for FakeServer {
    fn get_info(&self) -> ServerConfig {
        InitializeResult::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(vec![
            tool("list_pods", true, false),
            tool("get_resource", true, false),
            tool("resolve_resource", true, false),
            tool("patch_hpa", false, true),
            tool("noconfirm", false, true),
            tool("drain", false, true),
            tool("act", false, false),
        ]))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let args = Value::Object(request.arguments.unwrap_or_default());
        // A dry-run reply `{"protocol_error": MESSAGE}`: the server fails the request itself,
        // with a message of its own choosing.
        if args.get("dry_run") == Some(&Value::Bool(true)) {
            let f = self.0.lock().unwrap();
            if let Some(m) = f.dry.front().and_then(|v| v.get("protocol_error")) {
                return Err(McpError::internal_error(
                    m.as_str().unwrap_or_default().to_owned(),
                    None,
                ));
            }
        }
        Ok(CallToolResponse::Complete(self.answer(&request.name, args)))
    }
}

// ------------------------------------------------------------------ the harness

/// Answers approvals from a list (the last answer repeats; `None`: nobody answers).
#[derive(Debug)]
struct Approvals {
    answers: Mutex<VecDeque<Option<ApprovalState>>>,
    asked: Mutex<Vec<ApprovalRecord>>,
    reachable: bool,
}

#[async_trait::async_trait]
impl Approver for Approvals {
    async fn ask(&self, record: &ApprovalRecord) -> Option<Answer> {
        self.asked.lock().unwrap().push(record.clone());
        let answer = {
            let mut a = self.answers.lock().unwrap();
            if a.len() > 1 {
                a.pop_front().flatten()
            } else {
                a.front().copied().flatten()
            }
        };
        match answer {
            Some(state) => Some(Answer {
                state,
                by: "alice".into(),
                channel: "test".into(),
            }),
            None => std::future::pending().await,
        }
    }

    fn reachable(&self) -> bool {
        self.reachable
    }
}

const POLICY: &str = r#"
rules:
  - name: reads
    tools: [kubectl.list_pods, kubectl.get_resource, kubectl.resolve_resource]
    decision: allow
    because: reading
  - name: hpa-small
    tools: [kubectl.patch_hpa]
    when: within_pct(history.hpa_baseline.max, impact.hpa.max_after, 50)
    decision: allow
    because: small
  - name: hpa-big
    tools: [kubectl.patch_hpa]
    when: not within_pct(history.hpa_baseline.max, impact.hpa.max_after, 50)
    decision: escalate
    because: big
  - name: hpa-twice
    tools: [kubectl.patch_hpa]
    when: history.changes_this_run + history.changes_other_runs >= 2
    decision: escalate
    because: twice in the window
  - name: hpa-absurd
    tools: [kubectl.patch_hpa]
    when: impact.hpa.max_after > 1000
    decision: deny
    because: absurd
  - name: second-node
    tools: [kubectl.drain]
    when: history.other_nodes_disrupted >= 1
    decision: escalate
    because: another node is out already
  - name: acting
    tools: [other.act, kubectl.noconfirm, kubectl.act, kubectl.drain]
    decision: allow
    because: allowed in tests
"#;

struct Harness {
    gate: Gate,
    fake: Arc<Mutex<Fake>>,
    approvals: Arc<Approvals>,
    log: EventLog,
    store: Arc<Store>,
}

async fn connect(server: FakeServer) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let (client_io, server_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        if let Ok(s) = server.serve(server_io).await {
            let _ = s.waiting().await;
        }
    });
    ().serve(client_io).await.unwrap()
}

impl Harness {
    async fn new(answers: Vec<Option<ApprovalState>>, reachable: bool) -> Harness {
        let fake = Arc::new(Mutex::new(Fake::default()));
        let builtin = connect(FakeServer(fake.clone())).await;
        let foreign = connect(FakeServer(fake.clone())).await;
        let (gateway, failures) = Gateway::from_services(vec![
            ("kubectl".into(), true, builtin),
            ("other".into(), false, foreign),
        ])
        .await;
        assert!(failures.is_empty(), "{failures:?}");
        let store = Arc::new(Store::in_memory().unwrap());
        store
            .create_run("run-1", "test", &json!({}), &json!({}), "none")
            .unwrap();
        let approvals = Arc::new(Approvals {
            answers: Mutex::new(answers.into()),
            asked: Mutex::new(Vec::new()),
            reachable,
        });
        let policy = Policy::from_sources(&[("p.yaml".into(), POLICY.into())]).unwrap();
        Harness {
            gate: Gate::single(
                Arc::new(gateway),
                Arc::new(policy),
                approvals.clone(),
                Duration::from_secs(5),
            ),
            fake,
            approvals,
            log: EventLog::new("run-1", store.clone(), None),
            store,
        }
    }

    fn scope(&self) -> CallScope {
        CallScope {
            sop: Some("test".into()),
            trigger: None,
            dry_run: false,
            offered: ["kubectl.list_pods", "kubectl.patch_hpa"]
                .iter()
                .map(|t| t.parse::<ToolRef>().unwrap())
                .collect::<BTreeSet<_>>(),
            target: None,
            done_before: Vec::new(),
        }
    }

    async fn call(&self, name: &str, args: Value) -> GateOutcome {
        self.call_as(name, args, CallOrigin::ToolBlock).await
    }

    async fn call_as(&self, name: &str, args: Value, origin: CallOrigin) -> GateOutcome {
        let id = format!("c{}", self.log.next_call_seq());
        self.gate
            .handle(&self.log, &self.scope(), &id, name, args, origin)
            .await
            .unwrap()
    }

    fn dry(&self, replies: Vec<Value>) {
        self.fake.lock().unwrap().dry = replies.into();
    }

    fn executed(&self) -> Vec<(String, Value)> {
        self.fake.lock().unwrap().executed.clone()
    }

    fn asked(&self) -> Vec<ApprovalRecord> {
        self.approvals.asked.lock().unwrap().clone()
    }
}

fn hpa(max_before: i64, max_after: i64) -> Value {
    json!({"dry_run": true, "executed": false, "impact": {
        "action": "patch_hpa",
        "target": {"kind": "HorizontalPodAutoscaler", "namespace": "payment", "name": "web"},
        "hpa": {"min_before": 2, "min_after": 2, "max_before": max_before, "max_after": max_after}}})
}

fn patch(max: i64) -> Value {
    json!({"namespace": "payment", "name": "web", "max_replicas": max})
}

fn refused(o: &GateOutcome, rule: &str) {
    assert_eq!(o.decision, Some(Decision::Deny), "{o:#?}");
    assert_eq!(o.rules, vec![rule.to_owned()], "{o:#?}");
    assert!(!o.executed, "{o:#?}");
}

// ------------------------------------------------------------------ stage 1: resolve

#[tokio::test]
async fn a_name_that_is_not_a_tool_is_refused() {
    let h = Harness::new(vec![], true).await;
    let o = h.call("delete everything", json!({})).await;
    refused(&o, NOT_OFFERED);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_tool_no_server_offers_is_refused() {
    let h = Harness::new(vec![], true).await;
    let o = h
        .call("kubectl__delete_namespace", json!({"name": "payment"}))
        .await;
    refused(&o, NOT_OFFERED);
    assert!(o.reason.contains("no connected MCP server"), "{}", o.reason);
}

#[tokio::test]
async fn a_tool_not_offered_to_the_sop_is_refused_to_the_model() {
    let h = Harness::new(vec![], true).await;
    let o = h
        .call_as(
            "kubectl__get_resource",
            json!({"kind": "Pod"}),
            CallOrigin::Model,
        )
        .await;
    refused(&o, NOT_OFFERED);
    assert!(o.reason.contains("not offered"), "{}", o.reason);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn arguments_that_are_not_an_object_are_refused() {
    let h = Harness::new(vec![], true).await;
    let o = h.call("kubectl.list_pods", json!("all of them")).await;
    refused(&o, NOT_OFFERED);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn dry_run_to_a_tool_that_cannot_dry_run_is_refused() {
    // A foreign server (or any tool without `dry_run` in its schema) would ignore the flag
    // and act for real.
    let h = Harness::new(vec![], true).await;
    for name in ["other.act", "kubectl.act"] {
        let o = h.call(name, json!({"dry_run": true})).await;
        refused(&o, resolve::NO_DRY_RUN);
    }
    let o = h.call("other.act", json!({"dry_run": "yes"})).await;
    refused(&o, resolve::NO_DRY_RUN);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_kind_that_does_not_resolve_is_refused() {
    let h = Harness::new(vec![], true).await;
    let o = h
        .call("kubectl.get_resource", json!({"kind": "Secret.v1/x"}))
        .await;
    refused(&o, resolve::UNRESOLVED_KIND);
    assert!(o.reason.contains("Secret.v1/x"), "{}", o.reason);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_kind_resolving_to_secrets_is_denied_whatever_it_is_called() {
    let h = Harness::new(vec![], true).await;
    h.fake.lock().unwrap().resolve.push((
        "credentialz".into(),
        json!({"group": "", "version": "v1", "kind": "Secret", "plural": "secrets", "namespaced": true}),
    ));
    let o = h
        .call(
            "kubectl.get_resource",
            json!({"kind": "credentialz", "name": "db"}),
        )
        .await;
    assert_eq!(o.decision, Some(Decision::Deny), "{o:#?}");
    assert!(
        o.rules.contains(&"builtin:secret-data".to_owned()),
        "{o:#?}"
    );
    assert!(h.executed().is_empty(), "the Secret was read");
}

#[tokio::test]
async fn a_resolved_kind_is_pinned_to_what_the_policy_saw() {
    let h = Harness::new(vec![], true).await;
    h.fake.lock().unwrap().resolve.push((
        "deploy".into(),
        json!({"group": "apps", "version": "v1", "kind": "Deployment", "plural": "deployments", "namespaced": true}),
    ));
    let o = h
        .call("kubectl.get_resource", json!({"kind": "deploy"}))
        .await;
    assert!(o.executed && o.ok, "{o:#?}");
    assert_eq!(o.args["kind"], "deployments.v1.apps");
    assert_eq!(h.executed()[0].1["kind"], "deployments.v1.apps");
}

// ------------------------------------------------------------------ stage 2: assess

#[tokio::test]
async fn a_failing_dry_run_executes_nothing() {
    let h = Harness::new(vec![], true).await;
    h.dry(vec![json!("the HPA does not exist")]);
    let o = h.call("kubectl.patch_hpa", patch(12)).await;
    assert!(!o.executed && o.decision.is_none(), "{o:#?}");
    assert!(o.text.contains("does not exist"), "{}", o.text);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_dry_run_that_does_not_confirm_it_executed_nothing_stops_the_call() {
    let h = Harness::new(vec![], true).await;
    // The impact is fine, but the reply does not say `executed: false`.
    let mut reply = hpa(10, 12);
    reply.as_object_mut().unwrap().remove("executed");
    h.dry(vec![reply]);
    let o = h.call("kubectl.noconfirm", patch(12)).await;
    assert!(o.executed, "the audit must say it may have acted: {o:#?}");
    assert!(!o.ok && o.text.contains("did not confirm"), "{}", o.text);
    assert!(
        h.executed().is_empty(),
        "nothing beyond the dry run was sent"
    );
}

#[tokio::test]
async fn a_malformed_impact_is_never_allowed() {
    for (impact, problem) in [
        (json!({"action": 3}), "malformed"),
        (json!({"action": "patch_hpa"}), "no target"),
        (Value::Null, "malformed"),
    ] {
        let h = Harness::new(vec![Some(ApprovalState::Denied)], true).await;
        // An allow rule would match the call (`acting`), but the impact is unusable.
        h.dry(vec![
            json!({"dry_run": true, "executed": false, "impact": impact}),
        ]);
        let o = h.call("kubectl.noconfirm", patch(12)).await;
        assert_eq!(o.decision, Some(Decision::Escalate), "{o:#?}");
        assert!(o.rules.contains(&IMPACT_UNKNOWN.to_owned()), "{o:#?}");
        assert!(o.reason.contains(problem), "{}", o.reason);
        assert!(!o.executed);
        assert!(h.executed().is_empty());
    }
    // Unattended, it is denied.
    let h = Harness::new(vec![], false).await;
    h.dry(vec![json!({"dry_run": true, "executed": false})]);
    let o = h.call("kubectl.noconfirm", patch(12)).await;
    assert_eq!(o.decision, Some(Decision::Deny), "{o:#?}");
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_pin_that_contradicts_the_arguments_stops_the_call() {
    let h = Harness::new(vec![], true).await;
    let mut reply = hpa(10, 12);
    reply["pin"] = json!({"to_revision": 3});
    h.dry(vec![reply]);
    let mut args = patch(12);
    args["to_revision"] = json!(4);
    let o = h.call("kubectl.patch_hpa", args).await;
    assert!(!o.executed, "{o:#?}");
    assert!(o.text.contains("to_revision"), "{}", o.text);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_relative_call_is_pinned_to_what_its_dry_run_assessed() {
    let h = Harness::new(vec![Some(ApprovalState::Approved)], true).await;
    let mut reply = hpa(10, 30);
    reply["pin"] = json!({"to_revision": 3});
    h.dry(vec![reply]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    assert!(o.executed, "{o:#?}");
    assert_eq!(
        h.asked()[0].args["to_revision"],
        3,
        "the approval binds the pin"
    );
    assert_eq!(h.executed()[0].1["to_revision"], 3);
}

// ------------------------------------------------------------------ stage 3: decide

#[tokio::test]
async fn a_denied_call_executes_nothing() {
    let h = Harness::new(vec![], true).await;
    h.dry(vec![hpa(10, 5000)]);
    let o = h.call("kubectl.patch_hpa", patch(5000)).await;
    assert_eq!(o.decision, Some(Decision::Deny));
    assert!(o.text.starts_with("DENIED"), "{}", o.text);
    assert!(h.executed().is_empty() && h.asked().is_empty());
}

#[tokio::test]
async fn cumulative_history_stops_a_ratchet() {
    // 10 -> 15 is +50 %: allowed. 15 -> 22 is +47 % on its own, +120 % from where the HPA
    // stood an hour ago: escalated (and denied by nobody answering... here: denied).
    let h = Harness::new(vec![Some(ApprovalState::Denied)], true).await;
    h.dry(vec![hpa(10, 15)]);
    let o = h.call("kubectl.patch_hpa", patch(15)).await;
    assert!(o.executed, "{o:#?}");
    h.dry(vec![hpa(15, 22)]);
    let o = h.call("kubectl.patch_hpa", patch(22)).await;
    assert_eq!(o.decision, Some(Decision::Escalate), "{o:#?}");
    assert_eq!(o.rules, vec!["hpa-big".to_owned()]);
    assert_eq!(h.executed().len(), 1, "only the first step ran");
    // Another run sees the same history.
    h.store
        .create_run("run-2", "test", &json!({}), &json!({}), "none")
        .unwrap();
    let log2 = EventLog::new("run-2", h.store.clone(), None);
    h.dry(vec![hpa(15, 20)]);
    let o = h
        .gate
        .handle(
            &log2,
            &h.scope(),
            "x1",
            "kubectl.patch_hpa",
            patch(20),
            CallOrigin::ToolBlock,
        )
        .await
        .unwrap();
    assert_eq!(o.decision, Some(Decision::Escalate), "{o:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_cannot_all_pass_a_cumulative_limit() {
    // Four calls at once on one HPA, each allowed on its own; at most two changes per
    // window. Each decision must see the changes executed before it: over many HPAs, never
    // a third.
    let h = Arc::new(Harness::new(vec![Some(ApprovalState::Denied)], true).await);
    h.dry(vec![hpa(10, 12)]);
    for round in 0..25 {
        let name = format!("web-{round}");
        let calls = (0..4).map(|i| {
            let gate = h.gate.clone();
            let log = h.log.clone();
            let scope = h.scope();
            let args = json!({"namespace": "payment", "name": name, "max_replicas": 12});
            tokio::spawn(async move {
                gate.handle(
                    &log,
                    &scope,
                    &format!("p{round}-{i}"),
                    "kubectl.patch_hpa",
                    args,
                    CallOrigin::ToolBlock,
                )
                .await
                .unwrap()
            })
        });
        let outcomes: Vec<GateOutcome> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let executed = outcomes.iter().filter(|o| o.executed).count();
        assert_eq!(executed, 2, "round {round}: {outcomes:#?}");
        assert!(
            outcomes
                .iter()
                .filter(|o| !o.executed)
                .all(|o| o.rules.contains(&"hpa-twice".to_owned()))
        );
    }
}

#[tokio::test]
async fn a_second_node_taken_out_is_counted_across_nodes() {
    let h = Harness::new(vec![Some(ApprovalState::Denied)], true).await;
    h.dry(vec![json!({"dry_run": true, "executed": false, "impact": {
        "action": "drain", "target": {"kind": "Node", "name": "n1"},
        "node": {"name": "n1", "conditions": ["MemoryPressure"]}}})]);
    let o = h.call("kubectl.drain", json!({"name": "n1"})).await;
    assert!(o.executed, "{o:#?}");
    let o = h.call("kubectl.drain", json!({"name": "n1"})).await;
    assert!(
        o.executed,
        "the same node again is not another node: {o:#?}"
    );
    let o = h.call("kubectl.drain", json!({"name": "n2"})).await;
    assert_eq!(o.decision, Some(Decision::Escalate), "{o:#?}");
    assert!(o.rules.contains(&"second-node".to_owned()));
    assert_eq!(h.executed().len(), 2);
}

#[tokio::test]
async fn an_escalation_in_a_dry_run_run_is_not_asked() {
    let h = Harness::new(vec![Some(ApprovalState::Approved)], true).await;
    h.dry(vec![hpa(10, 30)]);
    let scope = CallScope {
        dry_run: true,
        ..h.scope()
    };
    let o = h
        .gate
        .handle(
            &h.log,
            &scope,
            "d1",
            "kubectl.patch_hpa",
            patch(30),
            CallOrigin::ToolBlock,
        )
        .await
        .unwrap();
    assert_eq!(o.decision, Some(Decision::Escalate));
    assert!(h.asked().is_empty() && h.executed().is_empty());
}

// ------------------------------------------------------------------ stages 4-5: approve, re-check

#[tokio::test]
async fn a_denied_or_unanswered_approval_executes_nothing() {
    let h = Harness::new(vec![Some(ApprovalState::Denied)], true).await;
    h.dry(vec![hpa(10, 30)]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    assert!(!o.executed && o.text.contains("denied"), "{o:#?}");

    let mut h = Harness::new(vec![None], true).await;
    h.gate.approval_timeout = Duration::from_millis(200);
    h.dry(vec![hpa(10, 30)]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    assert!(!o.executed && o.text.contains("nobody approved"), "{o:#?}");
    let records = h.store.approvals(None).unwrap();
    assert_eq!(records[0].state, ApprovalState::Expired);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn an_approved_call_executes_when_what_it_does_is_unchanged() {
    let h = Harness::new(vec![Some(ApprovalState::Approved)], true).await;
    h.dry(vec![hpa(10, 30)]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    assert!(o.executed && o.ok, "{o:#?}");
    let asked = h.asked();
    assert_eq!(asked.len(), 1);
    assert!(asked[0].impact_digest.is_some());
    assert_eq!(asked[0].decision_path, vec!["escalate", "hpa-big"]);
    assert_eq!(
        h.fake.lock().unwrap().dry_runs,
        2,
        "dry-run again after approval"
    );
}

#[tokio::test]
async fn a_changed_impact_after_approval_is_escalated_again_with_the_difference() {
    // The approver saw 10 -> 30; by the time it was approved the HPA stood at 20, so the
    // same call would take it 20 -> 30. Asked again, with the difference.
    let h = Harness::new(vec![Some(ApprovalState::Approved)], true).await;
    h.dry(vec![hpa(10, 30), hpa(20, 30)]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    let asked = h.asked();
    assert_eq!(asked.len(), 2, "{o:#?}");
    assert!(
        asked[1].reason.contains("impact.hpa.max_before: 10 → 20"),
        "{}",
        asked[1].reason
    );
    assert!(o.executed, "approved again for what will happen: {o:#?}");
    assert_eq!(h.executed().len(), 1);
    // The first approval is set aside: no other replica's hub can carry it out later.
    assert_first_approval_set_aside(&h, &asked[0].id);
}

/// Approval `id` was set aside by its run's re-check: nobody may claim its execution.
fn assert_first_approval_set_aside(h: &Harness, id: &str) {
    let by = h.store.executed_by(id).unwrap().unwrap_or_default();
    assert!(by.starts_with(crate::store::SET_ASIDE), "{by}");
    assert!(!h.store.claim_execution(id).unwrap());
}

#[tokio::test]
async fn an_impact_that_keeps_changing_is_never_executed() {
    let h = Harness::new(vec![Some(ApprovalState::Approved)], true).await;
    h.dry(vec![
        hpa(10, 30),
        hpa(11, 30),
        hpa(12, 30),
        hpa(13, 30),
        hpa(14, 30),
    ]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    assert!(!o.executed, "{o:#?}");
    assert_eq!(h.asked().len(), MAX_APPROVAL_ROUNDS);
    assert!(h.executed().is_empty());
}

#[tokio::test]
async fn a_deny_after_approval_stands() {
    let h = Harness::new(vec![Some(ApprovalState::Approved)], true).await;
    h.dry(vec![hpa(10, 30), hpa(10, 5000)]);
    let o = h.call("kubectl.patch_hpa", patch(30)).await;
    assert_eq!(o.decision, Some(Decision::Deny), "{o:#?}");
    assert!(o.text.contains("denies it"), "{}", o.text);
    assert!(h.executed().is_empty());
    assert_first_approval_set_aside(&h, &h.asked()[0].id);
}

// ------------------------------------------------------------------ stages 6-7: execute, record

#[tokio::test]
async fn a_mutating_call_is_audited_as_executed_before_it_is_sent() {
    let h = Harness::new(vec![], true).await;
    h.fake.lock().unwrap().store = Some(h.store.clone());
    h.dry(vec![hpa(10, 12)]);
    let o = h.call("kubectl.patch_hpa", patch(12)).await;
    assert!(o.executed, "{o:#?}");
    assert_eq!(h.fake.lock().unwrap().audited_before, vec![true]);
}

#[tokio::test]
async fn results_reach_the_caller_and_the_audit_with_credentials_masked() {
    let h = Harness::new(vec![], true).await;
    let o = h
        .call("kubectl.list_pods", json!({"namespace": "payment", "note": "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789"}))
        .await;
    assert!(o.executed && o.ok);
    assert!(!o.text.contains("AKIAIOSFODNN7EXAMPLE"), "{}", o.text);
    assert!(o.text.contains("web-1 Running"), "{}", o.text);
    let (_, events, calls) = h.store.run("run-1").unwrap();
    let stored = format!("{events:?}{calls:?}");
    assert!(
        !stored.contains("ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
        "{stored}"
    );
    assert_eq!(
        h.executed()[0].1["note"],
        "token=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "the server still gets the real arguments"
    );
}

#[tokio::test]
async fn a_servers_error_message_reaches_nobody_with_a_credential_in_it() {
    let h = Harness::new(vec![], true).await;
    h.dry(vec![
        json!({"protocol_error": "backend said: aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}),
    ]);
    let o = h.call("kubectl.patch_hpa", patch(12)).await;
    assert!(!o.executed, "{o:#?}");
    assert!(o.reason.contains("could not be assessed"), "{}", o.reason);
    let shown = format!("{}{}", o.text, o.reason);
    assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
    let (_, events, calls) = h.store.run("run-1").unwrap();
    let stored = format!("{events:?}{calls:?}");
    assert!(!stored.contains("wJalrXUtnFEMI"), "{stored}");
}

// ------------------------------------------------------------------ resume

/// An escalated call left pending (its run died while waiting), then approved in the store.
async fn orphan(h: &Harness, dry: Vec<Value>) -> ApprovalRecord {
    h.dry(dry);
    let gate = h.gate.clone();
    let log = h.log.clone();
    let scope = h.scope();
    let waiting = tokio::spawn(async move {
        gate.handle(
            &log,
            &scope,
            "o1",
            "kubectl.patch_hpa",
            patch(30),
            CallOrigin::ToolBlock,
        )
        .await
    });
    while h.store.approvals(None).unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    waiting.abort();
    let id = h.store.approvals(None).unwrap()[0].id.clone();
    let (r, first) = h
        .store
        .decide_approval(&id, ApprovalState::Approved, "bob", "api")
        .unwrap();
    assert!(first);
    r
}

#[tokio::test]
async fn a_resumed_approval_executes_through_the_gate_when_nothing_changed() {
    let h = Harness::new(vec![None], true).await;
    let record = orphan(&h, vec![hpa(10, 30)]).await;
    let o = h
        .gate
        .resume_approved(&h.log, &h.scope(), &record)
        .await
        .unwrap();
    assert!(o.executed && o.ok, "{o:#?}");
    assert_eq!(h.executed().len(), 1);
}

#[tokio::test]
async fn a_resumed_approval_whose_impact_changed_executes_nothing() {
    let h = Harness::new(vec![None], true).await;
    let record = orphan(&h, vec![hpa(10, 30), hpa(20, 30)]).await;
    let o = h
        .gate
        .resume_approved(&h.log, &h.scope(), &record)
        .await
        .unwrap();
    assert!(!o.executed, "{o:#?}");
    assert!(
        o.text.contains("changed after its run stopped"),
        "{}",
        o.text
    );
    assert!(h.executed().is_empty());
    // A record that is not approved, or whose arguments were tampered with, never runs.
    let mut tampered = record.clone();
    tampered.args["max_replicas"] = json!(300);
    let o = h
        .gate
        .resume_approved(&h.log, &h.scope(), &tampered)
        .await
        .unwrap();
    assert!(!o.executed, "{o:#?}");
    let mut pending = record;
    pending.state = ApprovalState::Pending;
    let o = h
        .gate
        .resume_approved(&h.log, &h.scope(), &pending)
        .await
        .unwrap();
    assert!(!o.executed, "{o:#?}");
    assert!(h.executed().is_empty());
}

// ------------------------------------------------------------------ stage 0: place

#[path = "tests_targets.rs"]
mod targets;
