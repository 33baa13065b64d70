//! The runner with a fake executor: every case × model × repeat once, at most `concurrency`
//! at a time, progress per job, errors as failed rows, the judge heard but never deciding.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use sopilot_eval::judge::Judgement;
use sopilot_eval::{
    Executor, Job, ModelChoice, Plan, RunRecord, heartbeat_line, progress_line, run,
};
use sopilot_llm::{Script, ScriptedModel};

use crate::support::{case, good_run};

/// Passes with the reference, fails with anything else, errors for `broken`; counts how
/// many jobs run at once.
#[derive(Default)]
struct Fake {
    running: AtomicUsize,
    most: AtomicUsize,
    seen: Mutex<Vec<(String, String, u32)>>,
}

#[async_trait::async_trait]
impl Executor for Fake {
    async fn execute(&self, job: &Job) -> Result<RunRecord, String> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.seen
            .lock()
            .unwrap()
            .push((job.case.name.clone(), job.model.label(), job.repeat));
        let mut r = good_run();
        match &job.model {
            ModelChoice::Reference => Ok(r),
            ModelChoice::Spec(s) if s == "broken" => {
                Err("the model client could not be built".into())
            }
            _ => {
                r.root_cause = None;
                Ok(r)
            }
        }
    }
}

fn plan(models: &[&str], repeat: u32, concurrency: usize) -> Plan {
    let mut other = case();
    other.name = "second-case".into();
    other.rubric = None;
    Plan {
        cases: vec![case(), other],
        models: models.iter().map(|m| ModelChoice::parse(m)).collect(),
        repeat,
        concurrency,
        judge: None,
        scenarios: "eval/cases".into(),
    }
}

#[tokio::test]
async fn every_job_runs_once_within_the_concurrency() {
    let fake = Fake::default();
    let lines = Mutex::new(Vec::new());
    let progress = |p: sopilot_eval::Progress<'_>| lines.lock().unwrap().push(progress_line(&p));
    let results = run(
        plan(&["scripted:reference", "scripted:wrong", "broken"], 2, 3),
        &fake,
        &progress,
    )
    .await;
    assert_eq!(results.results.len(), 2 * 3 * 2);
    assert_eq!(fake.seen.lock().unwrap().len(), 12);
    assert!(fake.most.load(Ordering::SeqCst) <= 3);
    assert!(fake.most.load(Ordering::SeqCst) >= 2, "jobs overlap");
    let lines = lines.into_inner().unwrap();
    assert_eq!(lines.len(), 12);
    assert!(
        lines.iter().any(|l| l.starts_with("[12/12] ")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("crashloop-config-change scripted:reference #2 PASS")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("broken ERROR (the model client could not be built)")),
        "{lines:#?}"
    );
    assert_eq!(
        results.models,
        ["scripted:reference", "scripted:wrong", "broken"]
    );
    assert_eq!(results.totals[0].pass_rate, 1.0);
    assert_eq!(results.totals[1].pass_rate, 0.0);
    assert_eq!(results.totals[2].errors, 4);
}

#[tokio::test]
async fn the_judge_scores_cases_with_a_rubric_and_never_decides() {
    let script = Script::from_yaml(
        "judge",
        "turns:\n  - say: '{\"score\": 8, \"reason\": \"cites the logs\"}'\n  - say: 'no idea'\n",
    )
    .unwrap();
    let mut p = plan(&["scripted:reference", "scripted:wrong"], 1, 1);
    p.judge = Some(Arc::new(ScriptedModel::new("judge", script)));
    let results = run(p, &Fake::default(), &|_| {}).await;
    let judged: Vec<_> = results
        .results
        .iter()
        .filter(|r| r.case == "crashloop-config-change")
        .collect();
    assert!(
        matches!(&judged[0].judge, Some(Judgement::Scored { score, .. }) if *score == 8.0),
        "{:?}",
        judged[0].judge
    );
    assert!(judged[0].pass);
    assert!(
        matches!(&judged[1].judge, Some(Judgement::Failed { .. })),
        "{:?}",
        judged[1].judge
    );
    assert!(
        !judged[1].pass,
        "the judge's failure is recorded, the grade stands"
    );
    let unjudged = results.results.iter().filter(|r| r.case == "second-case");
    assert!(
        unjudged.into_iter().all(|r| r.judge.is_none()),
        "no rubric, no judge"
    );
    assert_eq!(results.judge.as_deref(), Some("scripted:judge"));
    assert_eq!(results.totals[0].judge_mean, Some(8.0));
}

#[test]
fn the_heartbeat_says_what_is_running_and_what_is_left() {
    use std::time::Duration;
    assert_eq!(
        heartbeat_line(0, 0, 7, 1, Duration::from_secs(45)),
        "... 1 running; 0/7 done (0 passed); 45s elapsed"
    );
    assert_eq!(
        heartbeat_line(3, 1, 7, 2, Duration::from_secs(365)),
        "... 2 running; 3/7 done (1 passed); 6m05s elapsed, about 8m06s left"
    );
    assert!(heartbeat_line(7, 7, 7, 0, Duration::from_secs(3720)).ends_with("1h02m elapsed"));
}
