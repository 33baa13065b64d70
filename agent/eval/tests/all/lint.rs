//! Lint and routing: a case's trigger goes to the SOP `sopilot serve` would pick, with the
//! trigger's parameters; what cannot work is reported without running anything.

use std::path::Path;

use sopilot_eval::{lint, route_case};
use sopilot_sop::Sop;

use crate::support::case_in;

const SOP: &str = "---
name: NAME
triggers:
  - alertmanager:
      alertname: ALERT
    params:
      namespace: \"{{ trigger.alert.labels.namespace }}\"
tools: [kubectl.*]
---
# NAME

## Overview
Test SOP.

## Parameters
- **namespace** (required): The namespace

## Steps
### 1. Look
**Constraints:**
- You MUST look
";

fn sop(name: &str, alert: &str) -> Sop {
    let text = SOP.replace("NAME", name).replace("ALERT", alert);
    sopilot_sop::load(name, &text).unwrap().0
}

fn library() -> Vec<Sop> {
    vec![
        sop("first", "Other"),
        sop("second", "PaymentErrors"),
        sop("third", "PaymentErrors"),
    ]
}

const ALERT: &str = r#"class: dns
trigger: {version: "4", groupKey: g, status: firing, receiver: r, groupLabels: {alertname: PaymentErrors}, commonLabels: {alertname: PaymentErrors, namespace: payment}, alerts: [{status: firing, fingerprint: f, labels: {alertname: PaymentErrors, namespace: payment}}]}
expect:
  evidence: [{tool: kubectl.pod_logs}]
"#;

#[test]
fn triggers_are_routed_by_the_front_matter_as_serve_does() {
    let c = case_in(Path::new("cases/a"), ALERT).unwrap();
    let planned = route_case(&c, &library()).unwrap();
    assert_eq!(
        planned.sop.name, "second",
        "the first SOP whose trigger matches"
    );
    assert_eq!(planned.params["namespace"], "payment", "from the trigger");
    // The case's sop and params win.
    let text = ALERT.replace("expect:", "sop: third\nparams: {namespace: shop}\nexpect:");
    let planned = route_case(&case_in(Path::new("cases/a"), &text).unwrap(), &library()).unwrap();
    assert_eq!(planned.sop.name, "third");
    assert_eq!(planned.params["namespace"], "shop");
}

#[test]
fn routing_problems_name_the_line() {
    let text = ALERT.replace("PaymentErrors", "Unrouted");
    let err = route_case(&case_in(Path::new("cases/a"), &text).unwrap(), &library()).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("no SOP matches this trigger"), "{err}");
    let text = ALERT.replace("expect:", "sop: fourth\nexpect:");
    let err = route_case(&case_in(Path::new("cases/a"), &text).unwrap(), &library()).unwrap_err();
    assert_eq!(err.line, Some(3));
    assert!(err.message.contains("no SOP \"fourth\""), "{err}");
    let text = "class: dns\nide: {sop: second}\nexpect: {}\n";
    let err = route_case(&case_in(Path::new("cases/a"), text).unwrap(), &library()).unwrap_err();
    assert_eq!(err.line, Some(2));
    assert!(
        err.message.contains("namespace"),
        "a missing parameter: {err}"
    );
}

#[test]
fn lint_reports_missing_files_bad_scenarios_and_tools_the_sop_lacks() {
    let dir = tempfile::tempdir().unwrap();
    let text = ALERT.replace("kubectl.pod_logs", "cloudwatch.get_metric_data");
    let c = case_in(dir.path(), &text).unwrap();
    let ok = |_: &Path| Ok(());
    let problems: Vec<String> = lint(&c, &library(), &ok)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 4, "{problems:#?}");
    assert!(problems[0].contains("scenario.yaml: missing"));
    assert!(problems[1].contains("reference.yaml: missing"));
    assert!(problems[2].contains("wrong.yaml: missing"));
    assert!(
        problems[3].contains("cloudwatch.get_metric_data is not among the tools SOP second offers"),
        "{}",
        problems[3]
    );
    std::fs::write(dir.path().join("scenario.yaml"), "kubernetes: {}\n").unwrap();
    std::fs::write(dir.path().join("reference.yaml"), "turns: []\n").unwrap();
    std::fs::write(dir.path().join("wrong.yaml"), "turns:\n  - sya: hi\n").unwrap();
    let bad_scenario = |_: &Path| Err("line 1: unknown top-level key".to_owned());
    let c = case_in(dir.path(), ALERT).unwrap();
    let problems: Vec<String> = lint(&c, &library(), &bad_scenario)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].contains("scenario.yaml: line 1: unknown top-level key"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].contains("wrong.yaml: line 2"),
        "{}",
        problems[1]
    );
    std::fs::write(dir.path().join("wrong.yaml"), "turns: []\n").unwrap();
    assert!(lint(&c, &library(), &ok).is_empty());
}
