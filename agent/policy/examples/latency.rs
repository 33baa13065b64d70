//! Per-decision latency percentiles (criterion reports means; the goal is about p99).
//! Run: `cargo run --release -p sopilot-policy --example latency`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../benches/support/mod.rs"]
mod support;

use std::time::Instant;

fn percentiles(name: &str, rules: usize, mut f: impl FnMut()) {
    const N: usize = 100_000;
    for _ in 0..5_000 {
        f();
    }
    let mut ns: Vec<u128> = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        f();
        ns.push(t.elapsed().as_nanos());
    }
    ns.sort_unstable();
    let p = |q: f64| ns[((N as f64) * q) as usize].to_string();
    println!(
        "| {name} | {rules} | {:.2} | {:.2} | {:.2} | {:.2} |",
        p(0.50).parse::<f64>().unwrap() / 1000.0,
        p(0.90).parse::<f64>().unwrap() / 1000.0,
        p(0.99).parse::<f64>().unwrap() / 1000.0,
        p(0.999).parse::<f64>().unwrap() / 1000.0
    );
}

fn main() {
    println!("| call | rules in policy | p50 µs | p90 µs | p99 µs | p99.9 µs |");
    println!("|---|---|---|---|---|---|");
    let default = support::default_policy();
    let n = default.rules().len();
    for call in support::default_calls() {
        percentiles(&format!("default: {}", call.name), n, || {
            std::hint::black_box(call.decide(&default));
        });
    }
    let generated = support::generated_policy(200);
    let call = support::generated_call();
    let covering = call.decide(&generated).matched.len();
    percentiles(&format!("generated: {covering} rules match"), 200, || {
        std::hint::black_box(call.decide(&generated));
    });
}
