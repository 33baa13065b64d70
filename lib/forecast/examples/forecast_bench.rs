//! The Rust half of `bench/forecast/run.sh`.
//!
//! - `forecast_bench write DIR` writes `series.csv` (`ds,y`: 8 days and 6 hours
//!   of the noisy 5-minute scenario) and `plan.json` (history length, horizon,
//!   origins and leads), so Python reads exactly the same data and protocol.
//! - `forecast_bench time DIR [REPEAT]` reads them back, fits and forecasts
//!   from every origin `REPEAT` times, and prints one JSON object: median and
//!   mean fit + forecast time and MAPE per lead.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use serde_json::json;
use sopilot_forecast::evaluate::mape;
use sopilot_forecast::synthetic::{POINTS_PER_DAY, Spec, scenarios};
use sopilot_forecast::{ForecastOptions, Series, forecast};

/// Seven days of 5-minute points, the source document's history.
const HISTORY: usize = 7 * POINTS_PER_DAY;
/// Six hours ahead; leads 30 min, 1 h, 2 h and 6 h are scored.
const HORIZON: usize = 72;
const LEADS: [usize; 4] = [6, 12, 24, 72];
/// Twenty-four origins, every hour over the eighth day.
const ORIGINS: usize = 24;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["write", dir] => write(Path::new(dir)),
        ["time", dir] => time(Path::new(dir), 20),
        ["time", dir, repeat] => time(Path::new(dir), repeat.parse().context("REPEAT")?),
        _ => bail!("usage: forecast_bench write DIR | forecast_bench time DIR [REPEAT]"),
    }
}

fn origins() -> Vec<usize> {
    (0..ORIGINS).map(|k| HISTORY + k * 12).collect()
}

fn write(dir: &Path) -> anyhow::Result<()> {
    let (_, spec) = scenarios()
        .into_iter()
        .find(|(name, _)| *name == "noisy")
        .context("the noisy scenario")?;
    let points = HISTORY + POINTS_PER_DAY + HORIZON;
    let series = Spec { points, ..spec }.generate().series;
    let mut csv = String::from("ds,y\n");
    for (i, v) in series.values.iter().enumerate() {
        let t = series.time_at(i).context("timestamp")?;
        // Shortest round-trip form, so Python parses the identical f64.
        writeln!(csv, "{},{v}", t.format("%Y-%m-%dT%H:%M:%SZ"))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("series.csv"), csv)?;
    let plan = json!({
        "step_seconds": series.step_seconds,
        "history": HISTORY,
        "horizon": HORIZON,
        "origins": origins(),
        "leads": LEADS,
    });
    std::fs::write(dir.join("plan.json"), serde_json::to_string_pretty(&plan)?)?;
    Ok(())
}

fn read(dir: &Path) -> anyhow::Result<Series> {
    let text = std::fs::read_to_string(dir.join("series.csv"))?;
    let mut start = None;
    let mut values = Vec::new();
    for line in text.lines().skip(1) {
        let (ds, y) = line.split_once(',').context("a ds,y line")?;
        let t: DateTime<Utc> = DateTime::parse_from_rfc3339(ds)?.with_timezone(&Utc);
        start.get_or_insert(t);
        values.push(y.parse::<f64>()?);
    }
    Ok(Series::new(start.context("no rows")?, 300, values))
}

fn time(dir: &Path, repeat: usize) -> anyhow::Result<()> {
    let series = read(dir)?;
    let options = ForecastOptions::new(HORIZON);
    let mut times_ms = Vec::new();
    let mut predicted = vec![Vec::new(); LEADS.len()];
    let mut actual = vec![Vec::new(); LEADS.len()];
    let mut model = String::new();
    for origin in origins() {
        let history = Series::new(
            series.time_at(origin - HISTORY).context("time")?,
            series.step_seconds,
            series.values[origin - HISTORY..origin].to_vec(),
        );
        for run in 0..repeat.max(1) {
            let started = Instant::now();
            let fc = forecast(&history, &options)?;
            times_ms.push(started.elapsed().as_secs_f64() * 1e3);
            model = fc.model.clone();
            // Every run gives the same forecast; score the first.
            if run == 0 {
                for (i, lead) in LEADS.iter().enumerate() {
                    predicted[i].push(fc.points[lead - 1].yhat);
                    actual[i].push(series.values[origin + lead - 1]);
                }
            }
        }
    }
    times_ms.sort_by(f64::total_cmp);
    let median = times_ms[times_ms.len() / 2];
    let mean = times_ms.iter().sum::<f64>() / times_ms.len() as f64;
    let mapes: Vec<f64> = actual
        .iter()
        .zip(&predicted)
        .map(|(a, p)| mape(a, p))
        .collect();
    let out = json!({
        "name": "sopilot-forecast",
        "model": model,
        "runs": times_ms.len(),
        "median_ms": median,
        "mean_ms": mean,
        "mape": mapes,
    });
    writeln!(std::io::stdout().lock(), "{out}")?;
    Ok(())
}
