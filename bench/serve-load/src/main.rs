//! `serve-load`: an open-loop alarm load against `sopilot serve` (issue 6's benchmark; not a
//! test).
//!
//! Sends Alertmanager v4 notifications to `/hooks/alertmanager` at a fixed rate, whether or
//! not earlier ones were answered (open loop), one new alert group in every `1/(1-dup)`
//! requests and otherwise a repeat of one of the most recent groups, the newest included,
//! so repeats race their group's first notification. Latency is measured from the moment a
//! request was due, so a server (or client) that falls behind shows it.
//!
//! Checks, from the answers alone: every notification answered 200 with `started` or
//! `joined`; exactly one `started` per group; every repeat joined its group's run. Prints one
//! JSON summary on stdout.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};
use tokio::time::Instant;

/// Open-loop alarm load.
#[derive(Debug, Parser)]
struct Args {
    /// Base URL of `sopilot serve`; repeat it for several replicas on one store: request `i`
    /// goes to the `i mod n`-th, so a group's repeats reach every replica (as behind a load
    /// balancer without affinity) and dedup must hold across them.
    #[arg(long, required = true)]
    url: Vec<String>,
    /// Alertmanager bearer token (`SOPILOT_ALERTMANAGER_TOKEN` of the server).
    #[arg(long, env = "SOPILOT_ALERTMANAGER_TOKEN")]
    token: String,
    /// Notifications per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Duration of the load, seconds.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Share of notifications that repeat a group already sent, in percent.
    #[arg(long, default_value_t = 95)]
    duplicates: u64,
    /// Repeats pick among this many most recent groups.
    #[arg(long, default_value_t = 50)]
    recent: u64,
    /// A label value unique to this load, so groups of earlier loads are not joined.
    #[arg(long, default_value = "load")]
    tag: String,
    /// Namespace and pod the alerts name (a pod the simulator has).
    #[arg(long, default_value = "payment")]
    namespace: String,
    #[arg(long, default_value = "payment-service-7d8f9c6b5-x2k9p")]
    pod: String,
}

fn payload(a: &Args, group: u64) -> Vec<u8> {
    let labels = json!({"alertname": "BenchPodDown", "namespace": a.namespace, "pod": a.pod,
                        "instance": format!("{}-{group}", a.tag)});
    json!({
        "version": "4", "status": "firing", "receiver": "sopilot",
        "groupKey": format!("{{}}:{{alertname=\"BenchPodDown\", instance=\"{}-{group}\"}}", a.tag),
        "groupLabels": {"alertname": "BenchPodDown", "instance": format!("{}-{group}", a.tag)},
        "commonLabels": labels,
        "alerts": [{"status": "firing", "labels": labels, "fingerprint": format!("{:016x}", group)}]
    })
    .to_string()
    .into_bytes()
}

/// A small deterministic generator (xorshift64*), so every load is the same sequence.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

#[derive(Debug)]
struct Answer {
    group: u64,
    /// From when the request was due to its whole answer, µs.
    from_due_us: f64,
    /// From when it was actually sent, µs.
    from_send_us: f64,
    http: Option<u16>,
    status: String,
    run_id: String,
    error: Option<String>,
}

