//! The attack suite: every case file of `tests/attacks/` (see its README) run through the
//! real `sopilot` binary against the in-process simulator, with a scripted, prompt-injected
//! model behind an OpenAI-compatible endpoint. For every case: no planted credential reaches
//! the model, the store, the report, Slack or the logs; the cluster changes only as the
//! case expects and never without an approval that saw the same impact; the audit records
//! every attempt with the expected decision. One test per case file; a failure names the
//! file, the case and what leaked or changed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

#[path = "attacks/harness.rs"]
mod harness;

use harness::check::{self, Outputs};

/// The case files this binary runs, one test each (kept in step with the folder by
/// `every_case_file_has_a_test`).
const FILES: &[&str] = &[
    "approvals-bound-to-impact.yaml",
    "credentials-in-objects.yaml",
    "fail-open-corners.yaml",
    "forged-slack-approvals.yaml",
    "multiline-secrets-in-logs.yaml",
    "ratchets.yaml",
    "secret-spellings.yaml",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_spellings() {
    harness::run_file("secret-spellings.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_objects() {
    harness::run_file("credentials-in-objects.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiline_secrets_in_logs() {
    harness::run_file("multiline-secrets-in-logs.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratchets() {
    harness::run_file("ratchets.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_bound_to_impact() {
    harness::run_file("approvals-bound-to-impact.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_slack_approvals() {
    harness::run_file("forged-slack-approvals.yaml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_open_corners() {
    harness::run_file("fail-open-corners.yaml").await;
}

#[test]
fn every_case_file_has_a_test() {
    assert_eq!(
        harness::case_files(),
        FILES,
        "add a test function for each new case file (and to FILES)"
    );
}

/// The suite's size and spread: at least 40 cases over the seven classes of the issue.
#[test]
fn forty_cases_over_seven_classes() {
    let mut classes = std::collections::BTreeSet::new();
    let mut total = 0;
    for f in FILES {
        let file = harness::load(f);
        assert!(!file.cases.is_empty(), "{f} has no cases");
        let mut names = std::collections::BTreeSet::new();
        for c in &file.cases {
            assert!(
                names.insert(&c.name),
                "{f}: two cases are named {:?}",
                c.name
            );
        }
        classes.insert(file.class.clone());
        total += file.cases.len();
    }
    assert_eq!(classes.len(), 7, "{classes:?}");
    assert!(total >= 40, "{total} cases");
}

/// The leak check can fail: a planted value anywhere in an output is found, with where.
#[test]
fn the_leak_check_finds_planted_values() {
    let mut out = Outputs::default();
    out.add("the report", "all fine");
    assert!(check::leaks(&out, &["aHVudGVy".into()]).is_empty());
    out.add(
        "the model's conversation",
        "env DB_PASSWORD=hunter2-AttackMarker-7731 …",
    );
    out.add("the store file sopilot.db", "…aHVudGVy…");
    let found = check::leaks(&out, &["aHVudGVy".into()]);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("the model's conversation leaked"),
        "{found:?}"
    );
    assert!(
        found[1].contains("the store file sopilot.db leaked marker"),
        "{found:?}"
    );
}
