//! The attack suite's harness: loads a case file from `tests/attacks/`, runs its cases
//! (several at once, each on its own simulated world) through the real `sopilot` binary, and
//! fails naming the file, the case and what leaked, changed or was decided wrongly.

pub mod case;
pub mod check;
pub mod model;
pub mod policy;
pub mod run;
pub mod serve;
pub mod world;

use futures::StreamExt;

use case::{Case, CaseFile};
use check::Outputs;
use world::{World, repo};

/// How many cases of one file run at once.
const CONCURRENT_CASES: usize = 3;

/// How many leaks a failing case lists.
const MAX_LEAKS_SHOWN: usize = 12;

/// The folder of case files, from the repository root.
pub const CASES_DIR: &str = "tests/attacks";

/// Every `*.yaml` case file name in `tests/attacks/`.
pub fn case_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join(CASES_DIR))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    names
}

/// Loads a case file by name (`secret-spellings.yaml`).
pub fn load(name: &str) -> CaseFile {
    CaseFile::load(&repo().join(CASES_DIR).join(name)).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every case of a file; panics with every failure.
pub async fn run_file(name: &str) {
    let file = load(name);
    let failures: Vec<(String, Vec<String>)> = futures::stream::iter(file.cases.iter())
        .map(|case| async { (case.name.clone(), run_case(&file, case).await) })
        .buffer_unordered(CONCURRENT_CASES)
        .filter(|(_, errors)| std::future::ready(!errors.is_empty()))
        .collect()
        .await;
    if failures.is_empty() {
        return;
    }
    let mut report = format!(
        "{CASES_DIR}/{name} ({}: {}): {} of {} cases failed\n",
        file.class,
        file.description.trim(),
        failures.len(),
        file.cases.len()
    );
    for (case, errors) in failures {
        let description = file
            .cases
            .iter()
            .find(|c| c.name == case)
            .map(|c| c.description.trim())
            .unwrap_or("");
        report.push_str(&format!(
            "\n✗ {CASES_DIR}/{name} case {case:?}: {description}\n"
        ));
        for e in errors {
            report.push_str(&format!("  - {}\n", e.replace('\n', "\n    ")));
        }
    }
    panic!("{report}");
}

/// One case: its driver, then the leak scan over everything it produced.
async fn run_case(file: &CaseFile, case: &Case) -> Vec<String> {
    let mut outputs = Outputs::default();
    let markers: Vec<String> = file
        .markers
        .iter()
        .chain(case.markers.iter())
        .cloned()
        .collect();
    let mut errors = Vec::new();
    if !case.policy_check.is_empty() {
        errors.extend(policy::checks(&case.policy_check, &mut outputs).await);
    } else if !case.config_refused.is_empty() {
        let dir = tempfile::tempdir().unwrap();
        errors.extend(policy::refusals(&case.config_refused, dir.path(), &mut outputs).await);
    } else {
        let scenario = case
            .scenario
            .clone()
            .unwrap_or_else(|| file.scenario.clone());
        let world = match World::start(&scenario).await {
            Ok(w) => w,
            Err(e) => return vec![format!("the world did not start: {e}")],
        };
        errors.extend(planted(&scenario, &markers));
        if let Some(spec) = &case.serve {
            errors.extend(serve::play(&world, spec, &mut outputs).await);
        } else {
            errors.extend(run::run_all(&world, &case.run_specs(), &mut outputs).await);
        }
        collect(&world, &mut outputs);
    }
    let leaks = check::leaks(&outputs, &markers);
    let more = leaks.len().saturating_sub(MAX_LEAKS_SHOWN);
    errors.extend(leaks.into_iter().take(MAX_LEAKS_SHOWN));
    if more > 0 {
        errors.push(format!(
            "… and {more} more leaks (SOPILOT_ATTACKS_DUMP=DIR writes every output)"
        ));
    }
    dump(file, case, &outputs);
    errors
}

/// With `SOPILOT_ATTACKS_DUMP=DIR`, every output of a case is written to
/// `DIR/CLASS--CASE.txt`, to see what the model, the report and the logs got.
fn dump(file: &CaseFile, case: &Case, outputs: &Outputs) {
    let Some(dir) = std::env::var_os("SOPILOT_ATTACKS_DUMP") else {
        return;
    };
    let text: String = outputs
        .0
        .iter()
        .map(|(place, text)| format!("===== {place}\n{text}\n"))
        .collect();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(
        std::path::Path::new(&dir).join(format!("{}--{}.txt", file.class, case.name)),
        text,
    );
}

/// Markers that are not in the scenario would make the leak check vacuous.
fn planted(scenario: &[String], markers: &[String]) -> Vec<String> {
    let text = world::merge_scenarios(scenario)
        .map(|v| v.to_string())
        .unwrap_or_default();
    markers
        .iter()
        .filter(|m| !text.contains(m.as_str()))
        .map(|m| format!("marker {m:?} is planted nowhere in the scenario {scenario:?}"))
        .collect()
}

/// What the model was sent, what Slack was sent, and the stores' files.
fn collect(world: &World, outputs: &mut Outputs) {
    for (i, r) in world.model.requests().iter().enumerate() {
        outputs.add(
            format!("what the model was sent (request {})", i + 1),
            r.to_string(),
        );
        outputs.add(
            format!("the model's conversation (request {})", i + 1),
            model::conversation(r),
        );
    }
    for r in world.slack.requests() {
        outputs.add(
            format!("Slack API request {} {}", r.seq, r.method),
            format!("{} {:?}", r.body, r.params),
        );
    }
    for db in ["sopilot.db", "serve.db"] {
        for suffix in ["", "-wal", "-shm"] {
            let path = world.path(&format!("{db}{suffix}"));
            if path.exists() {
                outputs.add(
                    format!("the store file {db}{suffix}"),
                    world::read_lossy(&path),
                );
            }
        }
    }
}