/// Nearest-rank percentile.
fn pct(xs: &mut [f64], p: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    let k = ((p / 100.0 * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    xs[k]
}

fn summary(xs: &[f64]) -> Value {
    let mut v = xs.to_vec();
    json!({"n": v.len(), "p50_ms": pct(&mut v, 50.0) / 1e3, "p90_ms": pct(&mut v, 90.0) / 1e3,
           "p99_ms": pct(&mut v, 99.0) / 1e3, "p999_ms": pct(&mut v, 99.9) / 1e3,
           "max_ms": v.last().copied().unwrap_or(f64::NAN) / 1e3})
}

// One thread for the client, so that the server keeps most of the machine.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let a = Args::parse();
    if a.duplicates >= 100 {
        bail!("--duplicates must be below 100");
    }
    let every = (100 / (100 - a.duplicates)).max(1);
    let total = a.rate * a.seconds;
    let period = Duration::from_nanos(1_000_000_000 / a.rate.max(1));
    let urls: Vec<String> = a
        .url
        .iter()
        .map(|u| format!("{}/hooks/alertmanager", u.trim_end_matches('/')))
        .collect();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(4096)
        .build()
        .context("building the HTTP client")?;

    // The sequence of groups, decided up front.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut groups = Vec::with_capacity(total as usize);
    let mut distinct = 0u64;
    for i in 0..total {
        if i % every == 0 {
            groups.push(distinct);
            distinct += 1;
        } else {
            let window = a.recent.min(distinct).max(1);
            groups.push(distinct - 1 - rng.below(window));
        }
    }
    let bodies: Vec<Vec<u8>> = (0..distinct).map(|g| payload(&a, g)).collect();

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Answer>();
    let start = Instant::now() + Duration::from_millis(200);
    let mut late_starts = 0u64;
    for (i, &group) in groups.iter().enumerate() {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due).await;
        if Instant::now().duration_since(due) > Duration::from_millis(5) {
            late_starts += 1;
        }
        let req = client
            .post(&urls[i % urls.len()])
            .bearer_auth(&a.token)
            .header("content-type", "application/json")
            .body(bodies[group as usize].clone());
        let tx = tx.clone();
        tokio::spawn(async move {
            let sent = Instant::now();
            let mut ans = Answer {
                group,
                from_due_us: 0.0,
                from_send_us: 0.0,
                http: None,
                status: String::new(),
                run_id: String::new(),
                error: None,
            };
            match req.send().await {
                Ok(r) => {
                    ans.http = Some(r.status().as_u16());
                    match r.bytes().await {
                        Ok(b) => {
                            let v: Value = serde_json::from_slice(&b).unwrap_or(Value::Null);
                            ans.status = v["status"].as_str().unwrap_or("").to_owned();
                            ans.run_id = v["run_id"].as_str().unwrap_or("").to_owned();
                            if ans.status.is_empty() {
                                ans.error = Some(String::from_utf8_lossy(&b).into_owned());
                            }
                        }
                        Err(e) => ans.error = Some(e.to_string()),
                    }
                }
                Err(e) => ans.error = Some(e.to_string()),
            }
            let done = Instant::now();
            ans.from_due_us = done.duration_since(due).as_secs_f64() * 1e6;
            ans.from_send_us = done.duration_since(sent).as_secs_f64() * 1e6;
            let _ = tx.send(ans);
        });
    }
    let sending = Instant::now().duration_since(start);
    drop(tx);
    let mut answers = Vec::with_capacity(total as usize);
    while let Some(ans) = rx.recv().await {
        answers.push(ans);
    }

    // Dedup and loss, from the answers.
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_http: BTreeMap<String, u64> = BTreeMap::new();
    let mut started: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let mut joined: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for ans in &answers {
        *by_status.entry(ans.status.clone()).or_default() += 1;
        *by_http
            .entry(ans.http.map_or("none".into(), |h| h.to_string()))
            .or_default() += 1;
        match ans.status.as_str() {
            "started" => started
                .entry(ans.group)
                .or_default()
                .push(ans.run_id.clone()),
            "joined" => {
                joined
                    .entry(ans.group)
                    .or_default()
                    .insert(ans.run_id.clone());
            }
            _ => {}
        }
        if let Some(e) = &ans.error {
            let short: String = e.chars().take(160).collect();
            *errors.entry(short).or_default() += 1;
        }
    }
    let groups_started_once = started.values().filter(|v| v.len() == 1).count() as u64;
    let groups_started_twice = started.values().filter(|v| v.len() > 1).count() as u64;
    let groups_never_started = distinct - started.len() as u64;
    let joined_wrong_run = joined
        .iter()
        .filter(|(g, runs)| {
            let first = started.get(g).and_then(|v| v.first());
            runs.iter().any(|r| Some(r) != first)
        })
        .count() as u64;
    let answered = by_status.get("started").copied().unwrap_or(0)
        + by_status.get("joined").copied().unwrap_or(0);
    let run_ids: BTreeSet<&String> = started.values().flatten().collect();

    let due: Vec<f64> = answers.iter().map(|a| a.from_due_us).collect();
    let send: Vec<f64> = answers.iter().map(|a| a.from_send_us).collect();
    let due_started: Vec<f64> = answers
        .iter()
        .filter(|a| a.status == "started")
        .map(|a| a.from_due_us)
        .collect();
    let due_joined: Vec<f64> = answers
        .iter()
        .filter(|a| a.status == "joined")
        .map(|a| a.from_due_us)
        .collect();
    println!(
        "{}",
        json!({
            "kind": "load", "replicas": urls.len(), "rate": a.rate, "seconds": a.seconds, "duplicates_pct": a.duplicates,
            "sent": total, "distinct_groups": distinct,
            "send_seconds": sending.as_secs_f64(), "late_starts_over_5ms": late_starts,
            "answered_started_or_joined": answered, "lost": total - answered,
            "by_status": by_status, "by_http": by_http, "errors": errors,
            "groups_started_once": groups_started_once, "groups_started_twice": groups_started_twice,
            "groups_never_started": groups_never_started, "groups_joined_wrong_run": joined_wrong_run,
            "distinct_run_ids": run_ids.len(),
            "exact_dedup": groups_started_once == distinct && joined_wrong_run == 0,
            "latency_from_due": summary(&due), "latency_from_send": summary(&send),
            "latency_started": summary(&due_started), "latency_joined": summary(&due_joined),
        })
    );
    Ok(())
}
