//! cost_and_usage and cost_forecast.

use aws_sdk_costexplorer::types::Metric;
use rmcp::model::CallToolResult;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::{CostAndUsage, CostForecast};
use crate::dates::{cents, dollars, money, range};
use crate::error::{ToolFailure, ToolResult};
use crate::fetch::{SERVICE, costs, granularity, group, service_filter};

const MAX_TEXT: usize = 16 * 1024;

pub async fn cost_and_usage(c: &Clients, a: CostAndUsage) -> ToolResult<CallToolResult> {
    let (start, end) = range("start", &a.start, "end", &a.end)?;
    let gran = granularity(a.granularity.as_deref())?;
    let groups = a
        .group_by
        .as_deref()
        .map(group)
        .transpose()?
        .into_iter()
        .collect::<Vec<_>>();
    let (buckets, currency) = costs(
        c,
        start,
        end,
        gran,
        &groups,
        service_filter(a.service.as_deref()),
    )
    .await?;
    let mut text = format!(
        "UnblendedCost {start} to {end} (end exclusive){}\n",
        a.service
            .as_deref()
            .map(|s| format!(", service {s}"))
            .unwrap_or_default()
    );
    let grand: i64 = buckets.iter().map(|b| b.total).sum();
    if groups.is_empty() {
        let mut t = Table::new(["PERIOD", "COST", ""]);
        for b in &buckets {
            t.row([
                format!("{} .. {}", b.start, b.end),
                money(b.total, &currency),
                if b.estimated {
                    "estimated".into()
                } else {
                    String::new()
                },
            ]);
        }
        text.push_str(&t.render());
    } else {
        for b in &buckets {
            text.push_str(&format!(
                "\n{} .. {}: {}{}\n",
                b.start,
                b.end,
                money(b.total, &currency),
                if b.estimated { " (estimated)" } else { "" }
            ));
            let mut rows: Vec<(&Vec<String>, &i64)> =
                b.groups.iter().filter(|(_, v)| **v != 0).collect();
            rows.sort_by_key(|r| std::cmp::Reverse(*r.1));
            let mut t = Table::new([
                a.group_by
                    .as_deref()
                    .unwrap_or("GROUP")
                    .to_uppercase()
                    .as_str(),
                "COST",
                "SHARE",
            ]);
            for (k, v) in rows {
                #[allow(clippy::cast_precision_loss)]
                let share = if b.total != 0 {
                    *v as f64 / b.total as f64 * 100.0
                } else {
                    0.0
                };
                t.row([k.join(" / "), money(*v, &currency), format!("{share:.1} %")]);
            }
            text.push_str(&t.render());
        }
    }
    text.push_str(&format!("\nTotal: {}\n", money(grand, &currency)));
    let structured = json!({
        "start": start.to_string(), "end": end.to_string(), "currency": currency, "metric": "UnblendedCost",
        "total": dollars(grand),
        "periods": buckets.iter().map(|b| json!({
            "start": b.start, "end": b.end, "estimated": b.estimated, "total": dollars(b.total),
            "groups": b.groups.iter().map(|(k, v)| json!({"keys": k, "amount": dollars(*v)})).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Ok(ok_json(
        cap(
            &text,
            MAX_TEXT,
            "use MONTHLY granularity or a shorter period",
        )
        .text,
        &structured,
    ))
}

pub async fn cost_forecast(c: &Clients, a: CostForecast) -> ToolResult<CallToolResult> {
    let (start, end) = range("start", &a.start, "end", &a.end)?;
    let today = chrono::Utc::now().date_naive();
    if start < today {
        return Err(ToolFailure::BadArgument(format!(
            "start ({start}) is in the past; a forecast starts today ({today}) or later — use cost_and_usage for past costs"
        )));
    }
    let gran = granularity(a.granularity.as_deref())?;
    let interval = aws_sdk_costexplorer::types::DateInterval::builder()
        .start(start.to_string())
        .end(end.to_string())
        .build()
        .map_err(|e| ToolFailure::BadArgument(e.to_string()))?;
    let resp =
        c.ce.get_cost_forecast()
            .time_period(interval)
            .metric(Metric::UnblendedCost)
            .granularity(gran.clone())
            .prediction_interval_level(80)
            .set_filter(service_filter(a.service.as_deref()))
            .send()
            .await
            .map_err(|e| ToolFailure::from_sdk(SERVICE, c.attempts, e))?;
    let currency = resp
        .total()
        .and_then(|t| t.unit())
        .unwrap_or("USD")
        .to_owned();
    let total = cents(resp.total().and_then(|t| t.amount()));
    let mut t = Table::new(["PERIOD", "FORECAST", "80 % INTERVAL"]);
    let mut periods = Vec::new();
    for r in resp.forecast_results_by_time() {
        let (mean, lo, hi) = (
            cents(r.mean_value()),
            cents(r.prediction_interval_lower_bound()),
            cents(r.prediction_interval_upper_bound()),
        );
        let p = r
            .time_period()
            .map(|p| format!("{} .. {}", p.start(), p.end()))
            .unwrap_or_default();
        t.row([
            p.clone(),
            money(mean, &currency),
            format!("{} – {}", money(lo, &currency), money(hi, &currency)),
        ]);
        periods.push(
            json!({"period": p, "mean": dollars(mean), "lower": dollars(lo), "upper": dollars(hi)}),
        );
    }
    let text = format!(
        "Forecast of UnblendedCost {start} to {end} (end exclusive){}: {}\n{}",
        a.service
            .as_deref()
            .map(|s| format!(", service {s}"))
            .unwrap_or_default(),
        money(total, &currency),
        t.render()
    );
    Ok(ok_json(
        text,
        &json!({"start": start.to_string(), "end": end.to_string(), "currency": currency, "total": dollars(total), "prediction_interval_level": 80, "periods": periods}),
    ))
}
