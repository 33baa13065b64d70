//! `sopilot sop lint` and `sopilot sop render`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sopilot_protocol::Trigger;
use sopilot_sop::{Severity, name_from_path, parse, render as render_sop, trigger_params};

use crate::{LintArgs, Outcome, RenderArgs};

/// Every `*.sop.md` under `path` (recursively), or `path` itself when it is a file.
fn sop_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            sop_files(&entry, out)?;
        } else if entry.to_string_lossy().ends_with(".sop.md") {
            out.push(entry);
        }
    }
    Ok(())
}

/// `sopilot sop lint PATH... [--json]`
pub fn lint(args: &LintArgs) -> Outcome {
    let mut files = Vec::new();
    for path in &args.paths {
        let before = files.len();
        if let Err(e) = sop_files(path, &mut files) {
            return Outcome::fail(e);
        }
        if files.len() == before {
            return Outcome::fail(format!("no *.sop.md files under {}", path.display()));
        }
    }
    let mut reports = Vec::new();
    let mut text = String::new();
    let (mut invalid, mut warnings) = (0usize, 0usize);
    for file in &files {
        let shown = file.display().to_string();
        let source = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => return Outcome::fail(format!("{shown}: {e}")),
        };
        let (sop, diags) = parse(&name_from_path(file), &source);
        let errors: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        let warns: Vec<_> = diags
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .collect();
        invalid += usize::from(!errors.is_empty());
        warnings += warns.len();
        for d in &diags {
            let sev = match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let _ = writeln!(text, "{shown}:{}: {sev}: {}", d.line, d.message);
        }
        if errors.is_empty() {
            let _ = writeln!(
                text,
                "{shown}: ok ({}: {} parameters, {} steps, {} tool blocks)",
                sop.name,
                sop.parameters.len(),
                sop.steps.len(),
                sop.tool_block_count()
            );
        }
        let located = |list: &[&sopilot_sop::Diagnostic]| -> Vec<Value> {
            list.iter()
                .map(|d| json!({"line": d.line, "message": d.message}))
                .collect()
        };
        reports.push(json!({
            "file": shown,
            "ok": errors.is_empty(),
            "name": sop.name,
            "title": sop.title,
            "parameters": sop.parameters.iter().map(|p| json!({
                "name": p.name, "required": p.required, "default": p.default,
            })).collect::<Vec<_>>(),
            "steps": sop.steps.len(),
            "tool_blocks": sop.tool_block_count(),
            "errors": located(&errors),
            "warnings": located(&warns),
        }));
    }
    let _ = writeln!(
        text,
        "{} SOP{} checked: {} valid, {invalid} invalid, {warnings} warning{}",
        files.len(),
        if files.len() == 1 { "" } else { "s" },
        files.len() - invalid,
        if warnings == 1 { "" } else { "s" }
    );
    let stdout = if args.json {
        format!(
            "{}\n",
            serde_json::to_string_pretty(&reports).unwrap_or_default()
        )
    } else {
        text
    };
    Outcome {
        stdout,
        stderr: String::new(),
        code: u8::from(invalid > 0),
    }
}

/// Reads and normalises a trigger payload file.
pub(crate) fn read_trigger(path: &Path) -> Result<Trigger, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--trigger {}: {e}", path.display()))?;
    let payload: Value = serde_json::from_str(&text)
        .map_err(|e| format!("--trigger {} is not valid JSON: {e}", path.display()))?;
    Trigger::from_payload(&payload).map_err(|e| format!("--trigger {}: {e}", path.display()))
}

fn parse_params(raw: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for p in raw {
        let (k, v) = p.split_once('=').ok_or_else(|| {
            format!("--param {p:?} must be NAME=VALUE, e.g. --param namespace=payment")
        })?;
        if out.insert(k.trim().to_owned(), v.to_owned()).is_some() {
            return Err(format!("--param {} is given twice", k.trim()));
        }
    }
    Ok(out)
}

/// `sopilot sop render FILE --param NAME=VALUE ... [--trigger FILE] [--json]`
pub fn render(args: &RenderArgs) -> Outcome {
    let shown = args.file.display().to_string();
    let source = match std::fs::read_to_string(&args.file) {
        Ok(s) => s,
        Err(e) => return Outcome::fail(format!("{shown}: {e}")),
    };
    let (sop, diags) = parse(&name_from_path(&args.file), &source);
    let errors: Vec<String> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{shown}:{}: {}", d.line, d.message))
        .collect();
    if !errors.is_empty() {
        return Outcome::fail(format!(
            "{shown} is not a valid SOP:\n  {}",
            errors.join("\n  ")
        ));
    }
    let given = match parse_params(&args.params) {
        Ok(p) => p,
        Err(e) => return Outcome::fail(e),
    };
    let trigger = match args.trigger.as_deref().map(read_trigger).transpose() {
        Ok(t) => t,
        Err(e) => return Outcome::fail(e),
    };
    let mut params = BTreeMap::new();
    if let Some(t) = &trigger {
        match trigger_params(&sop, t) {
            Some(Ok(from_trigger)) => params.extend(from_trigger),
            Some(Err(e)) => return Outcome::fail(format!("{shown}: {e}")),
            None => {}
        }
    }
    params.extend(given);
    match render_sop(&sop, &params, trigger.as_ref()) {
        Ok(r) => {
            let stderr: String = r
                .warnings
                .iter()
                .map(|w| format!("warning: {w}\n"))
                .collect();
            let stdout = if args.json {
                format!("{}\n", serde_json::to_string_pretty(&r).unwrap_or_default())
            } else {
                r.markdown
            };
            Outcome {
                stdout,
                stderr,
                code: 0,
            }
        }
        Err(e) => Outcome::fail(format!("{shown}: {e}")),
    }
}
