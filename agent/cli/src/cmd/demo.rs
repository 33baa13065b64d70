//! `sopilot demo`: the whole product on the embedded simulated environment.
//!
//! A CloudWatch alarm (delivered as SNS) starts the complex-incident SOP against the demo
//! scenario. The real MCP servers, the real async-openai client (pointed at the simulated
//! model), the shipped policy and a scripted on-call approver do the rest. The demo checks
//! its own story and exits 0 only when it behaved as designed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sopilot_protocol::{ApprovalState, CauseClass, Decision, Trigger};
use sopilot_runtime::{Approver, RunReport, Scripted, Store};
use sopilot_sim_env::SimOptions;

use crate::assets;
use crate::cmd::run::finish;
use crate::session::{Session, SessionOptions, builtin_servers, params_for};
use crate::{DemoArgs, Outcome, progress};

#[path = "demo_serve.rs"]
mod serve;

/// The alarm that starts the demo, as SNS delivers it.
fn alarm() -> serde_json::Value {
    let message = json!({
        "AlarmName": "payment-service-eks-critical",
        "AlarmDescription": "payment-service 5XX above 5 % for 2 minutes",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 2 datapoints [12.4, 9.8] were greater than the threshold (5.0).",
        "StateChangeTime": chrono::Utc::now().to_rfc3339(),
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:payment-service-eks-critical",
        "Trigger": {"MetricName": "service_5xx_percent", "Namespace": "ContainerInsights", "Statistic": "AVERAGE",
            "Period": 60, "Threshold": 5.0,
            "Dimensions": [{"name": "ClusterName", "value": "eks-prod"}, {"name": "Namespace", "value": "payment"},
                           {"name": "Service", "value": "payment-service"}]}
    });
    json!({"Type": "Notification", "MessageId": "demo-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:ops-alerts",
           "Subject": "ALARM: payment-service-eks-critical", "Message": message.to_string(), "SignatureVersion": "1"})
}

/// What the demo must have shown; each miss is named.
fn check(report: &RunReport) -> Vec<String> {
    let mut misses = Vec::new();
    let rollback = report
        .calls
        .iter()
        .find(|c| c.tool == "kubectl.rollout_undo");
    match rollback {
        Some(c) if c.decision == Some(Decision::Allow) && c.executed && c.ok => {}
        Some(c) => misses.push(format!(
            "the rollback was not allowed and executed ({:?}, executed {}): {}",
            c.decision, c.executed, c.reason
        )),
        None => misses.push("the model never proposed the rollback".into()),
    }
    let escalated = report
        .calls
        .iter()
        .find(|c| c.decision == Some(Decision::Escalate));
    match escalated.and_then(|c| c.approval.as_ref()) {
        Some((_, ApprovalState::Denied, _)) => {}
        other => misses.push(format!(
            "no escalation was denied by the approver ({other:?})"
        )),
    }
    if report.calls.iter().any(|c| {
        c.executed
            && c.decision != Some(Decision::Allow)
            && c.approval
                .as_ref()
                .is_none_or(|a| a.1 != ApprovalState::Approved)
    }) {
        misses.push("a call executed without being allowed or approved".into());
    }
    if report.evidence.is_empty() {
        misses.push("no evidence was gathered".into());
    }
    match &report.root_cause {
        Some(rc) if rc.class == CauseClass::ConfigChange => {}
        other => misses.push(format!(
            "the report does not state the root cause config-change ({other:?})"
        )),
    }
    misses
}

/// `sopilot demo`
pub fn demo(args: &DemoArgs) -> Outcome {
    if args.serve {
        return serve::demo_serve(args);
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    match rt.block_on(demo_async(args)) {
        Ok(o) => o,
        Err(e) => Outcome::fail(e),
    }
}

async fn demo_async(args: &DemoArgs) -> Result<Outcome, String> {
    eprintln!(
        "SOPilot demo: a CloudWatch alarm fires for payment-service; the complex-incident SOP runs against a simulated EKS cluster.\n"
    );
    let scenario = sopilot_sim_env::Scenario::from_yaml(assets::DEMO_SCENARIO)
        .map_err(|e| format!("the embedded demo scenario: {e}"))?;
    let env = sopilot_sim_env::start(scenario, SimOptions::default())
        .await
        .map_err(|e| e.to_string())?;
    let (sop, _) = sopilot_sop::load(
        "complex-incident",
        assets::sop("complex-incident").unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    let policy = sopilot_policy::Policy::from_sources(&[(
        "default.yaml (shipped)".into(),
        assets::DEFAULT_POLICY.into(),
    )])
    .map_err(|e| e.to_string())?;
    let trigger = Trigger::from_payload(&alarm()).map_err(|e| e.to_string())?;
    let params = params_for(&sop, Some(&trigger), Default::default())?;
    let model: Arc<dyn sopilot_llm::ModelClient> = Arc::new(sopilot_llm::OpenAiClient::new(
        "sopilot-sim",
        Some(env.model_url()),
        Some("sim".into()),
        Duration::from_secs(30),
    ));
    let approver: Arc<dyn Approver> = Arc::new(Scripted {
        name: "on-call engineer (scripted for the demo)".into(),
        approve: Vec::new(),
    });
    let dir = std::env::temp_dir().join(format!("sopilot-demo-{}", std::process::id()));
    let store = Arc::new(Store::open(&dir.join("sopilot.db")).map_err(|e| e.to_string())?);
    let session = Session::start(
        builtin_servers(&env.server_env())?,
        policy,
        Some(model),
        approver,
        store,
        Some(progress::terminal()),
        SessionOptions::default(),
    )
    .await;
    let report = session.run(sop, params, Some(trigger), false, None).await;
    let pods_after = env.kube().list("Pod", Some("payment")).len();
    let posted = env
        .slack()
        .messages("#incidents")
        .iter()
        .any(|m| m.text.contains("payment-service incident"));
    env.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    let report = report?;
    let mut out = finish(&report, args.json);
    let mut misses = check(&report);
    if !posted {
        misses.push("no report reached the simulated #incidents channel".into());
    }
    if misses.is_empty() {
        out.stderr.push_str(&format!(
            "\ndemo OK: evidence gathered in parallel, the rollback ran because the policy allowed it, the HPA change was escalated and denied, the report reached #incidents, and the simulated namespace payment holds {pods_after} pods.\n"
        ));
        out.code = 0;
    } else {
        out.stderr.push_str(&format!(
            "\ndemo did NOT behave as designed:\n  {}\n",
            misses.join("\n  ")
        ));
        out.code = 1;
    }
    Ok(out)
}
