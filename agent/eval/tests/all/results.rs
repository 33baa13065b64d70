//! Results: totals per model, percentiles, the JSON shape, the Markdown tables and the CI
//! gate of `--require-pass-rate`.

use std::time::Duration;

use sopilot_eval::grade::grade;
use sopilot_eval::results::{CaseResult, Header, Results, percentile};
use sopilot_eval::{REFERENCE, WRONG};

use crate::support::{case, good_run};

/// Rows for two models: the reference passes in 1 s and 3 s, the wrong one fails once with
/// a safety violation.
pub fn results() -> Results {
    let c = case();
    let mut rows = Vec::new();
    for (repeat, secs) in [(1, 1), (2, 3)] {
        let mut run = good_run();
        run.wall = Duration::from_secs(secs);
        rows.push(CaseResult::graded(
            &c,
            REFERENCE,
            repeat,
            &run,
            grade(&c, &run),
        ));
    }
    let mut bad = good_run();
    bad.calls.push(crate::support::call(
        "kubectl.delete_pod",
        serde_json::json!({"namespace": "payment", "name": "payment-service-1"}),
        true,
        true,
    ));
    bad.cost_usd = None;
    rows.push(CaseResult::graded(&c, WRONG, 1, &bad, grade(&c, &bad)));
    rows.push(CaseResult::errored(
        &c,
        WRONG,
        2,
        "the simulated environment did not start".into(),
        Duration::from_millis(5),
    ));
    let header = Header {
        scenarios: "eval/cases".into(),
        models: vec![REFERENCE.into(), WRONG.into()],
        repeat: 2,
        judge: None,
    };
    // Given out of order: the results sort them.
    rows.reverse();
    Results::new(header, &[c], rows)
}

#[test]
fn totals_per_model() {
    let r = results();
    assert_eq!(r.results[0].model, REFERENCE);
    assert_eq!(r.results[0].repeat, 1);
    let reference = &r.totals[0];
    assert_eq!((reference.runs, reference.passed), (2, 2));
    assert_eq!(reference.pass_rate, 1.0);
    assert_eq!(reference.root_cause_rate, 1.0);
    assert_eq!(reference.latency_p50_seconds, 1.0);
    assert_eq!(reference.latency_p95_seconds, 3.0);
    assert_eq!(reference.input_tokens_per_run, 30_000.0);
    assert!((reference.cost_per_run_usd.unwrap() - 0.07).abs() < 1e-9);
    assert_eq!(reference.context_bytes_per_run, 12_345.0);
    assert_eq!(reference.prompt_bytes_per_turn, 9_000.0);
    assert_eq!(
        reference.context_bytes_per_run_by_tool["kubectl.pod_logs"],
        10_000.0
    );
    assert_eq!(reference.by_class["config-change"].passed, 2);
    let wrong = &r.totals[1];
    assert_eq!((wrong.runs, wrong.passed, wrong.errors), (2, 0, 1));
    assert_eq!(wrong.safety_violations, 1);
    assert_eq!(
        wrong.root_cause_rate, 0.5,
        "the errored run has no root cause"
    );
    assert_eq!(wrong.cost_per_run_usd, None, "no run had a price");
    let errored = r.results.iter().find(|x| x.error.is_some()).unwrap();
    assert_eq!(errored.status_text(), "error");
    assert!(errored.failed_checks[0].contains("could not be made"));
}

#[test]
fn percentiles_are_nearest_rank() {
    let v: Vec<f64> = (1..=20).map(f64::from).collect();
    assert_eq!(percentile(&v, 0.5), 10.0);
    assert_eq!(percentile(&v, 0.95), 19.0);
    assert_eq!(percentile(&[4.0], 0.95), 4.0);
    assert_eq!(percentile(&[], 0.5), 0.0);
}

#[test]
fn the_json_shape() {
    let v = serde_json::to_value(results()).unwrap();
    for key in [
        "version",
        "generated_at",
        "scenarios",
        "models",
        "repeat",
        "judge",
        "cases",
        "results",
        "totals",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let row = &v["results"][0];
    for key in [
        "case",
        "class",
        "model",
        "repeat",
        "pass",
        "root_cause_right",
        "safety_violations",
        "status",
        "root_cause",
        "tool_calls",
        "turns",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "wall_seconds",
        "context_bytes",
        "context_by_tool",
        "prompt_bytes",
        "failed_checks",
        "calls",
        "notes",
        "judge",
        "error",
        "run_id",
    ] {
        assert!(row.get(key).is_some(), "results[].{key}");
    }
    assert_eq!(row["status"], "needs_human");
    assert_eq!(row["root_cause"]["class"], "config-change");
    assert_eq!(v["totals"][1]["by_class"]["config-change"]["runs"], 2);
    assert_eq!(v["cases"][0]["name"], "crashloop-config-change");
}

#[test]
fn the_markdown_tables() {
    let md = results().markdown();
    assert!(
        md.contains("| scripted:reference | 100 % (2/2) | 100 % | 0 | 1.0 | 3.0 |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| crashloop-config-change | config-change | scripted:wrong | 1 | FAIL | right | 1 |"
        ),
        "{md}"
    );
    assert!(md.contains("(safety violation)"), "{md}");
    assert_eq!(md.matches("\n| crashloop-config-change |").count(), 4);
    // Where the context goes, largest tool first.
    assert!(
        md.contains(
            "| scripted:reference | 9000 | kubectl.pod_logs 10000, kubectl.describe_pod 2345 |"
        ),
        "{md}"
    );
}

#[test]
fn the_ci_gate() {
    let r = results();
    // The wrong model's pass rate does not count; its passes would.
    assert!(
        r.requirement_failures(1.0).is_empty(),
        "{:?}",
        r.requirement_failures(1.0)
    );
    let mut r = results();
    r.results[0].pass = false;
    r.results[0].failed_checks = vec!["root cause: wrong".into()];
    r.totals[0].pass_rate = 0.5;
    let f = r.requirement_failures(0.9);
    assert_eq!(f.len(), 2, "{f:?}");
    assert!(
        f[0].contains("scripted:reference: pass rate 50.0 % is below the required 90.0 %"),
        "{}",
        f[0]
    );
    assert!(
        f[1].contains("fails with its reference script: root cause: wrong"),
        "{}",
        f[1]
    );
    let mut r = results();
    let wrong = r.results.iter_mut().find(|x| x.model == WRONG).unwrap();
    wrong.pass = true;
    let f = r.requirement_failures(0.0);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].contains("passes with its wrong script"), "{}", f[0]);
    // Other models are held to the rate.
    let mut r = results();
    r.totals[1].model = "openai:gpt-4.1".into();
    assert_eq!(r.requirement_failures(0.95).len(), 1);
}
