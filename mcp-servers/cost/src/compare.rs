//! compare_periods: the change between two periods, ranked by driver, with each driver's
//! share of all increases (and of all decreases).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_costexplorer::types::{Granularity, GroupDefinition};
use rmcp::model::CallToolResult;
use serde::Serialize;
use serde_json::json;
use sopilot_mcp_common::{Table, cap, ok_json};

use crate::Clients;
use crate::args::ComparePeriods;
use crate::dates::{dollars, money, range};
use crate::error::ToolResult;
use crate::fetch::{costs, group, service_filter};

const MAX_TEXT: usize = 16 * 1024;

/// One driver's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Driver {
    pub keys: Vec<String>,
    pub base: f64,
    pub compare: f64,
    pub change: f64,
    /// Percent change from the base (`null` when the base was zero).
    pub change_percent: Option<f64>,
    /// Percent of all increases (for an increase) or of all decreases (for a decrease).
    pub share_percent: f64,
}

/// The comparison, computed from amounts in cents per key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub base_total: f64,
    pub compare_total: f64,
    pub change: f64,
    pub change_percent: Option<f64>,
    pub increases_total: f64,
    pub decreases_total: f64,
    /// Increases, largest first.
    pub increases: Vec<Driver>,
    /// Decreases, largest first.
    pub decreases: Vec<Driver>,
}

#[allow(clippy::cast_precision_loss)]
fn pct(part: i64, whole: i64) -> Option<f64> {
    (whole != 0).then(|| (part as f64 / whole as f64 * 1000.0).round() / 10.0)
}

/// Ranks the drivers of the change from `base` to `compare` (cents per key).
pub fn compare(
    base: &BTreeMap<Vec<String>, i64>,
    compare: &BTreeMap<Vec<String>, i64>,
) -> Comparison {
    let keys: BTreeSet<&Vec<String>> = base.keys().chain(compare.keys()).collect();
    let changes: Vec<(&Vec<String>, i64, i64)> = keys
        .into_iter()
        .map(|k| {
            (
                k,
                base.get(k).copied().unwrap_or(0),
                compare.get(k).copied().unwrap_or(0),
            )
        })
        .collect();
    let up: i64 = changes
        .iter()
        .map(|(_, b, c)| c - b)
        .filter(|d| *d > 0)
        .sum();
    let down: i64 = changes
        .iter()
        .map(|(_, b, c)| c - b)
        .filter(|d| *d < 0)
        .sum();
    let driver = |(k, b, c): &(&Vec<String>, i64, i64), pool: i64| Driver {
        keys: (*k).clone(),
        base: dollars(*b),
        compare: dollars(*c),
        change: dollars(c - b),
        change_percent: pct(c - b, *b),
        share_percent: pct(c - b, pool).unwrap_or(0.0),
    };
    let mut increases: Vec<&(&Vec<String>, i64, i64)> =
        changes.iter().filter(|(_, b, c)| c > b).collect();
    increases.sort_by_key(|(_, b, c)| std::cmp::Reverse(c - b));
    let mut decreases: Vec<&(&Vec<String>, i64, i64)> =
        changes.iter().filter(|(_, b, c)| c < b).collect();
    decreases.sort_by_key(|(_, b, c)| c - b);
    let (bt, ct): (i64, i64) = (base.values().sum(), compare.values().sum());
    Comparison {
        base_total: dollars(bt),
        compare_total: dollars(ct),
        change: dollars(ct - bt),
        change_percent: pct(ct - bt, bt),
        increases_total: dollars(up),
        decreases_total: dollars(down),
        increases: increases.into_iter().map(|x| driver(x, up)).collect(),
        decreases: decreases.into_iter().map(|x| driver(x, down)).collect(),
    }
}

fn sum_buckets(buckets: &[crate::fetch::Bucket]) -> BTreeMap<Vec<String>, i64> {
    let mut out = BTreeMap::new();
    for b in buckets {
        for (k, v) in &b.groups {
            *out.entry(k.clone()).or_default() += v;
        }
    }
    out
}

fn cents_of(d: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let c = (d * 100.0).round() as i64;
    c
}

fn table(drivers: &[Driver], headers: &[&str], currency: &str) -> String {
    let mut t = Table::new(
        headers
            .iter()
            .copied()
            .chain(["BASE", "COMPARE", "CHANGE", "SHARE"]),
    );
    for d in drivers {
        let mut row: Vec<String> = d.keys.clone();
        row.resize(headers.len(), String::new());
        row.extend([
            money(cents_of(d.base), currency),
            money(cents_of(d.compare), currency),
            format!(
                "{}{}",
                if d.change > 0.0 { "+" } else { "" },
                money(cents_of(d.change), currency)
            ),
            format!("{:.0} %", d.share_percent),
        ]);
        t.row(row);
    }
    t.render()
}

