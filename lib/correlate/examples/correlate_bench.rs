//! The Rust half of `bench/correlate/run.sh`.
//!
//! - `correlate_bench write DIR` writes `cases.json`: seeded symptom/candidate
//!   pairs with a planted lead (`sopilot_correlate::synthetic::bench_cases`),
//!   so Python reads exactly the same data.
//! - `correlate_bench time DIR [REPEAT]` reads them back and prints one JSON
//!   line per case: r at lag 0, the best lag and its r, and the median time
//!   of those two (`pearson` + `best_lag`) and of the whole `rank` (with
//!   change points and first anomalies) over `REPEAT` runs.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::DateTime;
use serde_json::{Value, json};
use sopilot_correlate::synthetic::bench_cases;
use sopilot_correlate::{Options, Series, best_lag, pearson, rank};

/// Series lengths: an hour and six hours of minutes, a day of minutes, a week of minutes.
const SIZES: [usize; 4] = [60, 360, 1440, 10_080];
const SEEDS: u64 = 5;
const MIN_PAIRS: usize = 10;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["write", dir] => write(Path::new(dir)),
        ["time", dir] => time(Path::new(dir), 50),
        ["time", dir, repeat] => time(Path::new(dir), repeat.parse().context("REPEAT")?),
        _ => bail!("usage: correlate_bench write DIR | correlate_bench time DIR [REPEAT]"),
    }
}

fn write(dir: &Path) -> anyhow::Result<()> {
    let cases = bench_cases(&SIZES, SEEDS);
    // serde_json writes the shortest round-trip form, so Python parses the identical f64s.
    std::fs::write(dir.join("cases.json"), serde_json::to_string(&cases)?)?;
    eprintln!(
        "wrote {} cases to {}",
        cases.len(),
        dir.join("cases.json").display()
    );
    Ok(())
}

fn floats(v: &Value, key: &str) -> anyhow::Result<Vec<f64>> {
    v[key]
        .as_array()
        .with_context(|| format!("{key} is not an array"))?
        .iter()
        .map(|x| {
            x.as_f64()
                .with_context(|| format!("{key}: {x} is not a number"))
        })
        .collect()
}

fn median_us(repeat: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn time(dir: &Path, repeat: usize) -> anyhow::Result<()> {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json"))?)?;
    for case in &cases {
        let (s, c) = (floats(case, "symptom")?, floats(case, "candidate")?);
        let max_lag = case["max_lag"].as_u64().context("max_lag")? as usize;
        let r0 = pearson(&s, &c);
        let lag = best_lag(&s, &c, max_lag, MIN_PAIRS, 60).context("no lag")?;
        let core = median_us(repeat, || {
            std::hint::black_box((pearson(&s, &c), best_lag(&s, &c, max_lag, MIN_PAIRS, 60)));
        });
        let t0 = DateTime::from_timestamp(1_790_000_000, 0).context("t0")?;
        let symptom = Series::regular(t0, 60, &s);
        let candidates = vec![("candidate".to_owned(), Series::regular(t0, 60, &c))];
        let options = Options {
            max_lag_steps: max_lag,
            min_pairs: MIN_PAIRS,
            ..Options::default()
        };
        let whole = median_us(repeat, || {
            std::hint::black_box(rank(&symptom, &candidates, &options).ok());
        });
        let line = json!({
            "impl": "sopilot-correlate", "case": case["name"], "n": s.len(), "lead": case["lead"],
            "r0": r0, "lag": lag.steps, "r_lag": lag.r,
            "median_us": core, "rank_median_us": whole, "runs": repeat,
        });
        println!("{line}");
    }
    Ok(())
}
