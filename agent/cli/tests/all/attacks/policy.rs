//! `policy_check` cases (`sopilot policy check` with the repository's policies) and
//! `config_refused` cases (`sopilot run` / `sopilot serve` must refuse a configuration).

use std::time::Duration;

use serde_json::{Value, json};

use super::case::{ConfigRefused, PolicyCheck};
use super::check::Outputs;
use super::world::repo;

fn sopilot() -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_sopilot"));
    cmd.current_dir(repo()).kill_on_drop(true);
    cmd
}

/// Runs every check; returns the errors.
pub async fn checks(checks: &[PolicyCheck], outputs: &mut Outputs) -> Vec<String> {
    let mut errors = Vec::new();
    for c in checks {
        let args_list: Vec<Value> = if c.kinds.is_empty() {
            vec![c.args.clone()]
        } else {
            c.kinds
                .iter()
                .map(|k| {
                    let mut a = if c.args.is_object() {
                        c.args.clone()
                    } else {
                        json!({})
                    };
                    a["kind"] = json!(k);
                    a
                })
                .collect()
        };
        for args in args_list {
            errors.extend(one(c, &args, outputs).await);
        }
    }
    errors
}

/// The `sopilot policy check` command line of one check, and how to show it in a failure.
fn policy_command(c: &PolicyCheck, args: &Value) -> (tokio::process::Command, String) {
    let mut cmd = sopilot();
    let mut flags = vec![
        "--tool".to_owned(),
        c.tool.clone(),
        "--args".to_owned(),
        args.to_string(),
    ];
    for (name, v) in [
        ("--impact", &c.impact),
        ("--resource", &c.resource),
        ("--history", &c.history),
    ] {
        if let Some(v) = v {
            flags.extend([name.to_owned(), v.to_string()]);
        }
    }
    for (name, on) in [("--foreign", c.foreign), ("--unattended", c.unattended)] {
        if on {
            flags.push(name.to_owned());
        }
    }
    cmd.args(["policy", "check"]).args(&flags);
    (cmd, format!("sopilot policy check {}", flags.join(" ")))
}

async fn one(c: &PolicyCheck, args: &Value, outputs: &mut Outputs) -> Vec<String> {
    let (mut cmd, what) = policy_command(c, args);
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    outputs.add(
        format!("policy check {} {args}", c.tool),
        format!("{stdout}{stderr}"),
    );
    let decided: Option<Value> = serde_json::from_str(&stdout).ok();
    let decision = decided.as_ref().and_then(|v| v["decision"].as_str());
    let mut errors = Vec::new();
    match (c.expect.as_str(), decision) {
        ("not_allow", Some("deny" | "escalate")) => {}
        ("not_allow", None) if out.status.code() == Some(1) => {}
        (want, Some(got)) if want == got => {}
        (want, got) => errors.push(format!(
            "{what}: expected {want}, got {got:?} (exit {:?}): {stdout}{stderr}",
            out.status.code()
        )),
    }
    let rules: Vec<&str> = decided
        .as_ref()
        .and_then(|v| v["rules"].as_array())
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for r in c.rules.iter().filter(|r| !rules.contains(&r.as_str())) {
        errors.push(format!("{what}: rule {r} missing from {rules:?}"));
    }
    errors
}

/// Runs every refusal; returns the errors.
pub async fn refusals(
    list: &[ConfigRefused],
    dir: &std::path::Path,
    outputs: &mut Outputs,
) -> Vec<String> {
    let mut errors = Vec::new();
    for (i, r) in list.iter().enumerate() {
        errors.extend(refusal(i, r, dir, outputs).await);
    }
    errors
}

/// The command a refusal case starts: `sopilot run` of the probe SOP or `sopilot serve`.
fn refusal_command(
    r: &ConfigRefused,
    dir: &std::path::Path,
    i: usize,
) -> Result<tokio::process::Command, String> {
    let path = dir.join(format!("config-{i}.yaml"));
    std::fs::write(&path, &r.config).unwrap();
    let mut cmd = sopilot();
    cmd.env("SOPILOT_STORE", dir.join(format!("refused-{i}.db")))
        .env("SOPILOT_API_TOKEN", "attack-suite-api-token-0123456789")
        .env_remove("SLACK_BOT_TOKEN");
    match r.command.as_str() {
        "run" => cmd
            .args([
                "run",
                "tests/attacks/sops/attack-probe.sop.md",
                "-p",
                "namespace=billing",
            ])
            .args(["--model", "none", "--on-escalate", "deny"]),
        "serve" => cmd.args(["serve", "--listen", "127.0.0.1:0"]),
        other => {
            return Err(format!(
                "config_refused: command {other:?} is neither run nor serve"
            ));
        }
    };
    cmd.arg("--config").arg(&path);
    Ok(cmd)
}

async fn refusal(
    i: usize,
    r: &ConfigRefused,
    dir: &std::path::Path,
    outputs: &mut Outputs,
) -> Vec<String> {
    let mut cmd = match refusal_command(r, dir, i) {
        Ok(cmd) => cmd,
        Err(e) => return vec![e],
    };
    let Ok(out) = tokio::time::timeout(Duration::from_secs(60), cmd.output()).await else {
        return vec![format!(
            "sopilot {} accepted the configuration and kept running:\n{}",
            r.command, r.config
        )];
    };
    let out = out.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    outputs.add(
        format!("sopilot {} --config (refused)", r.command),
        stderr.clone(),
    );
    let mut errors = Vec::new();
    if out.status.code() != Some(1) {
        errors.push(format!(
            "sopilot {} exited {:?} instead of refusing the configuration:\n{}\nstderr: {stderr}",
            r.command,
            out.status.code(),
            r.config
        ));
    }
    for part in r
        .stderr_contains
        .iter()
        .filter(|p| !stderr.contains(p.as_str()))
    {
        errors.push(format!(
            "sopilot {}: the refusal does not say {part:?}: {stderr}",
            r.command
        ));
    }
    errors
}
