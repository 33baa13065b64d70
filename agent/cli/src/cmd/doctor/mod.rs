//! `sopilot doctor`: checks a configuration before an incident needs it. Each check prints
//! one line, OK / WARN / FAIL / SKIP, and a failing one says how to fix it. Every check runs
//! even when an earlier one failed, so one pass names every problem.
//!
//! Local checks (configuration, policy, SOPs, store) read files only; the others reach the
//! systems SOPilot would act on — Kubernetes (which of the verbs the kubectl tools need are
//! allowed), the MCP servers, AWS, Slack and the model — with short timeouts and reads only.
//! Under `--simulate` they reach the embedded simulator instead.

mod kube;
mod local;
mod remote;
mod slack;

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;
use sopilot_sim_env::RunningSim;

use crate::config::Config;
use crate::{DoctorArgs, Outcome};

/// How long one remote check may take before it counts as failed.
pub(crate) const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    /// Not configured, so not checked (and not needed).
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub area: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do about a WARN or FAIL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Line {
    pub(crate) fn ok(area: &'static str, detail: impl Into<String>) -> Line {
        Line {
            area,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }
    pub(crate) fn skip(area: &'static str, detail: impl Into<String>) -> Line {
        Line {
            area,
            status: Status::Skip,
            detail: detail.into(),
            fix: None,
        }
    }
    pub(crate) fn fail(
        area: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Line {
        Line {
            area,
            status: Status::Fail,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
    pub(crate) fn warn(
        area: &'static str,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Line {
        Line {
            area,
            status: Status::Warn,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// What the remote checks reach: the process environment, or the simulator's.
pub(crate) struct Target<'a> {
    pub sim: Option<&'a RunningSim>,
}

impl Target<'_> {
    /// A variable of the environment SOPilot's servers would get (the simulator's first).
    pub fn var(&self, key: &str) -> Option<String> {
        if let Some(sim) = self.sim
            && let Some((_, v)) = sim.server_env().into_iter().find(|(k, _)| k == key)
        {
            return Some(v);
        }
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

/// `sopilot doctor [--config FILE] [--simulate SCENARIO] [--json]`
pub fn doctor(args: &DoctorArgs) -> Outcome {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Outcome::fail(format!("cannot start the async runtime: {e}")),
    };
    let lines = rt.block_on(check_all(args));
    let failed = lines.iter().filter(|l| l.status == Status::Fail).count();
    let stdout = if args.json {
        let body = serde_json::json!({"ok": failed == 0, "checks": lines});
        format!(
            "{}\n",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        )
    } else {
        render(&lines)
    };
    Outcome {
        stdout,
        stderr: String::new(),
        code: u8::from(failed > 0),
    }
}

async fn check_all(args: &DoctorArgs) -> Vec<Line> {
    let mut lines = Vec::new();
    let (config, line) = local::config(args.config.as_deref());
    lines.push(line);
    lines.push(local::policy(&config));
    lines.push(local::sops(&config));
    lines.push(local::store(&config));
    let sim = match &args.simulate {
        Some(path) => match crate::cmd::serve::simulate(path, &config).await {
            Ok(env) => Some(env),
            Err(e) => {
                lines.push(Line::fail(
                    "simulator",
                    e,
                    "pass a scenario file, e.g. --simulate scenarios/demo.yaml",
                ));
                None
            }
        },
        None => None,
    };
    let target = Target { sim: sim.as_ref() };
    lines.extend(remote::all(&config, &target).await);
    if let Some(env) = sim {
        env.shutdown().await;
    }
    // Error texts of other systems (a model provider, a kube client) may quote a credential.
    for l in &mut lines {
        l.detail = sopilot_mcp_common::redact(&l.detail).into_owned();
        l.fix = l
            .fix
            .take()
            .map(|f| sopilot_mcp_common::redact(&f).into_owned());
    }
    lines
}

fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    for l in lines {
        let status = match l.status {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
            Status::Skip => "SKIP",
        };
        let _ = writeln!(out, "{status:<5} {:<11} {}", l.area, l.detail);
        if let Some(fix) = &l.fix {
            let _ = writeln!(out, "{:<17} fix: {fix}", "");
        }
    }
    let count = |s: Status| lines.iter().filter(|l| l.status == s).count();
    let (fail, warn) = (count(Status::Fail), count(Status::Warn));
    if fail == 0 {
        let _ = writeln!(
            out,
            "\nall checks passed ({} OK, {warn} warning{}, {} skipped)",
            count(Status::Ok),
            if warn == 1 { "" } else { "s" },
            count(Status::Skip)
        );
    } else {
        let _ = writeln!(
            out,
            "\n{fail} problem{} to fix ({warn} warning{})",
            if fail == 1 { "" } else { "s" },
            if warn == 1 { "" } else { "s" }
        );
    }
    out
}

/// The configuration's `serve` model, if any.
pub(crate) fn configured_model(config: &Config) -> Option<String> {
    config.serve.model.clone().filter(|m| m != "none")
}
