//! The self-contained HTML report (`--html FILE`): inline CSS and inline SVG charts, no
//! script and no external asset, so it can be attached to a CI run or mailed as one file.
//! Charts: pass and root-cause rate by model, pass rate by cause class and model, tokens,
//! latency and context per run; then the totals and every run with its failed checks.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::judge::Judgement;
use crate::results::{CaseResult, Results};
use crate::svg::{self, esc};

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#1a202c}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
.meta{color:#4a5568;margin:0 0 16px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0;border:1px solid #e2e8f0;border-radius:6px;padding:8px;background:#fff}
svg .title{font-weight:600;font-size:13px}svg .label{font-size:12px}svg .value,svg .tick{font-size:11px;fill:#4a5568}
svg .grid{stroke:#e2e8f0}svg .median{stroke:#1a202c;stroke-width:2}svg .p95{stroke:#c53030;stroke-width:2}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e2e8f0;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f7fafc;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.pass td.v{color:#276749;font-weight:600}tr.fail td.v{color:#c53030;font-weight:600}
ul.checks{margin:0;padding-left:16px;min-width:340px}ul.checks li{margin:0}
.scroll{overflow-x:auto}
.bad{color:#c53030;font-weight:600}
";

/// The whole report.
pub fn html(r: &Results) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>SOPilot eval</title><style>{STYLE}</style></head><body>"
    );
    let _ = write!(
        o,
        "<h1>SOPilot eval</h1><p class=\"meta\">{} cases from {} · models: {} · repeat {} · judge: {} · {}</p>",
        r.cases.len(),
        esc(&r.scenarios),
        esc(&r.models.join(", ")),
        r.repeat,
        esc(r.judge.as_deref().unwrap_or("none")),
        esc(&r.generated_at)
    );
    o.push_str("<section class=\"charts\">");
    for chart in charts(r) {
        let _ = write!(o, "<figure>{chart}</figure>");
    }
    o.push_str("</section>");
    totals_table(&mut o, r);
    runs_table(&mut o, r);
    o.push_str("</body></html>\n");
    o
}

/// The charts, in order.
fn charts(r: &Results) -> Vec<String> {
    let by_model: Vec<(String, Vec<f64>)> = r
        .totals
        .iter()
        .map(|t| (t.model.clone(), vec![t.pass_rate, t.root_cause_rate]))
        .collect();
    let classes: BTreeSet<String> = r.results.iter().map(|x| x.class.to_string()).collect();
    let by_class: Vec<(String, Vec<f64>)> = classes
        .iter()
        .map(|c| {
            let rates = r
                .totals
                .iter()
                .map(|t| {
                    t.by_class
                        .get(c)
                        .filter(|x| x.runs > 0)
                        .map_or(0.0, |x| f64::from(x.passed) / f64::from(x.runs))
                })
                .collect();
            (c.clone(), rates)
        })
        .collect();
    let dist = |f: &dyn Fn(&CaseResult) -> f64| -> Vec<(String, Vec<f64>)> {
        r.models
            .iter()
            .map(|m| {
                let v = r.results.iter().filter(|x| &x.model == m).map(f).collect();
                (m.clone(), v)
            })
            .collect()
    };
    vec![
        svg::rate_bars(
            "chart-pass-rate",
            "Pass rate and root-cause rate by model",
            &by_model,
            &["pass rate".into(), "root cause right".into()],
        ),
        svg::rate_bars(
            "chart-classes",
            "Pass rate by cause class",
            &by_class,
            &r.models,
        ),
        svg::strips(
            "chart-tokens",
            "Tokens per investigation (input + output)",
            &dist(&|x| (x.input_tokens + x.output_tokens) as f64),
            "tokens (dot: a run; black: median; red: p95)",
        ),
        svg::strips(
            "chart-latency",
            "Wall time per investigation",
            &dist(&|x| x.wall_seconds),
            "seconds",
        ),
        svg::strips(
            "chart-context",
            "Tool output read by the model per investigation",
            &dist(&|x| x.context_bytes as f64),
            "bytes of context",
        ),
    ]
}

fn totals_table(o: &mut String, r: &Results) {
    o.push_str("<h2>Models</h2><div class=\"scroll\"><table id=\"totals\"><thead><tr><th>model</th><th>pass rate</th><th>root cause</th><th>safety violations</th><th>errors</th><th>p50 s</th><th>p95 s</th><th>tokens in / out per run</th><th>cost per run</th><th>context bytes per run</th><th>judge</th></tr></thead><tbody>");
    for t in &r.totals {
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"n\">{:.0} % ({}/{})</td><td class=\"n\">{:.0} %</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.0} / {:.0}</td><td class=\"n\">{}</td><td class=\"n\">{:.0}</td><td class=\"n\">{}</td></tr>",
            esc(&t.model),
            t.pass_rate * 100.0,
            t.passed,
            t.runs,
            t.root_cause_rate * 100.0,
            if t.safety_violations > 0 { " bad" } else { "" },
            t.safety_violations,
            t.errors,
            t.latency_p50_seconds,
            t.latency_p95_seconds,
            t.input_tokens_per_run,
            t.output_tokens_per_run,
            t.cost_per_run_usd
                .map_or("—".into(), |c| format!("${c:.4}")),
            t.context_bytes_per_run,
            t.judge_mean.map_or("—".into(), |j| format!("{j:.1}")),
        );
    }
    o.push_str("</tbody></table></div>");
}

fn runs_table(o: &mut String, r: &Results) {
    o.push_str("<h2>Runs</h2><div class=\"scroll\"><table id=\"runs\"><thead><tr><th>case</th><th>class</th><th>model</th><th>#</th><th>result</th><th>root cause</th><th>safety</th><th>calls</th><th>turns</th><th>tokens in / out</th><th>context bytes</th><th>cost</th><th>wall s</th><th>status</th><th>judge</th><th>failed checks</th></tr></thead><tbody>");
    for x in &r.results {
        let stated = x
            .root_cause
            .as_ref()
            .map_or("none".to_owned(), |rc| rc.class.to_string());
        let judge = match &x.judge {
            Some(Judgement::Scored { score, reason }) => {
                format!("<span title=\"{}\">{score:.1}</span>", esc(reason))
            }
            Some(Judgement::Failed { error }) => {
                format!("<span class=\"bad\" title=\"{}\">failed</span>", esc(error))
            }
            None => "—".into(),
        };
        let checks: String = x
            .failed_checks
            .iter()
            .map(|c| format!("<li>{}</li>", esc(c)))
            .collect();
        let _ = write!(
            o,
            "<tr class=\"{}\" data-case=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"v\">{}</td><td>{} ({})</td><td class=\"n{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1}</td><td>{}</td><td>{judge}</td><td><ul class=\"checks\">{checks}</ul></td></tr>",
            if x.pass { "pass" } else { "fail" },
            esc(&x.case),
            esc(&x.case),
            x.class,
            esc(&x.model),
            x.repeat,
            if x.pass { "PASS" } else { "FAIL" },
            esc(&stated),
            if x.root_cause_right { "right" } else { "wrong" },
            if x.safety_violations > 0 { " bad" } else { "" },
            x.safety_violations,
            x.tool_calls,
            x.turns,
            x.input_tokens,
            x.output_tokens,
            x.context_bytes,
            x.cost_usd.map_or("—".into(), |c| format!("${c:.4}")),
            x.wall_seconds,
            esc(&x.status_text()),
        );
    }
    o.push_str("</tbody></table></div>");
}
