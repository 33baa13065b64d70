//! `sopilot eval` through the real binary: our three cases with each case's own reference
//! and wrong scripts (reference passes, wrong fails, a safety violation the policy allowed is
//! counted), every case of `eval/cases/` the same way (what CI runs for the graded cases),
//! bad input, the CI gate; and the report's root cause and the `inconclusive` status as
//! `rehearse`, `run` and `runs show` show them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{repo, sim};

const OURS: [&str; 3] = [
    "demo-payment-pool",
    "crashloop-oom-restart",
    "ide-oom-advice",
];

/// Runs `sopilot ARGS` from the repository root.
fn sopilot(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("RUST_LOG", "warn")
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `sopilot eval` with both case scripts and `--require-pass-rate 1.0`, its JSON results.
fn eval(extra: &[&str], dir: &Path) -> (Output, Value) {
    let json = dir.join("eval.json");
    let mut args = vec![
        "eval",
        "--model",
        "scripted:reference",
        "--model",
        "scripted:wrong",
        "--require-pass-rate",
        "1.0",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = sopilot(&args);
    let v = std::fs::read_to_string(&json)
        .map(|t| serde_json::from_str(&t).unwrap())
        .unwrap_or_else(|e| panic!("{e}: no results; stderr {}", text(&out.stderr)));
    (out, v)
}

fn row<'a>(v: &'a Value, case: &str, model: &str) -> &'a Value {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"] == case && r["model"] == model)
        .unwrap_or_else(|| panic!("no row for {case} {model}"))
}

#[test]
fn our_cases_pass_with_their_reference_and_fail_with_their_wrong_script() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("eval.html");
    let mut extra = vec!["--html", html.to_str().unwrap(), "--concurrency", "3"];
    for c in OURS {
        extra.extend(["--case", c]);
    }
    let (out, v) = eval(&extra, dir.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for c in OURS {
        let right = row(&v, c, "scripted:reference");
        assert_eq!(right["pass"], true, "{c}: {right:#}");
        assert_eq!(right["root_cause_right"], true);
        assert_eq!(right["failed_checks"].as_array().unwrap().len(), 0);
        assert!(right["context_bytes"].as_u64().unwrap() > 0);
        assert!(right["input_tokens"].as_u64().unwrap() > 0);
        let wrong = row(&v, c, "scripted:wrong");
        assert_eq!(wrong["pass"], false, "{c}: {wrong:#}");
        assert_eq!(wrong["root_cause_right"], false);
        assert!(
            stderr.contains(&format!("{c} scripted:reference PASS")),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("{c} scripted:wrong FAIL")),
            "{stderr}"
        );
    }
    // The wrong scripts restart a crash-looping pod; the policy allows it, the cases forbid it.
    for c in ["demo-payment-pool", "ide-oom-advice"] {
        let wrong = row(&v, c, "scripted:wrong");
        assert_eq!(wrong["safety_violations"], 1, "{c}: {wrong:#}");
        let checks = wrong["failed_checks"].to_string();
        assert!(
            checks.contains("executed kubectl.delete_pod") && checks.contains("(safety violation)"),
            "{checks}"
        );
    }
    let totals = &v["totals"];
    assert_eq!(totals[0]["model"], "scripted:reference");
    assert_eq!(totals[0]["pass_rate"], 1.0);
    assert_eq!(totals[1]["pass_rate"], 0.0);
    assert_eq!(totals[1]["safety_violations"], 2);
    assert!(stderr.contains("[6/6] "), "{stderr}");
    let md = text(&out.stdout);
    assert!(md.contains("| scripted:reference | 100 % (3/3) |"), "{md}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg id=\"chart-classes\""));
    for c in OURS {
        assert!(page.contains(&format!("data-case=\"{c}\"")), "{c}");
    }
}

/// Every case of eval/cases (ours and the other authors'): what CI runs for the issue.
#[test]
fn every_case_passes_with_its_reference_and_fails_with_its_wrong_script() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let (out, v) = eval(&["--concurrency", "4"], dir.path());
    let stderr = text(&out.stderr);
    let cases = v["cases"].as_array().unwrap().len();
    assert!(cases >= OURS.len(), "{cases} cases");
    assert_eq!(v["results"].as_array().unwrap().len(), cases * 2);
    let failures: Vec<String> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| (r["model"] == "scripted:reference") != (r["pass"] == true))
        .map(|r| format!("{} {}: {}", r["case"], r["model"], r["failed_checks"]))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(600),
        "{cases} cases took {:?}",
        started.elapsed()
    );
}

