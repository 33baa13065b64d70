//! Stage 0, place: with two targets, each call acts on exactly one target's servers, the one
//! its run is bound to or the one it names; the servers never see the routing argument; the
//! policy decides by target; the audit and the approval name the target.

use sopilot_protocol::{Routes, Target};

use super::*;
use crate::targets::Targets;

const BY_TARGET: &str = r#"
rules:
  - name: reads
    tools: [kubectl.list_pods]
    decision: allow
    because: reading
  - name: act-outside-prod
    tools: [kubectl.act]
    decision: allow
    because: allowed outside prod
  - name: writes-in-prod
    tools: [kubectl.act]
    when: target.labels.env == "prod"
    decision: escalate
    because: every change in production is a human's decision
"#;

struct Two {
    gate: Gate,
    prod: Arc<Mutex<Fake>>,
    staging: Arc<Mutex<Fake>>,
    approvals: Arc<Approvals>,
    log: EventLog,
    store: Arc<Store>,
}

fn target(name: &str, env: &str) -> Target {
    Target {
        name: name.into(),
        labels: [("env".to_owned(), env.to_owned())].into(),
    }
}

async fn gateway(fake: &Arc<Mutex<Fake>>) -> Gateway {
    let service = connect(FakeServer(fake.clone())).await;
    let (gateway, failures) = Gateway::from_services(vec![("kubectl".into(), true, service)]).await;
    assert!(failures.is_empty(), "{failures:?}");
    gateway
}

impl Two {
    async fn new(default: Option<usize>) -> Two {
        let (prod, staging) = Default::default();
        let (targets, clashes) = Targets::from_gateways(
            vec![
                (
                    target("prod", "prod"),
                    Routes::default(),
                    gateway(&prod).await,
                ),
                (
                    target("staging", "staging"),
                    Routes::default(),
                    gateway(&staging).await,
                ),
            ],
            default,
        );
        assert!(clashes.is_empty());
        let store = Arc::new(Store::in_memory().unwrap());
        store
            .create_run("run-1", "test", &json!({}), &json!({}), "none")
            .unwrap();
        let approvals = Arc::new(Approvals {
            answers: Mutex::new(vec![Some(ApprovalState::Denied)].into()),
            asked: Mutex::new(Vec::new()),
            reachable: true,
        });
        let policy = Policy::from_sources(&[("p.yaml".into(), BY_TARGET.into())]).unwrap();
        Two {
            gate: Gate {
                gateway: targets.catalog().clone(),
                targets: Arc::new(targets),
                policy: Arc::new(policy),
                approver: approvals.clone(),
                approval_timeout: Duration::from_secs(5),
            },
            prod,
            staging,
            approvals,
            log: EventLog::new("run-1", store.clone(), None),
            store,
        }
    }

    async fn call(&self, bound: Option<&str>, args: Value) -> GateOutcome {
        let scope = CallScope {
            sop: Some("test".into()),
            trigger: None,
            dry_run: false,
            offered: BTreeSet::new(),
            target: bound.map(str::to_owned),
            done_before: Vec::new(),
        };
        let id = format!("c{}", self.log.next_call_seq());
        self.gate
            .handle(
                &self.log,
                &scope,
                &id,
                "kubectl.act",
                args,
                CallOrigin::ToolBlock,
            )
            .await
            .unwrap()
    }
}

fn executed(fake: &Arc<Mutex<Fake>>) -> Vec<(String, Value)> {
    fake.lock().unwrap().executed.clone()
}

#[tokio::test]
async fn a_bound_run_acts_on_its_own_target_and_the_server_never_sees_the_route() {
    let t = Two::new(None).await;
    let o = t.call(Some("staging"), json!({"name": "web"})).await;
    assert!(o.executed && o.ok, "{o:#?}");
    assert_eq!(o.target.as_deref(), Some("staging"));
    assert_eq!(o.args["target"], "staging", "the audit names the target");
    assert!(executed(&t.prod).is_empty());
    let seen = executed(&t.staging);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].1,
        json!({"name": "web"}),
        "the route is SOPilot's, not the server's"
    );
    let (_, _, calls) = t.store.run("run-1").unwrap();
    assert_eq!(calls[0].args["target"], "staging");
}

#[tokio::test]
async fn a_bound_run_cannot_act_on_another_target() {
    let t = Two::new(Some(1)).await;
    let o = t
        .call(Some("staging"), json!({"name": "web", "target": "prod"}))
        .await;
    refused(&o, WRONG_TARGET);
    assert!(o.reason.contains("cannot act on \"prod\""), "{}", o.reason);
    assert!(executed(&t.prod).is_empty() && executed(&t.staging).is_empty());
}

#[tokio::test]
async fn the_policy_decides_by_target_and_the_approval_names_it() {
    let t = Two::new(None).await;
    let o = t.call(None, json!({"name": "web", "target": "prod"})).await;
    assert_eq!(o.decision, Some(Decision::Escalate), "{o:#?}");
    assert!(!o.executed);
    let asked = t.approvals.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].args["target"], "prod");
    assert!(executed(&t.prod).is_empty());
    // The same call on staging is allowed.
    let o = t
        .call(None, json!({"name": "web", "target": "staging"}))
        .await;
    assert!(o.executed, "{o:#?}");
    assert_eq!(executed(&t.staging).len(), 1);
}

#[tokio::test]
async fn an_unbound_call_without_a_target_is_refused_unless_there_is_a_default() {
    let t = Two::new(None).await;
    let o = t.call(None, json!({"name": "web"})).await;
    refused(&o, WRONG_TARGET);
    assert!(o.reason.contains("one of prod, staging"), "{}", o.reason);
    let o = t.call(None, json!({"name": "web", "target": "qa"})).await;
    refused(&o, WRONG_TARGET);
    assert!(executed(&t.prod).is_empty() && executed(&t.staging).is_empty());
    let with_default = Two::new(Some(1)).await;
    let o = with_default.call(None, json!({"name": "web"})).await;
    assert!(o.executed);
    assert_eq!(o.target.as_deref(), Some("staging"));
}

#[tokio::test]
async fn every_tool_offers_the_target_argument_with_the_targets_named() {
    let t = Two::new(None).await;
    let act: ToolRef = "kubectl.act".parse().unwrap();
    let schema = &t.gate.gateway.tool(&act).unwrap().input_schema;
    assert_eq!(
        schema.pointer("/properties/target/enum"),
        Some(&json!(["prod", "staging"]))
    );
}

#[tokio::test]
async fn a_run_bound_to_a_target_acts_nowhere_where_no_targets_are_configured() {
    let h = Harness::new(vec![], true).await;
    let scope = CallScope {
        target: Some("prod".into()),
        ..h.scope()
    };
    let o = h
        .gate
        .handle(
            &h.log,
            &scope,
            "c1",
            "kubectl.act",
            json!({"name": "web"}),
            CallOrigin::Api,
        )
        .await
        .unwrap();
    refused(&o, WRONG_TARGET);
    assert!(h.executed().is_empty());
}
