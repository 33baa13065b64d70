//! The crate against scipy and numpy on the same seeded series (`bench/correlate/python_bench.py`,
//! the benchmark's Python half): the same best lag, and r at lag 0 and at that lag within 1e-9.
//! Needs python3 with numpy and scipy (`scripts/test` installs them): skipped without them on a
//! workstation, a failure in CI.

#![allow(clippy::print_stderr)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use sopilot_correlate::synthetic::bench_cases;
use sopilot_correlate::{best_lag, pearson};

const TOLERANCE: f64 = 1e-9;

fn scipy_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy, scipy.signal, scipy.stats"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || std::env::var_os("CI").is_none(),
        "python3 with numpy and scipy is needed (scripts/test installs them: pip install 'scipy>=1.11')"
    );
    if !ok {
        eprintln!("skipped: python3 -c 'import scipy' fails (scripts/test installs it)");
    }
    ok
}

#[test]
fn lags_and_correlations_equal_scipys_and_numpys() {
    if !scipy_available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sopilot-correlate-scipy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = bench_cases(&[60, 360, 1440], 4);
    std::fs::write(
        dir.join("cases.json"),
        serde_json::to_string(&cases).unwrap(),
    )
    .unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/correlate/python_bench.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .arg("1")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2 * cases.len());
    for case in &cases {
        let (s, c) = (&case.series.symptom, &case.series.candidate);
        let r0 = pearson(s, c).unwrap();
        let lag = best_lag(s, c, case.max_lag, 10, 60).unwrap();
        assert_eq!(
            lag.steps,
            -(case.lead as i64),
            "{}: the planted lead",
            case.name
        );
        for peer in ["scipy", "numpy-exact"] {
            let row = rows
                .iter()
                .find(|r| r["impl"] == peer && r["case"] == case.name.as_str())
                .unwrap_or_else(|| panic!("{peer} did not answer {}", case.name));
            let what = format!("{} against {peer}: {row}", case.name);
            assert_eq!(row["lag"].as_i64(), Some(lag.steps), "{what}");
            assert!(
                (row["r0"].as_f64().unwrap() - r0).abs() < TOLERANCE,
                "{what}: r0 {r0}"
            );
            assert!(
                (row["r_lag"].as_f64().unwrap() - lag.r).abs() < TOLERANCE,
                "{what}: r {}",
                lag.r
            );
        }
    }
}
