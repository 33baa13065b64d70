//! The finish stage: the report's root cause is parsed, and a model that ends without a
//! report leaves the run inconclusive, never succeeded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sopilot_llm::{LlmError, ModelClient, ModelRequest, ModelResponse, StopReason, Usage};
use sopilot_policy::Policy;
use sopilot_protocol::{CauseClass, RunEventKind, RunStatus, root_cause_of};

use super::{Budgets, RunInput, Runner};
use crate::approval::DenyAll;
use crate::gate::Gate;
use crate::gateway::Gateway;
use crate::store::Store;

const SOP: &str = "---
name: tiny
---
# Tiny

## Overview
One step, no tools.

## Parameters
- **namespace** (optional): Where to look

## Steps
### 1. Look around
**Constraints:**
- You MUST say what you saw
";

/// What the model answers to the report request.
#[derive(Debug, Clone)]
enum Report {
    Text(&'static str),
    Empty,
    Error,
}

/// A model that finishes its one step at once, then answers the report request as told.
#[derive(Debug)]
struct Model(Report);

#[async_trait::async_trait]
impl ModelClient for Model {
    async fn complete(&self, request: &ModelRequest) -> Result<ModelResponse, LlmError> {
        let last = request
            .messages
            .last()
            .map(|m| m.text())
            .unwrap_or_default();
        let text = if last.contains("Write the final report") {
            match &self.0 {
                Report::Text(t) => Some((*t).to_owned()),
                Report::Empty => Some("  \n".to_owned()),
                Report::Error => return Err(LlmError::Timeout(120)),
            }
        } else {
            Some("Looked around: nothing to do.".to_owned())
        };
        Ok(ModelResponse {
            stop: StopReason::EndTurn,
            text,
            tool_calls: Vec::new(),
            usage: Usage {
                input: 10,
                output: 5,
            },
        })
    }

    fn name(&self) -> String {
        "test:finish".into()
    }
}

async fn run(report: Report) -> (crate::RunReport, Arc<Store>) {
    let (gateway, failures) = Gateway::connect(Vec::new()).await;
    assert!(failures.is_empty());
    let store = Arc::new(Store::in_memory().unwrap());
    let runner = Runner {
        gate: Gate::single(
            Arc::new(gateway),
            Arc::new(Policy::from_sources(&[("p.yaml".into(), "rules: []\n".into())]).unwrap()),
            Arc::new(DenyAll),
            Duration::from_secs(5),
        ),
        store: store.clone(),
        model: Some(Arc::new(Model(report))),
        prices: Default::default(),
        observer: None,
    };
    let (sop, _) = sopilot_sop::load("tiny", SOP).unwrap();
    let input = RunInput {
        sop,
        params: Default::default(),
        trigger: None,
        budgets: Budgets::default(),
        dry_run: false,
        target: None,
        carries_on: None,
        run_id: None,
    };
    let report = runner
        .run(input, tokio_util::sync::CancellationToken::new())
        .await
        .unwrap();
    (report, store)
}

#[tokio::test]
async fn a_report_request_that_errors_leaves_the_run_inconclusive() {
    let (r, store) = run(Report::Error).await;
    assert_eq!(r.status, RunStatus::Inconclusive);
    assert!(r.root_cause.is_none());
    assert!(r.summary.starts_with("inconclusive"), "{}", r.summary);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("could not write the report")),
        "{:?}",
        r.notes
    );
    let (row, events, _) = store.run(&r.run_id).unwrap();
    assert_eq!(row.status, RunStatus::Inconclusive, "stored as such");
    assert!(events.iter().any(|e| matches!(
        e.kind,
        RunEventKind::RunFinished {
            status: RunStatus::Inconclusive,
            ..
        }
    )));
}

#[tokio::test]
async fn an_empty_report_is_inconclusive_too() {
    let (r, _) = run(Report::Empty).await;
    assert_eq!(r.status, RunStatus::Inconclusive);
    assert!(
        r.notes.iter().any(|n| n.contains("empty report")),
        "{:?}",
        r.notes
    );
}

#[tokio::test]
async fn the_root_cause_block_is_parsed_into_the_report_and_the_timeline() {
    let (r, store) = run(Report::Text(
        "## Summary\nCoreDNS is down [E1].\n\n```json\n{\"root_cause\": {\"class\": \"dns\", \"summary\": \"CoreDNS has no ready replicas\", \"confidence\": 0.7}}\n```\n",
    ))
    .await;
    assert_eq!(r.status, RunStatus::Succeeded);
    let rc = r.root_cause.clone().unwrap();
    assert_eq!(rc.class, CauseClass::Dns);
    assert_eq!(rc.summary, "CoreDNS has no ready replicas");
    assert_eq!(r.turns, 2, "the step and the report");
    let json = crate::report_json(&r);
    assert_eq!(json["root_cause"]["class"], "dns");
    assert!(r.render().contains("root cause: dns (confidence 0.70)"));
    let (_, events, _) = store.run(&r.run_id).unwrap();
    assert_eq!(root_cause_of(&events), Some(&rc));
}

#[tokio::test]
async fn a_malformed_root_cause_is_a_note_not_a_crash() {
    let (r, _) = run(Report::Text(
        "## Summary\nx\n```json\n{\"root_cause\": {\"class\": \"gremlins\", \"summary\": \"s\", \"confidence\": 0.5}}\n```",
    ))
    .await;
    assert_eq!(
        r.status,
        RunStatus::Inconclusive,
        "a report, but no valid root cause"
    );
    assert!(r.summary.starts_with("inconclusive"), "{}", r.summary);
    assert!(r.root_cause.is_none());
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("malformed") && n.contains("gremlins")),
        "{:?}",
        r.notes
    );
    let (r, _) = run(Report::Text("## Summary\nno block")).await;
    assert!(r.root_cause.is_none());
    assert!(r.notes.iter().any(|n| n.contains("no root-cause block")));
}
