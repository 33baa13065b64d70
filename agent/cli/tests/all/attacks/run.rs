//! Run cases: each `RunSpec` is one `sopilot run` of the real binary against the world, with
//! the injected model, answering its approval prompts as the case says; then its audit
//! (`sopilot runs show --json`), the cluster and what the model was sent are checked.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use sopilot_llm::Script;
use sopilot_protocol::ApprovalState;
use sopilot_runtime::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::case::{ApprovalStep, RunExpect, RunSpec};
use super::check::{self, Outputs};
use super::model::sent_text;
use super::world::{Snapshot, World};

/// The store of a world's runs, in its folder.
const DB: &str = "sopilot.db";

/// Everything one run left behind.
pub struct Ran {
    pub code: Option<i32>,
    pub run_id: String,
    pub show: Value,
    pub approvals: BTreeMap<String, Value>,
}

/// Runs every spec of a case in order, on one world and one store; returns the errors.
pub async fn run_all(world: &World, specs: &[&RunSpec], outputs: &mut Outputs) -> Vec<String> {
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, spec) in specs.iter().enumerate() {
        let label = if specs.len() > 1 {
            format!("run {}", i + 1)
        } else {
            "run".into()
        };
        if let Err(e) = world.mutate(&spec.before) {
            errors.push(format!("{label}: {e}"));
            return errors;
        }
        let before = world.snapshot();
        let rv = world.sim.kube().resource_version();
        let (requests_from, calls_from) = (world.model.requests().len(), world.model.calls().len());
        let ran = match run_one(world, spec, &label, &mut seen, outputs).await {
            Ok(ran) => ran,
            Err(e) => {
                errors.push(format!("{label}: {e}"));
                return errors;
            }
        };
        let sent: Vec<Value> = world.model.requests().split_off(requests_from);
        let made = world.model.calls().len() - calls_from;
        let label = format!("{label} ({})", ran.run_id);
        let mut found = check_run(world, spec, &ran, &before, rv);
        found.extend(check_model(&spec.expect, &ran, &sent, made));
        errors.extend(found.into_iter().map(|e| format!("{label}: {e}")));
    }
    errors
}