#[test]
fn lint_checks_every_case_without_running_it() {
    let out = sopilot(&["eval", "--lint"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("cases ok"),
        "{}",
        text(&out.stdout)
    );
}

/// A copy of one of our cases in `root/NAME`, its scenario copied (not linked).
fn copy_case(from: &str, root: &Path, name: &str) -> PathBuf {
    let src = repo().join("eval/cases").join(from);
    let dst = root.join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["case.yaml", "scenario.yaml", "reference.yaml", "wrong.yaml"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    dst
}

#[test]
fn a_malformed_case_is_named_with_its_file_and_line() {
    let root = tempfile::tempdir().unwrap();
    let case = copy_case("ide-oom-advice", root.path(), "broken");
    let text_in = std::fs::read_to_string(case.join("case.yaml")).unwrap();
    std::fs::write(
        case.join("case.yaml"),
        text_in.replace("human: approve-all", "human: approve-some"),
    )
    .unwrap();
    let line = text_in
        .lines()
        .position(|l| l.starts_with("human:"))
        .unwrap()
        + 1;
    let out = sopilot(&[
        "eval",
        "--scenarios",
        root.path().to_str().unwrap(),
        "--model",
        "scripted:reference",
    ]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("broken/case.yaml: line {line}: human:")),
        "{stderr}"
    );
    // A bad model spec is bad input too.
    std::fs::write(case.join("case.yaml"), text_in).unwrap();
    let out = sopilot(&[
        "eval",
        "--scenarios",
        root.path().to_str().unwrap(),
        "--model",
        "gpt-4",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("openai:MODEL"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_ci_gate_fails_when_a_wrong_script_passes() {
    let root = tempfile::tempdir().unwrap();
    let case = copy_case("ide-oom-advice", root.path(), "no-teeth");
    std::fs::copy(case.join("reference.yaml"), case.join("wrong.yaml")).unwrap();
    let scenarios = root.path().to_str().unwrap();
    let (out, v) = eval(&["--scenarios", scenarios], root.path());
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no-teeth passes with its wrong script"),
        "{stderr}"
    );
    assert_eq!(row(&v, "no-teeth", "scripted:wrong")["pass"], true);
    // Without the gate the evaluation ran: exit 0, whatever the pass rate.
    let out = sopilot(&[
        "eval",
        "--scenarios",
        scenarios,
        "--model",
        "scripted:wrong",
        "--markdown",
        root.path().join("t.md").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).is_empty(), "the table went to the file");
    assert!(
        std::fs::read_to_string(root.path().join("t.md"))
            .unwrap()
            .contains("| no-teeth |")
    );
}

#[test]
fn rehearsals_report_the_root_cause_and_a_model_without_a_report_is_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let args = |script: &str| {
        vec![
            "rehearse".to_owned(),
            "oom-killed".into(),
            "--scenario".into(),
            "tests/scenarios/payment-incident.yaml".into(),
            "-p".into(),
            "namespace=payment".into(),
            "-p".into(),
            "pod=payment-service-7d8f9c6b5-x2k9p".into(),
            "--model".into(),
            format!("scripted:{script}"),
            "--json".into(),
        ]
    };
    let run = |script: &str| {
        let a = args(script);
        let out = sopilot(&a.iter().map(String::as_str).collect::<Vec<_>>());
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
        (out, v)
    };
    let (out, v) = run("tests/scripts/oom-killed.yaml");
    assert_eq!(out.status.code(), Some(0), "{v:#}");
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["root_cause"]["class"], "oom-limit", "{v:#}");
    // The same investigation, but the model has nothing to say when asked for the report.
    let script = std::fs::read_to_string(repo().join("tests/scripts/oom-killed.yaml")).unwrap();
    let cut = script
        .find("  - when: {contains: \"Write the final report\"}")
        .unwrap();
    let silent = dir.path().join("silent.yaml");
    std::fs::write(&silent, &script[..cut]).unwrap();
    let (out, v) = run(silent.to_str().unwrap());
    assert_eq!(v["status"], "inconclusive", "{v:#}");
    assert_eq!(out.status.code(), Some(1), "inconclusive exits 1");
    assert!(v["root_cause"].is_null());
    assert!(
        v["summary"].as_str().unwrap().starts_with("inconclusive"),
        "{v:#}"
    );
}

#[tokio::test]
async fn runs_show_tells_the_root_cause() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("db");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"))
        .current_dir(repo())
        .env("KUBECONFIG", sim.kubeconfig())
        .env("RUST_LOG", "warn")
        .args([
            "run",
            "oom-killed",
            "-p",
            "namespace=payment",
            "-p",
            "pod=payment-service-7d8f9c6b5-x2k9p",
        ])
        .args([
            "--model",
            "scripted:tests/scripts/oom-killed.yaml",
            "--model-timeout",
            "45s",
        ])
        .args(["--on-escalate", "deny", "--json", "--store"])
        .arg(&store)
        .output()
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)));
    let id = v["run_id"].as_str().unwrap();
    let store = store.to_str().unwrap();
    let shown = sopilot(&["runs", "show", id, "--json", "--store", store]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["root_cause"]["class"], "oom-limit", "{shown:#}");
    let plain = text(&sopilot(&["runs", "show", id, "--store", store]).stdout);
    assert!(
        plain.contains("root cause: oom-limit (confidence 0.80)"),
        "{plain}"
    );
    // A zero timeout is refused before anything runs.
    let out = sopilot(&["run", "oom-killed", "--model-timeout", "0s"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    assert!(
        text(&out.stderr).contains("90s or 10m"),
        "{}",
        text(&out.stderr)
    );
}
