//! The checks that read files only: configuration, policy, SOPs, store.

use std::path::{Path, PathBuf};

use sopilot_runtime::Store;

use super::Line;
use crate::config::Config;
use crate::session::{load_policy, store_path};

/// The configuration file parses (or there is none: the defaults).
pub fn config(path: Option<&Path>) -> (Config, Line) {
    let Some(path) = path else {
        return (
            Config::default(),
            Line::ok("config", "no --config: the defaults"),
        );
    };
    match Config::load(path) {
        Ok(c) => (c, Line::ok("config", format!("{} parses", path.display()))),
        Err(e) => (
            Config::default(),
            Line::fail(
                "config",
                e,
                "correct the file (the remaining checks use the defaults)",
            ),
        ),
    }
}

fn policy_paths(config: &Config) -> Vec<PathBuf> {
    if config.serve.policy.is_empty() {
        vec![PathBuf::from("policies/")]
    } else {
        config.serve.policy.clone()
    }
}

/// The policy compiles and every rule's examples hold.
pub fn policy(config: &Config) -> Line {
    let paths = policy_paths(config);
    match load_policy(&paths, true) {
        Ok(p) => {
            let rules = p.rules().len();
            let warnings = p.warnings();
            let detail = format!(
                "{rules} rules compile; all {} examples hold",
                p.examples_checked()
            );
            if warnings.is_empty() {
                Line::ok("policy", detail)
            } else {
                let said: Vec<String> = warnings.iter().map(ToString::to_string).collect();
                Line::warn(
                    "policy",
                    format!("{detail}; {}", said.join("; ")),
                    "see `sopilot policy test` for each warning",
                )
            }
        }
        Err(e) => Line::fail(
            "policy",
            e,
            "fix the policy; `sopilot policy test PATH` shows each problem with its line",
        ),
    }
}

/// Every SOP of the library parses without errors; warnings are counted.
pub fn sops(config: &Config) -> Line {
    let fix = "fix the SOP; `sopilot sop lint PATH` lists every problem with its line";
    let (library, warnings) = match crate::cmd::serve::load_library_linted(&config.serve.sops) {
        Ok(l) => l,
        Err(e) => return Line::fail("sops", e, fix),
    };
    if warnings.is_empty() {
        Line::ok("sops", format!("{} SOPs lint clean", library.len()))
    } else {
        Line::warn(
            "sops",
            format!(
                "{} SOPs load; {} warning(s): {}",
                library.len(),
                warnings.len(),
                warnings.join("; ")
            ),
            "`sopilot sop lint PATH` explains each",
        )
    }
}

/// The store opens and takes a write.
pub fn store(config: &Config) -> Line {
    let path = store_path(None, config.store.as_deref());
    let location = sopilot_runtime::Location::of(&path);
    let shown = location.to_string();
    let fix = if location.is_file() {
        "make its folder writable by this user, or set `store:` to a writable path"
    } else {
        "check the PostgreSQL server answers at that URL and the user may create tables and write there"
    };
    let store = match Store::open_at(&location) {
        Ok(s) => s,
        Err(e) => return Line::fail("store", e.to_string(), fix),
    };
    let probe = format!("doctor-{}", std::process::id());
    let written = store
        .remember_message("doctor", &probe, chrono::Utc::now())
        .and_then(|_| store.forget_message("doctor", &probe));
    match written {
        Ok(()) => Line::ok("store", format!("{shown} is writable")),
        Err(e) => Line::fail("store", format!("{shown}: {e}"), fix),
    }
}