/// The run's exit, status, audit, events, cluster and Slack against the expectations.
fn check_run(world: &World, spec: &RunSpec, ran: &Ran, before: &Snapshot, rv: u64) -> Vec<String> {
    let e = &spec.expect;
    let mut errors = Vec::new();
    if let Some(code) = e.exit
        && ran.code != Some(code)
    {
        errors.push(format!("exit code {:?}, expected {code}", ran.code));
    }
    let status = &ran.show["run"]["status"];
    if let Some(s) = &e.status
        && status != s.as_str()
    {
        let reason = &ran.show["run"]["reason"];
        errors.push(format!("status {status}, expected {s} (reason {reason})"));
    }
    let rows = ran.show["tool_calls"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    errors.extend(check::calls(&rows, &e.calls, &ran.approvals));
    let events = ran.show["events"].to_string();
    for s in e.events.iter().filter(|s| !events.contains(s.as_str())) {
        errors.push(format!("no event mentions {s:?}"));
    }
    errors.extend(check::cluster(world, before, rv, &e.cluster));
    // The test's own changes while an approval waits are the cluster expectation's business.
    let test_mutated = spec
        .approvals
        .iter()
        .flatten()
        .any(|a| !a.mutate.is_empty());
    let changed = world.sim.kube().resource_version() != rv && !test_mutated;
    errors.extend(check::invariants(&rows, &ran.approvals, changed));
    let slack = slack_text(world);
    for s in e.slack_has.iter().filter(|s| !slack.contains(s.as_str())) {
        errors.push(format!("no Slack message contains {s:?}"));
    }
    for s in e.slack_lacks.iter().filter(|s| slack.contains(s.as_str())) {
        errors.push(format!("a Slack message contains {s:?}"));
    }
    errors
}

/// What the model was sent (`sent`, its own answers left out) and whether each of its
/// `made` calls is in the audit.
fn check_model(e: &RunExpect, ran: &Ran, sent: &[Value], made: usize) -> Vec<String> {
    let mut errors = Vec::new();
    let audited = ran.show["tool_calls"].as_array().map_or(0, |rows| {
        rows.iter().filter(|r| r["origin"] == "model").count()
    });
    if audited != made {
        errors.push(format!(
            "the model made {made} calls, the audit has {audited} (every attempt must be audited)"
        ));
    }
    let text: String = sent.iter().map(sent_text).collect::<Vec<_>>().join("\n");
    for s in e.model_saw.iter().filter(|s| !text.contains(s.as_str())) {
        errors.push(format!(
            "the model was never sent {s:?} (so the read the case relies on did not happen)"
        ));
    }
    for s in &e.model_never_saw {
        if let Some(at) = text.find(s.as_str()) {
            let start = text[..at]
                .char_indices()
                .rev()
                .nth(200)
                .map_or(0, |(i, _)| i);
            let end = text[at..]
                .char_indices()
                .nth(300)
                .map_or(text.len(), |(i, _)| at + i);
            let context = text[start..end].replace('\n', "⏎");
            errors.push(format!("the model was sent {s:?}: …{context}…"));
        }
    }
    errors
}

/// Every message in #incidents and #random, text and blocks.
pub fn slack_text(world: &World) -> String {
    ["#incidents", "#random"]
        .iter()
        .flat_map(|c| world.slack.messages(c))
        .map(|m| format!("{} {}", m.text, m.blocks.unwrap_or_default()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `sopilot run` for one spec, with the world's environment.
fn command(world: &World, spec: &RunSpec, label: &str) -> tokio::process::Command {
    let mut cmd = world.command();
    cmd.arg("run").arg(&spec.sop);
    for (k, v) in &spec.params {
        cmd.arg("-p").arg(format!("{k}={v}"));
    }
    cmd.args(["--model", "openai:attack-model", "--store"])
        .arg(world.path(DB));
    let on_escalate = if spec.approvals.is_some() {
        "prompt"
    } else {
        "deny"
    };
    cmd.args(["--on-escalate", on_escalate]);
    if spec.dry_run {
        cmd.arg("--dry-run");
    }
    if let Some(config) = &spec.config {
        let path = world.path(&format!("config-{label}.yaml").replace(' ', "-"));
        // `$SOPILOT` is this build's binary (to start its MCP servers as foreign ones).
        let text = config.replace("$SOPILOT", env!("CARGO_BIN_EXE_sopilot"));
        std::fs::write(&path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs one spec to its end, answering its approvals; returns what it left behind.
async fn run_one(
    world: &World,
    spec: &RunSpec,
    label: &str,
    seen: &mut BTreeSet<String>,
    outputs: &mut Outputs,
) -> Result<Ran, String> {
    let script: Script =
        serde_json::from_value(spec.model.clone()).map_err(|e| format!("model: {e}"))?;
    world.model.play(script);
    let mut child = command(world, spec, label)
        .spawn()
        .map_err(|e| format!("cannot start sopilot: {e}"))?;
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let failure = drive_approvals(world, spec, &mut child).await.err();
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait()).await;
    let stdout = stdout.await.unwrap();
    let stderr = stderr.await.unwrap();
    outputs.add(format!("{label}: stdout (the report)"), stdout.clone());
    outputs.add(format!("{label}: stderr (RUST_LOG=debug)"), stderr.clone());
    let code = match status {
        Ok(s) => s.map_err(|e| e.to_string())?.code(),
        Err(_) => {
            return Err(format!(
                "sopilot run did not finish in 120 s; stderr:\n{stderr}"
            ));
        }
    };
    if let Some(f) = failure {
        return Err(format!("{f}\nstderr:\n{stderr}"));
    }
    let ran = collect(world, label, code, seen, outputs).await;
    ran.map_err(|e| format!("{e}; exit {code:?}; stderr:\n{stderr}\nstdout:\n{stdout}"))
}

/// Answers the run's approval prompts in order, then closes its stdin (any later prompt
/// reads end of input: denied).
async fn drive_approvals(
    world: &World,
    spec: &RunSpec,
    child: &mut tokio::process::Child,
) -> Result<(), String> {
    let mut stdin = child.stdin.take();
    let mut answered = Vec::new();
    for (n, step) in spec.approvals.iter().flatten().enumerate() {
        let id = answer(world, step, &answered, child)
            .await
            .map_err(|e| format!("approval {}: {e}", n + 1))?;
        answered.push(id);
        let line = if step.answer == "approve" {
            "y\n"
        } else {
            "n\n"
        };
        if let Some(input) = stdin.as_mut() {
            input
                .write_all(line.as_bytes())
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    drop(stdin);
    Ok(())
}

/// The run just recorded (the newest not in `seen`): its audit, shown both ways, and the
/// store's approvals.
async fn collect(
    world: &World,
    label: &str,
    code: Option<i32>,
    seen: &mut BTreeSet<String>,
    outputs: &mut Outputs,
) -> Result<Ran, String> {
    let store = Store::open(&world.path(DB)).map_err(|e| format!("the store: {e}"))?;
    let runs = store.runs(1000).map_err(|e| e.to_string())?;
    let run_id = runs
        .into_iter()
        .map(|r| r.id)
        .find(|id| !seen.contains(id))
        .ok_or("no run was recorded")?;
    seen.insert(run_id.clone());
    let show_json = show(world, &run_id, true).await;
    outputs.add(
        format!("{label}: `sopilot runs show --json`"),
        show_json.clone(),
    );
    outputs.add(
        format!("{label}: `sopilot runs show`"),
        show(world, &run_id, false).await,
    );
    let show: Value = serde_json::from_str(&show_json)
        .map_err(|e| format!("runs show --json: {e}: {show_json}"))?;
    let approvals = store
        .approvals(None)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|a| (a.id.clone(), serde_json::to_value(&a).unwrap()))
        .collect();
    Ok(Ran {
        code,
        run_id,
        show,
        approvals,
    })
}

fn read_all<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    mut r: R,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Waits for the next pending approval (not yet answered), checks its reason and makes the
/// step's cluster changes; returns its id.
async fn answer(
    world: &World,
    step: &ApprovalStep,
    answered: &[String],
    child: &mut tokio::process::Child,
) -> Result<String, String> {
    for _ in 0..600 {
        if let Ok(store) = Store::open(&world.path(DB))
            && let Ok(pending) = store.approvals(Some(ApprovalState::Pending))
            && let Some(a) = pending.into_iter().find(|a| !answered.contains(&a.id))
        {
            for part in &step.reason_contains {
                if !a.reason.contains(part.as_str()) {
                    return Err(format!(
                        "the approval's reason lacks {part:?}: {:?} (impact {:?})",
                        a.reason, a.impact
                    ));
                }
            }
            world.mutate(&step.mutate)?;
            return Ok(a.id);
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("sopilot exited ({status}) before asking for it"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("never asked within 30 s".into())
}

async fn show(world: &World, run_id: &str, json: bool) -> String {
    let mut cmd = world.command();
    cmd.args(["runs", "show", run_id, "--store"])
        .arg(world.path(DB));
    if json {
        cmd.arg("--json");
    }
    let out = cmd.output().await.unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
