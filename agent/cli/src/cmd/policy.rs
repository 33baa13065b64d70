//! `sopilot policy test` and `sopilot policy check`.

use std::fmt::Write as _;

use serde_json::{Value, json};
use sopilot_policy::{Policy, RunInfo, ServerTrust, load_paths};
use sopilot_protocol::{CallOrigin, History, Impact, Resource, ToolRef};

use crate::cmd::sop::read_trigger;
use crate::{Outcome, PolicyCheckArgs, PolicyTestArgs};

/// `sopilot policy test PATH...`
pub fn test(args: &PolicyTestArgs) -> Outcome {
    match load_paths(&args.paths) {
        Ok(policy) => {
            let mut out = String::new();
            for w in policy.warnings() {
                let _ = writeln!(out, "warning: {w}");
            }
            let rules = policy.rules();
            let files: std::collections::BTreeSet<&str> =
                rules.iter().map(|r| r.file.as_str()).collect();
            let _ = writeln!(
                out,
                "{} rule{} in {} file{}: all {} examples hold",
                rules.len(),
                if rules.len() == 1 { "" } else { "s" },
                files.len(),
                if files.len() == 1 { "" } else { "s" },
                policy.examples_checked()
            );
            Outcome::ok(out)
        }
        Err(e) => Outcome::fail(e),
    }
}

fn parse_json(flag: &str, text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("{flag} is not valid JSON: {e}"))
}

/// The history `--history` describes, over the history of a call nothing preceded.
fn history(impact: Option<&Impact>, given: Option<&str>) -> Result<History, String> {
    let fresh = History::fresh(impact, sopilot_protocol::DEFAULT_HISTORY_WINDOW_MINUTES);
    let Some(text) = given else {
        return Ok(fresh);
    };
    let Value::Object(over) = parse_json("--history", text)? else {
        return Err("--history must be a JSON object, e.g. '{\"rollbacks\": 1}'".into());
    };
    let mut merged = serde_json::to_value(&fresh).map_err(|e| e.to_string())?;
    if let Value::Object(m) = &mut merged {
        for (k, v) in over {
            if !m.contains_key(&k) {
                let known: Vec<&String> = m.keys().collect();
                return Err(format!("--history has no field {k:?}; known: {known:?}"));
            }
            m.insert(k, v);
        }
    }
    serde_json::from_value(merged).map_err(|e| format!("--history: {e}"))
}

/// `sopilot policy check --policy PATH --tool SERVER.TOOL --args JSON [--impact JSON] [--unattended]`
pub fn check(args: &PolicyCheckArgs) -> Outcome {
    let policy: Policy = match load_paths(&args.policy) {
        Ok(p) => p,
        Err(e) => return Outcome::fail(e),
    };
    let tool: ToolRef = match args.tool.parse() {
        Ok(t) => t,
        Err(e) => return Outcome::fail(format!("--tool: {e}")),
    };
    let call_args = match parse_json("--args", &args.args) {
        Ok(v) if v.is_object() => v,
        Ok(_) => {
            return Outcome::fail(
                "--args must be a JSON object, e.g. '{\"namespace\":\"payment\"}'",
            );
        }
        Err(e) => return Outcome::fail(e),
    };
    let impact: Option<Impact> = match args
        .impact
        .as_deref()
        .map(|t| parse_json("--impact", t))
        .transpose()
    {
        Ok(None) => None,
        Ok(Some(v)) => match serde_json::from_value(v) {
            Ok(i) => Some(i),
            Err(e) => {
                return Outcome::fail(format!("--impact does not fit the Impact format: {e}"));
            }
        },
        Err(e) => return Outcome::fail(e),
    };
    let resource: Option<Resource> = match args
        .resource
        .as_deref()
        .map(|t| parse_json("--resource", t))
        .transpose()
    {
        Ok(None) => None,
        Ok(Some(v)) => match serde_json::from_value(v) {
            Ok(r) => Some(r),
            Err(e) => {
                return Outcome::fail(format!(
                    "--resource must be {{\"group\", \"version\", \"kind\", \"plural\", \"namespaced\"}}: {e}"
                ));
            }
        },
        Err(e) => return Outcome::fail(e),
    };
    let history = match history(impact.as_ref(), args.history.as_deref()) {
        Ok(h) => h,
        Err(e) => return Outcome::fail(e),
    };
    let trigger = match args.trigger.as_deref().map(read_trigger).transpose() {
        Ok(t) => t,
        Err(e) => return Outcome::fail(e),
    };
    let run = RunInfo {
        unattended: args.unattended,
        dry_run: false,
        origin: CallOrigin::Api,
        sop: None,
    };
    let verdict = sopilot_policy::check_by_hand(
        &policy,
        &sopilot_policy::HandCheck {
            tool: &tool,
            args: &call_args,
            impact: impact.as_ref(),
            resource: resource.as_ref(),
            history: Some(&history),
            trigger: trigger.as_ref(),
            run: &run,
            trust: if args.foreign {
                ServerTrust::Foreign
            } else {
                ServerTrust::Builtin
            },
            target: None,
        },
    );
    let out = json!({
        "decision": verdict.decision,
        "rules": verdict.rule_names(),
        "reason": verdict.reason,
        "unattended": args.unattended,
        "explanation": {
            "matched": verdict.matched,
            "skipped": verdict.skipped,
            "unattended_downgrade": verdict.unattended_downgrade,
        },
    });
    Outcome::ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&out).unwrap_or_default()
    ))
}