pub async fn compare_periods(c: &Clients, a: ComparePeriods) -> ToolResult<CallToolResult> {
    let (bs, be) = range("base_start", &a.base_start, "base_end", &a.base_end)?;
    let (cs, ce) = range(
        "compare_start",
        &a.compare_start,
        "compare_end",
        &a.compare_end,
    )?;
    let (groups, headers): (Vec<GroupDefinition>, Vec<String>) = match a.group_by.as_deref() {
        Some(g) => (vec![group(g)?], vec![g.to_uppercase()]),
        None => (
            vec![group("SERVICE")?, group("USAGE_TYPE")?],
            vec!["SERVICE".into(), "USAGE TYPE".into()],
        ),
    };
    let filter = service_filter(a.service.as_deref());
    let (base, currency) = costs(c, bs, be, Granularity::Monthly, &groups, filter.clone()).await?;
    let (later, _) = costs(c, cs, ce, Granularity::Monthly, &groups, filter).await?;
    let result = compare(&sum_buckets(&base), &sum_buckets(&later));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let cur = currency.as_str();
    let mut text = format!(
        "UnblendedCost {bs}..{be} → {cs}..{ce} (ends exclusive){}\nTotal: {} → {} ({}{}, {})\n",
        a.service
            .as_deref()
            .map(|s| format!(", service {s}"))
            .unwrap_or_default(),
        money(cents_of(result.base_total), cur),
        money(cents_of(result.compare_total), cur),
        if result.change > 0.0 { "+" } else { "" },
        money(cents_of(result.change), cur),
        result
            .change_percent
            .map_or_else(|| "new spend".to_owned(), |p| format!("{p:+.1} %")),
    );
    text.push_str(&format!(
        "Increases {} in {} driver(s); decreases {} in {}.\n",
        money(cents_of(result.increases_total), cur),
        result.increases.len(),
        money(cents_of(result.decreases_total), cur),
        result.decreases.len()
    ));
    if !result.increases.is_empty() {
        text.push_str(
            "\nDrivers of the increase, largest first (SHARE = share of all increases):\n",
        );
        text.push_str(&table(&result.increases, &header_refs, cur));
    }
    if !result.decreases.is_empty() {
        text.push_str("\nDecreases, largest first (SHARE = share of all decreases):\n");
        text.push_str(&table(&result.decreases, &header_refs, cur));
    }
    let mut by_service = None;
    if a.group_by.is_none() {
        let roll = |m: &BTreeMap<Vec<String>, i64>| {
            let mut out: BTreeMap<Vec<String>, i64> = BTreeMap::new();
            for (k, v) in m {
                *out.entry(k.iter().take(1).cloned().collect()).or_default() += v;
            }
            out
        };
        let s = compare(&roll(&sum_buckets(&base)), &roll(&sum_buckets(&later)));
        text.push_str(
            "\nBy service (net change; SHARE = of all increases, or of all decreases):\n",
        );
        let all: Vec<Driver> = s.increases.iter().chain(&s.decreases).cloned().collect();
        text.push_str(&table(&all, &["SERVICE"], cur));
        by_service = Some(s);
    }
    let structured = json!({
        "base": {"start": bs.to_string(), "end": be.to_string()},
        "compare": {"start": cs.to_string(), "end": ce.to_string()},
        "currency": currency, "metric": "UnblendedCost",
        "group_by": headers,
        "comparison": result,
        "by_service": by_service,
    });
    Ok(ok_json(
        cap(&text, MAX_TEXT, "group by SERVICE or filter by service").text,
        &structured,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_of_increases_and_decreases() {
        let k = |s: &str| vec![s.to_owned()];
        let base: BTreeMap<_, _> = [
            (k("compute"), 530_000),
            (k("nat"), 244_921),
            (k("dt"), 30_000),
            (k("flat"), 1_000),
        ]
        .into_iter()
        .collect();
        let later: BTreeMap<_, _> = [
            (k("compute"), 850_000),
            (k("nat"), 11_300),
            (k("dt"), 210_000),
            (k("flat"), 1_000),
            (k("new"), 500),
        ]
        .into_iter()
        .collect();
        let c = compare(&base, &later);
        let names: Vec<&str> = c.increases.iter().map(|d| d.keys[0].as_str()).collect();
        assert_eq!(names, ["compute", "dt", "new"]);
        assert_eq!(c.increases_total, 5005.0);
        assert_eq!(c.increases[0].share_percent, 63.9);
        assert_eq!(c.increases[2].change_percent, None);
        assert_eq!(c.decreases[0].share_percent, 100.0);
        assert_eq!(c.change, 2668.79);
    }
}
