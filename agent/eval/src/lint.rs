//! What a case runs and whether it can run: the SOP `sopilot serve` would route its trigger
//! to (the server's own router), its parameters, its scripts and its scenario, and that the
//! tools it expects are ones that SOP offers. `sopilot eval --lint` reports these without
//! running anything; `sopilot eval` refuses to start while any is wrong.

use std::collections::BTreeMap;
use std::path::Path;

use sopilot_protocol::Trigger;
use sopilot_server::runs::{Origin, StartRequest};
use sopilot_sop::Sop;

use crate::case::{CASE_FILE, Case, CaseError, REFERENCE_FILE, SCENARIO_FILE, Start, WRONG_FILE};

/// What a case runs: the SOP, its parameters and the trigger it is given.
#[derive(Debug, Clone)]
pub struct Planned {
    pub sop: Sop,
    pub params: BTreeMap<String, String>,
    pub trigger: Trigger,
}

/// Routes a case as `sopilot serve` would: its trigger through the SOPs' front-matter
/// `triggers` (or the SOP it names), parameters from the trigger and then the case.
pub fn route_case(case: &Case, sops: &[Sop]) -> Result<Planned, CaseError> {
    let file = case.dir.join(CASE_FILE);
    let (trigger, sop, mut params) = match &case.start {
        Start::Trigger(t) => ((**t).clone(), case.sop.clone(), BTreeMap::new()),
        Start::Ide { sop, params } => (
            Trigger::Manual {
                by: Some(format!(
                    "MCP client sopilot-eval: {sop} {}",
                    serde_json::to_string(params).unwrap_or_default()
                )),
            },
            Some(sop.clone()),
            params.clone(),
        ),
    };
    params.extend(case.params.clone());
    let line = match &sop {
        Some(_) => case.lines.sop.unwrap_or(case.lines.start),
        None => case.lines.start,
    };
    let req = StartRequest {
        trigger,
        sop,
        params,
        origin: Origin::Api,
        target: None,
        carries_on: None,
    };
    let (sop, params) = sopilot_server::runs::plan(sops, &req)
        .map_err(|e| CaseError::at(&file, line, e.to_string()))?;
    Ok(Planned {
        sop,
        params,
        trigger: req.trigger,
    })
}

/// A scripted model of a case (`reference.yaml`, `wrong.yaml`), checked.
pub fn script(case: &Case, file: &str) -> Result<sopilot_script::Script, CaseError> {
    let path = case.dir.join(file);
    if !path.is_file() {
        return Err(CaseError::file(
            &path,
            format!(
                "missing: every case has a {REFERENCE_FILE} (the right path, must pass) and a {WRONG_FILE} (a plausible wrong path, must fail)"
            ),
        ));
    }
    sopilot_script::Script::from_file(&path).map_err(|e| CaseError::file(&path, e.message))
}

/// Every problem of a case that can be found without running it. `scenario` checks the
/// scenario file (the simulated environment's parser lives with the runner).
pub fn lint(
    case: &Case,
    sops: &[Sop],
    scenario: &dyn Fn(&Path) -> Result<(), String>,
) -> Vec<CaseError> {
    let mut problems = Vec::new();
    let scenario_file = case.dir.join(SCENARIO_FILE);
    if !scenario_file.is_file() {
        problems.push(CaseError::file(
            &scenario_file,
            "missing: every case has a scenario (the simulated world, docs/scenarios.md)",
        ));
    } else if let Err(e) = scenario(&scenario_file) {
        problems.push(CaseError::file(&scenario_file, e));
    }
    for file in [REFERENCE_FILE, WRONG_FILE] {
        if let Err(e) = script(case, file) {
            problems.push(e);
        }
    }
    match route_case(case, sops) {
        Ok(planned) => problems.extend(offered(case, &planned.sop)),
        Err(e) => problems.push(e),
    }
    problems
}

/// Expected tools (not globs) that the SOP does not offer: such a case can never pass.
fn offered(case: &Case, sop: &Sop) -> Vec<CaseError> {
    if sop.front.tools.is_empty() {
        return Vec::new();
    }
    let globs: Vec<globset::GlobMatcher> = sop
        .front
        .tools
        .iter()
        .filter_map(|g| globset::Glob::new(g).ok())
        .map(|g| g.compile_matcher())
        .collect();
    let e = &case.expect;
    let wanted = e
        .evidence
        .iter()
        .map(|x| ("evidence", &x.tool))
        .chain(e.must.iter().map(|x| ("actions.must", &x.tool)));
    wanted
        .filter(|(_, t)| !t.contains(['*', '?', '[']))
        .filter(|(_, t)| !globs.iter().any(|g| g.is_match(t.as_str())))
        .map(|(what, t)| {
            CaseError::file(
                &case.dir.join(CASE_FILE),
                format!(
                    "expect.{what}: {t} is not among the tools SOP {} offers ({}); the case could never pass",
                    sop.name,
                    sop.front.tools.join(", ")
                ),
            )
        })
        .collect()
}
